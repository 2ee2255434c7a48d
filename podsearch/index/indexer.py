"""Incremental, crash-safe index updates.

An update makes the index mirror the episode files of some folders. Files are
compared by content hash (a fresh ``git clone`` resets every mtime), mixed with
the hash of the folder's guest files (:func:`people_sha`), only new and changed
files are read, and everything lands in one Whoosh commit, so a kill at any
moment leaves the previous generation intact. A file that fails to read never
stops the others and never removes what was indexed before.

Everything a run plans from (the folders, the manifest of episode id → path and
hash, the files that failed) is in the commit record of the latest generation
(:mod:`podsearch.index.commits`), written inside the atomic commit: losing or
editing ``podsearch.json``, a report for people, changes nothing. A run that
finds nothing to do opens neither the Whoosh index nor any episode file (and
imports no YAML, no Whoosh writer).

A run never silently empties the index: a folder of the index that is missing,
empty or unreadable while the index holds episodes from it, or a run that would
remove more than half of the indexed episodes, raises
:class:`~podsearch.errors.RemovalRefusedError` with nothing changed, unless
``allow_removals``. On any error or interruption the files the run wrote are
removed before the lock is released.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from podsearch import __version__
from podsearch.errors import (
    DiskFullError,
    IndexDamagedError,
    PodsearchError,
    RemovalRefusedError,
    UsageError,
)
from podsearch.index.commits import CommitRecord
from podsearch.index.oserrors import free_bytes, megabytes, storage_errors
from podsearch.index.schema import SCHEMA_VERSION
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.model import Failure, UpdateReport
from podsearch.reading.folders import (
    NotARegularFile,
    default_episodes_path,
    episode_sha,
    file_sha,
    people_sha,
)

#: From this many files to read, two worker processes share the work.
PARALLEL_FROM = 24
#: An index with more segments than a full build makes plus this many is
#: compacted by a full rebuild (each incremental update adds one or two).
MAX_SEGMENTS = 8
#: A worker starts a new segment after this many documents, which bounds its
#: memory (about 330 MB) on a large corpus; the real corpus (28k documents)
#: makes one segment per worker.
SEGMENT_DOCUMENTS = 50_000
#: A rebuild needs room for a second copy of the index beside the first: this
#: much of the current index's size, free, or compaction waits for a later run.
COMPACTION_ROOM = 1.25

#: What the index holds, as far as planning an update needs to know (no index: :data:`NO_INDEX`).
IndexState = CommitRecord
NO_INDEX = CommitRecord(generation=0, folders=(), manifest={})


@dataclass(frozen=True)
class Progress:
    """How far an update is: files read of those to read, paragraphs indexed."""

    files: int
    total: int
    paragraphs: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Source:
    """An episode file found in a folder; ``guests`` is its folder's guest-files hash."""

    id: str
    path: str
    sha: str
    guests: str = ""


@dataclass(frozen=True)
class Listing:
    """What the folders hold: episode files by id, files that failed, folders that are
    missing or unreadable, and folders without any episode file."""

    sources: dict[str, Source]
    failures: list[Failure]
    unlisted: list[Path]
    empty: list[Path]


@dataclass(frozen=True)
class Plan:
    """What an update will do."""

    sources: dict[str, Source]
    failures: tuple[Failure, ...]
    new: tuple[Source, ...]
    changed: tuple[Source, ...]
    unchanged: tuple[Source, ...]
    gone: tuple[str, ...]
    rebuild: bool
    #: a rebuild only because the index has too many segments (it may be put off)
    compaction: bool = False

    @property
    def to_read(self) -> list[Source]:
        """The files to read and index."""
        return [*self.new, *self.changed, *(self.unchanged if self.rebuild else ())]

    @property
    def idle(self) -> bool:
        """Whether there is nothing to write."""
        return not (self.rebuild or self.new or self.changed or self.gone)


def update(
    directory: Path | str,
    folders: Sequence[Path | str] | None = None,
    *,
    rebuild: bool = False,
    wait: bool = False,
    progress: ProgressCallback | None = None,
    allow_removals: bool = False,
) -> UpdateReport:
    """Make the index at ``directory`` mirror the episode files in ``folders``.

    With no folders, the folders the index mirrors are used (an index that does
    not know them is a :class:`~podsearch.errors.UsageError`; with no index at
    all, the default episodes folder). Raises
    :class:`~podsearch.errors.IndexLockedError` when another update runs (unless
    ``wait``), :class:`~podsearch.errors.IndexDamagedError` when the index is
    damaged (``rebuild`` repairs it), :class:`~podsearch.errors.RemovalRefusedError`
    (see the module docstring) and :class:`~podsearch.errors.StorageError` and its
    subclasses for the file system; reports unreadable files in the returned
    :class:`UpdateReport` instead of raising.
    """
    began = time.perf_counter()
    store = IndexDir(directory)
    with store.lock(wait=wait):
        record: CommitRecord | None = None
        try:
            with storage_errors(store.path):
                record, damaged = _current_record(store, rebuild)
                store.remove_leftovers(record)
            chosen = _choose_folders(store, folders, record, damaged)
            listing = _list_sources(chosen)
            state = record or NO_INDEX
            plan = make_plan(
                state,
                listing.sources,
                listing.failures,
                rebuild or record is None or damaged,
            )
            if not allow_removals:
                refuse_removals(store, state, plan, chosen, listing)
            report, after = _carry_out(store, plan, state, chosen, damaged, progress)
            with storage_errors(store.path):
                store.remove_leftovers(
                    after, other_versions=report.changed or report.rebuilt
                )
                report = replace(
                    report,
                    seconds=time.perf_counter() - began,
                    folders=tuple(map(str, chosen)),
                )
                store.write_meta(_meta(report, after))
        except BaseException:
            # an error, Ctrl-C or SIGTERM: leave only what the latest generation uses
            _tidy_after_failure(store)
            raise
    return report


def report_record(report: UpdateReport) -> dict[str, Any]:
    """The report as plain values (stored in ``podsearch.json``, printed by ``--json``)."""
    return {
        "added": list(report.added),
        "updated": list(report.updated),
        "removed": list(report.removed),
        "unchanged": len(report.unchanged),
        "failed": [{"path": f.path, "message": f.message} for f in report.failed],
        "paragraphs": report.paragraphs,
        "seconds": round(report.seconds, 3),
        "rebuilt": report.rebuilt,
        "postponed": report.postponed,
    }


def _meta(report: UpdateReport, state: CommitRecord | None) -> dict[str, Any]:
    """``podsearch.json``: for people and ``stats`` only; no run plans from it."""
    return {
        "podsearch": __version__,
        "schema": SCHEMA_VERSION,
        "folders": list(state.folders) if state is not None else [],
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "generation": state.generation if state is not None else None,
        "episodes": len(state.manifest) if state is not None else 0,
        "report": report_record(report),
    }


# --- what is there ---------------------------------------------------------------------------


def _current_record(store: IndexDir, rebuild: bool) -> tuple[CommitRecord | None, bool]:
    """The latest generation's record (``None`` when there is none), and whether the index is damaged.

    A damaged index stops an update (:class:`IndexDamagedError`) but not a rebuild,
    which plans from the record when that at least is readable.
    """
    generation = store.generation()
    if generation is None or generation < 1:
        return None, False
    try:
        return store.check_integrity(generation), False
    except IndexDamagedError:
        if not rebuild:
            raise
    try:
        return store.record(generation), True
    except IndexDamagedError:
        return None, True


def _choose_folders(
    store: IndexDir,
    folders: Sequence[Path | str] | None,
    record: CommitRecord | None,
    damaged: bool,
) -> list[Path]:
    if folders:
        return [Path(f) for f in folders]
    if record is not None and record.folders:
        return [Path(f) for f in record.folders]
    # No record to say: a rebuild of a damaged index, or of one written by another
    # version, may take the folders podsearch.json reported; a fresh start the default.
    reported = store.read_meta().get("folders")
    rebuilding = damaged or bool(store.index_names() - {INDEX_NAME})
    if (
        rebuilding
        and isinstance(reported, list)
        and reported
        and all(isinstance(f, str) for f in reported)
    ):
        return [Path(f) for f in reported]
    if store.generation() is None and not store.index_names():
        return [default_episodes_path()]
    raise UsageError(
        f"the index at {store.path} does not record which folders it mirrors; name them: "
        f"podsearch index EPISODES_FOLDER… --index {store.path}"
    )


def _list_sources(folders: Sequence[Path]) -> Listing:
    """Every episode file by id with its hash; failures; folders unlisted or without episode files."""
    listing = Listing({}, [], [], [])
    sources = listing.sources
    for folder in folders:
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".md"))
        except OSError as error:
            listing.failures.append(
                Failure(
                    str(folder), f"cannot list the folder: {error.strerror or error}"
                )
            )
            listing.unlisted.append(folder)
            continue
        if not names:
            listing.empty.append(folder)
        guests = people_sha(folder)
        for name in names:
            # as podsearch.episodes.episode_files/episode_id, without importing the reader
            path, eid = folder / name, name[: -len(".md")]
            if eid in sources:
                listing.failures.append(
                    Failure(
                        str(path),
                        f"duplicate episode id {eid!r} (also {sources[eid].path})",
                    )
                )
                continue
            try:
                sha = file_sha(path)
            except IsADirectoryError:
                listing.failures.append(
                    Failure(str(path), "is a directory, not an episode file")
                )
                continue
            except NotARegularFile:
                listing.failures.append(Failure(str(path), "is not a regular file"))
                continue
            except OSError as error:
                listing.failures.append(
                    Failure(
                        str(path), f"cannot read the file: {error.strerror or error}"
                    )
                )
                continue
            sources[eid] = Source(
                eid, os.path.realpath(path), episode_sha(sha, guests), guests
            )
    return listing


# --- what to do ------------------------------------------------------------------------------


def make_plan(
    state: IndexState,
    sources: dict[str, Source],
    failures: Sequence[Failure],
    rebuild: bool,
) -> Plan:
    """Sort the files into new, changed, unchanged and gone, and decide on a rebuild."""
    indexed = state.manifest
    # Same bytes and same code: a file fails as it did last time; no need to read it again.
    known = (
        []
        if rebuild
        else [
            s for s in sources.values() if state.failures.get(s.path, ("",))[0] == s.sha
        ]
    )
    failures = (*failures, *(Failure(s.path, state.failures[s.path][1]) for s in known))
    failures = tuple(sorted(failures, key=lambda f: f.path))
    skip = {s.id for s in known}
    new = tuple(
        s for eid, s in sources.items() if eid not in indexed and eid not in skip
    )
    changed = tuple(
        s
        for eid, s in sources.items()
        if eid in indexed and indexed[eid][1] != s.sha and eid not in skip
    )
    unchanged = tuple(
        s for eid, s in sources.items() if eid in indexed and indexed[eid][1] == s.sha
    )
    gone = tuple(sorted(eid for eid in indexed if eid not in sources))
    compact = (
        len(state.segment_ids) > MAX_SEGMENTS + 2 + state.documents // SEGMENT_DOCUMENTS
    )
    return Plan(
        sources,
        failures,
        new,
        changed,
        unchanged,
        gone,
        rebuild or compact,
        compact and not rebuild,
    )


def refuse_removals(
    store: IndexDir,
    state: IndexState,
    plan: Plan,
    folders: Sequence[Path],
    listing: Listing,
) -> None:
    """Raise :class:`RemovalRefusedError` when the plan would silently empty or halve the index."""
    indexed = state.manifest
    for folder in folders:
        if folder not in listing.unlisted and folder not in listing.empty:
            continue
        real = os.path.realpath(folder)
        held = sum(1 for path, _ in indexed.values() if os.path.dirname(path) == real)
        if held:
            why = (
                "cannot be listed"
                if folder in listing.unlisted
                else "holds no episode files"
            )
            raise RemovalRefusedError(
                f"the folder {folder} {why}, but the index at {store.path} holds {held} episodes from it "
                "(an unmounted disk, a failed clone?); nothing was changed. "
                "If they were really removed, run again with --allow-removals"
            )
    if len(plan.gone) * 2 > len(indexed):
        raise RemovalRefusedError(
            f"this run would remove {len(plan.gone)} of the {len(indexed)} episodes in the index at {store.path} "
            f"(folders: {', '.join(map(str, folders))}); nothing was changed. "
            "If they were really removed, run again with --allow-removals"
        )


# --- doing it --------------------------------------------------------------------------------


def _carry_out(
    store: IndexDir,
    plan: Plan,
    state: IndexState,
    folders: Sequence[Path],
    damaged: bool,
    progress: ProgressCallback | None,
) -> tuple[UpdateReport, CommitRecord | None]:
    """Apply the plan; compaction is put off when the disk is short of room for it."""
    real_folders = tuple(
        os.path.realpath(f) for f in folders
    )  # Path.resolve() raises on a symlink loop
    postponed = ""
    if plan.compaction:
        postponed = _compaction_room(store, state)
        if postponed:
            plan = replace(plan, rebuild=False, compaction=False)
    if plan.idle and state.folders == real_folders:
        report = UpdateReport(
            unchanged=tuple(s.id for s in plan.unchanged), failed=plan.failures
        )
        return replace(report, postponed=postponed), state
    from podsearch.index.writing import apply

    def needed() -> int:
        return _room_needed(store, plan)

    try:
        with storage_errors(store.path, needed):
            report, after = apply(store, plan, state, real_folders, damaged, progress)
    except DiskFullError as error:
        if not plan.compaction:
            raise
        # the estimate was short: put compaction off and land the incremental commit instead
        _tidy_after_failure(store)
        postponed = f"compaction postponed: not enough free space ({error})"
        plan = replace(plan, rebuild=False, compaction=False)
        with storage_errors(store.path, needed):
            report, after = apply(store, plan, state, real_folders, damaged, progress)
    return replace(report, postponed=postponed), after


def _compaction_room(store: IndexDir, state: IndexState) -> str:
    """Why compaction must wait ('' when there is room for it)."""
    size = sum(size for size, _ in state.files.values())
    free = free_bytes(store.path)
    if free is None or free >= size * COMPACTION_ROOM:
        return ""
    return (
        f"compaction postponed: it needs about {megabytes(int(size * COMPACTION_ROOM))} free beside the index, "
        f"and {megabytes(free)} is free"
    )


#: Index bytes written per byte of episode file read (about 1.1 on the corpus), with a margin.
_INDEX_PER_SOURCE_BYTE = 1.5


def _room_needed(store: IndexDir, plan: Plan) -> int:
    """Roughly how many bytes the plan writes (for the message of a full disk)."""
    read = 0
    for source in plan.to_read:
        try:
            read += os.path.getsize(source.path)
        except OSError:
            pass
    return int(read * _INDEX_PER_SOURCE_BYTE)


def _tidy_after_failure(store: IndexDir) -> None:
    """Remove what a failed or interrupted run wrote (still under the lock)."""
    try:
        generation = store.generation()
        record = store.check_integrity(generation) if generation else None
    except (
        PodsearchError,
        OSError,
    ):  # damaged or unreadable: keep what the index may use
        record = None
    with contextlib.suppress(OSError):
        store.remove_leftovers(record)
