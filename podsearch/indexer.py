"""Incremental, crash-safe index updates.

An update makes the index mirror the episode files of some folders. Files are
compared by content hash (a fresh ``git clone`` resets every mtime), only new
and changed files are read, and everything lands in one Whoosh commit, so a
kill at any moment leaves the previous generation intact. A file that fails to
read never stops the others and never removes what was indexed before.
"""

from __future__ import annotations

import hashlib
import os
import queue as queues
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from . import __version__
from .bulk import BulkSegmentWriter
from .documents import episode_documents, episode_from_stored
from .episodes import People, episode_files, episode_id, read_episode
from .errors import EpisodeError, PodsearchError
from .model import Failure, UpdateReport
from .schema import EPISODE, PARAGRAPH, SCHEMA_VERSION, make_schema
from .storage import INDEX_NAME, IndexDir, default_episodes_path

#: From this many files to read, two worker processes share the work.
PARALLEL_FROM = 24
#: An index with more segments than this is compacted by a full rebuild.
MAX_SEGMENTS = 8


@dataclass(frozen=True)
class Progress:
    """How far an update is: files read of those to read, paragraphs indexed."""

    files: int
    total: int
    paragraphs: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class _Source:
    """An episode file found in a folder."""

    id: str
    path: str
    sha: str


class _Writer(BulkSegmentWriter):
    """The parent writer: deletions, small additions, and the final commit."""

    def commit_segments(self, extra: Sequence[Any], clear: bool) -> None:
        """Commit this writer's work plus segments written by workers, atomically.

        ``clear`` drops every earlier segment (a rebuild); otherwise existing
        segments are kept as they are, minus any left empty by deletions.
        """
        self._check_state()
        final = [] if clear else [s for s in self.segments if s.doc_count() > 0]
        if self._added:
            final.append(self._finalize_segment())
        else:
            self._close_segment()
        final.extend(extra)
        self._commit_toc(final)
        self._finish()


def file_sha(path: Path) -> str:
    """A content hash of a file (BLAKE2b, 128 bits)."""
    with open(path, "rb") as stream:
        return hashlib.blake2b(stream.read(), digest_size=16).hexdigest()


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
        meta = store.read_meta()
        chosen = _choose_folders(folders, meta)
        sources, listing_failures, unlisted = _list_sources(chosen)
        ix, created = _open_or_create(store)
        try:
            report = _apply(ix, store, sources, listing_failures, unlisted, rebuild or created, progress)
        finally:
            ix.close()
        report = _finished(report, chosen, time.perf_counter() - began)
        store.write_meta(
            {
                "podsearch": __version__,
                "schema": SCHEMA_VERSION,
                "folders": [str(Path(f).resolve()) for f in chosen],
                "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "report": report_record(report),
            }
        )
        _remove_other_versions(store)
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


# --- planning --------------------------------------------------------------------------------


def _choose_folders(folders: Sequence[Path | str] | None, meta: dict[str, Any]) -> list[Path]:
    if folders:
        return [Path(f) for f in folders]
    previous = meta.get("folders")
    if isinstance(previous, list) and previous and all(isinstance(f, str) for f in previous):
        return [Path(f) for f in previous]
    return [default_episodes_path()]


def _list_sources(folders: Sequence[Path]) -> tuple[dict[str, _Source], list[Failure], bool]:
    """Every episode file by id, with its hash; failures; whether a folder could not be listed."""
    sources: dict[str, _Source] = {}
    failures: list[Failure] = []
    unlisted = False
    for folder in folders:
        try:
            paths = episode_files(folder)
        except EpisodeError as error:
            failures.append(Failure(str(folder), error.reason))
            unlisted = True
            continue
        for path in paths:
            eid = episode_id(path)
            if eid in sources:
                failures.append(Failure(str(path), f"duplicate episode id {eid!r} (also {sources[eid].path})"))
                continue
            try:
                sha = file_sha(path)
            except IsADirectoryError:
                failures.append(Failure(str(path), "is a directory, not an episode file"))
                continue
            except OSError as error:
                failures.append(Failure(str(path), f"cannot read the file: {error.strerror or error}"))
                continue
            sources[eid] = _Source(eid, str(path.resolve()), sha)
    return sources, failures, unlisted


def _open_or_create(store: IndexDir) -> tuple[Any, bool]:
    """The writable Whoosh index, and whether it was just created."""
    from whoosh.filedb.filestore import FileStorage

    storage = FileStorage(str(store.path))
    if store.exists():
        return storage.open_index(INDEX_NAME), False
    return storage.create_index(make_schema(), indexname=INDEX_NAME), True


def _indexed(ix: Any) -> dict[str, tuple[str, str]]:
    """What the index holds: episode id → (path, sha)."""
    with ix.searcher() as searcher:
        return {
            stored["eid"]: (stored["path"], stored["sha"])
            for stored in searcher.documents(kind=EPISODE)
        }


# --- applying --------------------------------------------------------------------------------


def _apply(
    ix: Any,
    store: IndexDir,
    sources: dict[str, _Source],
    failures: list[Failure],
    unlisted: bool,
    rebuild: bool,
    progress: ProgressCallback | None,
) -> UpdateReport:
    indexed = _indexed(ix)
    rebuild = rebuild or len(ix._segments()) > MAX_SEGMENTS
    new = [s for eid, s in sources.items() if eid not in indexed]
    changed = [s for eid, s in sources.items() if eid in indexed and indexed[eid][1] != s.sha]
    unchanged = [s for eid, s in sources.items() if eid in indexed and indexed[eid][1] == s.sha]
    # With a folder that could not be listed, absence proves nothing: remove nothing.
    gone = [] if unlisted else sorted(eid for eid in indexed if eid not in sources)
    to_read = new + changed + (unchanged if rebuild else [])

    writer = _Writer(ix)
    try:
        results, segments = _read_and_index(ix, writer, store, to_read, progress)
        read_ok = {eid for eid, paragraphs, _ in results if paragraphs is not None}
        failures = failures + [
            Failure(_path_of(sources, eid), message) for eid, _, message in results if message
        ]
        failed_ids = {eid for eid, paragraphs, _ in results if paragraphs is None}
        if rebuild:
            # Nothing lost: an indexed episode whose file now fails (or whose folder
            # vanished) is carried over from the index into the rebuilt one.
            keep = (failed_ids | (set(indexed) if unlisted else set())) - read_ok
            _carry_over(ix, writer, keep & set(indexed))
        else:
            for eid in [s.id for s in changed if s.id in read_ok] + gone:
                writer.delete_by_term("eid", eid)
        paragraphs = sum(p for _, p, _ in results if p)
        added = tuple(s.id for s in new if s.id in read_ok)
        updated = tuple(s.id for s in changed if s.id in read_ok)
        if rebuild or added or updated or gone:
            _check_counts(segments, results)
            writer.commit_segments([segment for segment, _ in segments], clear=rebuild)
        else:
            writer.cancel()
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return UpdateReport(
        added=added,
        updated=updated,
        removed=tuple(gone),
        unchanged=tuple(s.id for s in unchanged if s.id not in failed_ids),
        failed=tuple(failures),
        paragraphs=paragraphs,
        rebuilt=rebuild,
    )


def _path_of(sources: dict[str, _Source], eid: str) -> str:
    return sources[eid].path if eid in sources else eid


def _finished(report: UpdateReport, folders: Sequence[Path], seconds: float) -> UpdateReport:
    values = {name: getattr(report, name) for name in report.__dataclass_fields__}
    values.update(seconds=seconds, folders=tuple(str(f) for f in folders))
    return UpdateReport(**values)


def _carry_over(ix: Any, writer: _Writer, episode_ids: set[str]) -> None:
    """Re-add the indexed copy of these episodes to a rebuild."""
    if not episode_ids:
        return
    with ix.searcher() as searcher:
        for eid in sorted(episode_ids):
            head = searcher.document(kind=EPISODE, eid=eid)
            paragraphs = list(searcher.documents(kind=PARAGRAPH, eid=eid))
            episode = episode_from_stored(head["meta"], paragraphs)
            for document in episode_documents(episode, head["path"], head["sha"]):
                writer.add_document(**document)


#: (episode id, paragraphs indexed or None when the file failed, failure message)
_Result = tuple[str, "int | None", "str | None"]


def _read_and_index(
    ix: Any,
    writer: _Writer,
    store: IndexDir,
    sources: list[_Source],
    progress: ProgressCallback | None,
) -> tuple[list[_Result], list[Any]]:
    """Read and index the files: in this process, or in two workers for many files."""
    workers = min(2, os.cpu_count() or 1)
    if len(sources) < PARALLEL_FROM or workers < 2:
        tracker = _Tracker(len(sources), progress)
        results = _index_sources(writer, sources, tracker.advance)
        return results, []
    return _index_in_workers(store, sources, workers, progress)


def _index_sources(
    writer: Any, sources: Sequence[_Source], advance: Callable[[int], None]
) -> list[_Result]:
    results: list[_Result] = []
    people: dict[Path, People] = {}
    for source in sources:
        folder = Path(source.path).parent
        if folder not in people:
            people[folder] = People.beside(folder)
        try:
            episode = read_episode(source.path, people[folder])
        except EpisodeError as error:
            results.append((source.id, None, _failure_text(error)))
            advance(0)
            continue
        count = 0
        for document in episode_documents(episode, source.path, source.sha):
            writer.add_document(**document)
            count += 1
        results.append((source.id, count - 1, None))
        advance(count - 1)
    return results


def _failure_text(error: EpisodeError) -> str:
    """The failure as reported next to the path: line and column, then the reason."""
    if error.line is None:
        return error.reason
    column = f", column {error.column}" if error.column is not None else ""
    return f"line {error.line}{column}: {error.reason}"


class _Tracker:
    def __init__(self, total: int, progress: ProgressCallback | None) -> None:
        self.total, self.progress = total, progress
        self.files = self.paragraphs = 0

    def advance(self, paragraphs: int) -> None:
        self.files += 1
        self.paragraphs += paragraphs
        if self.progress:
            self.progress(Progress(self.files, self.total, self.paragraphs))


# Set in each worker process by its initializer.
_worker_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    global _worker_queue
    _worker_queue = progress_queue


def _worker(index_path: str, sources: list[_Source]) -> tuple[Any, list[_Result], int]:
    """In a worker process: write one segment from some files."""
    from whoosh.filedb.filestore import FileStorage

    ix = FileStorage(index_path).open_index(INDEX_NAME)
    writer = BulkSegmentWriter(ix, _lk=False)
    results = _index_sources(writer, sources, lambda n: _worker_queue.put(n))
    documents = writer.docnum
    if writer._added:
        segment = writer._finalize_segment()
    else:
        writer._close_segment()
        segment = None
    # Not writer._finish(): it would delete the temporary folder the parent's
    # writer shares with this one.
    writer.is_closed = True
    return segment, results, documents


def _index_in_workers(
    store: IndexDir, sources: list[_Source], workers: int, progress: ProgressCallback | None
) -> tuple[list[_Result], list[Any]]:
    # Balance the workers by file size: an episode's cost is about its length.
    shares: list[list[_Source]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for source in sorted(sources, key=lambda s: -os.path.getsize(s.path)):
        lightest = loads.index(min(loads))
        shares[lightest].append(source)
        loads[lightest] += os.path.getsize(source.path)

    context = get_context("fork") if "fork" in _start_methods() else get_context()
    progress_queue = context.Queue()
    tracker = _Tracker(len(sources), progress)
    results: list[_Result] = []
    segments: list[Any] = []
    try:
        with ProcessPoolExecutor(workers, context, _init_worker, (progress_queue,)) as pool:
            futures = [pool.submit(_worker, str(store.path), share) for share in shares if share]
            while not all(f.done() for f in futures):
                _drain(progress_queue, tracker, timeout=0.05)
            for future in futures:
                segment, share_results, documents = future.result()
                results.extend(share_results)
                if segment is not None:
                    segments.append((segment, documents))
    except BrokenProcessPool:
        raise PodsearchError("an indexing worker process died; the index is unchanged") from None
    _drain(progress_queue, tracker, timeout=0)
    return results, segments


def _drain(progress_queue: Any, tracker: _Tracker, timeout: float) -> None:
    try:
        while True:
            tracker.advance(progress_queue.get(timeout=timeout) if timeout else progress_queue.get_nowait())
    except queues.Empty:
        return


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _check_counts(segments: list[Any], results: list[_Result]) -> None:
    """Trust no worker blindly: each segment must hold the documents it was given."""
    for segment, documents in segments:
        if segment.doc_count_all() != documents:
            raise PodsearchError(
                f"an indexing worker wrote {segment.doc_count_all()} of {documents} documents; "
                "the index is unchanged"
            )


def _remove_other_versions(store: IndexDir) -> None:
    """After a successful rebuild, delete the files of indexes of other schema versions."""
    for name in store.index_names() - {INDEX_NAME}:
        for entry in os.listdir(store.path):
            if entry.startswith(f"_{name}_"):
                try:
                    os.remove(store.path / entry)
                except OSError:
                    pass
