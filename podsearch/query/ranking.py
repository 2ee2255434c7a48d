"""The second ranking stage: scoring a few dozen candidates on their own words.

The first stage (:mod:`podsearch.query.candidates`, or the engine's matchers
for queries with operators) only has to put the right paragraph among the candidates; this
stage decides the order. Each candidate's stored terms are scored with:

- BM25 over every content word of the query (not only the rare words that
  found the candidates), so each word counts at its true weight;
- coverage: the share of the query's word weight that the paragraph contains,
  so a paragraph with more of the words beats one repeating a single word;
- the longest run of the query's words in order (stop words included), so a
  remembered quote or a phrase ranks first;
- proximity: how tightly the query's words found sit together, so "close
  together" beats "spread over a long answer";
- the section header, the episode's title, topics and headers, the matches
  in the neighbouring paragraphs and the share of the query the passage
  around the moment covers, which tell what a moment is about.

The weights, and what each measured, are in :mod:`podsearch.query.tuning`.
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from podsearch.query.tuning import (
    ALL_WORDS_BOOST,
    COVERAGE_FLOOR,
    EPISODE_BOOST,
    K1,
    NEIGHBOUR_BOOST,
    PASSAGE_BOOST,
    PHRASE_BOOST,
    PROXIMITY_BOOST,
    SECTION_COVERAGE,
    SECTION_LENGTH,
    SECTION_WEIGHT,
    TITLE_BOOST,
    B,
)


@dataclass
class QueryWords:
    """The words of a query as the ranker needs them."""

    #: Every positive text word in query order, stop words included (for phrases).
    ordered: list[str]
    #: Distinct content words (stop words removed unless that leaves nothing).
    content: list[str]
    #: Inverse document frequency of each content word.
    idf: dict[str, float] = field(default_factory=dict)
    #: Documents in the index (for the idf of other words).
    documents: int = 1

    def __post_init__(self) -> None:
        self.total_idf = sum(self.idf.get(word, 0.0) for word in self.content) or 1.0
        self.content_set = frozenset(self.content)
        #: Every word the ranker looks for in a paragraph.
        self.wanted = frozenset(self.ordered) | self.content_set
        self._sections: dict[tuple[str, ...], tuple[float, float]] = {}

    def coverage(self, present: Container[str]) -> float:
        """The share of the content words' weight found among ``present``, 0 to 1."""
        return sum(self.idf.get(word, 0.0) for word in self.content if word in present) / self.total_idf

    def section_match(self, section: Sequence[str]) -> tuple[float, float]:
        """:func:`bm25` of a section header, memoised: a query's candidates share a few sections."""
        key = tuple(section)
        if key not in self._sections:
            self._sections[key] = bm25(self, section, found(section, self.wanted), SECTION_LENGTH)
        return self._sections[key]


def idf(doc_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return math.log(1 + (documents - doc_frequency + 0.5) / (doc_frequency + 0.5))


#: Where a query's words occur in a paragraph: ``(position, term)`` in order.
Found = list[tuple[int, str]]


def found(tokens: Sequence[str], wanted: frozenset[str]) -> Found:
    """The positions of the wanted words in the tokens (one pass, shared by every factor)."""
    return [(position, token) for position, token in enumerate(tokens) if token in wanted]


def bm25(words: QueryWords, tokens: Sequence[str], where: Found, average_length: float) -> tuple[float, float]:
    """BM25 of the tokens for the query's content words, and the idf-weighted coverage."""
    if not tokens:
        return 0.0, 0.0
    counts: dict[str, int] = {}
    content = words.content_set
    for _, token in where:
        if token in content:
            counts[token] = counts.get(token, 0) + 1
    norm = K1 * (1 - B + B * len(tokens) / (average_length or 1.0))
    score = covered = 0.0
    for word, count in counts.items():
        weight = words.idf.get(word, 0.0)
        score += weight * count * (K1 + 1) / (count + norm)
        covered += weight
    return score, covered / words.total_idf


def longest_run(tokens: Sequence[str], ordered: Sequence[str], where: Found) -> int:
    """The longest stretch of the query's words that appears in order in the tokens."""
    if len(ordered) < 2 or not tokens:
        return 0
    starts: dict[str, list[int]] = {}
    for position, token in where:
        starts.setdefault(token, []).append(position)
    best = 0
    for offset in range(len(ordered)):
        for position in starts.get(ordered[offset], ()):
            length = 1
            while (
                offset + length < len(ordered)
                and position + length < len(tokens)
                and tokens[position + length] == ordered[offset + length]
            ):
                length += 1
            best = max(best, length)
    return best


def closeness(where: Found, content: Container[str]) -> float:
    """How tightly the query's content words found sit together, 0 to 1.

    The number of distinct content words present over the length of the
    shortest stretch of tokens holding all of them: 1 when they stand side by
    side, small when they are spread over a long paragraph, 0 with fewer than two.
    """
    hits = [(position, token) for position, token in where if token in content]
    present = len({token for _, token in hits})
    if present < 2:
        return 0.0
    # the shortest window holding every present word: slide a window over the hits
    counts: dict[str, int] = {}
    covered = left = 0
    shortest = hits[-1][0] - hits[0][0] + 1
    for right, token in hits:
        counts[token] = counts.get(token, 0) + 1
        covered += counts[token] == 1
        while covered == present:
            start, first = hits[left]
            shortest = min(shortest, right - start + 1)
            counts[first] -= 1
            covered -= not counts[first]
            left += 1
    return present / shortest


def holds_any(words: QueryWords, tokens: Sequence[str], section: Sequence[str]) -> bool:
    """Whether a paragraph or its section header holds a content word of the query: without one,
    its :func:`score` is 0, whatever its context."""
    content = words.content_set
    return not (content.isdisjoint(tokens) and content.isdisjoint(section))


def score(
    words: QueryWords,
    tokens: Sequence[str],
    section: Sequence[str],
    average_length: float,
    episode_relevance: float,
    neighbourhood: float = 0.0,
    title: Container[str] = (),
    nearby: set[str] | None = None,
) -> float:
    """The final score of one candidate paragraph, from its terms and its context's.

    ``episode_relevance`` and ``neighbourhood`` are from 0 to 1; ``nearby`` is
    the query's words found in the paragraphs around this one (``None`` when
    unknown), whose coverage of the query with this paragraph's own words
    makes the passage factor.
    """
    where = found(tokens, words.wanted)
    passage = words.coverage(nearby.union(token for _, token in where)) if nearby is not None else 0.0
    text_score, coverage = bm25(words, tokens, where, average_length)
    if section:
        section_score, section_coverage = words.section_match(section)
        text_score += SECTION_WEIGHT * section_score
        coverage = max(coverage, min(1.0, coverage + SECTION_COVERAGE * section_coverage))
    phrase = 0.0
    if len(words.ordered) > 1:
        phrase = longest_run(tokens, words.ordered, where) / len(words.ordered)
    title_coverage = sum(1 for word in words.content if word in title) / len(words.content) if title else 0.0
    return (
        text_score
        * (COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * coverage**2)
        * (ALL_WORDS_BOOST if coverage >= 1.0 else 1.0)
        * (1 + TITLE_BOOST * title_coverage**2)
        * (1 + PHRASE_BOOST * phrase**2)
        * (1 + EPISODE_BOOST * episode_relevance)
        * (1 + NEIGHBOUR_BOOST * min(1.0, neighbourhood))
        * (1 + PASSAGE_BOOST * passage**2)
        * (1 + PROXIMITY_BOOST * closeness(where, words.content_set) * coverage**2)
    )
