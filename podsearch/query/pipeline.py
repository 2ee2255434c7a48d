"""From a query string to ranked :class:`~podsearch.model.Hit` objects, in four stages.

1. **Analyse** (:func:`podsearch.query.plan.analyse`): parse, correct the
   spelling, expand wildcards, apply the filters: one :class:`QueryPlan`.
2. **First stage** (:func:`podsearch.query.candidates.first_stage`): BM25 from
   the postings of the rarest words (or the engine's matchers for operators,
   phrases and fields): a few dozen candidates.
3. **Re-rank** (:func:`podsearch.query.rerank.rerank`): every word, their order
   and closeness, the section, the passage around, the episode.
4. **Assemble** (:mod:`podsearch.query.hits`): hits with snippets and context,
   grouped by episode or ordered by date.

Everything a generation's searches share lives in a
:class:`~podsearch.query.context.SearchContext`. The query layer only sees the
index through :class:`~podsearch.index.engine.Generation`; no engine object
reaches the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podsearch.errors import QueryError
from podsearch.model import EpisodeGroup, Hit, Results
from podsearch.query import hits as assemble
from podsearch.query.candidates import FirstStage, candidates_wanted, first_stage
from podsearch.query.context import SearchContext
from podsearch.query.parsing import (
    is_bag_of_words,
    parse,  # noqa: F401 - re-exported: ``podsearch.query.pipeline.parse``
)
from podsearch.query.plan import Filters, QueryPlan, analyse, parse_query
from podsearch.query.rerank import Paragraphs, Rescorer, rerank

if TYPE_CHECKING:
    from podsearch.query import hybrid

SORTS = ("relevance", "date")

__all__ = ["SORTS", "Filters", "QueryPlan", "SearchContext", "search"]


def search(
    context: SearchContext,
    text: str,
    *,
    limit: int = 10,
    filters: Filters | None = None,
    group_by: str | None = None,
    sort: str = "relevance",
    context_paragraphs: int = 0,
    mode: str = "words",
    embed_query: Callable[[], Any] | None = None,
) -> Results:
    """Run a query on one open generation and return our own :class:`Results`.

    ``mode`` ``hybrid`` or ``meaning`` with ``embed_query`` (giving the query's unit vector by the
    model of the generation's vectors; called on another thread, and only when the query is one
    that meaning takes part in) adds candidates by meaning (:mod:`podsearch.query.hybrid`).
    """
    began = time.perf_counter()
    _check_options(limit, sort, group_by, context_paragraphs)
    parsed = parse_query(text)
    grouping = group_by == "episode"
    every_match = grouping or sort == "date"
    table = context.generation.vectors
    embed = embed_query if sort == "relevance" and table is not None and mode != "words" else None
    started = None
    further = 0
    try:
        if embed is not None:
            from podsearch.query import hybrid  # only when searching by meaning: a words search never loads it

            # plain words, which meaning may take part in: the model starts now, beside the analysis
            started = hybrid.start_embedding(embed) if is_bag_of_words(parsed) else None
            plan = analyse(context, text, filters or Filters(), parsed)
            # then the vectors are searched on the other thread while the first stage runs
            started = hybrid.searching(started, context, table, plan, embed, mode, grouping)
            further = hybrid.further_wanted(mode, grouping) if started is not None else 0
        else:
            plan = analyse(context, text, filters or Filters(), parsed)
        first = first_stage(context, plan, candidates_wanted(limit, every_match), further)
        paragraphs = Paragraphs(context)
        if grouping:
            chosen = assemble.one_per_episode(first.matches, context.catalog.episode_of, limit)
        elif sort == "date":
            chosen = []  # ordered by date, not by score: nothing to re-rank
        else:
            chosen = first.matches
        meaning = None
        rescorer = Rescorer(context, plan, first, paragraphs)
        maker = assemble.HitMaker(context.catalog, paragraphs.__getitem__, plan.highlight, context_paragraphs)
        if started is not None:
            from podsearch.query import hybrid

            def meanwhile(done: Callable[[], bool]) -> None:
                # most hits a hybrid search shows are the words' best: made while the vectors are searched
                best = sorted(chosen, key=lambda pair: -rescorer(pair[1]))[:limit]
                maker.ahead((doc for _, doc in best), done)

            first, ranked, meaning = hybrid.rank(
                context, table, plan, first, chosen, paragraphs, rescorer, started, mode, grouping, meanwhile
            )
        else:
            ranked = rerank(context, plan, first, chosen, paragraphs, rescorer)
        hits, groups = _assemble(context, plan, first, ranked, maker, limit, group_by, sort, meaning)
        return Results(
            query=text,
            hits=hits,
            total=first.total + _named_extras(plan, first, ranked),
            suggestion=plan.suggestion,
            elapsed=time.perf_counter() - began,
            groups=groups,
            estimated_dates=assemble.estimated_dates(hits, plan.episodes is not None or sort == "date"),
        )
    finally:
        if started is not None:  # its thread never outlives the search: the generation it reads may close next
            started.settle()


def _assemble(
    context: SearchContext,
    plan: QueryPlan,
    first: FirstStage,
    ranked: list[tuple[float, int]],
    maker: assemble.HitMaker,
    limit: int,
    group_by: str | None,
    sort: str,
    meaning: hybrid.Meaning | None = None,
) -> tuple[tuple[Hit, ...], tuple[EpisodeGroup, ...]]:
    """The hits to show, and the episode groups when grouping."""
    catalog = context.catalog

    def make(score: float, doc: int) -> Hit:
        hit = maker(score, doc)
        if meaning is None:
            return hit
        from podsearch.query import hybrid

        return hybrid.matched(hit, doc, meaning)

    if group_by == "episode":
        groups = assemble.group(ranked, first.matches, catalog.episode_of, make, limit)
        return tuple(group.hits[0] for group in groups), groups
    if sort == "date":
        return assemble.distinct(assemble.by_date(first.matches, catalog), make, limit), ()
    return assemble.distinct(ranked, make, limit), ()


def _named_extras(plan: QueryPlan, first: FirstStage, ranked: list[tuple[float, int]]) -> int:
    """How many moments the episodes a query names added without the query's words (a guest's
    first answers, the opening of an episode): they are shown, so they are counted."""
    if not plan.guests and not plan.titles:
        return 0
    matched = {doc for _, doc in first.matches}
    return sum(1 for _, doc in ranked if doc not in matched)


def _check_options(limit: int, sort: str, group_by: str | None, context: int) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise QueryError("the limit must be a whole number of at least 1")
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
    if group_by not in (None, "episode"):
        raise QueryError(f"unknown grouping {group_by!r}; use 'episode'")
    if not isinstance(context, int) or context < 0:
        raise QueryError("context must be a whole number of paragraphs, 0 or more")
