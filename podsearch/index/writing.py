"""Carrying out an update plan on the Whoosh index: one atomic commit.

Files are read and indexed in this process, or, from
:data:`~podsearch.indexer.PARALLEL_FROM` files on, by two worker processes that
each write segments into the index folder. Nothing is visible to readers until
the parent writes the new table of contents, which lists the kept segments
(with their deletions) and the new ones; Whoosh renames it into place, so a
kill at any moment leaves either the old generation or the new one.

Whoosh's own parallel writer collects worker segments with a one-second
timeout and silently drops a worker that died. Here a worker reports every file
it was given and the documents in each segment it wrote; the parent refuses to
commit when a worker died, a file is missing, or a segment holds other than the
documents that were sent to it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from podsearch.errors import EpisodeError, PodsearchError
from podsearch.index import indexer
from podsearch.index.segments import BulkSegmentWriter, collector_paused
from podsearch.index.documents import episode_documents, episode_from_stored
from podsearch.index.durable import DurableFileStorage
from podsearch.index.indexer import (
    IndexState,
    Plan,
    Progress,
    ProgressCallback,
    Source,
    read_state,
)
from podsearch.index.schema import EPISODE, PARAGRAPH, make_schema
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.model import Failure, UpdateReport
from podsearch.reading.episodes import People, read_episode

#: Worker processes for a large update (the machines this runs on have two cores).
WORKERS = 2
# PARALLEL_FROM and SEGMENT_DOCUMENTS are read from :mod:`podsearch.indexer` at
# call time, so there is one place to change (or patch) them.


@dataclass(frozen=True)
class Outcome:
    """One file read: its paragraphs and documents, or why it failed."""

    id: str
    paragraphs: int | None = None
    documents: int = 0
    failure: str | None = None


@dataclass
class Built:
    """What reading the files produced: outcomes, and segments written by workers
    with the number of documents each should hold."""

    outcomes: list[Outcome] = field(default_factory=list)
    segments: list[tuple[Any, int]] = field(default_factory=list)

    def read(self) -> set[str]:
        """The ids of the files that were read and indexed."""
        return {o.id for o in self.outcomes if o.paragraphs is not None}


class Writer(BulkSegmentWriter):
    """The parent writer: deletions, small additions, and the final commit."""

    def commit_segments(self, extra: Sequence[Any], clear: bool) -> list[Any]:
        """Commit this writer's work plus segments written by workers, atomically.

        ``clear`` drops every earlier segment (a rebuild); otherwise existing
        segments are kept as they are, minus any left empty by deletions.
        Returns the committed segments.
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
        return final


def apply(
    store: IndexDir, plan: Plan, state: IndexState, progress: ProgressCallback | None
) -> tuple[UpdateReport, IndexState]:
    """Carry out ``plan`` on an index in ``state``; the report, and the state afterwards."""
    storage = DurableFileStorage(str(store.path))
    if store.generation() is None:
        ix = storage.create_index(make_schema(), indexname=INDEX_NAME)
    else:  # also an index whose first build was killed (generation 0): build into it
        ix = storage.open_index(INDEX_NAME)
    try:
        with collector_paused():
            report, committed = _write(ix, store, plan, progress)
        return report, read_state(ix) if committed else state
    finally:
        ix.close()


def _write(ix: Any, store: IndexDir, plan: Plan, progress: ProgressCallback | None) -> tuple[UpdateReport, bool]:
    """Read, index, delete and commit; the report, and whether a commit was made."""
    sources = plan.to_read
    tracker = _Tracker(len(sources), progress)
    parallel = (
        len(sources) >= indexer.PARALLEL_FROM
        and "fork" in get_all_start_methods()
        and (os.cpu_count() or 1) > 1
    )
    built = _build_in_workers(store.path, sources, tracker.advance) if parallel else Built()
    # The parent's writer is made after the workers are forked, so they inherit none of its files.
    writer = Writer(ix)
    try:
        if not parallel:
            built = _build_in_writer(writer, sources, tracker.advance)
        read = built.read()
        failed = {o.id for o in built.outcomes if o.paragraphs is None}
        # the documents this process's writer was given (the workers' are checked apart)
        in_writer = 0 if parallel else sum(o.documents for o in built.outcomes)
        if plan.rebuild:
            # Nothing lost: an indexed episode whose file now fails, or whose folder
            # could not be listed, is carried over from the index into the rebuilt one.
            keep = ((failed & set(_indexed_ids(ix))) | plan.protected) - read
            in_writer += _carry_over(ix, writer, keep)
        else:
            for eid in [s.id for s in plan.changed if s.id in read] + list(plan.gone):
                writer.delete_by_term("eid", eid)
        report = _report(plan, built, failed, read)
        if not (plan.rebuild or report.changed):
            writer.cancel()
            return report, False
        _check_documents(built, writer, in_writer)
        writer.commit_segments([segment for segment, _ in built.segments], clear=plan.rebuild)
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return report, True


def _indexed_ids(ix: Any) -> set[str]:
    """The ids of the episodes the index holds."""
    with ix.searcher() as searcher:
        return {stored["eid"] for stored in searcher.documents(kind=EPISODE)}


def _report(plan: Plan, built: Built, failed: set[str], read: set[str]) -> UpdateReport:
    paths = {s.id: s.path for s in plan.to_read}
    failures = [Failure(paths[o.id], o.failure) for o in built.outcomes if o.failure is not None]
    return UpdateReport(
        added=tuple(s.id for s in plan.new if s.id in read),
        updated=tuple(s.id for s in plan.changed if s.id in read),
        removed=plan.gone,
        unchanged=tuple(s.id for s in plan.unchanged if s.id not in failed),
        failed=tuple(sorted((*plan.failures, *failures), key=lambda f: f.path)),
        paragraphs=sum(o.paragraphs or 0 for o in built.outcomes),
        rebuilt=plan.rebuild,
    )


def _carry_over(ix: Any, writer: Writer, episode_ids: set[str]) -> int:
    """Re-add the indexed copy of these episodes to a rebuild; the documents added."""
    added = 0
    with ix.searcher() as searcher:
        for eid in sorted(episode_ids):
            head = searcher.document(kind=EPISODE, eid=eid)
            paragraphs = list(searcher.documents(kind=PARAGRAPH, eid=eid))
            episode = episode_from_stored(head["meta"], paragraphs)
            for document in episode_documents(episode, head["path"], head["sha"]):
                writer.add_document(**document)
                added += 1
    return added


def _check_documents(built: Built, writer: Writer, in_writer: int) -> None:
    """Trust no writer blindly: every segment must hold the documents sent to it."""
    if writer.docnum != in_writer:
        raise PodsearchError(f"the index writer holds {writer.docnum} of {in_writer} documents; the index is unchanged")
    for segment, documents in built.segments:
        if segment.doc_count_all() != documents:
            raise PodsearchError(
                f"an indexing worker wrote {segment.doc_count_all()} of {documents} documents; "
                "the index is unchanged"
            )


# --- reading files into a writer -------------------------------------------------------------


def _index_files(
    sources: Sequence[Source], add: Callable[[Source, Any], int], advance: Callable[[int], None]
) -> list[Outcome]:
    """Read each file and hand its episode to ``add`` (which returns the documents added)."""
    outcomes: list[Outcome] = []
    people: dict[Path, People] = {}
    for source in sources:
        folder = Path(source.path).parent
        if folder not in people:
            people[folder] = People.beside(folder)
        try:
            episode = read_episode(source.path, people[folder])
        except EpisodeError as error:
            outcomes.append(Outcome(source.id, failure=_failure_text(error)))
            advance(0)
            continue
        documents = add(source, episode)
        outcomes.append(Outcome(source.id, documents - 1, documents))
        advance(documents - 1)
    return outcomes


def _adder(writer: BulkSegmentWriter) -> Callable[[Source, Any], int]:
    def add(source: Source, episode: Any) -> int:
        count = 0
        for document in episode_documents(episode, source.path, source.sha):
            writer.add_document(**document)
            count += 1
        return count

    return add


def _build_in_writer(writer: Writer, sources: Sequence[Source], advance: Callable[[int], None]) -> Built:
    return Built(_index_files(sources, _adder(writer), advance))


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


# --- worker processes ------------------------------------------------------------------------


def _build_in_workers(index_path: Path, sources: Sequence[Source], advance: Callable[[int], None]) -> Built:
    """Two forked workers each index a share of the files into segments of their own."""
    context = get_context("fork")
    workers: list[tuple[Any, Connection, list[Source]]] = []
    built = Built()
    try:
        for share in _shares(sources, WORKERS):
            receiver, sender = context.Pipe(duplex=False)
            inherited = [r for _, r, _ in workers] + [receiver]
            process = context.Process(
                target=_worker, args=(str(index_path), share, sender, inherited), daemon=True
            )
            process.start()
            sender.close()  # only the worker writes: EOF here means it is gone
            workers.append((process, receiver, share))
        pending = {receiver: (process, share) for process, receiver, share in workers}
        while pending:
            for receiver in wait(list(pending)):
                process, share = pending[receiver]
                if _receive(receiver, process, share, built, advance):
                    del pending[receiver]
    finally:
        for process, receiver, _ in workers:
            if process.is_alive():  # only after a failure: stop the other worker
                process.kill()
            process.join()
            receiver.close()
    return built


def _receive(receiver: Connection, process: Any, share: list[Source], built: Built, advance: Callable[[int], None]) -> bool:
    """Take one message from a worker; whether it was its last."""
    try:
        kind, payload = receiver.recv()
    except EOFError:
        process.join()
        raise PodsearchError(
            f"an indexing worker process died (exit code {process.exitcode}); the index is unchanged"
        ) from None
    if kind == "file":
        advance(payload)
        return False
    outcomes, segments = payload
    accept(share, outcomes, segments, built)
    return True


def accept(share: Sequence[Source], outcomes: list[Outcome], segments: list[tuple[Any, int]], built: Built) -> None:
    """Add a worker's results to ``built``, unless a file or a segment is missing."""
    if sorted(o.id for o in outcomes) != sorted(s.id for s in share):
        raise PodsearchError("an indexing worker did not report every file; the index is unchanged")
    expected = sum(o.documents for o in outcomes if o.paragraphs is not None)
    if sum(documents for _, documents in segments) != expected:
        raise PodsearchError(
            f"an indexing worker returned segments of {sum(d for _, d in segments)} of {expected} "
            "documents; the index is unchanged"
        )
    built.outcomes.extend(outcomes)
    built.segments.extend(segments)


def _shares(sources: Sequence[Source], workers: int) -> list[list[Source]]:
    """Split the files into balanced shares: an episode's cost is about its size."""
    shares: list[list[Source]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for size, source in sorted(((_size(s.path), s) for s in sources), key=lambda pair: -pair[0]):
        lightest = loads.index(min(loads))
        shares[lightest].append(source)
        loads[lightest] += size
    return [share for share in shares if share]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # gone since it was listed: reading it will report why
        return 0


def _worker(index_path: str, sources: list[Source], sender: Connection, inherited: list[Connection]) -> None:
    """In a worker process: index some files into segments, report each file and the segments."""
    # Ctrl-C reaches the whole process group: the parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's ends of the pipes came along with the fork: closing them here
    # means a send fails, instead of filling a pipe nobody reads, once the parent is gone.
    for connection in inherited:
        connection.close()
    parent = os.getppid()

    def report_file(paragraphs: int) -> None:
        if os.getppid() != parent:  # the parent was killed: its update is void
            os._exit(1)
        sender.send(("file", paragraphs))

    with collector_paused():
        ix = DurableFileStorage(index_path).open_index(INDEX_NAME)
        segments: list[tuple[Any, int]] = []
        writer = BulkSegmentWriter(ix, _lk=False)
        documents = 0

        def add(source: Source, episode: Any) -> int:
            nonlocal writer, documents
            count = _adder(writer)(source, episode)
            documents += count
            if writer.docnum >= indexer.SEGMENT_DOCUMENTS:
                segments.append((_close_segment(writer), documents))
                writer.release()
                writer, documents = BulkSegmentWriter(ix, _lk=False), 0
            return count

        outcomes = _index_files(sources, add, report_file)
        if writer.docnum:
            segments.append((_close_segment(writer), documents))
        else:
            _discard(writer)
        _KEPT_UNTIL_EXIT.append(writer)
        try:
            sender.send(("done", (outcomes, segments)))
        except BrokenPipeError:  # the parent was killed meanwhile
            os._exit(1)
    sender.close()


#: A worker's last writer: its postings are freed when the process exits, all at
#: once, instead of object by object (a quarter of a second for the corpus).
_KEPT_UNTIL_EXIT: list[BulkSegmentWriter] = []


def _close_segment(writer: BulkSegmentWriter) -> Any:
    segment = writer._finalize_segment()
    # Not writer._finish(): it would delete the temporary folder the parent's
    # writer shares with this one.
    writer.is_closed = True
    return segment


def _discard(writer: BulkSegmentWriter) -> None:
    writer._close_segment()
    writer.is_closed = True
