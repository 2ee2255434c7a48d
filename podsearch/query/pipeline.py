"""From a query string to ranked :class:`~podsearch.model.Hit` objects.

A plain query runs in two stages. The first (:mod:`podsearch.candidates`)
scores BM25 straight from the postings of the query's rarest words, documents
with more of the words first; the second (:mod:`podsearch.ranking`) re-scores a
few dozen candidates on all their words, their order and closeness, their
section, the passage around them and their episode. Queries with operators, phrases or fields run on
Whoosh's own matchers and are re-ranked the same way. No Whoosh object leaves
this module.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from whoosh import query as wq

from podsearch.errors import QueryError
from podsearch.index.catalog import EpisodeCatalog
from podsearch.model import EpisodeGroup, Hit, Results
from podsearch.query import parsing, ranking, spelling
from podsearch.query.candidates import (
    COORDINATION,
    FirstStage,
    PostingsScorer,
    neighbourhood,
    passage_around,
    term_frequencies,
    top,
    words_nearby,
)
from podsearch.query.hits import make_hit
from podsearch.query.parsing import parse  # noqa: F401 - re-exported: ``podsearch.query.parse``
from podsearch.text import WORD, fold, stem, terms

#: Candidates the first stage hands to the re-ranker.
CANDIDATES = 24
#: Candidates for a quote made of common words, where only word order tells
#: the paragraphs apart (see :func:`_quote_like`).
WIDE_CANDIDATES = 128
SORTS = ("relevance", "date")

@dataclass(frozen=True)
class Filters:
    """Restrictions on which moments may match (``None`` means any)."""

    speaker: str | None = None
    guest: str | None = None
    season: int | None = None
    episode: int | None = None
    after: date | None = None
    before: date | None = None


# --- filters --------------------------------------------------------------------------------


def _filter_query(filters: Filters, episodes: EpisodeCatalog) -> wq.Query | None:
    """Whoosh filter restricting matches to paragraphs that pass the filters, if any."""
    parts: list[wq.Query] = []
    if filters.speaker:
        parts.extend(wq.Term("speaker", word) for word in filters.speaker.lower().split())
    if filters.guest:
        parts.extend(wq.Term("guest", word) for word in filters.guest.lower().split())
    for name in ("season", "episode"):
        value = getattr(filters, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise QueryError(f"{name} must be a whole number from 0, not {value!r}")
        parts.append(wq.NumericRange(name, value, value))
    if filters.after or filters.before:
        ids = [
            info.id
            for info in episodes.all()
            if info.date_added
            and (filters.after is None or info.date_added >= filters.after)
            and (filters.before is None or info.date_added <= filters.before)
        ]
        parts.append(wq.Or([wq.Term("eid", eid) for eid in ids]) if ids else wq.NullQuery)
    return wq.And(parts) if parts else None


# --- searching ------------------------------------------------------------------------------

#: A wildcard stands for at most this many of its most frequent completions.
MAX_EXPANSIONS = 16
#: The first stage reads the postings of the query's rarest words (at least
#: two) up to about this many; commoner words only count in the second stage.
#: Measured on the relevance check: 3,000 gains 0.005 MRR on topic queries and
#: costs 5 % of the median latency; 1,500 loses 0.015.
POSTINGS_BUDGET = 2_200
#: Queries with more content words than this get a proportionally larger budget
#: (+0.005 to +0.012 MRR@10 on topic and title queries, +0.01 to +0.03 S@10).
BUDGET_WORDS = 4


def search(
    searcher: Any,
    text: str,
    *,
    limit: int = 10,
    filters: Filters = Filters(),
    group_by: str | None = None,
    sort: str = "relevance",
    context: int = 0,
    cache: dict[str, Any] | None = None,
) -> Results:
    """Run a query on an open searcher and return our own :class:`Results`.

    ``cache`` keeps per-searcher work (the speller, episode descriptions)
    between calls; pass the same dict for the same searcher.
    """
    began = time.perf_counter()
    _check_options(limit, sort, group_by, context)
    cache = {} if cache is None else cache
    episodes: EpisodeCatalog = _memo(cache, "episodes", lambda: EpisodeCatalog(searcher))
    parsed = parsing.require_fields(parsing.parse(text))
    paragraphs_with = _frequencies(searcher, cache)
    parsed, corrections = _correct(text, parsed, paragraphs_with)
    words = _query_words(parsed, paragraphs_with, _memo(cache, "documents", searcher.doc_count))
    highlight = parsing.positive_terms(parsed)  # prefixes included

    every_match = group_by == "episode" or sort == "date"
    wanted = None if every_match else max(CANDIDATES, limit)
    # Episode documents never appear as hits: masking out their ~200 documents is
    # much cheaper than a filter allowing the ~28,000 paragraphs. A set, not a
    # frozenset: the only container type Whoosh accepts as a mask.
    mask = _memo(cache, "mask", lambda: set(episodes.episode_docnums))
    restriction = _filter_query(filters, episodes)
    expanded = _expand_wildcards(parsed, searcher, paragraphs_with)
    if parsing.is_bag_of_words(expanded):
        allowed = set(searcher.docs_for_query(restriction)) if restriction is not None else None
        scorer = _memo(cache, "postings", lambda: PostingsScorer(searcher))
        weights = _rarest(words, paragraphs_with)
        typed = set(words.ordered)
        for term in parsing.bag_terms(expanded):  # completions of wildcards
            if term not in typed:
                weights[term] = ranking.idf(paragraphs_with(term), words.documents)
        first = scorer.scores(weights, mask, allowed)
        first_scores = first.scores
        if wanted and _quote_like(words, first_scores, wanted):
            wanted = max(WIDE_CANDIDATES, limit)
        matches, total = top(first_scores, wanted or len(first_scores)), len(first_scores)
    else:
        found = searcher.search(
            parsing.without_stop_words(expanded), limit=wanted, filter=restriction, mask=mask, terms=False
        )
        matches, total = list(found.top_n), len(found)
        first = FirstStage({}, {})
        first_scores = first.scores
    about = _episode_relevance(searcher, words, episodes, cache)
    average = _memo(cache, "average_length", lambda: searcher.avg_field_length("text") or 1.0)

    sections: dict[str, list[str]] = cache.setdefault("section_terms", {})
    titles: dict[int, set[str]] = cache.setdefault("title_terms", {})
    best_first = matches[0][0] if matches and matches[0][0] > 0 else 1.0

    stored_by_docnum: dict[int, dict[str, Any]] = {}

    def stored_fields(docnum: int) -> dict[str, Any]:
        if docnum not in stored_by_docnum:
            stored_by_docnum[docnum] = searcher.stored_fields(docnum)
        return stored_by_docnum[docnum]

    def rescore(docnum: int) -> float:
        stored = stored_fields(docnum)
        tokens = stored["terms"].split() if "terms" in stored else terms(stored["text"])
        section = stored.get("section") or ""
        if section not in sections:
            sections[section] = terms(section)
        passage = passage_around(docnum, episodes.episode_docnum)
        around = neighbourhood(first_scores, docnum, passage) / best_first if first_scores else 0.0
        episode = episodes.episode_docnum(docnum)
        if episode not in titles:
            titles[episode] = set(terms(episodes.info(docnum).title))
        # Whoosh's matchers (operator queries) say nothing of the words around a candidate
        nearby = words_nearby(first.containing, passage) if first.containing else None
        return ranking.score(
            words, tokens, sections[section], average, about.get(episode, 0.0), around, titles[episode], nearby
        )

    if group_by == "episode":
        chosen = _one_per_episode(matches, episodes.episode_docnum, limit)
    else:
        chosen = matches[: wanted or CANDIDATES]
    if words.content:
        ranked = sorted(((rescore(d), d) for _, d in chosen), reverse=True)
    else:  # only field clauses: keep Whoosh's order
        ranked = chosen

    def make(score: float, docnum: int) -> Hit:
        info = episodes.info(docnum)
        return make_hit(searcher, docnum, stored_fields(docnum), score, info, highlight, context)

    groups: tuple[EpisodeGroup, ...] = ()
    if group_by == "episode":
        groups = _group(ranked, matches, episodes.episode_docnum, make, limit)
        hits = tuple(group.hits[0] for group in groups)
    elif sort == "date":
        hits = tuple(make(s, d) for s, d in _by_date(matches, searcher, episodes)[:limit])
    else:
        hits = tuple(make(score, docnum) for score, docnum in ranked[:limit])
    return Results(
        query=text,
        hits=hits,
        total=total,
        suggestion=_suggestion(text, corrections),
        elapsed=time.perf_counter() - began,
        groups=groups,
    )


def _memo(cache: dict[str, Any], key: str, compute: Any) -> Any:
    """A per-searcher value, computed on first use."""
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _check_options(limit: int, sort: str, group_by: str | None, context: int) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise QueryError("the limit must be a whole number of at least 1")
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
    if group_by not in (None, "episode"):
        raise QueryError(f"unknown grouping {group_by!r}; use 'episode'")
    if not isinstance(context, int) or context < 0:
        raise QueryError("context must be a whole number of paragraphs, 0 or more")


def _expand_wildcards(node: wq.Query, searcher: Any, paragraphs_with: Any) -> wq.Query:
    """Replace ``prefix*`` and ``w*ldcards`` by their most frequent completions.

    Whoosh would OR every completion (hundreds for three letters, seconds of
    work); the commonest few, within a postings budget, find the same moments.
    """
    if isinstance(node, (wq.Prefix, wq.Wildcard)) and node.fieldname == "text":
        pattern = node.text + "*" if isinstance(node, wq.Prefix) else node.text
        literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
        matches = re.compile(fnmatch.translate(pattern)).match
        completions = (term.decode("utf-8") for term in searcher.reader().expand_prefix("text", literal))
        found = {term for term in completions if matches(term)}
        if isinstance(node, wq.Prefix) and paragraphs_with(stem(node.text)):
            found.add(stem(node.text))  # "embedding*" also means the stem "embed"
        commonest = sorted(found, key=lambda t: -paragraphs_with(t))
        chosen = _within_budget(commonest, paragraphs_with, 2 * POSTINGS_BUDGET, at_most=MAX_EXPANSIONS)
        if not chosen:
            return wq.NullQuery
        return wq.Or([wq.Term("text", term) for term in chosen]) if len(chosen) > 1 else wq.Term("text", chosen[0])
    if node.is_leaf():
        return node
    return node.apply(lambda child: _expand_wildcards(child, searcher, paragraphs_with))


def _query_words(node: wq.Query, frequency: Any, documents: int) -> ranking.QueryWords:
    ordered = [word for word in parsing.positive_terms(node) if "*" not in word and "?" not in word]
    distinct = list(dict.fromkeys(ordered))
    content = [word for word in distinct if word not in parsing.STOP_WORDS] or distinct
    weights = {word: ranking.idf(frequency(word), documents) for word in content}
    return ranking.QueryWords(ordered=ordered, content=content, idf=weights, documents=documents)


def _quote_like(words: ranking.QueryWords, first_scores: dict[int, float], wanted: int) -> bool:
    """A query of three words or more whose rare words all occur in more paragraphs than we re-rank.

    Then the first stage cannot tell those paragraphs apart (the words are the
    same, only their order differs), so the re-ranker, which sees the order,
    gets a wider pool. Other queries keep the small, fast one.
    """
    if len(words.ordered) < 3 or len(first_scores) <= wanted:
        return False
    level = max(first_scores.values()) // COORDINATION * COORDINATION
    return sum(1 for score in first_scores.values() if score >= level) > wanted


def _rarest(words: ranking.QueryWords, paragraphs_with: Any) -> dict[str, float]:
    """The words that single out candidates: the rarest ones, up to a postings budget."""
    known = sorted((word for word in words.content if paragraphs_with(word)), key=paragraphs_with)
    # a long query (a section header, a title) spreads its meaning over more words: past
    # four words, each brings its share of the budget
    budget = POSTINGS_BUDGET * max(1.0, len(words.content) / BUDGET_WORDS)
    chosen = _within_budget(known, paragraphs_with, budget, at_least=2)
    return {word: words.idf[word] for word in chosen}


def _within_budget(
    ordered: list[str],
    paragraphs_with: Callable[[str], int],
    budget: float,
    at_least: int = 1,
    at_most: int | None = None,
) -> list[str]:
    """The first words, in the given order, whose postings add up to at most ``budget``.

    The first ``at_least`` words are taken whatever they cost; ``at_most`` caps the count.
    """
    chosen: list[str] = []
    read = 0
    for word in ordered:
        if at_most is not None and len(chosen) >= at_most:
            break
        if len(chosen) >= at_least and read + paragraphs_with(word) > budget:
            break
        chosen.append(word)
        read += paragraphs_with(word)
    return chosen


def _episode_relevance(
    searcher: Any, words: ranking.QueryWords, episodes: EpisodeCatalog, cache: dict[str, Any]
) -> dict[int, float]:
    """How much each episode (title, topics, description, headers) is about the query, 0 to 1.

    Keyed by episode document number. Read straight from the postings of the
    episode documents' ``about`` field (about 200 documents): a saturated term
    frequency weighted by idf. Each word's contribution is kept per searcher.
    """
    known: dict[str, list[tuple[int, float]]] = _memo(cache, "about", dict)
    count = len(episodes.episode_docnums) or 1
    scores: dict[int, float] = {}
    for word in words.content:
        if word not in known:
            weight = ranking.idf(searcher.doc_frequency("about", word), count)
            known[word] = [
                (docnum, weight * frequency / (frequency + ranking.K1))
                for docnum, frequency in term_frequencies(searcher, "about", word)
            ]
        for docnum, score in known[word]:
            scores[docnum] = scores.get(docnum, 0.0) + score
    best = max(scores.values(), default=0.0)
    return {docnum: score / best for docnum, score in scores.items()} if best else {}


# --- spelling -------------------------------------------------------------------------------


def _frequencies(searcher: Any, cache: dict[str, Any]) -> Any:
    """``paragraphs_with(term)``: the text field's document frequency, memoised per searcher."""
    known: dict[str, int] = _memo(cache, "doc_frequency", dict)

    def paragraphs_with(term: str) -> int:
        if term not in known:
            known[term] = searcher.doc_frequency("text", term)
        return known[term]

    return paragraphs_with


def _correct(
    text: str, node: wq.Query, paragraphs_with: Callable[[str], int]
) -> tuple[wq.Query, dict[str, str]]:
    """Replace words the index has never seen by their most likely spelling.

    Returns the corrected query and, for the suggestion, each typed word that
    was corrected with its correction.
    """
    unknown = {
        leaf.text
        for leaf in parsing.walk(node)
        if isinstance(leaf, wq.Term) and leaf.fieldname == "text" and not paragraphs_with(leaf.text)
    }
    typed_words = [(match.group(), stem(fold(match.group()))) for match in WORD.finditer(text)]
    replaced: dict[str, str] = {}  # stem of the typo → corrected word
    for typed, term in typed_words:
        if term in unknown and term not in replaced:
            found = spelling.correct(typed, paragraphs_with)
            if found:
                node = node.replace("text", term, found[1])
                replaced[term] = found[0]
    return node, {typed: replaced[term] for typed, term in typed_words if term in replaced}


def _suggestion(text: str, corrections: dict[str, str]) -> str | None:
    """The query as the user typed it, with the corrected words."""
    if not corrections:
        return None
    return WORD.sub(lambda match: corrections.get(match.group(), match.group()), text)


# --- ordering and grouping ------------------------------------------------------------------


def _by_date(
    matches: list[tuple[float, int]], searcher: Any, episodes: EpisodeCatalog
) -> list[tuple[float, int]]:
    """Newest episodes first; within an episode, in the order of the conversation."""

    def key(pair: tuple[float, int]) -> tuple[date, int, int]:
        info = episodes.info(pair[1])
        # documents follow the conversation within an episode
        return (info.date_added or date.min, episodes.episode_docnum(pair[1]), -pair[1])

    return sorted(matches, key=key, reverse=True)


def _one_per_episode(
    matches: list[tuple[float, int]], episode_of: Callable[[int], int], limit: int
) -> list[tuple[float, int]]:
    """The best candidates, plus each further episode's best match until ``limit`` episodes have one.

    Grouping ranks episodes by their re-ranked moments: the first candidates
    alone may come from one or two episodes when a few are all about the query.
    """
    chosen = list(matches[:CANDIDATES])
    seen = {episode_of(docnum) for _, docnum in chosen}
    for pair in matches[CANDIDATES:]:
        if len(seen) >= limit:
            break
        episode = episode_of(pair[1])
        if episode not in seen:
            seen.add(episode)
            chosen.append(pair)
    return chosen


def _group(
    ranked: list[tuple[float, int]],
    matches: list[tuple[float, int]],
    episode_of: Any,
    make: Any,
    limit: int,
) -> tuple[EpisodeGroup, ...]:
    """Episodes ranked by their best moments, with how many of their moments matched."""
    counts: dict[int, int] = {}
    for _, docnum in matches:
        episode = episode_of(docnum)
        counts[episode] = counts.get(episode, 0) + 1
    best: dict[int, list[tuple[float, int]]] = {}
    for score, docnum in ranked:
        best.setdefault(episode_of(docnum), []).append((score, docnum))
    order = sorted(best, key=lambda e: -(best[e][0][0] + 0.1 * sum(s for s, _ in best[e][1:3])))
    groups = []
    for episode in order[:limit]:
        hits = tuple(make(score, docnum) for score, docnum in best[episode][:3])
        groups.append(
            EpisodeGroup(episode=hits[0].episode, hits=hits, count=counts[episode], score=best[episode][0][0])
        )
    return tuple(groups)
