"""Ranking properties: words close together, the passage around a moment, and the pieces behind them."""

from __future__ import annotations

from typing import Any

import pytest

import podsearch
from podsearch.index.catalog import EpisodeCatalog
from podsearch.query.candidates import top
from podsearch.query.hits import snippet
from podsearch.query.ranking import closeness, found
from podsearch.query.rerank import words_nearby

from .factory import write_episode

FILLER = [
    "We started with a short story about the weather in Berlin.",
    "Then we went on about coffee, bicycles and a cat called Pixel.",
    "Somebody asked about the best pizza place near the office.",
    "The conversation drifted to old video games and board games.",
]

#: "latency budget dashboard" within seven words, out of order (no phrase to reward)...
CLOSE = (
    "The budget for latency now lives on a big dashboard that everyone "
    "in the company looks at every single morning before standup."
)
#: ...and the same three words far apart, in a shorter paragraph.
SPREAD = "Latency came up first. We talked about hiring and offices for a while, then the budget, and much later a dashboard."


@pytest.fixture(scope="module")
def ranked(tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    """Episodes where only closeness or only the surrounding passage tells two paragraphs apart."""
    folder = tmp_path_factory.mktemp("ranking") / "episodes"
    # The same three words once each; the spread-out paragraph is the shorter one, so
    # plain BM25 prefers it and only closeness puts the close one first.
    write_episode(
        folder,
        "close-words",
        [("Ann", 10, FILLER[0]), ("Ann", 20, CLOSE)],
        title="Episode One",
        number=1,
    )
    write_episode(
        folder,
        "spread-words",
        [("Ben", 10, FILLER[1]), ("Ben", 20, SPREAD)],
        title="Episode Two",
        number=2,
    )
    # The same moment twice: once inside a passage about the whole query, once
    # among unrelated small talk, where it says "feature store" three times (which BM25 prefers).
    write_episode(
        folder,
        "feature-store-passage",
        [
            ("Cat", 10, FILLER[2]),
            ("Cat", 20, "Training pipelines read the values offline."),
            ("Cat", 30, "A feature store keeps the features in one place."),
            ("Cat", 40, "Serving reads the same values online, so there is no skew."),
            ("Cat", 50, FILLER[3]),
        ],
        title="Episode Three",
        number=3,
    )
    write_episode(
        folder,
        "feature-store-aside",
        [
            ("Dan", 10, FILLER[0]),
            ("Dan", 20, FILLER[1]),
            ("Dan", 30, "A feature store, feature store, feature store keeps features."),
            ("Dan", 40, FILLER[2]),
            ("Dan", 50, FILLER[3]),
        ],
        title="Episode Four",
        number=4,
    )
    index = podsearch.Index(folder.parent / "index")
    report = index.update(folder)
    assert report.failed == () and len(report.added) == 4
    yield index
    index.close()


def test_words_close_together_beat_the_same_words_spread_out(ranked: podsearch.Index) -> None:
    hits = ranked.search("latency budget dashboard")
    assert [hit.episode.title for hit in hits[:2]] == ["Episode One", "Episode Two"]  # close-words, spread-words


def test_a_moment_inside_a_passage_about_the_query_beats_an_aside(ranked: podsearch.Index) -> None:
    hits = ranked.search("feature store training serving skew", limit=10)
    stores = [hit.episode.title for hit in hits if hit.text.startswith("A feature store")]
    assert stores == ["Episode Three", "Episode Four"]  # feature-store-passage, feature-store-aside


# --- the pieces -------------------------------------------------------------------------------


def test_closeness_is_the_share_of_the_shortest_window() -> None:
    tokens = ["a", "b", "x", "x", "x", "c", "b", "x", "c"]
    # b and c: the shortest window holding both is "c b" (2 tokens)
    assert closeness(found(tokens, frozenset("bc")), {"b", "c"}) == 1.0
    # a, b and c: "a b x x x c" (6 tokens) holds all three
    assert closeness(found(tokens, frozenset("abc")), {"a", "b", "c"}) == pytest.approx(3 / 6)
    # fewer than two distinct words present: nothing to measure
    assert closeness(found(tokens, frozenset("bz")), {"b", "z"}) == 0.0


def _catalog(runs: list[tuple[list[str], list[int]]], numbers: list[int], heads: list[int]) -> EpisodeCatalog:
    """A catalog of documents whose episode documents are ``heads``, each followed by its paragraphs."""

    def stored(head: int) -> dict[str, object]:
        following = [doc for doc in range(head + 1, len(numbers)) if doc not in heads]
        ends = [doc for doc in heads if doc > head]
        paragraphs = [doc for doc in following if not ends or doc < ends[0]]
        return {"counts": (1, len(paragraphs)), "meta": "{}"}

    return EpisodeCatalog(runs, numbers, heads, frozenset(), stored)


def test_words_nearby_stay_within_the_episode_and_reach() -> None:
    # episode documents at 0 and 10; paragraphs 1-9 (numbers 0-8) and 11-15 (numbers 0-4)
    episodes = [0, 10]
    references = [0 if doc < 10 else 1 for doc in range(16)]
    numbers = [0, *range(9), 0, *range(5)]
    catalog = _catalog([(["a", "b"], references)], numbers, episodes)

    containing = {"near": {5}, "far": {1}, "next": {11}, "self": {8}}
    assert words_nearby(containing, catalog.passage(8, reach=3)) == {"near", "self"}
    assert words_nearby(containing, catalog.passage(9, reach=3)) == {"self"}  # 11 is the next episode
    assert words_nearby(containing, catalog.passage(3, reach=3)) == {"near", "far"}


def test_the_passage_follows_the_keys_not_the_document_order() -> None:
    # one episode whose paragraphs were written out of order, and in two runs (segments)
    runs = [(["x"], [0, 0, 0]), (["x"], [0, 0, 0])]
    numbers = [0, 4, 1, 3, 0, 2]  # doc 0 is the episode document; docs 1-5 hold paragraphs 4, 1, 3, 0, 2
    catalog = _catalog(runs, numbers, [0])
    assert catalog.passage(5, reach=1) == [2, 5, 3]  # paragraphs 1, 2, 3
    assert catalog.passage(4, reach=2) == [4, 2, 5]  # paragraphs 0, 1, 2
    assert catalog.doc_at(0, 4) == 1 and catalog.doc_at(0, 5) is None
    assert sorted(range(1, 6), key=catalog.key) == [4, 2, 5, 3, 1]


def test_top_keeps_the_best_in_key_order_on_ties() -> None:
    scores = {7: 1.0, 3: 2.0, 9: 2.0, 1: 0.5, 4: 2.0}
    assert top(scores, 2, int) == [(2.0, 3), (2.0, 4)]
    assert top(scores, 10, int) == [(2.0, 3), (2.0, 4), (2.0, 9), (1.0, 7), (0.5, 1)]
    assert top({}, 3, int) == [] and top(scores, 0, int) == []
    # the key, not the document number, orders ties
    assert top(scores, 3, lambda doc: -doc) == [(2.0, 9), (2.0, 4), (2.0, 3)]


def test_snippet_centres_on_the_densest_matches() -> None:
    text = "alpha " + "filler " * 60 + "beta gamma delta " + "filler " * 60
    start = text.index("beta")
    spans = [(0, 5), (start, start + 4), (start + 5, start + 10), (start + 11, start + 16)]
    cut = snippet(text, spans, width=80)
    assert "beta gamma delta" in cut.text and "alpha" not in cut.text
    assert [cut.text[a:b] for a, b in cut.spans] == ["beta", "gamma", "delta"]


def test_candidates_scored_ahead_are_not_scored_again_and_rank_as_a_fresh_rerank_does(
    bundled_index: podsearch.Index,
) -> None:
    # a hybrid search scores the words' candidates while its vectors are searched, then the rest
    from podsearch.query import rerank as second_stage
    from podsearch.query.candidates import candidates_wanted, first_stage
    from podsearch.query.plan import Filters, analyse

    def run(generation: Any) -> tuple[list[tuple[float, int]], list[tuple[float, int]], list[int], list[int]]:
        context = bundled_index._search_context(generation)
        plan = analyse(context, "researchers and engineers working together", Filters())
        first = first_stage(context, plan, candidates_wanted(10, False))
        fresh = second_stage.rerank(context, plan, first, first.matches, second_stage.Paragraphs(context))
        paragraphs = second_stage.Paragraphs(context)
        rescorer = second_stage.Rescorer(context, plan, first, paragraphs)
        ahead = [doc for _, doc in first.matches[: len(first.matches) // 2]]
        rescorer.prepare(ahead)
        scored: list[int] = []
        score = rescorer._score
        rescorer._score = lambda doc: scored.append(doc) or score(doc)  # type: ignore[method-assign]
        again = second_stage.rerank(context, plan, first, first.matches, paragraphs, rescorer)
        return fresh, again, ahead, scored

    fresh, again, ahead, scored = bundled_index._read(run)
    assert len(fresh) >= 10 and again == fresh
    assert ahead and not set(ahead) & set(scored) and len(scored) == len(fresh) - len(ahead)


def test_a_candidate_without_the_query_words_scores_zero_without_its_passage_being_read(
    bundled_index: podsearch.Index,
) -> None:
    # about half the paragraphs meaning adds hold none of the words: their score is 0 whatever is around
    from podsearch.query import ranking
    from podsearch.query import rerank as second_stage
    from podsearch.query.candidates import candidates_wanted, first_stage
    from podsearch.query.plan import Filters, analyse
    from podsearch.text import terms

    def run(generation: Any) -> tuple[float, tuple[int, float], list[int], float]:
        context = bundled_index._search_context(generation)
        plan = analyse(context, "researchers engineers", Filters())
        first = first_stage(context, plan, candidates_wanted(10, False))
        paragraphs = second_stage.Paragraphs(context)
        content = plan.words.content_set
        without = next(
            doc
            for doc in sorted(context.catalog.documents_of((0,)))
            if content.isdisjoint(paragraphs[doc].terms) and content.isdisjoint(terms(paragraphs[doc].section or ""))
        )
        holding = first.matches[0][1]
        read: list[int] = []
        passage = context.catalog.passage
        context.catalog.passage = lambda doc, reach: read.append(doc) or passage(doc, reach)  # type: ignore[method-assign]
        try:
            rescorer = second_stage.Rescorer(context, plan, first, paragraphs)
            scores = rescorer(without), rescorer(holding)
        finally:
            del context.catalog.passage
        # what the score itself gives that paragraph, with the most favourable context
        full = ranking.score(plan.words, paragraphs[without].terms, [], context.average_length, 1.0, 1.0, set(content))
        return scores[0], (holding, scores[1]), read, full

    without, (holding, score), read, full = bundled_index._read(run)
    assert without == 0.0 == full
    assert score > 0 and read == [holding]  # only the paragraph holding the words had its passage read


def test_the_first_stage_hands_on_its_next_best_matches_when_asked(bundled_index: podsearch.Index) -> None:
    from podsearch.query.candidates import first_stage
    from podsearch.query.plan import Filters, analyse

    def run(generation: Any) -> tuple[Any, Any, list[tuple[float, int]]]:
        context = bundled_index._search_context(generation)
        plan = analyse(context, "data science", Filters())
        alone = first_stage(context, plan, 10)
        return alone, first_stage(context, plan, 10, 8), top(alone.scores, 18, context.catalog.key)

    alone, with_more, eighteen = bundled_index._read(run)
    assert with_more.matches == alone.matches and alone.next_best == []
    assert len(with_more.next_best) == 8 and alone.matches + with_more.next_best == eighteen
