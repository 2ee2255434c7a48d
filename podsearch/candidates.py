"""The first ranking stage for plain word queries: BM25 straight from the postings.

Whoosh's matchers score one posting at a time through several layers of
Python objects (~7 µs a posting here); a natural-language query touches
thousands. This module reads the same postings a block (128 postings) at a
time and accumulates BM25 in a dict, about ten times faster, and only for the
query's rarest words: they are the ones that single out a moment, and the
second stage (:mod:`podsearch.ranking`) scores every word anyway.

It relies on the layout of Whoosh's ``W3`` codec (whoosh-reloaded 2.7.x, pinned
in ``pyproject.toml``): posting blocks of doc ids and term frequencies, and a
per-document lengths column.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Iterator, Sequence
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from .ranking import B, K1

FIELD = "text"


class PostingsScorer:
    """BM25 over the text field of one searcher (built once, reused per query)."""

    def __init__(self, searcher: Any) -> None:
        self._leaves: list[tuple[Any, int, list[float], frozenset[int]]] = []
        average = searcher.avg_field_length(FIELD) or 1.0
        for reader, offset in searcher.reader().leaf_readers():
            lengths = _lengths(reader)
            norms = [K1 * (1 - B + B * length / average) for length in lengths]
            deleted = frozenset(reader.all_deleted()) if reader.has_deletions() else frozenset()
            self._leaves.append((reader, offset, norms, deleted))

    def top(
        self,
        weights: dict[str, float],
        count: int,
        excluded: Container[int] = frozenset(),
        allowed: Container[int] | None = None,
    ) -> tuple[list[tuple[float, int]], int]:
        """The ``count`` best ``(score, docnum)`` pairs, and how many documents matched.

        ``weights`` maps each word to its idf; ``excluded`` and ``allowed`` are
        global document numbers to leave out or to keep only.
        """
        scores: dict[int, float] = {}
        for reader, offset, norms, deleted in self._leaves:
            for word, idf in weights.items():
                boost = idf * (K1 + 1)
                for ids, frequencies in _blocks(reader, word):
                    for docnum, frequency in zip(ids, frequencies):
                        if docnum in deleted:
                            continue
                        key = docnum + offset
                        scores[key] = scores.get(key, 0.0) + boost * frequency / (frequency + norms[docnum])
        matched = [
            (score, docnum)
            for docnum, score in scores.items()
            if docnum not in excluded and (allowed is None or docnum in allowed)
        ]
        return heapq.nlargest(count, matched), len(matched)


def term_frequencies(searcher: Any, field: str, word: str) -> Iterator[tuple[int, float]]:
    """``(docnum, frequency)`` of every document containing the word in a field."""
    for reader, offset in searcher.reader().leaf_readers():
        deleted = frozenset(reader.all_deleted()) if reader.has_deletions() else frozenset()
        for ids, frequencies in _blocks(reader, word, field):
            for docnum, frequency in zip(ids, frequencies):
                if docnum not in deleted:
                    yield docnum + offset, frequency


def _lengths(reader: Any) -> list[float]:
    """Every document's text length in one leaf (as Whoosh stores it: one byte, approximated)."""
    column = reader._perdoc._cached_reader(_lenfield(FIELD), LENGTHS_COLUMN)
    if column is None:
        return [0.0] * reader.doc_count_all()
    decoded = [byte_to_length(value) for value in range(256)]
    return [decoded[value] for value in column]


def _blocks(reader: Any, word: str, field: str = FIELD) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """A term's postings in one leaf, a block of doc ids and frequencies at a time."""
    try:
        matcher = reader.postings(field, word)
    except TermNotFound:
        return
    if isinstance(matcher, W3LeafMatcher):
        while not matcher._atend:
            matcher._read_ids()
            matcher._read_weights()
            yield matcher._ids, matcher._weights
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
