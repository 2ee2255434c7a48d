"""Incremental, crash-safe index updates.

An update makes the index mirror the episode files of some folders. Files are
compared by content hash (a fresh ``git clone`` resets every mtime), mixed with
the hash of the folder's guest files (:func:`people_sha`), only new and changed
files are read, and everything lands in one Whoosh commit, so a
kill at any moment leaves the previous generation intact. A file that fails to
read never stops the others and never removes what was indexed before.

``podsearch.json`` keeps a copy of the manifest (episode id → path and hash),
of the files that failed (path → hash and reason) and of the segment list, valid
for the generation it names: a run that finds nothing to do opens neither the
Whoosh index nor any episode file (and imports no YAML, no Whoosh writer). After a
kill between a commit and the update of that file, the generations differ and
the state is read from the index itself.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from podsearch import __version__
from podsearch.index.schema import SCHEMA_VERSION
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.model import Failure, UpdateReport
from podsearch.reading.folders import (
    NotARegularFile,
    default_episodes_path,
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


@dataclass(frozen=True)
class Progress:
    """How far an update is: files read of those to read, paragraphs indexed."""

    files: int
    total: int
    paragraphs: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Source:
    """An episode file found in a folder."""

    id: str
    path: str
    sha: str


@dataclass(frozen=True)
class IndexState:
    """What the index holds, as far as planning an update needs to know."""

    #: episode id → (path, sha) of the indexed copy
    manifest: dict[str, tuple[str, str]]
    generation: int | None = None
    segment_ids: tuple[str, ...] | None = None
    documents: int = 0
    #: path → (sha, reason) of the files that failed in the last run
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """What an update will do."""

    sources: dict[str, Source]
    failures: tuple[Failure, ...]
    new: tuple[Source, ...]
    changed: tuple[Source, ...]
    unchanged: tuple[Source, ...]
    gone: tuple[str, ...]
    #: indexed episodes in a folder that could not be listed: kept as they are
    protected: frozenset[str]
    rebuild: bool

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
) -> UpdateReport:
    """Make the index at ``directory`` mirror the episode files in ``folders``.

    With no folders, the folders of the last update are used, else the default
    episodes folder. Raises :class:`~podsearch.errors.IndexLockedError` when
    another update runs (unless ``wait``); reports unreadable files in the
    returned :class:`UpdateReport` instead of raising.
    """
    began = time.perf_counter()
    store = IndexDir(directory)
    with store.lock(wait=wait):
        store.remove_leftovers(other_versions=False)
        meta = store.read_meta()
        chosen = _choose_folders(folders, meta)
        sources, failures, unlisted = _list_sources(chosen)
        state = None if rebuild else _state_from_meta(store, meta)
        if state is None:
            state = _state_from_index(store)
        listed = [Path(os.path.realpath(f)) for f in chosen if f not in unlisted]
        plan = make_plan(state, sources, failures, listed if unlisted else None, rebuild or not store.exists())
        if plan.idle:
            report = UpdateReport(unchanged=tuple(s.id for s in plan.unchanged), failed=plan.failures)
        else:
            from podsearch.index.writing import apply

            report, state = apply(store, plan, state, progress)
        store.remove_unused(state.generation, state.segment_ids)
        if report.changed or report.rebuilt:
            store.remove_leftovers(other_versions=True)
        report = replace(report, seconds=time.perf_counter() - began, folders=tuple(map(str, chosen)))
        store.write_meta(
            {
                "podsearch": __version__,
                "schema": SCHEMA_VERSION,
                "folders": [os.path.realpath(f) for f in chosen],  # Path.resolve() raises on a symlink loop
                "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "report": report_record(report),
                **_state_record(state, sources, report.failed),
            }
        )
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
    }


# --- what is there ---------------------------------------------------------------------------


def _choose_folders(folders: Sequence[Path | str] | None, meta: dict[str, Any]) -> list[Path]:
    if folders:
        return [Path(f) for f in folders]
    previous = meta.get("folders")
    if isinstance(previous, list) and previous and all(isinstance(f, str) for f in previous):
        return [Path(f) for f in previous]
    return [default_episodes_path()]


def _list_sources(folders: Sequence[Path]) -> tuple[dict[str, Source], list[Failure], list[Path]]:
    """Every episode file by id with its hash; failures; the folders that could not be listed."""
    sources: dict[str, Source] = {}
    failures: list[Failure] = []
    unlisted: list[Path] = []
    for folder in folders:
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".md"))
        except OSError as error:
            failures.append(Failure(str(folder), f"cannot list the folder: {error.strerror or error}"))
            unlisted.append(folder)
            continue
        guests = people_sha(folder)
        for name in names:
            # as podsearch.episodes.episode_files/episode_id, without importing the reader
            path, eid = folder / name, name[: -len(".md")]
            if eid in sources:
                failures.append(Failure(str(path), f"duplicate episode id {eid!r} (also {sources[eid].path})"))
                continue
            try:
                sha = file_sha(path)
            except IsADirectoryError:
                failures.append(Failure(str(path), "is a directory, not an episode file"))
                continue
            except NotARegularFile:
                failures.append(Failure(str(path), "is not a regular file"))
                continue
            except OSError as error:
                failures.append(Failure(str(path), f"cannot read the file: {error.strerror or error}"))
                continue
            if guests:  # an episode shows its guests' names: a renamed guest changes it
                sha = hashlib.blake2b(f"{sha}/{guests}".encode(), digest_size=16).hexdigest()
            sources[eid] = Source(eid, os.path.realpath(path), sha)
    return sources, failures, unlisted


def _state_from_meta(store: IndexDir, meta: dict[str, Any]) -> IndexState | None:
    """The state recorded in ``podsearch.json``, if it describes the current generation."""
    generation = store.generation()
    trusted = (
        generation is not None
        and generation >= 1
        and meta.get("generation") == generation
        and meta.get("schema") == SCHEMA_VERSION
        and meta.get("podsearch") == __version__  # failure reasons depend on the reader's code
        and isinstance(meta.get("manifest"), dict)
        and isinstance(meta.get("segment_ids"), list)
    )
    if not trusted:
        return None
    try:
        return IndexState(
            manifest={eid: (str(path), str(sha)) for eid, (path, sha) in meta["manifest"].items()},
            generation=generation,
            segment_ids=tuple(str(s) for s in meta["segment_ids"]),
            documents=int(meta.get("documents", 0)),
            failures={str(p): (str(sha), str(why)) for p, (sha, why) in meta.get("failures", {}).items()},
        )
    except (TypeError, ValueError, AttributeError):
        return None  # a hand-edited or truncated file: read the index instead


def _state_from_index(store: IndexDir) -> IndexState:
    """The state read from the Whoosh index itself (empty when there is none)."""
    if not store.exists():
        return IndexState(manifest={}, generation=store.generation())
    from whoosh.filedb.filestore import FileStorage

    ix = FileStorage(str(store.path)).open_index(INDEX_NAME)
    try:
        return read_state(ix)
    finally:
        ix.close()


def read_state(ix: Any) -> IndexState:
    """The manifest, generation and segments of an open Whoosh index."""
    from podsearch.index.schema import EPISODE

    segments = ix._segments()
    with ix.searcher() as searcher:
        manifest = {s["eid"]: (s["path"], s["sha"]) for s in searcher.documents(kind=EPISODE)}
    return IndexState(
        manifest=manifest,
        generation=ix.latest_generation(),
        segment_ids=tuple(segment.segment_id() for segment in segments),
        documents=sum(segment.doc_count_all() for segment in segments),
    )


def _state_record(state: IndexState, sources: dict[str, Source], failed: Sequence[Failure]) -> dict[str, Any]:
    """What ``podsearch.json`` keeps for the next run (see the module docstring)."""
    shas = {source.path: source.sha for source in sources.values()}
    return {
        "generation": state.generation,
        "segment_ids": list(state.segment_ids) if state.segment_ids is not None else None,
        "documents": state.documents,
        "manifest": {eid: [path, sha] for eid, (path, sha) in sorted(state.manifest.items())},
        # only failures of files that were hashed, i.e. that can be recognised next time
        "failures": {f.path: [shas[f.path], f.message] for f in failed if f.path in shas},
    }


# --- what to do ------------------------------------------------------------------------------


def make_plan(
    state: IndexState,
    sources: dict[str, Source],
    failures: Sequence[Failure],
    listed: Sequence[Path] | None,
    rebuild: bool,
) -> Plan:
    """Sort the files into new, changed, unchanged and gone, and decide on a rebuild.

    ``listed`` is given when a folder could not be listed: the folders that
    were. Then an episode whose file is not found is removed only if it was in
    one of those (a mistyped or unmounted folder must not empty the index).
    """
    indexed = state.manifest
    # Same bytes and same code: a file fails as it did last time; no need to read it again.
    known = [] if rebuild else [s for s in sources.values() if state.failures.get(s.path, ("",))[0] == s.sha]
    failures = (*failures, *(Failure(s.path, state.failures[s.path][1]) for s in known))
    failures = tuple(sorted(failures, key=lambda f: f.path))
    skip = {s.id for s in known}
    new = tuple(s for eid, s in sources.items() if eid not in indexed and eid not in skip)
    changed = tuple(
        s for eid, s in sources.items() if eid in indexed and indexed[eid][1] != s.sha and eid not in skip
    )
    unchanged = tuple(s for eid, s in sources.items() if eid in indexed and indexed[eid][1] == s.sha)
    protected: frozenset[str] = frozenset()
    if listed is not None:
        protected = frozenset(
            eid for eid, (path, _) in indexed.items() if eid not in sources and Path(path).parent not in listed
        )
    gone = tuple(sorted(eid for eid in indexed if eid not in sources and eid not in protected))
    segments = len(state.segment_ids or ())
    compact = segments > MAX_SEGMENTS + 2 + state.documents // SEGMENT_DOCUMENTS
    return Plan(sources, failures, new, changed, unchanged, gone, protected, rebuild or compact)
