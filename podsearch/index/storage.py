"""The index directory: where it is, its lock, its version, and safe reads.

The directory holds a Whoosh index named after the schema version, a small
``podsearch.json`` (versions, folders, last report, manifest) and a lock file.
Whoosh commits atomically (a new table of contents is renamed into place), so
readers always see a complete generation; a reader that opens just as a commit
deletes the previous generation's files retries on the new one.

Generation 0 of an index is the empty table of contents Whoosh writes when it
creates one; the first podsearch commit is generation 1. An index that has
only generation 0 (its first build was killed) counts as missing, so a search
says "no index" instead of finding nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, TypeVar

from podsearch.errors import IndexLockedError, IndexMissingError, IndexVersionError
from podsearch.index.schema import SCHEMA_VERSION

INDEX_NAME = f"podsearch_s{SCHEMA_VERSION}"
META_FILE = "podsearch.json"
LOCK_FILE = "podsearch.lock"
_TOC = re.compile(r"_(\w+?)_(\d+)\.toc$")
#: Files of a podsearch index of any schema version: its tables of contents (also
#: half-written ones, ``_podsearch_s1_3.toc.1700000000.5``), segment files, lock, temp folder.
_INDEX_FILE = re.compile(r"_?(podsearch_s\d+)(?:_|\.tmp$)")
#: A segment file of the current index (as Whoosh names them): the segment id.
_SEGMENT_FILE = re.compile(rf"({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")

#: How often a read is retried when a concurrent commit removed files under it.
READ_ATTEMPTS = 8

T = TypeVar("T")


def default_index_path() -> Path:
    """``$PODSEARCH_INDEX``, else ``./index``."""
    return Path(os.environ.get("PODSEARCH_INDEX") or "index")


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

    def generation(self) -> int | None:
        """The latest committed generation of the current index, ``None`` when there is none."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return None
        generations = [
            int(match.group(2))
            for match in map(_TOC.match, names)
            if match and match.group(1) == INDEX_NAME
        ]
        return max(generations, default=None)

    def exists(self) -> bool:
        """Whether a built index of the current schema version is here."""
        return (self.generation() or 0) >= 1

    def check(self) -> None:
        """Raise :class:`IndexMissingError` or :class:`IndexVersionError` unless usable."""
        if self.exists():
            return
        if self.index_names() - {INDEX_NAME}:
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

    def searcher(self) -> Any:
        """A Whoosh searcher of the latest generation that a later commit cannot break.

        Whoosh opens some files of a segment only when first needed (stored
        fields, field lengths). A commit deletes the files of segments it
        replaced, and then a kept searcher finds one missing: Whoosh reports a
        missing stored-fields file as ``None`` (a ``TypeError`` later) and a
        missing lengths file as length 0 (wrong scores, silently). So every such
        file is opened now, and the searcher is used only if no newer
        generation appeared meanwhile: deletions start only after a newer table
        of contents exists, so every file found was whole. An open file stays
        readable after its deletion. Raises ``FileNotFoundError`` (see
        :meth:`retrying`) when a commit got in the way.
        """
        searcher = self.open().searcher()
        try:
            for reader, _ in searcher.reader().leaf_readers():
                _open_lazy_files(reader)
            if not searcher.up_to_date():
                raise FileNotFoundError(f"the index at {self.path} changed while it was opened")
        except BaseException:
            searcher.close()
            raise
        return searcher

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
        # ensure_ascii: a file name that is not UTF-8 (surrogate escapes) must not break the write
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=True), encoding="utf-8")
        os.replace(temporary, self.path / META_FILE)

    def remove_leftovers(self, other_versions: bool) -> None:
        """Delete what a killed indexer left behind (only while holding :meth:`lock`).

        That is half-written tables of contents and temporary copies of
        ``podsearch.json``; with ``other_versions``, also every file of an index
        of another schema version (once the current one is built, so that until
        then a search says which version the index is from).
        """
        for entry in self._entries():
            match = _INDEX_FILE.match(entry.name)
            stale = (
                (other_versions and match is not None and match.group(1) != INDEX_NAME)
                or (entry.name.startswith(f"_{INDEX_NAME}_") and not entry.name.endswith(".toc"))
                or (entry.name.startswith(f".{META_FILE}.") and entry.name.endswith(".tmp"))
            )
            if stale:
                _remove(Path(entry.path))

    def remove_unused(self, generation: int | None, segment_ids: Collection[str] | None) -> None:
        """Delete the current index's files that its latest generation does not use.

        Whoosh does this at each commit; a kill, or a run that commits nothing,
        can leave older tables of contents and unfinished segments behind.
        ``segment_ids`` ``None`` means unknown: then nothing is deleted.
        """
        if generation is None or segment_ids is None:
            return
        keep = set(segment_ids)
        for entry in self._entries():
            toc = _TOC.match(entry.name)
            if toc:
                unused = toc.group(1) == INDEX_NAME and int(toc.group(2)) != generation
            else:
                segment = _SEGMENT_FILE.match(entry.name)
                unused = segment is not None and segment.group(1) not in keep
            if unused:
                _remove(Path(entry.path))

    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            return list(os.scandir(self.path))
        except OSError:
            return []

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


def _remove(path: Path) -> None:
    """Delete a file or a folder of files; one still in use elsewhere is left for next time."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            for child in path.iterdir():
                with contextlib.suppress(OSError):
                    child.unlink()
            path.rmdir()
        else:
            path.unlink()


def _open_lazy_files(reader: Any) -> None:
    """Open the column files Whoosh would open on first use (see :meth:`IndexDir.searcher`)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, _lenfield

    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None:  # an empty index has no segment files
        return
    if reader.doc_count_all() and perdoc._cached_reader("_stored", STORED_COLUMN) is None:
        raise FileNotFoundError(f"the stored fields of segment {reader.segment().segment_id()}")
    for name, field in reader.schema.items():
        if field.scorable:
            perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
        if field.column_type:
            perdoc._cached_reader(name, field.column_type)
