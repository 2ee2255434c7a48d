"""The library entry points: :class:`Index` and :func:`search`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from podsearch.errors import EpisodeNotFound
from podsearch.index.storage import IndexDir
from podsearch.model import Episode, EpisodeInfo, Results, UpdateReport, VerifyReport
from podsearch.reading.folders import default_episodes_path

T = TypeVar("T")


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
    nothing; :meth:`update` creates the index on first use. Searches keep one
    Whoosh searcher open (refreshed when the index changes): use the index as
    a context manager, or call :meth:`close`, to release it.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._store = IndexDir(path)
        self._searcher: Any = None
        #: Work kept for the open searcher (speller, episode descriptions).
        self._cache: dict[str, Any] = {}

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
    ) -> UpdateReport:
        """Index what changed in the episode folders (see :func:`podsearch.index.indexer.update`).

        Without folders, those the index mirrors. Refuses (``RemovalRefusedError``,
        nothing changed) a run whose folder is missing, empty or unreadable, or that
        would remove more than half of the episodes, unless ``allow_removals``.
        ``rebuild`` builds from scratch beside the current index, and repairs a damaged one.
        """
        from podsearch.index.indexer import update

        if isinstance(folders, (str, Path)):
            folders = [folders]
        self.close()
        return update(
            self.path, folders, rebuild=rebuild, wait=wait, progress=progress, allow_removals=allow_removals
        )

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
    ) -> Results:
        """Ranked moments for a query; raises :class:`~podsearch.errors.QueryError` on a bad one."""
        from podsearch.query import pipeline as q

        filters = q.Filters(
            speaker=speaker,
            guest=guest,
            season=season,
            episode=episode,
            after=_as_date(after, "after"),
            before=_as_date(before, "before"),
        )
        return self._read(
            lambda searcher: q.search(
                searcher,
                query,
                limit=limit,
                filters=filters,
                group_by=group_by,
                sort=sort,
                context=context,
                cache=self._cache,
            )
        )

    def episodes(self) -> list[EpisodeInfo]:
        """Every indexed episode, by season and number."""
        from podsearch.index.catalog import EpisodeCatalog

        infos = self._read(lambda searcher: EpisodeCatalog(searcher).all())
        return sorted(infos, key=lambda i: (i.season is None, i.season or 0, i.number or 0, i.id))

    def episode(self, reference: str) -> Episode:
        """One indexed episode with its transcript, by id (``s05e05-…``) or code (``S05E05``)."""
        from podsearch.index.documents import episode_from_stored
        from podsearch.index.schema import EPISODE, PARAGRAPH

        target = self._resolve(reference)

        def load(searcher: Any) -> Episode:
            head = searcher.document(kind=EPISODE, eid=target.id)
            paragraphs = list(searcher.documents(kind=PARAGRAPH, eid=target.id))
            return episode_from_stored(head["meta"], paragraphs)

        return self._read(load)

    def paragraph_counts(self) -> dict[str, int]:
        """Paragraphs per indexed episode id."""
        from podsearch.index.schema import EPISODE

        return self._read(
            lambda searcher: {s["eid"]: s["counts"][1] for s in searcher.documents(kind=EPISODE)}
        )

    def stats(self) -> IndexStats:
        """Counts, size on disk and the last update's report."""
        from podsearch.index.schema import EPISODE

        def count(searcher: Any) -> tuple[int, int, int, int]:
            counts = [stored["counts"] for stored in searcher.documents(kind=EPISODE)]
            segments = len(searcher.reader().leaf_readers())
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
        wanted = reference.strip()
        for info in self.episodes():
            if wanted in (info.id, f"{info.id}.md") or wanted.upper() == info.code:
                return info
        raise EpisodeNotFound(f"no indexed episode {reference!r}; list them with: podsearch episodes")

    def _read(self, action: Callable[[Any], T]) -> T:
        """Run ``action`` on the kept searcher, reopened when the index has changed."""
        return self._store.retrying(lambda: action(self._current_searcher()), on_retry=self.close)

    def _current_searcher(self) -> Any:
        if self._searcher is not None and not self._searcher.up_to_date():
            self.close()
        if self._searcher is None:
            self._searcher = self._store.searcher()  # safe to keep across commits
            self._cache = {}
        return self._searcher

    def close(self) -> None:
        """Release the open searcher, if any."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"


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
