"""The first ranking stage for plain word queries: BM25 straight from the postings.

Whoosh's matchers score one posting at a time through several layers of
Python objects (~7 µs a posting here); a natural-language query touches
thousands. This module reads the same postings a block (128 postings) at a
time and accumulates BM25 in a dict, about ten times faster, and only for the
query's rarest words: they are the ones that single out a moment, and the
second stage (:mod:`podsearch.ranking`) scores every word anyway. It also
keeps which documents hold each word, so the second stage can tell how much
of the query the paragraphs around a candidate cover (:func:`words_nearby`).

It relies on the layout of Whoosh's ``W3`` codec (whoosh-reloaded 2.7.x, pinned
in ``pyproject.toml``): posting blocks of doc ids and term frequencies, and a
per-document lengths column.
"""

from __future__ import annotations

import heapq
from collections.abc import (
    Callable,
    Collection,
    Container,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from podsearch.query.ranking import K1, B

FIELD = "text"
#: Added per matched word in the first stage (BM25 of one word stays well below).
COORDINATION = 100.0


class PostingsScorer:
    """BM25 over the text field of one searcher (built once, reused per query)."""

    def __init__(self, searcher: Any) -> None:
        self._leaves: list[tuple[Any, int, bytes]] = []
        average = searcher.avg_field_length(FIELD) or 1.0
        # BM25's length normalisation for each of the 256 one-byte lengths Whoosh stores
        self._norms = [K1 * (1 - B + B * byte_to_length(code) / average) for code in range(256)]
        #: Deleted documents, by global number: filtered once, after scoring.
        self._deleted: set[int] = set()
        for reader, offset in searcher.reader().leaf_readers():
            if reader.has_deletions():
                self._deleted.update(offset + docnum for docnum in reader.deleted_docs_set)
            self._leaves.append((reader, offset, _length_codes(reader)))

    def scores(
        self,
        weights: dict[str, float],
        excluded: Collection[int] = frozenset(),
        allowed: Container[int] | None = None,
    ) -> FirstStage:
        """BM25 of every matching document, and the documents holding each word.

        ``weights`` maps each word to its idf; ``excluded`` and ``allowed`` are
        document numbers to leave out of the scores or to keep only.
        """
        scores: dict[int, float] = {}
        containing: dict[str, set[int]] = {word: set() for word in weights}
        get = scores.get
        norms = self._norms
        # Each word a document contains adds more than any BM25 difference, so
        # documents with more of the words come first (AND before OR).
        coordination = COORDINATION
        for reader, offset, lengths in self._leaves:
            for word, idf in weights.items():
                boost = idf * (K1 + 1)
                found = containing[word]
                for ids, frequencies in _blocks(reader, word):
                    ids = list(ids)
                    found.update(ids if not offset else [docnum + offset for docnum in ids])
                    for docnum, frequency in zip(ids, frequencies):
                        key = docnum + offset
                        norm = norms[lengths[docnum]]
                        scores[key] = get(key, 0.0) + coordination + boost * frequency / (frequency + norm)
        deleted = self._deleted
        if deleted:
            for found in containing.values():
                found -= deleted
        # filtering is a pass over every match: only when something can be filtered out
        # (episode documents have no text, so ``excluded`` rarely holds a match)
        if deleted or allowed is not None or any(docnum in scores for docnum in excluded):
            scores = {
                docnum: score
                for docnum, score in scores.items()
                if docnum not in excluded and docnum not in deleted and (allowed is None or docnum in allowed)
            }
        return FirstStage(scores, containing)


@dataclass
class FirstStage:
    """What the first stage found: scores, and which documents hold each word it read."""

    #: BM25 plus coordination of each matching document, by global document number.
    scores: dict[int, float]
    #: The live documents containing each word, whether or not filters allow them.
    containing: dict[str, set[int]]


def top(scores: dict[int, float], count: int) -> list[tuple[float, int]]:
    """The ``count`` best ``(score, docnum)`` pairs, best first (ties in document order)."""
    if not scores or count <= 0:
        return []
    # the count-th best score, found on bare floats, keeps the pairs to sort few
    threshold = heapq.nlargest(count, scores.values())[-1]
    best = [(score, docnum) for docnum, score in scores.items() if score >= threshold]
    return sorted(best, key=lambda pair: (-pair[0], pair[1]))[:count]


def passage_around(docnum: int, episode_of: Callable[[int], int], reach: int = 3) -> range:
    """The documents within ``reach`` paragraphs of a paragraph, itself included, in its episode.

    An episode's paragraphs are consecutive documents after its own episode
    document, so the window stops at that document and at the next episode's.
    """
    episode = episode_of(docnum)
    last = docnum + reach
    while last > docnum and episode_of(last) != episode:  # past the episode's last paragraph
        last -= 1
    return range(max(episode + 1, docnum - reach), last + 1)


def neighbourhood(scores: dict[int, float], docnum: int, passage: range) -> float:
    """First-stage score of the other matches in the passage around a document.

    A moment surrounded by other matches is part of a passage about the query,
    not a passing mention.
    """
    return sum(scores.get(other, 0.0) for other in passage if other != docnum)


def words_nearby(containing: dict[str, set[int]], passage: range) -> set[str]:
    """The words of ``containing`` found in a passage.

    A section is a few paragraphs about one subject: the words of a topic are
    spread over them, so the passage around a moment covers the topic where
    the moment alone holds one or two of its words.
    """
    return {word for word, docs in containing.items() if not docs.isdisjoint(passage)}


def term_frequencies(searcher: Any, field: str, word: str) -> Iterator[tuple[int, float]]:
    """``(docnum, frequency)`` of every document containing the word in a field."""
    for reader, offset in searcher.reader().leaf_readers():
        deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
        for ids, frequencies in _blocks(reader, word, field):
            for docnum, frequency in zip(ids, frequencies):
                if docnum not in deleted:
                    yield docnum + offset, frequency


def _length_codes(reader: Any) -> bytes:
    """Every document's one-byte text length code in one leaf, read in one go.

    Whoosh keeps these in a fixed-width column of one byte per document; a
    document past its end has length 0.
    """
    column = reader._perdoc._cached_reader(_lenfield(FIELD), LENGTHS_COLUMN)
    codes = b"" if column is None else bytes(column._dbfile.get(column._basepos, column._count))
    return codes.ljust(reader.doc_count_all(), b"\0")


def _blocks(reader: Any, word: str, field: str = FIELD) -> Iterator[tuple[Iterable[int], Sequence[float]]]:
    """A term's postings in one leaf, a block of doc ids and frequencies at a time."""
    try:
        matcher = reader.postings(field, word)
    except TermNotFound:
        return
    if isinstance(matcher, W3LeafMatcher):
        while not matcher._atend:
            if matcher._data is None:
                matcher._read_data()
            matcher._read_weights()
            # ids are stored as deltas; accumulate() undoes them in C
            yield accumulate(matcher._data[0]), matcher._weights
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
        return
    ids: list[int] = []
    frequencies: list[float] = []
    while matcher.is_active():  # inlined postings of rare terms
        ids.append(matcher.id())
        frequencies.append(matcher.weight())
        matcher.next()
    yield ids, frequencies
