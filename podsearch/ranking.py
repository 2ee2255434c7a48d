"""The second ranking stage: scoring a few dozen candidates on their own words.

The first stage (:mod:`podsearch.candidates`, or Whoosh for queries with
operators) only has to put the right paragraph among the candidates; this
stage decides the order. Each candidate's stored terms are scored with:

- BM25 over every content word of the query (not only the rare words that
  found the candidates), so each word counts at its true weight;
- coverage: the share of the query's word weight that the paragraph contains,
  so a paragraph with more of the words beats one repeating a single word;
- the longest run of the query's words in order (stop words included), so a
  remembered quote or a phrase ranks first;
- the section header, the episode's title, topics and headers, and the
  matches in the neighbouring paragraphs, which tell what a moment is about.

The weights were set on the relevance check (``benchmarks/relevance.py``):
PHRASE_BOOST took known-item quotes from 92 % to 96 % first-hit accuracy;
the other factors each add one to a few points on topic and title queries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

K1 = 1.2
B = 0.75
#: How much the section header adds, relative to the paragraph's own text.
SECTION_WEIGHT = 0.3
#: How much a full in-order run of the query's words multiplies the score.
PHRASE_BOOST = 10.0
#: How much the episode being about the query multiplies the score.
EPISODE_BOOST = 0.5
#: How much matches in the neighbouring paragraphs multiply the score.
NEIGHBOUR_BOOST = 0.3
#: A paragraph holding every content word of the query is worth this much more.
ALL_WORDS_BOOST = 2.0
#: Floor of the coverage factor: a paragraph with few of the words keeps some score.
COVERAGE_FLOOR = 0.15


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

    @property
    def total_idf(self) -> float:
        return sum(self.idf.get(word, 0.0) for word in self.content) or 1.0


def idf(doc_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return math.log(1 + (documents - doc_frequency + 0.5) / (doc_frequency + 0.5))


def bm25(words: QueryWords, tokens: Sequence[str], average_length: float) -> tuple[float, float]:
    """BM25 of the tokens for the query's content words, and the idf-weighted coverage."""
    if not tokens:
        return 0.0, 0.0
    counts: dict[str, int] = {}
    wanted = set(words.content)
    for token in tokens:
        if token in wanted:
            counts[token] = counts.get(token, 0) + 1
    norm = K1 * (1 - B + B * len(tokens) / (average_length or 1.0))
    score = covered = 0.0
    for word, count in counts.items():
        weight = words.idf.get(word, 0.0)
        score += weight * count * (K1 + 1) / (count + norm)
        covered += weight
    return score, covered / words.total_idf


def longest_run(tokens: Sequence[str], ordered: Sequence[str]) -> int:
    """The longest stretch of the query's words that appears in order in the tokens."""
    if len(ordered) < 2 or not tokens:
        return 0
    starts: dict[str, list[int]] = {}
    wanted = set(ordered)
    for index, token in enumerate(tokens):
        if token in wanted:
            starts.setdefault(token, []).append(index)
    best = 0
    for offset in range(len(ordered) - best):
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


def score(
    words: QueryWords,
    tokens: Sequence[str],
    section: Sequence[str],
    average_length: float,
    episode_relevance: float,
    neighbourhood: float = 0.0,
    title: Sequence[str] = (),
) -> float:
    """The final score of one candidate paragraph, from its terms and its section's."""
    text_score, coverage = bm25(words, tokens, average_length)
    if section:
        section_score, section_coverage = bm25(words, section, 4.0)
        text_score += SECTION_WEIGHT * section_score
        coverage = max(coverage, min(1.0, coverage + 0.5 * section_coverage))
    phrase = 0.0
    if len(words.ordered) > 1:
        phrase = longest_run(tokens, words.ordered) / len(words.ordered)
    title_coverage = sum(1 for word in words.content if word in title) / len(words.content) if title else 0.0
    return (
        text_score
        * (COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * coverage**2)
        * (ALL_WORDS_BOOST if coverage >= 1.0 else 1.0)
        * (1 + title_coverage**2)
        * (1 + PHRASE_BOOST * phrase**2)
        * (1 + EPISODE_BOOST * episode_relevance)
        * (1 + NEIGHBOUR_BOOST * min(1.0, neighbourhood))
    )
