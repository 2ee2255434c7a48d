"""The first ranking stage: which few dozen paragraphs the re-ranker looks at.

For plain word queries it scores BM25 straight from the postings, a block at a
time, accumulating in a dict (about ten times faster than the engine's own
matchers, which score one posting at a time), and only for the query's rarest
words: they are the ones that single out a moment, and the second stage
(:mod:`podsearch.query.rerank`) scores every word anyway. It also keeps which
documents hold each word, so the second stage can tell how much of the query
the paragraphs around a candidate cover. Queries with operators, phrases or
fields run on the engine's matchers (:meth:`~podsearch.index.engine.Generation.run`).

Ties are broken by the documents' keys (episode id, paragraph number), never
by document number, which depends on the order segments were written in.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Container
from dataclasses import dataclass, field

from podsearch.query import parsing
from podsearch.query.context import TEXT, SearchContext
from podsearch.query.plan import QueryPlan, first_stage_words
from podsearch.query.ranking import QueryWords
from podsearch.query.tuning import CANDIDATES, COORDINATION, K1, WIDE_CANDIDATES


@dataclass
class FirstStage:
    """What the first stage found."""

    #: The best candidates, ``(score, document)``, best first (all matches when every one is wanted).
    matches: list[tuple[float, int]]
    #: How many documents matched.
    total: int
    #: First-stage score of every match, by document (empty for operator queries).
    scores: dict[int, float] = field(default_factory=dict)
    #: The live documents containing each word read, whether or not filters allow them
    #: (``None`` for operator queries: the engine's matchers do not say).
    containing: dict[str, set[int]] | None = None
    #: The next best matches after :attr:`matches`, when asked for (plain word queries only).
    next_best: list[tuple[float, int]] = field(default_factory=list)


def first_stage(context: SearchContext, plan: QueryPlan, wanted: int | None, more: int = 0) -> FirstStage:
    """The ``wanted`` best candidates of a plan (every match with ``None``), and of a plain word
    query the ``more`` next best in :attr:`FirstStage.next_best` (one pass over the scores for both)."""
    generation = context.generation
    if not plan.bag_of_words:
        tree = parsing.without_stop_words(plan.tree)
        if plan.episodes is None:
            matches, total = generation.run(tree, wanted, plan.restriction, context.heads)
        else:
            documents = context.catalog.documents_of(plan.episodes)
            if plan.restriction is not None:
                documents &= generation.matching(plan.restriction)
            matches, total = generation.run(tree, wanted, None, context.heads, allowed=documents)
        return FirstStage(matches, total)
    allowed = allowed_documents(context, plan)
    scores, containing = postings_scores(context, first_stage_words(plan, context), context.heads, allowed)
    if wanted and quote_like(plan.words, scores, wanted):
        wanted = max(WIDE_CANDIDATES, wanted)
    key = context.catalog.key
    if not wanted:
        return FirstStage(top(scores, len(scores), key), len(scores), scores, containing)
    best = top(scores, wanted + more, key)  # its first ``wanted`` are top(scores, wanted): one total order
    return FirstStage(best[:wanted], len(scores), scores, containing, best[wanted:])


class EpisodeFilter:
    """The documents of some episodes (and of a set of documents, if given), as a container.

    Checking a match's episode costs less than listing every document of the
    allowed episodes: a date filter costs about what an unfiltered search does.
    """

    def __init__(self, episodes: Container[int], episode_of: Callable[[int], int], documents: Container[int] | None):
        self._episodes = episodes
        self._episode_of = episode_of
        self._documents = documents

    def __contains__(self, doc: object) -> bool:
        return (
            isinstance(doc, int)
            and self._episode_of(doc) in self._episodes
            and (self._documents is None or doc in self._documents)
        )


def allowed_documents(context: SearchContext, plan: QueryPlan) -> Container[int] | None:
    """The documents the plan's filters allow (``None``: every document); for any stage that finds candidates."""
    documents = context.generation.matching(plan.restriction) if plan.restriction is not None else None
    if plan.episodes is None:
        return documents
    return EpisodeFilter(plan.episodes, context.catalog.episode_of, documents)


def candidates_wanted(limit: int, every_match: bool) -> int | None:
    """How many candidates the first stage hands on (``None``: all, for grouping and date order)."""
    return None if every_match else max(CANDIDATES, limit)


def postings_scores(
    context: SearchContext,
    weights: dict[str, float],
    excluded: Collection[int] = frozenset(),
    allowed: Container[int] | None = None,
) -> tuple[dict[int, float], dict[str, set[int]]]:
    """BM25 plus coordination of every matching document, and the live documents holding each word.

    ``weights`` maps each word to its idf; ``excluded`` and ``allowed`` are
    documents to leave out of the scores or to keep only.
    """
    generation = context.generation
    norms, classes = context.norms()
    scores: dict[int, float] = {}
    containing: dict[str, set[int]] = {word: set() for word in weights}
    get = scores.get
    # Each word a document contains adds more than any BM25 difference, so
    # documents with more of the words come first (AND before OR).
    coordination = COORDINATION
    for word, idf in weights.items():
        boost = idf * (K1 + 1)
        found = containing[word]
        for ids, frequencies in generation.postings(TEXT, word):
            found.update(ids)
            for doc, frequency in zip(ids, frequencies, strict=False):
                scores[doc] = get(doc, 0.0) + coordination + boost * frequency / (frequency + norms[classes[doc]])
    deleted = generation.deleted
    if deleted:
        for found in containing.values():
            found -= deleted
    # filtering is a pass over every match: only when something can be filtered out
    # (episode documents have no text, so ``excluded`` rarely holds a match)
    if deleted or allowed is not None or any(doc in scores for doc in excluded):
        scores = {
            doc: score
            for doc, score in scores.items()
            if doc not in excluded and doc not in deleted and (allowed is None or doc in allowed)
        }
    return scores, containing


def top(scores: dict[int, float], count: int, key: Callable[[int], int]) -> list[tuple[float, int]]:
    """The ``count`` best ``(score, document)`` pairs, best first (ties in ``key`` order)."""
    if not scores or count <= 0:
        return []
    # the count-th best score, found on bare floats, keeps the pairs to sort few
    threshold = heapq.nlargest(count, scores.values())[-1]
    best = [(score, doc) for doc, score in scores.items() if score >= threshold]
    return sorted(best, key=lambda pair: (-pair[0], key(pair[1])))[:count]


def quote_like(words: QueryWords, scores: dict[int, float], wanted: int) -> bool:
    """A query of three words or more whose rare words all occur in more paragraphs than we re-rank.

    Then the first stage cannot tell those paragraphs apart (the words are the
    same, only their order differs), so the re-ranker, which sees the order,
    gets a wider pool. Other queries keep the small, fast one.
    """
    if len(words.ordered) < 3 or len(scores) <= wanted:
        return False
    level = max(scores.values()) // COORDINATION * COORDINATION
    return sum(1 for score in scores.values() if score >= level) > wanted
