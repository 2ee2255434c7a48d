"""The second stage: re-scoring the candidates on their stored terms and their surroundings.

The scoring itself is :func:`podsearch.query.ranking.score`; this module gathers
what it needs for each candidate: the paragraph's terms and section, how much
its episode is about the query, its title, and the passage around it (the
paragraphs within :data:`~podsearch.query.tuning.PASSAGE_REACH`, found by their
(episode, paragraph) keys): the first-stage matches there, and which of the
query's words it holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from podsearch.index.engine import StoredParagraph
from podsearch.query import ranking
from podsearch.query.candidates import FirstStage
from podsearch.query.context import ABOUT, SearchContext
from podsearch.query.plan import QueryPlan
from podsearch.query.tuning import K1, PASSAGE_REACH
from podsearch.text import terms


class Paragraphs:
    """The stored paragraphs one search reads, each read once."""

    def __init__(self, context: SearchContext) -> None:
        self._read = context.generation.paragraph
        self._known: dict[int, StoredParagraph] = {}

    def __getitem__(self, doc: int) -> StoredParagraph:
        found = self._known.get(doc)
        if found is None:
            found = self._known[doc] = self._read(doc)
        return found


def rerank(
    context: SearchContext,
    plan: QueryPlan,
    first: FirstStage,
    chosen: list[tuple[float, int]],
    paragraphs: Paragraphs,
) -> list[tuple[float, int]]:
    """The chosen candidates re-scored, best first; equal scores in key order (episode id, paragraph)."""
    if not plan.words.content:  # only field clauses: keep the first stage's order
        return chosen
    about = episode_relevance(context, plan.words)
    best_first = first.matches[0][0] if first.matches and first.matches[0][0] > 0 else 1.0
    catalog, key = context.catalog, context.catalog.key

    def rescore(doc: int) -> float:
        paragraph = paragraphs[doc]
        section = paragraph.section or ""
        if section not in context.section_terms:
            context.section_terms[section] = terms(section)
        passage = catalog.passage(doc, PASSAGE_REACH)
        around = neighbourhood(first.scores, doc, passage) / best_first if first.scores else 0.0
        episode = catalog.episode_of(doc)
        if episode not in context.title_terms:
            context.title_terms[episode] = set(terms(catalog.info(episode).title))
        # the engine's matchers (operator queries) say nothing of the words around a candidate
        nearby = words_nearby(first.containing, passage) if first.containing else None
        return ranking.score(
            plan.words,
            paragraph.terms,
            context.section_terms[section],
            context.average_length,
            about.get(episode, 0.0),
            around,
            context.title_terms[episode],
            nearby,
        )

    scored = [(rescore(doc), doc) for _, doc in chosen]
    return sorted(scored, key=lambda pair: (-pair[0], key(pair[1])))


def neighbourhood(scores: dict[int, float], doc: int, passage: Iterable[int]) -> float:
    """First-stage score of the other matches in the passage around a document.

    A moment surrounded by other matches is part of a passage about the query,
    not a passing mention.
    """
    return sum(scores.get(other, 0.0) for other in passage if other != doc)


def words_nearby(containing: dict[str, set[int]], passage: Iterable[int]) -> set[str]:
    """The words of ``containing`` found in a passage.

    A section is a few paragraphs about one subject: the words of a topic are
    spread over them, so the passage around a moment covers the topic where
    the moment alone holds one or two of its words.
    """
    return {word for word, docs in containing.items() if not docs.isdisjoint(passage)}


def episode_relevance(context: SearchContext, words: ranking.QueryWords) -> dict[int, float]:
    """How much each episode (title, topics, description, headers) is about the query, 0 to 1.

    Keyed by episode ordinal. Read straight from the postings of the episode
    documents' ``about`` field (about 200 documents): a saturated term
    frequency weighted by idf. Each word's contribution is kept per generation.
    """
    known = context.about
    catalog = context.catalog
    count = len(catalog) or 1
    scores: dict[int, float] = {}
    for word in words.content:
        if word not in known:
            weight = ranking.idf(context.generation.doc_frequency(ABOUT, word), count)
            known[word] = [
                (catalog.episode_of(doc), weight * frequency / (frequency + K1))
                for doc, frequency in _live_postings(context, ABOUT, word)
            ]
        for episode, score in known[word]:
            scores[episode] = scores.get(episode, 0.0) + score
    best = max(scores.values(), default=0.0)
    return {episode: score / best for episode, score in scores.items()} if best else {}


def _live_postings(context: SearchContext, field: str, word: str) -> Iterable[tuple[int, float]]:
    deleted = context.generation.deleted
    for ids, frequencies in context.generation.postings(field, word):
        for doc, frequency in zip(ids, frequencies, strict=False):
            if doc not in deleted:
                yield doc, frequency
