"""The vector side of hybrid search: candidates by meaning, and their fusion with the words' ranking.

With vectors in the index (:mod:`podsearch.index.vectors`) and a query vector
(made by :mod:`podsearch.api` with the same model), a search in ``hybrid`` mode
takes the lexical first stage's candidates **and** the paragraphs nearest in
meaning (exact search: one matrix product over every vector), re-ranks them all
as a words-only search would, and multiplies each one's words' score by a
boost growing with its cosine (see :func:`fuse`; a linear mix of scores
normalised over the candidates gained less, and reciprocal-rank fusion was
measured in the issue and never helped). A query whose words occur in order in the lexical
winner keeps that winner first: someone quoting a moment wants that moment.

``meaning`` mode ranks by the vectors alone. Operator queries (``-word``,
``OR``, fields, phrases) always rank by words: their logic has no meaning to
mix. Each hit says how it matched (:attr:`podsearch.model.Hit.matched`); a hit
found by meaning only has no highlighted words.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypeVar

from podsearch.index.vectors import Found, VectorTable
from podsearch.model import Hit
from podsearch.query.candidates import FirstStage
from podsearch.query.context import SearchContext
from podsearch.query.plan import QueryPlan
from podsearch.query.rerank import Paragraphs, Rescorer, holds_run, rerank
from podsearch.query.tuning import (
    MEANING_CANDIDATES,
    MEANING_EPISODE_WEIGHT,
    MEANING_EPISODE_WORDS,
    MEANING_FLOOR,
    MEANING_MORE_WORDS,
    MEANING_WEIGHT,
)

MODES = ("words", "meaning", "hybrid")

T = TypeVar("T")


@dataclass(frozen=True)
class Meaning:
    """The vector side of one query: each candidate paragraph's cosine, and each episode's."""

    mode: str
    #: document → cosine similarity with the query, for the nearest paragraphs
    nearest: dict[int, float]
    #: document → cosine, for every paragraph scored (the nearest and the lexical candidates)
    cosine: dict[int, float]
    #: episode ordinal → cosine of its title and description
    episodes: dict[int, float]
    #: the documents the lexical first stage found
    lexical: frozenset[int]
    #: the first stage's next best matches after its candidates, re-ranked too (``hybrid`` mode)
    further: tuple[int, ...] = ()


def usable(table: VectorTable | None, plan: QueryPlan, mode: str) -> bool:
    """Whether vectors take part in this query."""
    return table is not None and mode != "words" and plan.bag_of_words and bool(plan.words.ordered)


class TableDocuments(NamedTuple):
    """How a vector table's rows meet the generation's documents (made once per generation)."""

    #: per row, its document (-1: none, or an episode's own row)
    docs: Any
    #: per row, whether it is a paragraph document's (``docs >= 0``; never modified)
    placed: Any
    #: per document number, its row (-1: none): an array, not a dict, which held about 60 MB at 20× the corpus
    rows: Any
    #: episode ordinal → the row of its title and description
    about: dict[int, int]

    def row(self, doc: int) -> int:
        """The row of a document, -1 when it has none."""
        return int(self.rows[doc]) if doc < len(self.rows) else -1


def row_documents(context: SearchContext, table: VectorTable) -> TableDocuments:
    """The table's rows and the generation's documents, each to the other (kept on the table,
    which lives as long as its generation)."""
    found = table.derived.get("documents")
    if found is not None:
        return found
    import numpy as np

    catalog = context.catalog
    docs = np.full(len(table.numbers), -1, dtype=np.int64)
    about: dict[int, int] = {}
    for eid, start, count in table.episode_rows():
        ordinal = catalog.ordinal(eid)
        if ordinal is None:
            continue
        for row in range(start, start + count):
            number = int(table.numbers[row])
            if number < 0:
                about[ordinal] = row
                continue
            doc = catalog.doc_at(ordinal, number)
            if doc is not None:
                docs[row] = doc
    placed = docs >= 0
    placed.flags.writeable = False  # every search without a filter hands this very array on
    rows = np.full(int(docs.max()) + 1 if len(docs) else 0, -1, dtype=np.int64)
    rows[docs[placed]] = np.flatnonzero(placed)
    found = table.derived["documents"] = TableDocuments(docs, placed, rows, about)
    return found


class VectorSearch:
    """A query's embedding and vector search, running on a thread of their own (:func:`start_embedding`).

    The model runs at once; the search proper waits until :meth:`search` hands it the rows the
    query's filters allow, or :meth:`call_off` tells it meaning takes no part.
    """

    def __init__(self, embed: Callable[[], Any]) -> None:
        self._embed = embed
        #: set once the query's vector is made
        self.embedded = threading.Event()
        #: set as the thread begins the search proper (the product over the vectors)
        self.searching = threading.Event()
        self._rows: Future[_Rows | None] = Future()
        #: the search's outcome (``None`` when called off), once :func:`start_embedding` started it
        self.found: Future[Found | None] = Future()

    def run(self) -> Found | None:
        """The thread's work: embed the query, then search what :meth:`search` hands over."""
        import numpy as np

        vector = np.asarray(self._embed(), dtype=np.float32)
        self.embedded.set()
        wanted = self._rows.result()
        if wanted is None:
            return None
        self.searching.set()
        # exact, or the table's nearest-neighbour graph when it has one (index/nearest.py)
        return wanted.table.search(vector, wanted.wanted, wanted.allowed)

    def search(self, context: SearchContext, table: VectorTable, plan: QueryPlan, grouping: bool) -> None:
        """Have the thread search ``table`` for the paragraphs nearest the query that the plan's
        filters allow, once the query is embedded.

        Everything that reads the index (the filters' documents, the row → document map) is done
        here, on the caller's thread: the engine's readers are not shared between threads. A thread
        that already waits (its model ended, or the query's vector was known) is let in at once: woken
        while this thread runs Python, it would wait for the GIL up to the interpreter's switch
        interval (5 ms), longer than the first stage.
        """
        import numpy as np

        layout = row_documents(context, table)
        valid = layout.placed
        if plan.restriction is not None:
            allowed = context.generation.matching(plan.restriction)
            valid = valid & np.isin(layout.docs, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
        self._rows.set_result(_Rows(table, valid, MEANING_CANDIDATES * (2 if grouping else 1)))
        if self.embedded.is_set():
            self.searching.wait(HANDOVER_WAIT)

    def call_off(self) -> None:
        """End the thread after the model, without searching: it then reads nothing of the index."""
        if not self._rows.done():
            self._rows.set_result(None)

    def give_way(self) -> None:
        """Let the search's thread take the GIL if it waits for it, until it has begun its search; the
        caller calls this between two steps of its own work (re-scoring candidates).

        A thread whose model has ended waits for the GIL until the thread running Python lets it
        go, which the interpreter forces only after its switch interval (5 ms), longer than the
        re-ranking: the product over every vector (about 4 ms) would start only once the caller
        waits for it. Releasing the GIL for a moment (``sleep(0)``) lets it in; it gives the GIL
        back on entering the product, which then runs beside the re-scoring
        (``benchmarks/bench_hybrid_cost.py``: hybrid's p50 −1.2 to −1.4 ms; a sleep of 20 µs or
        one every 0.5 ms measured the same).
        """
        if not self.searching.is_set():
            time.sleep(0)

    def settle(self) -> None:
        """Wait for the thread's search to end, whatever it gave, or call it off if it was never
        handed one (the search that began it has ended, perhaps by an error, and its generation
        may be closed next; a thread called off only finishes the model, which is not the index's)."""
        self.call_off()
        if self._rows.result() is not None:
            wait([self.found])


#: How long handing a search to a thread that waits for it waits for the thread to take it (seconds:
#: it takes it within a fraction of a millisecond; the bound only keeps a thread that died from
#: holding up the search, whose outcome then reports it).
HANDOVER_WAIT = 0.5


class _Rows(NamedTuple):
    """What a vector search searches: a table, the rows allowed and how many to find."""

    table: VectorTable
    allowed: Any
    wanted: int


def start_embedding(embed: Callable[[], Any]) -> VectorSearch:
    """Start embedding the query (``embed`` gives its unit vector) on a thread of its own, which then
    searches the vectors when :meth:`VectorSearch.search` says which; return once it runs.

    The model's forward pass (one ONNX Runtime call) and the search (one matrix product, or a
    graph walk) release the GIL: they run on the other core while this thread analyses the query,
    runs the lexical first stage and re-scores its candidates (see :meth:`VectorSearch.give_way`).
    """
    search = VectorSearch(embed)
    search.found = beside(search.run)
    return search


def searching(
    started: VectorSearch | None,
    context: SearchContext,
    table: VectorTable | None,
    plan: QueryPlan,
    embed: Callable[[], Any],
    mode: str,
    grouping: bool,
) -> VectorSearch | None:
    """The query's vector search under way once its plan is known: the embedding ``started`` before
    the analysis (or begun now, for a query only its analysis showed to be plain words) told what to
    search; ``None``, with ``started`` called off, when meaning takes no part in the query."""
    if table is None or not usable(table, plan, mode):
        if started is not None:
            started.call_off()
        return None
    started = started or start_embedding(embed)
    started.search(context, table, plan, grouping)
    return started


def beside(work: Callable[[], T]) -> Future[T]:
    """``work`` run on a new thread, begun before this returns.

    A thread pool's worker, once woken, waits for the GIL until the lexical stage lets it go, up to
    the interpreter's switch interval (5 ms, longer than that stage): the work would start when the
    caller waits for it, overlapping nothing. ``Thread.start`` returns only once the new thread
    runs, which has it take the GIL now and give it back on entering the model (one ONNX Runtime
    call, which releases it). Starting a thread costs about 0.1 ms; a pool would also keep
    concurrent searches waiting for each other's work.
    """
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as error:  # handed to the caller, which raises it from result()
            done.set_exception(error)

    threading.Thread(target=run, name="podsearch-meaning", daemon=True).start()
    return done


def rank(
    context: SearchContext,
    table: VectorTable,
    plan: QueryPlan,
    first: FirstStage,
    chosen: list[tuple[float, int]],
    paragraphs: Paragraphs,
    rescorer: Rescorer,
    started: VectorSearch,
    mode: str,
    grouping: bool,
    meanwhile: Callable[[Callable[[], bool]], None] | None = None,
) -> tuple[FirstStage, list[tuple[float, int]], Meaning]:
    """The candidates of a search by meaning re-ranked and fused (``started``: its vector search);
    with the first stage plus the paragraphs meaning added (for grouping and counts), and the meaning.

    The words' candidates (``chosen``, and the first stage's next best matches: :func:`further_wanted`)
    are re-scored while the model and the product run on the other core, giving way to them; then
    ``meanwhile`` does what it can until the vector search has ended (it is given a function telling
    when); only the paragraphs the meaning adds are left to score after that.
    """
    further = tuple(doc for _, doc in first.next_best)
    rescorer.prepare([*(doc for _, doc in chosen), *further], between=started.give_way)
    if meanwhile is not None:
        meanwhile(started.found.done)
    meaning = search_vectors(context, table, first, started, further, mode, grouping)
    first = with_nearest(first, meaning)
    ranked = rerank(context, plan, first, widen(chosen, meaning), paragraphs, rescorer)
    return first, fuse(context, plan, ranked, meaning, grouping, paragraphs), meaning


def search_vectors(
    context: SearchContext,
    table: VectorTable,
    first: FirstStage,
    started: VectorSearch,
    further: tuple[int, ...],
    mode: str,
    grouping: bool,
) -> Meaning:
    """The nearest paragraphs to the query that the filters allow, and the cosine of every
    first-stage candidate and of ``further`` (:func:`further_wanted`), once the
    search :func:`start_embedding` began has ended."""
    layout = row_documents(context, table)
    scores = started.found.result()  # scores[row]: its cosine
    assert scores is not None  # handed its rows before the first stage
    nearest = {int(layout.docs[row]): float(scores[row]) for row in scores.rows}
    cosine = dict(nearest)
    # every first-stage candidate (at most WIDE_CANDIDATES): leaving some out costs typo and topic queries
    for doc in [*(doc for _, doc in first.matches), *further]:
        row = layout.row(doc)
        if row >= 0 and doc not in cosine:
            cosine[doc] = float(scores[row])
    episodes = {ordinal: float(scores[row]) for ordinal, row in layout.about.items()} if grouping else {}
    return Meaning(mode, nearest, cosine, episodes, frozenset(doc for _, doc in first.matches), further)


def further_wanted(mode: str, grouping: bool) -> int:
    """How many of the first stage's next best matches after its candidates a search re-ranks too
    (:attr:`FirstStage.next_best`): :data:`MEANING_MORE_WORDS` in ``hybrid`` mode, outside grouping.

    The first stage keeps few candidates, enough when the words decide; a match it left just
    below them may be the one a close meaning lifts (topic S@10 +.016 on seed 2, equal on seed 1).
    """
    return MEANING_MORE_WORDS if mode == "hybrid" and not grouping else 0


def widen(chosen: list[tuple[float, int]], meaning: Meaning) -> list[tuple[float, int]]:
    """The lexical candidates plus the nearest paragraphs (``meaning`` mode: the nearest only)."""
    if meaning.mode == "meaning":
        return sorted(((score, doc) for doc, score in meaning.nearest.items()), key=lambda p: -p[0])
    present = {doc for _, doc in chosen}
    added = dict.fromkeys(doc for doc in [*meaning.further, *meaning.nearest] if doc not in present)
    return chosen + [(0.0, doc) for doc in added]


def with_nearest(first: FirstStage, meaning: Meaning) -> FirstStage:
    """The first stage's matches plus the nearest paragraphs and its next best matches (for grouping and
    counts); the total to show (the next best matches are counted in the first stage's already)."""
    present = {doc for _, doc in first.matches}
    added = [(0.0, doc) for doc in meaning.nearest if doc not in present]
    total = len(meaning.nearest) if meaning.mode == "meaning" else first.total + len(added)
    present.update(doc for _, doc in added)
    added += [(0.0, doc) for doc in meaning.further if doc not in present]
    return replace(first, matches=first.matches + added, total=total)


def fuse(
    context: SearchContext,
    plan: QueryPlan,
    ranked: list[tuple[float, int]],
    meaning: Meaning,
    grouping: bool,
    paragraphs: Paragraphs,
) -> list[tuple[float, int]]:
    """The re-ranked candidates, their words' score multiplied by their meaning's.

    A candidate's score becomes ``(words + floor) × exp(MEANING_WEIGHT × cosine)``: the meaning
    is one more multiplicative boost, like the re-ranker's own, over a raw cosine (comparable
    across queries, unlike scores normalised over each query's candidates). The floor
    (:data:`MEANING_FLOOR` of the best words' score) lets a paragraph found by meaning alone rank.
    Outside ``--by-episode``, each score is also multiplied by how well the words found the
    candidate's episode (:func:`episode_support`). When the words' winner holds every content word
    of the query, the words are trusted as they are: the meaning only brings its candidates.
    """
    if not ranked:
        return ranked
    catalog = context.catalog
    key = catalog.key
    winner = ranked[0][1]
    terms = paragraphs[winner].terms  # read already by the re-ranker
    if meaning.mode == "meaning":
        scored = [(meaning.cosine.get(doc, 0.0), doc) for _, doc in ranked]
    else:
        weight = 0.0 if plan.words.coverage(set(terms)) >= 1.0 - 1e-9 else MEANING_WEIGHT
        best = max(score for score, _ in ranked)
        floor = MEANING_FLOOR * (best if best > 0 else 1.0)
        scored = [
            ((max(score, 0.0) + floor) * math.exp(weight * meaning.cosine.get(doc, 0.0)), doc) for score, doc in ranked
        ]
        if weight and not grouping:
            support = episode_support(ranked, catalog.episode_of)
            scored = [(score * support[catalog.episode_of(doc)], doc) for score, doc in scored]
    if grouping and meaning.episodes:
        about = _normalised(meaning.episodes)
        scored = [
            (score * (1.0 + MEANING_EPISODE_WEIGHT * about.get(catalog.episode_of(doc), 0.0)), doc)
            for score, doc in scored
        ]
    fused = sorted(scored, key=lambda pair: (-pair[0], key(pair[1])))
    quoted = winner in meaning.lexical and in_order(plan, terms)
    if meaning.mode == "hybrid" and not grouping and quoted:
        fused.sort(key=lambda pair: pair[1] != winner)  # stable: the rest keep their order
    return fused


def episode_support(ranked: list[tuple[float, int]], episode_of: Callable[[int], int]) -> dict[int, float]:
    """Per episode of the candidates, ``(e + MEANING_FLOOR) ** MEANING_EPISODE_WORDS``: ``e`` is the best
    words' score among its candidates as a share of the best candidate's.

    A topic lives in one episode, and the words' ranking finds the right episode more often than the
    right paragraph: a paragraph near the query in meaning is more likely the one sought in an episode
    whose other paragraphs hold the query's words than in one where none does.
    """
    best_of: dict[int, float] = {}
    for score, doc in ranked:
        episode = episode_of(doc)
        best_of[episode] = max(best_of.get(episode, 0.0), max(score, 0.0))
    best = max(best_of.values(), default=0.0)
    scale = best if best > 0 else 1.0
    return {episode: (value / scale + MEANING_FLOOR) ** MEANING_EPISODE_WORDS for episode, value in best_of.items()}


def in_order(plan: QueryPlan, paragraph_terms: list[str]) -> bool:
    """Whether the query's words (two or more) occur one after another in the paragraph."""
    wanted = plan.words.ordered
    return len(wanted) >= 2 and holds_run(paragraph_terms, wanted)


def _normalised(scores: dict[int, float]) -> dict[int, float]:
    """Scores mapped onto 0–1 (min to max) over the candidates."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    spread = high - low
    if spread <= 0:
        return {doc: 1.0 for doc in scores}
    return {doc: (score - low) / spread for doc, score in scores.items()}


def matched(hit: Hit, doc: int, meaning: Meaning) -> Hit:
    """The hit, saying whether it matched by words, by meaning or both; a meaning-only hit loses its highlights."""
    by_words = doc in meaning.lexical or bool(hit.spans)
    by_meaning = doc in meaning.nearest
    if by_words and by_meaning:
        return replace(hit, matched="both")
    if by_words:
        return hit
    snippet = replace(hit.snippet, spans=()) if hit.snippet is not None else None
    return replace(hit, matched="meaning", spans=(), snippet=snippet)
