"""The library entry points: :class:`Index` and :func:`search`."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from podsearch.errors import EpisodeNotFound, MissingExtraError, QueryError
from podsearch.index.storage import IndexDir
from podsearch.model import Episode, EpisodeInfo, Results, UpdateReport, VerifyReport
from podsearch.reading.folders import default_episodes_path

if TYPE_CHECKING:
    from podsearch.index.engine import Generation
    from podsearch.query.context import SearchContext

T = TypeVar("T")

#: Search modes: by words (the default without vectors), by meaning, or both fused.
_MODES = ("words", "meaning", "hybrid")


def _passage_model() -> Any:
    """The model that embeds episodes during an update (the ``semantic`` extra and a model needed)."""
    from podsearch.embedding import Encoder
    from podsearch.embedding.passages import PassageModel

    return PassageModel(Encoder.load())


@dataclass(frozen=True)
class IndexStats:
    """What ``podsearch stats`` shows."""

    path: str
    episodes: int
    turns: int
    paragraphs: int
    size_bytes: int
    segments: int
    folders: tuple[str, ...]
    updated: str | None
    podsearch_version: str | None
    schema_version: int | None
    last_report: dict[str, Any]


class Index:
    """A podsearch index on disk.

    ``Index()`` uses ``$PODSEARCH_INDEX`` or ``./index``. Opening reads
    nothing; :meth:`update` creates the index on first use. Reads keep the
    latest generation of the index open (reopened when a commit lands): use
    the index as a context manager, or call :meth:`close`, to release it.

    An ``Index`` may be shared by any number of threads: each search returns
    exactly what it would return alone, and raises nothing but
    :class:`~podsearch.errors.PodsearchError`, also while another process
    updates the index. Reads take turns on the one open generation (a lock
    around each read): searching is pure Python, so under the GIL threads
    searching side by side would go no faster, and taking turns keeps one set
    of warm caches (``benchmarks/bench_threads.py``).
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._store = IndexDir(path)
        #: Held by each read: one thread at a time uses the open generation.
        self._lock = threading.RLock()
        self._generation: Generation | None = None
        #: Work kept for the open generation (document frequencies, episode descriptions).
        self._context: SearchContext | None = None
        #: The model that embeds queries (loaded on the first search by meaning).
        self._encoder: Any = None
        self._encoder_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The index directory."""
        return self._store.path

    def exists(self) -> bool:
        """Whether an index of this podsearch version is there."""
        return self._store.exists()

    def check(self) -> None:
        """Raise :class:`~podsearch.errors.IndexMissingError` or
        :class:`~podsearch.errors.IndexVersionError` unless the index is usable."""
        self._store.check()

    # --- writing -------------------------------------------------------------------------

    def update(
        self,
        folders: Path | str | Sequence[Path | str] | None = None,
        *,
        rebuild: bool = False,
        wait: bool = False,
        progress: Any = None,
        allow_removals: bool = False,
        semantic: bool | None = None,
        embedding_progress: Callable[[int, int], None] | None = None,
    ) -> UpdateReport:
        """Index what changed in the episode folders (see :func:`podsearch.index.indexer.update`).

        Without folders, those the index mirrors. Refuses (``RemovalRefusedError``,
        nothing changed) a run whose folder is missing, empty or unreadable, or that
        would remove more than half of the episodes, unless ``allow_removals``.
        ``rebuild`` builds from scratch beside the current index, and repairs a damaged one.
        ``semantic``: ``True`` computes paragraph vectors (needs the ``semantic`` extra and a
        model; remembered by the index), ``False`` drops them, ``None`` keeps what the index has.
        ``embedding_progress(done, total)`` follows the embedding, which an interruption does not lose.
        """
        from podsearch.index.indexer import update
        from podsearch.index.vectors import VectorRequest, requested, tidy_cache

        if isinstance(folders, (str, Path)):
            folders = [folders]
        self.close()
        with requested(VectorRequest(semantic, _passage_model, embedding_progress)):
            report = update(
                self.path, folders, rebuild=rebuild, wait=wait, progress=progress, allow_removals=allow_removals
            )
            tidy_cache(self.path)
        return report

    def verify(self) -> VerifyReport:
        """Read every file of the index and compare it with the checksums recorded when it was
        committed (``podsearch check``); the report says what is damaged. Raises
        ``IndexMissingError`` when there is no index."""
        return self._store.verify()

    # --- reading -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        speaker: str | None = None,
        guest: str | None = None,
        season: int | None = None,
        episode: int | None = None,
        after: date | str | None = None,
        before: date | str | None = None,
        group_by: str | None = None,
        sort: str = "relevance",
        context: int = 0,
        mode: str | None = None,
    ) -> Results:
        """Ranked moments for a query; raises :class:`~podsearch.errors.QueryError` on a bad one.

        ``mode``: ``"words"``, ``"meaning"`` or ``"hybrid"`` (words and meaning fused); the
        default is hybrid when the index has vectors (``update(semantic=True)``), else words.
        """
        from podsearch.query import pipeline as q

        filters = q.Filters(
            speaker=speaker,
            guest=guest,
            season=season,
            episode=episode,
            after=_as_date(after, "after"),
            before=_as_date(before, "before"),
        )
        if mode not in (None, *_MODES):
            raise QueryError(f"unknown mode {mode!r}; use one of: {', '.join(_MODES)}")

        def run(generation: Generation) -> Results:
            chosen, embed = self._query_embedding(generation, query, mode)
            return q.search(
                self._search_context(generation),
                query,
                limit=limit,
                filters=filters,
                group_by=group_by,
                sort=sort,
                context_paragraphs=context,
                mode=chosen,
                embed_query=embed,
            )

        return self._read(run)

    def _query_embedding(
        self, generation: Generation, query: str, mode: str | None
    ) -> tuple[str, Callable[[], Any] | None]:
        """The mode a search runs in, and what gives the query's vector (``None`` in words mode):
        the search calls it on another thread, beside its lexical stage, when meaning takes part."""
        table = generation.vectors
        if mode == "words" or (mode is None and table is None):
            return "words", None
        if table is None:
            raise QueryError(f"{mode} search needs the index's vectors; build them with: podsearch index --semantic")
        try:
            encoder = self._query_encoder()
        except MissingExtraError:
            if mode is None:  # vectors but no model here: search by words, as without the extra
                return "words", None
            raise
        if encoder.fingerprint != table.model:
            if mode is None:
                return "words", None
            raise QueryError(
                "the index's vectors were made by another model; recompute them with: podsearch index --semantic"
            )
        return mode or "hybrid", functools.partial(encoder.query, query[:2000])

    def _query_encoder(self) -> Any:
        """The model, loaded on the first search by meaning (:class:`~podsearch.errors.ModelError` without one)."""
        with self._encoder_lock:
            if self._encoder is None:
                from podsearch.embedding import Encoder

                self._encoder = Encoder.load()
            return self._encoder

    def episodes(self) -> list[EpisodeInfo]:
        """Every indexed episode, by season and number."""
        infos = self._read(lambda generation: generation.catalog.all())
        return sorted(infos, key=lambda i: (i.season is None, i.season or 0, i.number or 0, i.id))

    def episode(self, reference: str) -> Episode:
        """One indexed episode with its transcript, by any of its references: its id
        (``s05e05``), its code (``S05E05``), its YouTube id, or its file name, present or
        earlier (with or without ``.md``).

        Raises :class:`~podsearch.errors.EpisodeNotFound` when none matches and
        :class:`~podsearch.errors.AmbiguousEpisodeError`, listing the candidates,
        when several episodes answer to the reference (two files with one code).
        """
        target = self._resolve(reference)
        return self._read(lambda generation: generation.episode(target.id))

    def paragraph_counts(self) -> dict[str, int]:
        """Paragraphs per indexed episode id."""
        return self._read(lambda generation: {head.id: head.counts[1] for head in generation.heads()})

    def stats(self) -> IndexStats:
        """Counts, size on disk and the last update's report."""

        def count(generation: Generation) -> tuple[int, int, int, int]:
            counts = [head.counts for head in generation.heads()]
            segments = generation.segment_count()
            return len(counts), sum(t for t, _ in counts), sum(p for _, p in counts), segments

        episodes, turns, paragraphs, segments = self._read(count)
        meta = self._store.read_meta()
        return IndexStats(
            path=str(self.path),
            episodes=episodes,
            turns=turns,
            paragraphs=paragraphs,
            size_bytes=self._store.size_on_disk(),
            segments=segments,
            folders=tuple(meta.get("folders", ())),
            updated=meta.get("updated"),
            podsearch_version=meta.get("podsearch"),
            schema_version=meta.get("schema"),
            last_report=meta.get("report", {}),
        )

    # --- plumbing ------------------------------------------------------------------------

    def _resolve(self, reference: str) -> EpisodeInfo:
        """The one episode a reference names (see :meth:`episode`); an exact id wins."""
        wanted = reference.strip()
        name = wanted[: -len(".md")] if wanted.endswith(".md") else wanted
        infos = self.episodes()
        for info in infos:
            if name == info.id:
                return info
        found = [info for info in infos if _answers_to(info, wanted, name)]
        if len(found) == 1:
            return found[0]
        if found:
            from podsearch.errors import AmbiguousEpisodeError

            listed = ", ".join(f"{info.id} ({_file_stem(info.path)})" for info in found)
            raise AmbiguousEpisodeError(
                f"{len(found)} episodes answer to {reference!r}: {listed}; name one by its id",
                tuple(info.id for info in found),
            )
        raise EpisodeNotFound(f"no indexed episode {reference!r}; list them with: podsearch episodes")

    def _read(self, action: Callable[[Generation], T]) -> T:
        """Run ``action`` on the kept generation, reopened when the index has changed (one thread at a time)."""
        from podsearch.index.engine import retrying  # Whoosh is imported only to read

        with self._lock:
            return retrying(self._store, lambda: action(self._current_generation()), on_retry=self.close)

    def _current_generation(self) -> Generation:
        if self._generation is not None and not self._generation.is_current():
            self.close()
        if self._generation is None:
            from podsearch.index.engine import open_generation

            self._generation = open_generation(self._store)  # safe to keep across commits
        return self._generation

    def _search_context(self, generation: Generation) -> SearchContext:
        """The query layer's state for the open generation (made on first use)."""
        from podsearch.query.context import SearchContext

        if self._context is None or self._context.generation is not generation:
            self._context = SearchContext.for_generation(generation)
        return self._context

    def close(self) -> None:
        """Release the open generation, if any."""
        with self._lock:
            if self._generation is not None:
                self._generation.close()
                self._generation = None
                self._context = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"


def _file_stem(path: str | None) -> str:
    name = Path(path or "").name
    return name[: -len(".md")] if name.endswith(".md") else name


def _answers_to(info: EpisodeInfo, wanted: str, name: str) -> bool:
    """Whether a reference other than the id names the episode: its code (any case), its
    YouTube id, its file name or an earlier one."""
    if info.season is not None and info.number is not None and wanted.upper() == info.code:
        return True
    return wanted == info.youtube_id or name == _file_stem(info.path) or name in info.aliases


def _as_date(value: date | str | None, name: str) -> date | None:
    from podsearch.errors import QueryError

    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} must be a date like 2023-01-31, not {value!r}") from None


def search(query: str, **options: Any) -> Results:
    """Search the default index (``$PODSEARCH_INDEX`` or ``./index``).

    When there is no index yet, it is first built from the default episodes
    folder (``$PODSEARCH_EPISODES`` or ``./episodes``). Takes the same options
    as :meth:`Index.search`.
    """
    index = Index()
    if not index.exists():
        index.update(default_episodes_path())
    with index:
        return index.search(query, **options)
