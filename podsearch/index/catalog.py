"""The indexed episodes as seen by one searcher: which episode a document belongs to.

Every writer adds an episode's own document first and then its paragraphs, one
after the other, so a paragraph belongs to the nearest episode document at or
before it. Finding it is a binary search over ~200 numbers, where reading a
column of 28,000 episode ids would cost a fresh process tens of milliseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from whoosh import query as wq

from podsearch.index.schema import EPISODE
from podsearch.model import EpisodeInfo
from podsearch.records import episode_from_json


class EpisodeCatalog:
    """Episode descriptions and document → episode lookups for one open searcher."""

    def __init__(self, searcher: Any) -> None:
        self._searcher = searcher
        #: Document numbers of the (live) episode documents, ascending.
        self.episode_docnums: list[int] = sorted(searcher.docs_for_query(wq.Term("kind", EPISODE)))
        self._stored: dict[int, dict[str, Any]] = {}
        self._infos: dict[int, EpisodeInfo] = {}
        self._by_id: dict[str, int] | None = None

    def episode_docnum(self, docnum: int) -> int:
        """The episode document of a paragraph document."""
        return self.episode_docnums[bisect_right(self.episode_docnums, docnum) - 1]

    def _head(self, episode_docnum: int) -> dict[str, Any]:
        stored = self._stored.get(episode_docnum)
        if stored is None:
            stored = self._stored[episode_docnum] = self._searcher.stored_fields(episode_docnum)
        return stored

    def eid(self, docnum: int) -> str:
        """The id of the episode a document belongs to."""
        return self._head(self.episode_docnum(docnum))["eid"]

    def info(self, docnum: int) -> EpisodeInfo:
        """The description of the episode a document belongs to."""
        head = self.episode_docnum(docnum)
        info = self._infos.get(head)
        if info is None:
            info = self._infos[head] = episode_from_json(self._head(head)["meta"])
        return info

    def get(self, eid: str) -> EpisodeInfo:
        """The description of an episode by id (``KeyError`` when not indexed)."""
        if self._by_id is None:
            self._by_id = {self._head(d)["eid"]: d for d in self.episode_docnums}
        return self.info(self._by_id[eid])

    def all(self) -> list[EpisodeInfo]:
        """Every indexed episode, in index order."""
        return [self.info(docnum) for docnum in self.episode_docnums]
