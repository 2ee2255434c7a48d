"""The indexed episodes of one open generation, and every document's explicit key.

A document's key is ``(episode, paragraph)``: the episode's ordinal (its
position among the indexed episode ids in sorted order) and the paragraph's
number in its episode. Both come from columns written with each document, read
for all documents at once when a generation is opened, so nothing depends on
the order in which documents were written. Sorting by key is sorting by
(episode id, paragraph number): the stable order that breaks ranking ties.
"""

from __future__ import annotations

import dataclasses
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import Any

from podsearch.index.dating import estimate_dates
from podsearch.model import EpisodeInfo
from podsearch.records import episode_from_json

#: Bits of a packed key (:meth:`EpisodeCatalog.key`) that hold the paragraph number.
_PARAGRAPH_BITS = 24


class EpisodeCatalog:
    """Episode descriptions and document ↔ (episode, paragraph) lookups for one generation.

    Built by :mod:`podsearch.index.engine` from the columns of every document:
    ``episode_columns`` holds, for each run of documents in order, the distinct
    episode ids of the run and each document's index among them (an
    engine's per-segment dictionary column); ``numbers`` each document's
    paragraph number; ``heads`` the live episode documents; ``deleted`` the
    deleted documents; ``stored(doc)`` reads a document's stored fields.
    """

    def __init__(
        self,
        episode_columns: Sequence[tuple[Sequence[str], Sequence[int]]],
        numbers: Sequence[int],
        heads: Collection[int],
        deleted: Collection[int],
        stored: Callable[[int], dict[str, Any]],
    ) -> None:
        self._stored = stored
        self._deleted = deleted
        self._numbers = numbers
        starts = [0]
        for _, references in episode_columns:
            starts.append(starts[-1] + len(references))

        def episode_id(doc: int) -> str:
            run = bisect_right(starts, doc) - 1
            distinct, references = episode_columns[run]
            return distinct[references[doc - starts[run]]]

        head_ids = {doc: episode_id(doc) for doc in heads}
        #: The indexed episode ids, sorted: an episode's ordinal is its position here.
        self.ids: list[str] = sorted(set(head_ids.values()))
        ordinal = {eid: position for position, eid in enumerate(self.ids)}
        #: Each document's episode ordinal (-1 for a document of no indexed episode).
        self._episode_of = array("i")
        for distinct, references in episode_columns:
            table = [ordinal.get(eid, -1) for eid in distinct]
            self._episode_of.extend(map(table.__getitem__, references))
        #: The episode document of each ordinal.
        self.heads: list[int] = [0] * len(self.ids)
        for doc, eid in head_ids.items():
            self.heads[ordinal[eid]] = doc
        self._head_set = frozenset(heads)
        self._infos: dict[int, EpisodeInfo] = {}
        self._counts: dict[int, int] = {}
        self._by_key: dict[int, int] | None = None
        self._dated = False
        self._documents: dict[int, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    # --- keys ---------------------------------------------------------------------------

    def episode_of(self, doc: int) -> int:
        """The ordinal of a document's episode."""
        return self._episode_of[doc]

    def number(self, doc: int) -> int:
        """A paragraph document's number in its episode."""
        return self._numbers[doc]

    def key(self, doc: int) -> int:
        """``(episode ordinal, paragraph number)`` packed in one int: the stable order of documents."""
        return (self._episode_of[doc] << _PARAGRAPH_BITS) | self._numbers[doc]

    def doc_at(self, episode: int, number: int, near: int | None = None) -> int | None:
        """The live document of paragraph ``number`` of an episode, ``None`` when there is none.

        ``near``, a document of the same episode, is a hint: writers add an
        episode's paragraphs together, so the document is usually ``near``
        shifted by the difference in numbers. The hint is checked against the
        keys; when it misses, a map of every key is built (once).
        """
        if not 0 <= number < self.paragraph_count(episode):
            return None
        if near is not None:
            guess = near + number - self._numbers[near]
            if (
                0 <= guess < len(self._numbers)
                and self._episode_of[guess] == episode
                and self._numbers[guess] == number
                and guess not in self._head_set
                and guess not in self._deleted
            ):
                return guess
        return self._key_map().get((episode << _PARAGRAPH_BITS) | number)

    def passage(self, doc: int, reach: int) -> list[int]:
        """The documents of the paragraphs within ``reach`` of a paragraph's, itself included, in order."""
        numbers, episode_of = self._numbers, self._episode_of
        episode, number = episode_of[doc], numbers[doc]
        low, high = max(0, number - reach), min(self.paragraph_count(episode) - 1, number + reach)
        first, last = doc - (number - low), doc + (high - number)
        # writers add an episode's paragraphs together: the passage is usually the documents around
        # ``doc``, checked here in one pass instead of looked up one by one
        if first >= 0 and last < len(numbers):
            run = range(first, last + 1)
            if (
                all(numbers[other] == low + other - first and episode_of[other] == episode for other in run)
                and self._head_set.isdisjoint(run)
                and (not self._deleted or all(other not in self._deleted for other in run))
            ):
                return list(run)
        found = []
        for other in range(number - reach, number + reach + 1):
            at = doc if other == number else self.doc_at(episode, other, doc)
            if at is not None:
                found.append(at)
        return found

    def _key_map(self) -> dict[int, int]:
        if self._by_key is None:
            heads, deleted = self._head_set, self._deleted
            self._by_key = {
                (episode << _PARAGRAPH_BITS) | number: doc
                for doc, (episode, number) in enumerate(zip(self._episode_of, self._numbers, strict=True))
                if episode >= 0 and doc not in heads and doc not in deleted
            }
        return self._by_key

    # --- episodes -----------------------------------------------------------------------

    def info(self, episode: int) -> EpisodeInfo:
        """The description of an episode, by ordinal; a missing date is estimated (``date_estimated``)."""
        info = self._infos.get(episode)
        if info is None:
            info = self._infos[episode] = episode_from_json(self._stored(self.heads[episode])["meta"])
        if info.date_added is None and not self._dated:
            self._estimate_dates()
            info = self._infos[episode]
        return info

    def _estimate_dates(self) -> None:
        """Give every undated episode its estimated date (needs every episode's description: once)."""
        self._dated = True
        infos = [self.info(episode) for episode in range(len(self.ids))]
        for episode, estimate in estimate_dates(infos).items():
            self._infos[episode] = dataclasses.replace(infos[episode], date_added=estimate, date_estimated=True)

    def dated(self, after: date | None, before: date | None) -> set[int]:
        """The ordinals of the episodes added within the dates (both included; estimated dates count)."""
        return {
            episode
            for episode, info in enumerate(self.all())
            if info.date_added is not None
            and (after is None or info.date_added >= after)
            and (before is None or info.date_added <= before)
        }

    def documents_of(self, episodes: Collection[int]) -> set[int]:
        """The live paragraph documents of some episodes (a map of every episode's documents is built once)."""
        if self._documents is None:
            heads, deleted = self._head_set, self._deleted
            self._documents = {}
            for doc, episode in enumerate(self._episode_of):
                if episode >= 0 and doc not in heads and doc not in deleted:
                    self._documents.setdefault(episode, []).append(doc)
        found: set[int] = set()
        for episode in episodes:
            found.update(self._documents.get(episode, ()))
        return found

    def paragraph_count(self, episode: int) -> int:
        """How many paragraphs an episode has, by ordinal."""
        count = self._counts.get(episode)
        if count is None:
            count = self._counts[episode] = self._stored(self.heads[episode])["counts"][1]
        return count

    def ordinal(self, eid: str) -> int | None:
        """The ordinal of an episode id, ``None`` when it is not indexed."""
        position = bisect_left(self.ids, eid)
        return position if position < len(self.ids) and self.ids[position] == eid else None

    def all(self) -> list[EpisodeInfo]:
        """Every indexed episode, by id."""
        return [self.info(episode) for episode in range(len(self.ids))]
