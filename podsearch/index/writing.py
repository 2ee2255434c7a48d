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
documents that were sent to it. A worker that meets a file-system error (a full
disk) reports it, and the parent raises the matching
:class:`~podsearch.errors.StorageError`. Workers die with the parent (Linux:
``PR_SET_PDEATHSIG``), and the parent kills them on any exception, so a killed
update never leaves a process holding the index. Worker segments are committed
in the order of the shares, whatever order the workers finish in: the same
files always give the same index.

Each file is read once: the bytes parsed are the bytes hashed for the
manifest, so a file edited during a run is indexed as read, and the next run
sees that it changed.

The commit writes the generation's record (:mod:`podsearch.index.commits`) just
before Whoosh renames the new table of contents into place. A rebuild never
reads the current table of contents: it starts from no segments and supersedes
whatever is there, so it works from any state of the folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from podsearch.errors import EpisodeError, NotAnEpisode, PodsearchError
from podsearch.index import indexer, spellings, vectors
from podsearch.index.commits import CommitRecord, describe_files, encode, record_name
from podsearch.index.documents import episode_documents, episode_from_stored
from podsearch.index.durable import DurableFileStorage
from podsearch.index.indexer import (
    IndexState,
    Plan,
    Progress,
    ProgressCallback,
    Source,
)
from podsearch.index.oserrors import error_from_worker
from podsearch.index.schema import EPISODE, PARAGRAPH, make_schema
from podsearch.index.segments import (
    BulkSegmentWriter,
    close_segment,
    collector_paused,
    discard_segment,
    fresh_index,
)
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.index.syncing import write_durably
from podsearch.model import Failure, UpdateReport
from podsearch.reading.episodes import People, read_episode
from podsearch.reading.folders import bytes_sha, episode_sha
from podsearch.reading.frontmatter import read_bytes

#: Worker processes for a large update (the machines this runs on have two cores).
WORKERS = 2
# PARALLEL_FROM and SEGMENT_DOCUMENTS are read from :mod:`podsearch.indexer` at
# call time, so there is one place to change (or patch) them.


@dataclass(frozen=True)
class Outcome:
    """One file read: its paragraphs and documents, or why it failed; the hash of the bytes read."""

    id: str
    paragraphs: int | None = None
    documents: int = 0
    failure: str | None = None
    sha: str = ""
    #: the file is not an episode (``failure`` says why): skipped, not failed
    skipped: bool = False


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

    def commit_segments(
        self,
        extra: Sequence[Any],
        clear: bool,
        before_commit: Callable[[list[Any], int, str], None],
    ) -> list[Any]:
        """Commit this writer's work plus segments written by workers, atomically.

        ``clear`` drops every earlier segment (a rebuild); otherwise existing
        segments are kept as they are, minus any left empty by deletions.
        ``before_commit`` gets the segments, the generation and the written table
        of contents just before it is renamed into place. Returns the committed segments.
        """
        self._check_state()
        final = [] if clear else [s for s in self.segments if s.doc_count() > 0]
        # An index without episodes still gets one (empty) segment: readers then see the
        # same kind of index as ever, not Whoosh's segment-less EmptyReader.
        if self._added or not (final or extra):
            final.append(self._finalize_segment())
        else:
            self._close_segment()
        final.extend(extra)
        toc = f"_{self.indexname}_{self.generation}.toc"

        def renaming(old: str, new: str) -> None:
            if new == toc:
                before_commit(final, self.generation, old)

        self.storage.before_rename = renaming
        try:
            self._commit_toc(final)
        finally:
            self.storage.before_rename = None
        self._finish()
        return final


def apply(
    store: IndexDir,
    plan: Plan,
    state: IndexState,
    folders: tuple[str, ...],
    damaged: bool,
    progress: ProgressCallback | None,
) -> tuple[UpdateReport, CommitRecord]:
    """Carry out ``plan`` on an index in ``state``; the report, and the record of the index afterwards.

    ``damaged``: the current index cannot be trusted, so nothing is carried over from it.
    """
    storage = DurableFileStorage(str(store.path))
    if plan.rebuild:  # never reads the current table of contents (see the module docstring)
        ix = fresh_index(storage, make_schema(), INDEX_NAME, store.generation() or 0)
    else:
        ix = storage.open_index(INDEX_NAME)
    try:
        with collector_paused():
            return _write(ix, store, storage, plan, state, folders, damaged, progress)
    finally:
        ix.close()


def _write(
    ix: Any,
    store: IndexDir,
    storage: DurableFileStorage,
    plan: Plan,
    state: IndexState,
    folders: tuple[str, ...],
    damaged: bool,
    progress: ProgressCallback | None,
) -> tuple[UpdateReport, CommitRecord]:
    """Read, index, delete and commit (when anything changed); the report and the record after."""
    sources = plan.to_read
    tracker = _Tracker(len(sources), progress)
    parallel = len(sources) >= indexer.PARALLEL_FROM and "fork" in get_all_start_methods() and (os.cpu_count() or 1) > 1
    built = _build_in_workers(store.path, sources, tracker.advance) if parallel else Built()
    # The parent's writer is made after the workers are forked, so they inherit none of its files.
    # Not Whoosh's lock file: the update holds podsearch's own lock, which a kill releases.
    writer = Writer(ix, _lk=False)
    try:
        if not parallel:
            built = _build_in_writer(writer, sources, tracker.advance)
        read = built.read()
        failed = {o.id for o in built.outcomes if o.paragraphs is None}
        # the documents this process's writer was given (the workers' are checked apart)
        in_writer = 0 if parallel else sum(o.documents for o in built.outcomes)
        carried: set[str] = set()
        if plan.rebuild:
            # Nothing lost: an indexed episode whose file now fails is carried over
            # from the index into the rebuilt one (unless the index is damaged).
            carried = set() if damaged else (failed & set(state.manifest)) - read
            in_writer += _carry_over(storage, writer, carried)
        else:
            for eid in [s.id for s in plan.changed if s.id in read] + list(plan.gone):
                writer.delete_by_term("eid", eid)
            in_writer += _rename(ix, writer, plan.renamed)
        report = _report(plan, built, failed, read)
        record = _next_record(plan, state, built, report, folders, carried)
        unchanged = _planned(record) == _planned(state) and not vectors.wanted_change(state)
        if not plan.rebuild and unchanged:
            writer.cancel()
            return report, state
        _check_documents(built, writer, in_writer)
        committed: list[CommitRecord] = []

        def write_record(segments: list[Any], generation: int, toc: str) -> None:
            with_vectors = vectors.commit(store.path, storage, segments, record, state, read, generation)
            complete = spellings.commit(
                store.path, storage, segments, with_vectors, state, read, generation, plan.rebuild
            )
            committed.append(_write_record(store, complete, segments, generation, toc, state))

        writer.commit_segments([segment for segment, _ in built.segments], plan.rebuild, write_record)
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    return report, committed[0]


def _planned(record: CommitRecord) -> tuple[Any, ...]:
    """What a record says about the episodes and files (not about the index's own files)."""
    return (record.manifest, record.folders, record.failures, record.skipped, record.keys, record.aliases)


def _rename(ix: Any, writer: Writer, renamed: Sequence[Source]) -> int:
    """Point renamed episodes at their new file: only their episode document is written again,
    from the indexed copy (the file is not read). The documents added."""
    if not renamed:
        return 0
    from whoosh.query import And, Term

    with ix.searcher() as searcher:
        for source in renamed:
            head = searcher.document(kind=EPISODE, eid=source.id)
            paragraphs = list(searcher.documents(kind=PARAGRAPH, eid=source.id))
            episode = _as_indexed(episode_from_stored(head["meta"], paragraphs), source)
            writer.delete_by_query(And([Term("kind", EPISODE), Term("eid", source.id)]))
            writer.add_document(**next(episode_documents(episode, source.path, head["sha"])))
    return len(renamed)


def _as_indexed(episode: Any, source: Source) -> Any:
    """The episode as indexed from ``source``: its id, file, earlier file names, draft or not."""
    return replace(
        episode,
        id=source.id,
        path=source.path,
        aliases=source.aliases,
        draft=os.path.basename(source.path).startswith("_"),
    )


def _next_record(
    plan: Plan,
    state: IndexState,
    built: Built,
    report: UpdateReport,
    folders: tuple[str, ...],
    carried: set[str],
) -> CommitRecord:
    """What the index holds after the commit (its files are added when it is written)."""
    manifest = {} if plan.rebuild else {eid: entry for eid, entry in state.manifest.items() if eid not in plan.gone}
    manifest.update((eid, state.manifest[eid]) for eid in carried)
    if not plan.rebuild:
        manifest.update((s.id, (s.path, s.sha)) for s in plan.renamed)
    paths = {s.id: s.path for s in plan.to_read}
    shas = {path: found.sha for path, found in plan.files.items()}
    for outcome in built.outcomes:
        if outcome.sha:
            shas[paths[outcome.id]] = outcome.sha
        if outcome.paragraphs is not None:
            manifest[outcome.id] = (
                paths[outcome.id],
                outcome.sha or plan.sources[outcome.id].sha,
            )
    # only failures of files that were hashed, i.e. that can be recognised next time
    failures = {f.path: (shas[f.path], f.message) for f in report.failed if f.path in shas}
    skipped = {f.path: (shas[f.path], f.message) for f in report.skipped if f.path in shas}
    # what this run read or renamed takes its plan's key and names; the rest keeps the record's
    fresh = built.read() | ({s.id for s in plan.renamed} if not plan.rebuild else set())
    keys = {eid: plan.sources[eid].key if eid in fresh else state.keys.get(eid, "") for eid in manifest}
    aliases = {eid: plan.sources[eid].aliases if eid in fresh else state.aliases.get(eid, ()) for eid in manifest}
    return CommitRecord(
        generation=state.generation,
        folders=folders,
        manifest=manifest,
        failures=failures,
        skipped=skipped,
        keys=keys,
        aliases={eid: names for eid, names in aliases.items() if names},
    )


def _write_record(
    store: IndexDir,
    record: CommitRecord,
    segments: list[Any],
    generation: int,
    toc: str,
    state: IndexState,
) -> CommitRecord:
    """Write the generation's record, synced, naming every file of ``segments`` and the table of contents."""
    ids = tuple(segment.segment_id() for segment in segments)
    final_toc = f"_{INDEX_NAME}_{generation}.toc"
    names = [*store.segment_files(ids), final_toc, *vectors.files_of(record), *spellings.files_of(record)]
    files = describe_files(store.path, names, state.files, renamed={final_toc: toc})
    complete = replace(
        record,
        generation=generation,
        segment_ids=ids,
        documents=sum(segment.doc_count_all() for segment in segments),
        files=files,
    )
    write_durably(store.path / record_name(INDEX_NAME, generation), encode(complete))
    return complete


def _report(plan: Plan, built: Built, failed: set[str], read: set[str]) -> UpdateReport:
    paths = {s.id: s.path for s in plan.to_read}
    failures = [Failure(paths[o.id], o.failure) for o in built.outcomes if o.failure is not None and not o.skipped]
    skipped = [Failure(paths[o.id], o.failure) for o in built.outcomes if o.failure is not None and o.skipped]
    moved = [s for s in (*plan.renamed, *plan.changed) if s.renamed_from]
    return UpdateReport(
        added=tuple(s.id for s in plan.new if s.id in read),
        updated=tuple(s.id for s in plan.changed if s.id in read),
        renamed=tuple(sorted(s.id for s in moved if s.id in read or (not plan.rebuild and s in plan.renamed))),
        removed=plan.gone,
        unchanged=tuple(s.id for s in plan.unchanged if s.id not in failed),
        failed=tuple(sorted((*plan.failures, *failures), key=lambda f: f.path)),
        skipped=tuple(sorted((*plan.skipped, *skipped), key=lambda f: f.path)),
        paragraphs=sum(o.paragraphs or 0 for o in built.outcomes),
        rebuilt=plan.rebuild,
    )


def _carry_over(storage: DurableFileStorage, writer: Writer, episode_ids: set[str]) -> int:
    """Re-add the indexed copy of these episodes to a rebuild; the documents added."""
    if not episode_ids:
        return 0
    added = 0
    ix = storage.open_index(INDEX_NAME)
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
                f"an indexing worker wrote {segment.doc_count_all()} of {documents} documents; the index is unchanged"
            )


# --- reading files into a writer -------------------------------------------------------------


def _index_files(
    sources: Sequence[Source],
    add: Callable[[Source, Any, str], int],
    advance: Callable[[int], None],
) -> list[Outcome]:
    """Read each file once and hand its episode and the hash of the bytes read to ``add``
    (which returns the documents added)."""
    outcomes: list[Outcome] = []
    people: dict[Path, People] = {}
    for source in sources:
        folder = Path(source.path).parent
        if folder not in people:
            people[folder] = People.beside(folder)
        sha = source.sha
        try:
            raw = read_bytes(Path(source.path))
            # the hash of what is parsed, which may differ from what was listed
            sha = episode_sha(bytes_sha(raw), source.guests)
            episode = _as_indexed(read_episode(source.path, people[folder], raw), source)
        except EpisodeError as error:
            # the site publishes no file named _*: one that does not read is a template or a draft
            skip = isinstance(error, NotAnEpisode) or Path(source.path).name.startswith("_")
            outcomes.append(Outcome(source.id, failure=_failure_text(error), sha=sha, skipped=skip))
            advance(0)
            continue
        documents = add(source, episode, sha)
        outcomes.append(Outcome(source.id, documents - 1, documents, sha=sha))
        advance(documents - 1)
    return outcomes


def _adder(writer: BulkSegmentWriter) -> Callable[[Source, Any, str], int]:
    def add(source: Source, episode: Any, sha: str) -> int:
        count = 0
        for document in episode_documents(episode, source.path, sha):
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
    """Two forked workers each index a share of the files into segments of their own.

    Their results are taken in the order of the shares, not of their finishing,
    so the same files always give the same segments in the same order.
    """
    context = get_context("fork")
    workers: list[tuple[Any, Connection, list[Source]]] = []
    results: dict[int, tuple[list[Outcome], list[tuple[Any, int]]]] = {}
    try:
        for share in _shares(sources, WORKERS):
            receiver, sender = context.Pipe(duplex=False)
            inherited = [r for _, r, _ in workers] + [receiver]
            process = context.Process(
                target=_worker,
                args=(str(index_path), share, sender, inherited),
                daemon=True,
            )
            process.start()
            sender.close()  # only the worker writes: EOF here means it is gone
            workers.append((process, receiver, share))
        pending = {receiver: number for number, (_, receiver, _) in enumerate(workers)}
        while pending:
            for ready in wait(list(pending)):
                number = pending[ready]  # type: ignore[index]  # wait() returns what it was given
                result = _receive(workers[number][1], workers[number][0], advance)
                if result is not None:
                    results[number] = result
                    del pending[workers[number][1]]
        built = Built()
        for number, (_, _, share) in enumerate(workers):
            accept(share, *results[number], built)
    finally:
        # after a failure or an interruption (Ctrl-C, SIGTERM): stop the workers now
        for process, receiver, _ in workers:
            if process.is_alive():
                process.kill()
            process.join()
            receiver.close()
    return built


def _receive(
    receiver: Connection, process: Any, advance: Callable[[int], None]
) -> tuple[list[Outcome], list[tuple[Any, int]]] | None:
    """Take one message from a worker: its results when it was the last, else ``None``."""
    try:
        kind, payload = receiver.recv()
    except EOFError:
        process.join()
        raise PodsearchError(
            f"an indexing worker process died (exit code {process.exitcode}); the index is unchanged"
        ) from None
    if kind == "file":
        advance(payload)
        return None
    if kind == "oserror":  # a full disk, a permission: the parent says which (see indexer.update)
        raise error_from_worker(*payload)
    outcomes, segments = payload
    return outcomes, segments


def accept(
    share: Sequence[Source],
    outcomes: list[Outcome],
    segments: list[tuple[Any, int]],
    built: Built,
) -> None:
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


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the parent process dies (Linux), so a killed
    update never leaves workers behind; elsewhere the worker checks at each file."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _worker(
    index_path: str,
    sources: list[Source],
    sender: Connection,
    inherited: list[Connection],
) -> None:
    """In a worker process: index some files into segments, report each file and the segments.

    A file-system error (a full disk) is sent to the parent as ``("oserror", …)``.
    """
    parent = os.getppid()
    _die_with_parent(parent)
    # Ctrl-C and SIGTERM reach the whole process group: the parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The parent's ends of the pipes came along with the fork: closing them here
    # means a send fails, instead of filling a pipe nobody reads, once the parent is gone.
    for connection in inherited:
        connection.close()
    run_share(index_path, sources, sender, parent)


def run_share(index_path: str, sources: list[Source], sender: Connection, parent: int) -> None:
    """Index a share of the files and send the outcome (or a file-system error) to the parent."""

    def report_file(paragraphs: int) -> None:
        if os.getppid() != parent:  # the parent was killed: its update is void
            os._exit(1)
        sender.send(("file", paragraphs))

    message: tuple[str, Any]
    try:
        message = ("done", _index_share(index_path, sources, report_file))
    except OSError as error:
        message = ("oserror", (error.errno, error.strerror, error.filename))
    try:
        sender.send(message)
    except BrokenPipeError:  # the parent was killed meanwhile
        os._exit(1)
    sender.close()


def _index_share(
    index_path: str, sources: list[Source], report_file: Callable[[int], None]
) -> tuple[list[Outcome], list[tuple[Any, int]]]:
    with collector_paused():
        ix = fresh_index(DurableFileStorage(index_path), make_schema(), INDEX_NAME, 0)
        segments: list[tuple[Any, int]] = []
        writer = BulkSegmentWriter(ix, _lk=False)
        documents = 0

        def add(source: Source, episode: Any, sha: str) -> int:
            nonlocal writer, documents
            count = _adder(writer)(source, episode, sha)
            documents += count
            if writer.docnum >= indexer.SEGMENT_DOCUMENTS:
                segments.append((close_segment(writer), documents))
                writer.release()
                writer, documents = BulkSegmentWriter(ix, _lk=False), 0
            return count

        outcomes = _index_files(sources, add, report_file)
        if writer.docnum:
            segments.append((close_segment(writer), documents))
        else:
            discard_segment(writer)
        _KEPT_UNTIL_EXIT.append(writer)
    return outcomes, segments


#: A worker's last writer: its postings are freed when the process exits, all at
#: once, instead of object by object (a quarter of a second for the corpus).
_KEPT_UNTIL_EXIT: list[BulkSegmentWriter] = []
