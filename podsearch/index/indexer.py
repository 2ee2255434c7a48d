"""Incremental, crash-safe index updates.

An update makes the index mirror the episode files of some folders. Files are
compared by content hash (a fresh ``git clone`` resets every mtime), mixed with
the hash of the folder's guest files (:func:`people_sha`), only new and changed
files are read, and everything lands in one Whoosh commit, so a kill at any
moment leaves the previous generation intact. A file that fails to read never
stops the others and never removes what was indexed before.

Episode ids come from what the site keeps stable, not from file names
(:mod:`podsearch.reading.identity`): a file that keeps its content under a new
name is the same episode, renamed, and is not read again; a renamed and edited
file keeps its id too (found by its identity). Ids are given before any file
is indexed: the files to read have their identity read first (their front
matter without the transcript), and two files claiming one id are told apart
the same way on every run (an id held stays held; new files in path order).

Files whose name starts with ``_`` are not published by the site: one that
does not read as an episode (``_template.md``) is *skipped*, as is any file
that is not an episode page at all; neither is a failure.

Everything a run plans from (the folders, the manifest of episode id → path and
hash, each episode's identity key and earlier file names, the files that failed
or were skipped) is in the commit record of the latest generation
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
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from podsearch.index.vectors import wanted_change
from podsearch.model import Failure, UpdateReport
from podsearch.reading.folders import (
    NotARegularFile,
    default_episodes_path,
    episode_sha,
    episodes_folder,
    file_sha,
    people_sha,
)

if TYPE_CHECKING:
    from podsearch.reading.identity import Identity

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
class Found:
    """A file found in a folder: its real path, its hash, its folder's guest-files hash."""

    path: str
    sha: str
    guests: str = ""


@dataclass(frozen=True)
class Source:
    """An episode file with the id the plan gave it; ``guests`` is its folder's guest-files hash."""

    id: str
    path: str
    sha: str
    guests: str = ""
    #: the identity key the id came from (see :mod:`podsearch.reading.identity`)
    key: str = ""
    #: earlier file names of the episode (without ``.md``)
    aliases: tuple[str, ...] = ()
    #: the path the episode was indexed from, when its file was renamed ('' otherwise)
    renamed_from: str = ""


@dataclass(frozen=True)
class Listing:
    """What the folders hold: files by real path, files that failed, folders that are
    missing or unreadable, and folders without any episode file."""

    files: dict[str, Found]
    failures: list[Failure]
    unlisted: list[Path]
    empty: list[Path]


@dataclass(frozen=True)
class Plan:
    """What an update will do."""

    #: every episode the files hold, by id
    sources: dict[str, Source]
    failures: tuple[Failure, ...]
    new: tuple[Source, ...]
    changed: tuple[Source, ...]
    unchanged: tuple[Source, ...]
    gone: tuple[str, ...]
    rebuild: bool
    #: a rebuild only because the index has too many segments (it may be put off)
    compaction: bool = False
    #: episodes whose file was renamed, content unchanged: not read (unless rebuilding)
    renamed: tuple[Source, ...] = ()
    #: files skipped as before (same content): not episodes
    skipped: tuple[Failure, ...] = ()
    #: every file listed, by real path
    files: dict[str, Found] = field(default_factory=dict)

    @property
    def to_read(self) -> list[Source]:
        """The files to read and index."""
        kept = (*self.unchanged, *self.renamed) if self.rebuild else ()
        return [*self.new, *self.changed, *kept]

    @property
    def idle(self) -> bool:
        """Whether there is nothing to write."""
        return not (self.rebuild or self.new or self.changed or self.gone or self.renamed)


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
                listing.files,
                listing.failures,
                rebuild or record is None or damaged,
            )
            if not allow_removals:
                refuse_removals(store, state, plan, chosen, listing)
            report, after = _carry_out(store, plan, state, chosen, damaged, progress)
            with storage_errors(store.path):
                store.remove_leftovers(after, other_versions=report.changed or report.rebuilt)
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
        "renamed": list(report.renamed),
        "removed": list(report.removed),
        "unchanged": len(report.unchanged),
        "skipped": [{"path": f.path, "message": f.message} for f in report.skipped],
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
    if folders:  # a site checkout stands for its _podcast folder
        return [episodes_folder(Path(f)) for f in folders]
    if record is not None and record.folders:
        return [Path(f) for f in record.folders]
    # No record to say: a rebuild of a damaged index, or of one written by another
    # version, may take the folders podsearch.json reported; a fresh start the default.
    reported = store.read_meta().get("folders")
    rebuilding = damaged or bool(store.index_names() - {INDEX_NAME})
    if rebuilding and isinstance(reported, list) and reported and all(isinstance(f, str) for f in reported):
        return [Path(f) for f in reported]
    if store.generation() is None and not store.index_names():
        return [episodes_folder(default_episodes_path())]
    raise UsageError(
        f"the index at {store.path} does not record which folders it mirrors; name them: "
        f"podsearch index EPISODES_FOLDER… --index {store.path}"
    )


def _list_sources(folders: Sequence[Path]) -> Listing:
    """Every episode file by real path with its hash; failures; folders unlisted or without episode files."""
    listing = Listing({}, [], [], [])
    for folder in folders:
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".md"))
        except OSError as error:
            listing.failures.append(
                Failure(os.path.abspath(folder), f"cannot list the folder: {error.strerror or error}")
            )
            listing.unlisted.append(folder)
            continue
        if not names:
            listing.empty.append(folder)
        guests = people_sha(folder)
        for name in names:
            listed = os.path.abspath(folder / name)  # as the folder lists it, for messages
            try:
                sha = file_sha(Path(listed))
            except IsADirectoryError:
                listing.failures.append(Failure(listed, "is a directory, not an episode file"))
                continue
            except NotARegularFile:
                listing.failures.append(Failure(listed, "is not a regular file"))
                continue
            except OSError as error:
                listing.failures.append(Failure(listed, f"cannot read the file: {error.strerror or error}"))
                continue
            path = os.path.realpath(listed)
            listing.files.setdefault(path, Found(path, episode_sha(sha, guests), guests))
    return listing


# --- what to do ------------------------------------------------------------------------------


def read_identities(paths: Sequence[str]) -> dict[str, Identity]:
    """The identity of each file (its front matter without the transcript)."""
    from podsearch.reading.identity import read_identity

    return {path: read_identity(path) for path in paths}


def make_plan(
    state: IndexState,
    files: dict[str, Found],
    failures: Sequence[Failure],
    rebuild: bool,
    identify: Callable[[Sequence[str]], dict[str, Identity]] | None = None,
) -> Plan:
    """Give every file its episode id, sort them into new, changed, renamed, unchanged and gone,
    and decide on a rebuild.

    ``identify`` reads the identities of the files to read (default:
    :func:`read_identities`); renamed and unchanged files are never opened.
    """
    indexed = state.manifest
    at_path = {path: eid for eid, (path, _) in indexed.items()}
    held: dict[str, Source] = {}  # id → source: the ids settled so far
    unchanged: list[Source] = []
    remembered: list[Failure] = []
    skipped: list[Failure] = []
    pending: list[Found] = []
    for path in sorted(files):
        found = files[path]
        eid = at_path.get(path)
        if eid is not None and indexed[eid][1] == found.sha:
            held[eid] = _source(eid, found, state)
            unchanged.append(held[eid])
            continue
        # Same bytes as when it last failed or was skipped: not read again, reported again.
        if not rebuild and state.failures.get(path, ("",))[0] == found.sha:
            remembered.append(Failure(path, state.failures[path][1]))
        elif not rebuild and state.skipped.get(path, ("",))[0] == found.sha:
            skipped.append(Failure(path, state.skipped[path][1]))
        else:
            pending.append(found)
            continue
        if eid is not None:  # its last good version stays indexed
            held[eid] = _source(eid, found, state)

    # Renamed: the content of an indexed episode whose file is gone, under a new name.
    vacated = sorted(eid for eid, (path, _) in indexed.items() if eid not in held and path not in files)
    by_sha: dict[str, list[str]] = {}
    for eid in vacated:
        by_sha.setdefault(indexed[eid][1], []).append(eid)
    renamed: list[Source] = []
    to_read: list[Found] = []
    for found in pending:
        moved = by_sha.get(found.sha)
        if found.path not in at_path and moved:
            eid = moved.pop(0)
            held[eid] = _source(eid, found, state, renamed_from=indexed[eid][0])
            renamed.append(held[eid])
        else:
            to_read.append(found)

    identities = (identify or read_identities)([found.path for found in to_read]) if to_read else {}
    new, changed = _place(to_read, identities, state, held, at_path, vacated)
    gone = tuple(sorted(eid for eid in indexed if eid not in held))
    compact = len(state.segment_ids) > MAX_SEGMENTS + 2 + state.documents // SEGMENT_DOCUMENTS
    return Plan(
        sources=dict(sorted(held.items())),
        failures=tuple(sorted((*failures, *remembered), key=lambda f: f.path)),
        new=tuple(new),
        changed=tuple(changed),
        unchanged=tuple(unchanged),
        gone=gone,
        rebuild=rebuild or compact,
        compaction=compact and not rebuild,
        renamed=tuple(renamed),
        skipped=tuple(skipped),
        files=files,
    )


def _place(
    to_read: list[Found],
    identities: dict[str, Identity],
    state: IndexState,
    held: dict[str, Source],
    at_path: dict[str, str],
    vacated: list[str],
) -> tuple[list[Source], list[Source]]:
    """Give the files to read their ids (adding them to ``held``); the new and the changed sources.

    In turn: an edited file keeps its id while its identity owns it; a renamed
    and edited file takes the id of a vacated episode of the same identity key;
    any other file the first of its identity's candidate ids that is free.
    """
    changed: list[Source] = []
    placed: set[str] = set()
    for found in to_read:
        eid = at_path.get(found.path)
        if eid is not None and eid not in held and identities[found.path].owns(eid):
            held[eid] = _source(eid, found, state, key=identities[found.path].key)
            changed.append(held[eid])
            placed.add(found.path)
    for found in to_read:
        if found.path in placed or found.path in at_path:
            continue
        key = identities[found.path].key
        match = next((eid for eid in vacated if eid not in held and state.keys.get(eid) == key), None)
        if match is not None:
            held[match] = _source(match, found, state, key=key, renamed_from=state.manifest[match][0])
            changed.append(held[match])
            placed.add(found.path)
    new: list[Source] = []
    for found in to_read:
        if found.path in placed:
            continue
        identity = identities[found.path]
        eid = next(candidate for candidate in identity.candidates() if candidate not in held)
        held[eid] = Source(eid, found.path, found.sha, found.guests, key=identity.key)
        new.append(held[eid])
    return new, changed


def _source(eid: str, found: Found, state: IndexState, key: str | None = None, renamed_from: str = "") -> Source:
    """The source of an indexed episode's file, with its key and earlier file names carried over."""
    aliases = state.aliases.get(eid, ())
    if renamed_from:
        stem = _stem(renamed_from)
        if stem not in (_stem(found.path), eid, *aliases):
            aliases = (*aliases, stem)
    return Source(
        eid,
        found.path,
        found.sha,
        found.guests,
        key=state.keys.get(eid, "") if key is None else key,
        aliases=aliases,
        renamed_from=renamed_from,
    )


def _stem(path: str) -> str:
    name = os.path.basename(path)
    return name[: -len(".md")] if name.endswith(".md") else name


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
            why = "cannot be listed" if folder in listing.unlisted else "holds no episode files"
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
    real_folders = tuple(os.path.realpath(f) for f in folders)  # Path.resolve() raises on a symlink loop
    postponed = ""
    if plan.compaction:
        postponed = _compaction_room(store, state)
        if postponed:
            plan = replace(plan, rebuild=False, compaction=False)
    if plan.idle and state.folders == real_folders and not wanted_change(state):
        report = UpdateReport(unchanged=tuple(s.id for s in plan.unchanged), failed=plan.failures, skipped=plan.skipped)
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
