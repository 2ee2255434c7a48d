"""The second stage: re-scoring the candidates on their stored terms and their surroundings.

The scoring itself is :func:`podsearch.query.ranking.score`; this module gathers
what it needs for each candidate: the paragraph's terms and section, how much
its episode is about the query, its title, and the passage around it (the
paragraphs within :data:`~podsearch.query.tuning.PASSAGE_REACH`, found by their
(episode, paragraph) keys): the first-stage matches there, and which of the
query's words it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from collections.abc import Set as AbstractSet

from podsearch.errors import QueryError
from podsearch.index.engine import StoredParagraph
from podsearch.query import ranking
from podsearch.query.candidates import FirstStage
from podsearch.query.context import ABOUT, SearchContext
from podsearch.query.plan import QueryPlan
from podsearch.query.tuning import (
    EXACT_BOOST,
    EXACT_CHECKS,
    EXACT_WORDS,
    GUEST_OPENING_WORDS,
    GUEST_WORDS_BOOST,
    K1,
    NAMED_CANDIDATES,
    PASSAGE_REACH,
)
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


class Rescorer:
    """The second-stage score of each candidate of one search, computed once.

    A hybrid search scores the lexical candidates while its vector search runs, then only the
    candidates the meaning adds. The score is before the exact-quote boost, which depends on
    every candidate (:func:`exact_matches`); it includes the boost of a named guest's own words.
    """

    def __init__(self, context: SearchContext, plan: QueryPlan, first: FirstStage, paragraphs: Paragraphs) -> None:
        self._context, self._plan, self._first, self._paragraphs = context, plan, first, paragraphs
        self._about = episode_relevance(context, plan.words) if plan.words.content else {}
        self._best_first = first.matches[0][0] if first.matches and first.matches[0][0] > 0 else 1.0
        self._known: dict[int, float] = {}
        #: the candidates that are a named guest's own words
        self.own: set[int] = set()

    def prepare(self, docs: Iterable[int], between: Callable[[], None] | None = None) -> None:
        """Score these candidates now, calling ``between`` after each (a query without content words
        keeps the first stage's order: nothing to score)."""
        if self._plan.words.content:
            for doc in docs:
                self(doc)
                if between is not None:
                    between()

    def __call__(self, doc: int) -> float:
        found = self._known.get(doc)
        if found is None:
            found = self._known[doc] = self._score(doc)
        return found

    def _score(self, doc: int) -> float:
        context, plan, first = self._context, self._plan, self._first
        catalog = context.catalog
        paragraph = self._paragraphs[doc]
        section = paragraph.section or ""
        if section not in context.section_terms:
            context.section_terms[section] = terms(section)
        episode = catalog.episode_of(doc)
        own = episode in plan.guests and paragraph.hit.speaker_name in plan.guests[episode]
        if own:
            self.own.add(doc)
        if not ranking.holds_any(plan.words, paragraph.terms, context.section_terms[section]):
            # every factor multiplies the words' score, 0 here: the passage around is not worth
            # looking at (about half the paragraphs meaning adds hold none of the words)
            return 0.0
        passage = catalog.passage(doc, PASSAGE_REACH)
        around = neighbourhood(first.scores, doc, passage) / self._best_first if first.scores else 0.0
        if episode not in context.title_terms:
            context.title_terms[episode] = set(terms(catalog.info(episode).title))
        # the engine's matchers (operator queries) say nothing of the words around a candidate
        nearby = words_nearby(first.containing, passage) if first.containing else None
        value = ranking.score(
            plan.words,
            paragraph.terms,
            context.section_terms[section],
            context.average_length,
            self._about.get(episode, 0.0),
            around,
            context.title_terms[episode],
            nearby,
        )
        return value * GUEST_WORDS_BOOST if own else value  # the guest's own words


def rerank(
    context: SearchContext,
    plan: QueryPlan,
    first: FirstStage,
    chosen: list[tuple[float, int]],
    paragraphs: Paragraphs,
    rescorer: Rescorer | None = None,
) -> list[tuple[float, int]]:
    """The chosen candidates re-scored, best first; equal scores in key order (episode id, paragraph).

    Besides the chosen candidates, the re-ranker looks at the best matches of
    the episodes the query names (a guest, a title) and at the paragraphs that
    hold a plain query of :data:`EXACT_WORDS` words or more word for word; it
    puts those first. ``rescorer``: the search's, when it scored some candidates already.
    """
    if not plan.words.content:  # only field clauses: keep the first stage's order
        return chosen
    rescorer = rescorer or Rescorer(context, plan, first, paragraphs)
    seen = {doc for _, doc in chosen}
    exact = exact_matches(context, plan, first, paragraphs, seen)
    named = named_candidates(context, plan, first) + guest_openings(context, plan, paragraphs)
    if exact or named:
        added = [doc for doc in dict.fromkeys([*sorted(exact), *named]) if doc not in seen]
        chosen = chosen + [(first.scores.get(doc, 0.0), doc) for doc in added]
    key = context.catalog.key
    scored = sorted(
        ((rescorer(doc) * (EXACT_BOOST if doc in exact else 1.0), doc) for _, doc in chosen),
        key=lambda pair: (-pair[0], key(pair[1])),
    )
    return promote_named(scored, set(plan.guests) | plan.titles, context.catalog.episode_of, rescorer.own)


def promote_named(
    scored: list[tuple[float, int]],
    episodes: Collection[int],
    episode_of: Callable[[int], int],
    preferred: Collection[int] = (),
) -> list[tuple[float, int]]:
    """The best moment of each named episode (a guest's, a title's) first, the rest in their order.

    A ``preferred`` moment (the guest's own words) wins over the episode's
    other moments, even one that does not hold the query's words: someone who
    types a guest's name wants to hear the guest, not the host saying the name.
    The promoted moments keep their order among
    themselves; their scores are raised above every other so that scores
    still fall down the list.
    """
    if not episodes or not scored:
        return scored
    best: dict[int, tuple[float, int]] = {}
    for pair in scored:
        best.setdefault(episode_of(pair[1]), pair)
    for pair in scored:
        episode = episode_of(pair[1])
        if pair[1] in preferred and best[episode][1] not in preferred:
            best[episode] = pair
    promoted = [pair for episode, pair in best.items() if episode in episodes]
    if not promoted:
        return scored
    chosen = {doc for _, doc in promoted}
    rest = [pair for pair in scored if pair[1] not in chosen]
    top = rest[0][0] if rest else 0.0
    promoted.sort(key=lambda pair: scored.index(pair))
    return [(top + max(score, 0.0) + 1.0, doc) for score, doc in promoted] + rest


def exact_matches(
    context: SearchContext, plan: QueryPlan, first: FirstStage, paragraphs: Paragraphs, chosen: AbstractSet[int]
) -> set[int]:
    """The paragraphs holding a plain query of :data:`EXACT_WORDS` words or more word for word.

    Only paragraphs holding every word the first stage read can. The ``chosen``
    candidates among them are checked first: the re-ranker reads them anyway,
    and a quote found there is the moment someone quoted. Only when none holds
    it are the best :data:`EXACT_CHECKS` others (by first-stage score) read and checked.
    """
    ordered = plan.words.ordered
    if len(ordered) < EXACT_WORDS or not first.containing or not plan.bag_of_words:
        return set()
    holding = sorted(first.containing.values(), key=len)
    together = set(holding[0]).intersection(*holding[1:])
    scores = first.scores
    candidates = scores.keys() & together
    found = {doc for doc in candidates & chosen if holds_run(paragraphs[doc].terms, ordered)}
    if found:
        return found
    others = list(candidates - chosen)
    if len(others) > EXACT_CHECKS:
        key = context.catalog.key
        others = sorted(others, key=lambda doc: (-scores[doc], key(doc)))[:EXACT_CHECKS]
    return {doc for doc in others if holds_run(paragraphs[doc].terms, ordered)}


def holds_run(tokens: list[str], run: list[str]) -> bool:
    """Whether ``run`` occurs in ``tokens`` as consecutive items."""
    first, length = run[0], len(run)
    position = -1
    try:
        while True:  # list.index finds each occurrence of the first word at C speed
            position = tokens.index(first, position + 1)
            if tokens[position : position + length] == run:
                return True
    except ValueError:
        return False


def named_candidates(context: SearchContext, plan: QueryPlan, first: FirstStage) -> list[int]:
    """The best first-stage matches of each episode the query names (a guest, a title).

    An episode with no match gives its first paragraphs (when no filter is set): the
    guest of an episode is rarely named in it as often as elsewhere.
    """
    episodes = sorted(set(plan.guests) | plan.titles)
    if not episodes:
        return []
    catalog, scores = context.catalog, first.scores
    found: list[int] = []
    for episode in episodes:
        documents = [doc for doc in catalog.documents_of((episode,)) if doc in scores]
        if documents:
            documents.sort(key=lambda doc: (-scores[doc], catalog.key(doc)))
            found.extend(documents[:NAMED_CANDIDATES])
        elif plan.restriction is None and plan.episodes is None:
            opening = (catalog.doc_at(episode, number) for number in range(NAMED_CANDIDATES))
            found.extend(doc for doc in opening if doc is not None)
    return found


def guest_openings(context: SearchContext, plan: QueryPlan, paragraphs: Paragraphs) -> list[int]:
    """The first :data:`NAMED_CANDIDATES` paragraphs each guest a query names says in their episode.

    Only paragraphs of :data:`GUEST_OPENING_WORDS` words or more count: a guest's
    first long answer is usually who they are and what they do, where their
    first words are "thanks for having me". A guest never heard (an episode
    without a transcript) gives nothing.
    """
    found: list[int] = []
    for episode, names in sorted(plan.guests.items()):
        for name in names:
            known = context.guest_openings.get((episode, name))
            if known is None:
                known = context.guest_openings[(episode, name)] = _opening(context, episode, name, paragraphs)
            found.extend(known)
    return found


def _opening(context: SearchContext, episode: int, name: str, paragraphs: Paragraphs) -> list[int]:
    """The first :data:`NAMED_CANDIDATES` paragraphs of :data:`GUEST_OPENING_WORDS` words or more
    a speaker says in an episode."""
    catalog = context.catalog
    try:
        spoken = context.generation.matching(context.names.clause("speaker", name))
    except QueryError:  # no speaker of that name
        return []
    opening: list[int] = []
    for doc in sorted(spoken & catalog.documents_of((episode,)), key=catalog.key):
        if len(paragraphs[doc].terms) >= GUEST_OPENING_WORDS:
            opening.append(doc)
            if len(opening) == NAMED_CANDIDATES:
                break
    return opening


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
