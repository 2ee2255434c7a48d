"""The index directory: where it is, its lock, its version, its integrity, and safe reads.

The directory holds a Whoosh index named after the schema version, one commit
record per generation (:mod:`podsearch.index.commits`: folders, manifest, and
the size and checksum of every file), a ``podsearch.json`` report for people
(never read to plan an update) and a lock file. Whoosh commits atomically (a
new table of contents is renamed into place, after the record), so readers
always see a complete generation; a reader that opens just as a commit deletes
the previous generation's files retries on the new one.

Generation 0 is never written by podsearch (its first commit is generation 1):
until that commit lands there is no index, and while the lock is held that
reads as "being built". An index whose files differ from its record is damaged:
:meth:`IndexDir.check_integrity` says so in a few ``stat`` calls, and
``podsearch index --rebuild`` repairs it from any state.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from podsearch.errors import (
    IndexBuildingError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    IndexVersionError,
)
from podsearch.index.commits import (
    CommitRecord,
    decode,
    file_checksum,
    record_name,
    record_pattern,
)
from podsearch.index.oserrors import storage_errors
from podsearch.index.schema import SCHEMA_VERSION
from podsearch.index.syncing import write_durably
from podsearch.model import VerifyReport

INDEX_NAME = f"podsearch_s{SCHEMA_VERSION}"
META_FILE = "podsearch.json"
LOCK_FILE = "podsearch.lock"
#: Whoosh's own lock file of the index (an empty file, kept).
WRITELOCK_FILE = f"{INDEX_NAME}_WRITELOCK"
_TOC = re.compile(r"_(\w+?)_(\d+)\.toc$")
#: Files of a podsearch index of any schema version: its tables of contents (also
#: half-written ones, ``_podsearch_s1_3.toc.1700000000.5``), records, segment files, lock, temp folder.
_INDEX_FILE = re.compile(r"_?(podsearch_s\d+)(?:_|\.tmp$)")
#: A segment file of the current index (as Whoosh names them): the segment id.
_SEGMENT_FILE = re.compile(rf"({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")
_RECORD = record_pattern(INDEX_NAME)
#: A generation's paragraph vectors and their nearest-neighbour graph (podsearch/index/vectors.py, nearest.py)
_VECTORS = re.compile(rf"{INDEX_NAME}_vectors-\d+\.(?:vec|ann)$")
#: A generation's spelling dictionary (podsearch/index/spellings.py)
_SPELLINGS = re.compile(rf"{INDEX_NAME}_spellings-\d+\.dic$")
#: Whoosh's temporary folder of a writer (``podsearch_s3.tmp``).
TEMP_FOLDER = f"{INDEX_NAME}.tmp"


def default_index_path() -> Path:
    """``$PODSEARCH_INDEX``, else ``./index``."""
    return Path(os.environ.get("PODSEARCH_INDEX") or "index")


class IndexDir:
    """One index directory on disk. Reading never creates anything."""

    def __init__(self, path: Path | str | None = None) -> None:
        # absolute, so that every message names the folder unmistakably ("no index at /srv/x/index")
        self.path = Path(os.path.abspath(path if path is not None else default_index_path()))

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
            int(match.group(2)) for match in map(_TOC.match, names) if match and match.group(1) == INDEX_NAME
        ]
        return max(generations, default=None)

    def exists(self) -> bool:
        """Whether a built index of the current schema version is here."""
        return (self.generation() or 0) >= 1

    def check(self) -> None:
        """Raise :class:`IndexMissingError`, :class:`IndexBuildingError` or
        :class:`IndexVersionError` unless an index is there (see :meth:`check_integrity`)."""
        if self.exists():
            return
        if self.index_names() - {INDEX_NAME}:
            written_by = self.read_meta().get("podsearch", "another version")
            raise IndexVersionError(
                f"the index at {self.path} was written by podsearch {written_by} with another "
                f"layout; rebuild it with: podsearch index --rebuild --index {self.path}"
            )
        if self.is_locked():
            raise IndexBuildingError(f"the index at {self.path} is being built; try again in a moment")
        raise IndexMissingError(
            f"no index at {self.path}; build one with: podsearch index EPISODES_FOLDER --index {self.path}"
        )

    def is_locked(self) -> bool:
        """Whether an update holds the lock now (read-only: creates nothing)."""
        try:
            descriptor = os.open(self.path / LOCK_FILE, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(descriptor)  # also releases the shared lock just taken
        return False

    # --- integrity -----------------------------------------------------------------------

    def record(self, generation: int) -> CommitRecord:
        """The commit record of a generation; :class:`IndexDamagedError` when missing or damaged.

        Raises ``FileNotFoundError`` instead when a newer generation replaced it meanwhile.
        """
        name = record_name(INDEX_NAME, generation)
        try:
            data = (self.path / name).read_bytes()
        except FileNotFoundError:
            self._damaged(generation, name)
        except OSError as error:
            raise self._unreadable(error) from None
        try:
            record = decode(data)
        except ValueError:
            self._damaged(generation, name)
        if record.generation != generation:
            self._damaged(generation, name)
        return record

    def check_integrity(self, generation: int | None = None) -> CommitRecord:
        """Check that every file a generation (default: the latest) uses is there with its recorded size.

        A few ``stat`` calls: call it whenever a generation is opened. Returns the
        generation's record; raises :class:`IndexDamagedError` ("… repair it with:
        podsearch index --rebuild"), the errors of :meth:`check` when there is no
        index, and ``FileNotFoundError`` when a commit replaced the generation
        while it was checked (start again on the new one).
        """
        if generation is None:
            self.check()
            generation = self.generation()
            assert generation is not None
        record = self.record(generation)
        for name, (size, _) in record.files.items():
            try:
                found = os.stat(self.path / name).st_size
            except FileNotFoundError:
                found = None
            except OSError as error:
                raise self._unreadable(error) from None
            if found != size:
                self._damaged(generation, name)
        return record

    def verify(self) -> VerifyReport:
        """Read every file of the latest generation and compare it with the checksum its commit recorded."""
        generation = self.generation() if self.exists() else None
        if generation is None:
            self.check()
        assert generation is not None
        try:
            record = self.record(generation)
        except IndexDamagedError:
            return VerifyReport(
                str(self.path), generation, damaged=(f"{record_name(INDEX_NAME, generation)}: unreadable",)
            )
        damaged: list[str] = []
        checked = 0
        for name, (size, crc) in sorted(record.files.items()):
            path = self.path / name
            try:
                found = os.stat(path).st_size
                if found != size:
                    damaged.append(f"{name}: {found} bytes instead of {size}")
                elif file_checksum(path) != crc:
                    damaged.append(f"{name}: its content changed since it was written")
                checked += found
            except FileNotFoundError:
                damaged.append(f"{name}: missing")
            except OSError as error:
                damaged.append(f"{name}: unreadable ({error.strerror or error})")
        if damaged and self.generation() != generation:
            return self.verify()  # a commit replaced the generation meanwhile: verify the new one
        return VerifyReport(str(self.path), generation, len(record.files), checked, tuple(damaged))

    def _damaged(self, generation: int, name: str) -> Any:
        if self.generation() != generation:
            raise FileNotFoundError(f"the index at {self.path} changed while it was checked")
        raise IndexDamagedError(
            f"the index at {self.path} is damaged ({name}); repair it with: podsearch index --rebuild"
        )

    def _unreadable(self, error: OSError) -> Exception:
        from podsearch.index.oserrors import translate

        return translate(error, self.path, doing="read")

    # --- reading -----------------------------------------------------------------------

    def open(self) -> Any:
        """The Whoosh index (read-only use), after :meth:`check_integrity`.

        Raises ``FileNotFoundError`` when a commit replaced the checked generation meanwhile.
        """
        from podsearch.index.mapped import MappedStorage

        generation = self.check_integrity().generation
        ix = MappedStorage(str(self.path)).open_index(INDEX_NAME)
        if ix.latest_generation() != generation:
            raise FileNotFoundError(f"the index at {self.path} changed while it was opened")
        return ix

    def read_meta(self) -> dict[str, Any]:
        """The contents of ``podsearch.json`` (empty when missing or unreadable)."""
        try:
            data = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def size_on_disk(self) -> int:
        """Bytes used by the directory's files, those in its sub-folders (a writer's temporary one) included."""
        return _tree_size(self.path)

    # --- writing (only for `index` / `update`) ------------------------------------------

    def write_meta(self, data: dict[str, Any]) -> None:
        """Replace ``podsearch.json`` atomically and durably (synced before it is named)."""
        # ensure_ascii: a file name that is not UTF-8 (surrogate escapes) must not break the write
        write_durably(self.path / META_FILE, json.dumps(data, indent=2, ensure_ascii=True).encode("ascii"))

    def remove_leftovers(self, record: CommitRecord | None, other_versions: bool = False) -> None:
        """Delete what failed, killed or interrupted runs left behind (only while holding :meth:`lock`).

        Always: half-written tables of contents and records, temporary files and
        Whoosh's temporary folder. With ``record``, the latest generation's: every
        file of the current index it does not name (older generations, segments of
        unfinished runs). Without one, only segments while no generation exists at
        all (a killed first build). With ``other_versions``, also every file of an
        index of another schema version (once the current one is built, so that
        until then a search says which version the index is from).
        """
        keep = {*record.files, record_name(INDEX_NAME, record.generation)} if record is not None else None
        committed = self.generation() is not None
        for entry in self._entries():
            name = entry.name
            match = _INDEX_FILE.match(name)
            if name in (LOCK_FILE, META_FILE, WRITELOCK_FILE):
                stale = False
            elif name == TEMP_FOLDER or (name.startswith(".") and name.endswith(".tmp")):
                stale = True
            elif match is not None and match.group(1) != INDEX_NAME:
                stale = other_versions
            elif _VECTORS.match(name) or _SPELLINGS.match(name):
                stale = name not in keep if keep is not None else not committed
            elif _TOC.match(name) or _RECORD.match(name) or _SEGMENT_FILE.match(name):
                if keep is not None:
                    stale = name not in keep
                else:  # a generation 0 (older versions), or segments no generation may use
                    toc = _TOC.match(name)
                    stale = (toc is not None and toc.group(2) == "0") or (
                        not committed and _SEGMENT_FILE.match(name) is not None
                    )
            else:  # a half-written table of contents (``_podsearch_s3_4.toc.1700000000.5``)
                stale = name.startswith(f"_{INDEX_NAME}_")
            if stale:
                _remove(Path(entry.path))

    def segment_files(self, segment_ids: Collection[str]) -> list[str]:
        """The names of the files of these segments of the current index."""
        wanted = set(segment_ids)
        found = []
        for entry in self._entries():
            match = _SEGMENT_FILE.match(entry.name)
            if match is not None and match.group(1) in wanted:
                found.append(entry.name)
        return sorted(found)

    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            return list(os.scandir(self.path))
        except OSError:
            return []

    @contextlib.contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the writer lock: one indexer at a time, released even on ``kill -9``."""
        with storage_errors(self.path):
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


def _tree_size(folder: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    total += _tree_size(Path(entry.path))
                elif not entry.is_symlink():
                    total += entry.stat(follow_symlinks=False).st_size
    return total


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
