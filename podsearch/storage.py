"""The index directory: where it is, its lock, its version, and safe reads.

The directory holds a Whoosh index named after the schema version, a small
``podsearch.json`` (versions, folders, last report) and a lock file. Whoosh
commits atomically (a new table of contents is renamed into place), so readers
always see a complete generation; a reader that opens just as a commit deletes
the previous generation's files retries on the new one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import IndexLockedError, IndexMissingError, IndexVersionError
from .schema import SCHEMA_VERSION

INDEX_NAME = f"podsearch_s{SCHEMA_VERSION}"
META_FILE = "podsearch.json"
LOCK_FILE = "podsearch.lock"
_TOC = re.compile(r"_(\w+?)_(\d+)\.toc$")

#: How often a read is retried when a concurrent commit removed files under it.
READ_ATTEMPTS = 8

T = TypeVar("T")


def default_index_path() -> Path:
    """``$PODSEARCH_INDEX``, else ``./index``."""
    return Path(os.environ.get("PODSEARCH_INDEX") or "index")


def default_episodes_path() -> Path:
    """``$PODSEARCH_EPISODES``, else ``./episodes``."""
    return Path(os.environ.get("PODSEARCH_EPISODES") or "episodes")


class IndexDir:
    """One index directory on disk. Reading never creates anything."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_index_path()

    # --- what is there -----------------------------------------------------------------

    def index_names(self) -> set[str]:
        """The Whoosh index names present (``podsearch_s1``, …)."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return set()
        return {match.group(1) for match in map(_TOC.match, names) if match}

    def exists(self) -> bool:
        """Whether an index of the current schema version is here."""
        return INDEX_NAME in self.index_names()

    def check(self) -> None:
        """Raise :class:`IndexMissingError` or :class:`IndexVersionError` unless usable."""
        names = self.index_names()
        if INDEX_NAME in names:
            return
        if names:
            written_by = self.read_meta().get("podsearch", "another version")
            raise IndexVersionError(
                f"the index at {self.path} was written by podsearch {written_by} with another "
                f"layout; rebuild it with: podsearch index --rebuild --index {self.path}"
            )
        raise IndexMissingError(
            f"no index at {self.path}; build one with: podsearch index EPISODES_FOLDER --index {self.path}"
        )

    # --- reading -----------------------------------------------------------------------

    def open(self) -> Any:
        """The Whoosh index (read-only use), after :meth:`check`."""
        from whoosh.filedb.filestore import FileStorage

        self.check()
        return FileStorage(str(self.path), readonly=True).open_index(INDEX_NAME)

    def read(self, action: Callable[[Any], T]) -> T:
        """Run ``action(searcher)`` on the latest generation, retrying across commits."""

        def once() -> T:
            with self.open().searcher() as searcher:
                return action(searcher)

        return self.retrying(once)

    def retrying(self, attempt: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
        """Run a read, starting again when a concurrent commit removed files under it.

        A commit renames a new table of contents into place and then deletes the
        files only the old one used; a reader caught in between sees
        ``FileNotFoundError`` and simply starts again on the new generation.
        """
        for tries in range(1, READ_ATTEMPTS + 1):
            try:
                return attempt()
            except (FileNotFoundError, EOFError) as error:
                if tries == READ_ATTEMPTS:
                    raise IndexMissingError(
                        f"the index at {self.path} kept changing while being read ({error}); try again"
                    ) from None
                if on_retry is not None:
                    on_retry()
                time.sleep(0.01 * tries)
        raise AssertionError("unreachable")

    def read_meta(self) -> dict[str, Any]:
        """The contents of ``podsearch.json`` (empty when missing or unreadable)."""
        try:
            data = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def size_on_disk(self) -> int:
        """Bytes used by the directory's files."""
        total = 0
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.path):
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
        return total

    # --- writing (only for `index` / `update`) ------------------------------------------

    def write_meta(self, data: dict[str, Any]) -> None:
        """Replace ``podsearch.json`` atomically."""
        temporary = self.path / f".{META_FILE}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path / META_FILE)

    @contextlib.contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the writer lock: one indexer at a time, released even on ``kill -9``."""
        self.path.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise IndexLockedError(
                    f"another 'podsearch index' is updating {self.path}; "
                    "try again later, or pass --wait to queue behind it"
                ) from None
            yield
        finally:
            os.close(descriptor)  # closing releases the lock
