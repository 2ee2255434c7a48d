"""Hybrid fusion: the words' support of a candidate's episode, and the cosine of every words' candidate.

The library-level tests need the ``semantic`` extra and a model (skipped cleanly without them);
the episode factor's arithmetic is checked without either.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.query import hybrid
from podsearch.query.tuning import MEANING_EPISODE_WORDS, MEANING_FLOOR
from tests.factory import write_episode


def test_episode_support_follows_the_best_words_score_of_each_episode() -> None:
    episode_of = {1: 10, 2: 10, 3: 20, 4: 30}.__getitem__
    ranked = [(8.0, 1), (2.0, 2), (4.0, 3), (-1.0, 4)]
    support = hybrid.episode_support(ranked, episode_of)
    assert support[10] == pytest.approx((1.0 + MEANING_FLOOR) ** MEANING_EPISODE_WORDS)
    assert support[20] == pytest.approx((0.5 + MEANING_FLOOR) ** MEANING_EPISODE_WORDS)
    # an episode the words did not find at all: the floor only
    assert support[30] == pytest.approx(MEANING_FLOOR**MEANING_EPISODE_WORDS)
    assert support[10] > support[20] > support[30]
    # no words' score anywhere: every episode alike
    flat = hybrid.episode_support([(0.0, 1), (0.0, 3)], episode_of)
    assert flat[10] == flat[20]


def _busy_until(done: Callable[[], bool], step: Callable[[], None], seconds: float) -> None:
    """Python work that holds the GIL (but in ``step``) until ``done()`` or ``seconds`` pass."""
    deadline = time.perf_counter() + seconds
    while not done() and time.perf_counter() < deadline:
        step()


def _waiting_for_the_gil(ran: list[float]) -> threading.Thread:
    """A thread that is about to want the GIL back, and notes when it got it."""
    started = threading.Event()

    def wake_and_note() -> None:
        started.set()
        time.sleep(0.001)  # releases the GIL; on waking it waits for it
        ran.append(time.perf_counter())

    thread = threading.Thread(target=wake_and_note)
    thread.start()
    started.wait()
    return thread


def test_giving_way_lets_the_search_thread_take_the_gil_while_the_caller_works() -> None:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(2.0)  # the interpreter itself would make this thread let go only after 2 s
    try:
        search = hybrid.VectorSearch(lambda: None)
        ran: list[float] = []
        thread = _waiting_for_the_gil(ran)
        _busy_until(lambda: bool(ran), search.give_way, 0.2)
        assert ran  # it ran while this thread was still busy
        thread.join()

        search.searching.set()  # the search proper has begun: no more sleeps
        ran.clear()
        thread = _waiting_for_the_gil(ran)
        _busy_until(lambda: bool(ran), search.give_way, 0.2)
        assert not ran
        thread.join()
    finally:
        sys.setswitchinterval(previous)


np = pytest.importorskip("numpy")
pytest.importorskip("safetensors")

from tests.test_semantic import counting, shared_encoder  # noqa: E402,F401  (fixtures: the one model, counted)

KITCHEN = [
    ("Ann", 3, "We set the oven temperature high for pizza night."),
    ("Ann", 9, "Kneading dough by hand takes patience and flour."),
]
HOBBIES = [
    ("Ben", 4, "Baking sourdough loaves at home every weekend is my hobby."),
    ("Ben", 8, "Our startup raised a seed round last spring."),
]


@pytest.fixture
def kitchen(request: pytest.FixtureRequest, tmp_path: Path) -> podsearch.Index:
    request.getfixturevalue("counting")  # every index gets the module's one model
    folder = tmp_path / "episodes"
    folder.mkdir()
    write_episode(folder, "ep1", KITCHEN, title="Kitchen talk", season=1, number=1)
    write_episode(folder, "ep2", HOBBIES, title="Weekend hobbies", season=1, number=2)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    return index


def keys(index: podsearch.Index, query: str, mode: str = "hybrid") -> list[tuple[str, int]]:
    return [(hit.episode.id, hit.paragraph) for hit in index.search(query, mode=mode)]


def test_a_passage_by_meaning_counts_more_in_the_episode_the_words_found(
    kitchen: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "oven homemade bread"  # "oven" is in the kitchen episode only; no paragraph holds every word
    assert keys(kitchen, query, "words") == [("s01e01", 0)]
    # by meaning alone the sourdough paragraph of the other episode is nearer than the kneading one
    nearest = keys(kitchen, query, "meaning")
    assert nearest.index(("s01e02", 0)) < nearest.index(("s01e01", 1))
    ranked = keys(kitchen, query)
    assert ranked[:2] == [("s01e01", 0), ("s01e01", 1)]
    # without the episode's support the nearer paragraph of the other episode comes second
    monkeypatch.setattr(hybrid, "MEANING_EPISODE_WORDS", 0.0)
    assert keys(kitchen, query)[:2] == [("s01e01", 0), ("s01e02", 0)]


def pipelines_and_hobbies(tmp_path: Path, paragraphs: int, ending: str = "") -> podsearch.Index:
    """An index with vectors of an episode of ``paragraphs`` paragraphs about pipelines, and one about hobbies."""
    folder = tmp_path / "episodes"
    folder.mkdir()
    lines = [
        ("Ann", 10 * i, f"Pipeline number {i} moves data between {i + 2} systems{ending}.") for i in range(paragraphs)
    ]
    write_episode(folder, "ep1", lines, title="Pipelines", season=1, number=1)
    write_episode(folder, "ep2", HOBBIES, title="Weekend hobbies", season=1, number=2)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    return index


@pytest.mark.usefixtures("counting")
def test_every_words_candidate_has_its_cosine_however_few_are_taken_by_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = pipelines_and_hobbies(tmp_path, 8, " every night")
    monkeypatch.setattr(hybrid, "MEANING_CANDIDATES", 1)
    seen: list[Any] = []
    original = hybrid.search_vectors

    def spy(*args: Any) -> hybrid.Meaning:
        seen.append(original(*args))
        return seen[-1]

    monkeypatch.setattr(hybrid, "search_vectors", spy)
    index.search("pipeline data weekend", mode="hybrid")
    meaning = seen[-1]
    assert len(meaning.nearest) == 1 and len(meaning.lexical) >= 8
    assert meaning.lexical <= set(meaning.cosine)


@pytest.mark.usefixtures("counting")
def test_hybrid_re_ranks_the_first_stage_matches_just_below_its_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # more paragraphs holding "pipeline" than the first stage keeps (CANDIDATES)
    index = pipelines_and_hobbies(tmp_path, 40)
    monkeypatch.setattr(hybrid, "MEANING_CANDIDATES", 1)
    seen: dict[str, Any] = {}
    search_vectors, fuse = hybrid.search_vectors, hybrid.fuse

    def spy_search(*args: Any) -> hybrid.Meaning:
        seen["meaning"] = search_vectors(*args)
        return seen["meaning"]

    def spy_fuse(context: Any, plan: Any, ranked: list[tuple[float, int]], *rest: Any) -> list[tuple[float, int]]:
        seen["ranked"] = {doc for _, doc in ranked}
        return fuse(context, plan, ranked, *rest)

    monkeypatch.setattr(hybrid, "search_vectors", spy_search)
    monkeypatch.setattr(hybrid, "fuse", spy_fuse)
    query = "pipeline weekend"
    index.search(query, mode="hybrid")
    meaning = seen["meaning"]
    assert len(meaning.further) == hybrid.MEANING_MORE_WORDS > 0
    assert not set(meaning.further) & meaning.lexical
    assert set(meaning.further) <= seen["ranked"]  # re-ranked with the first stage's candidates
    assert set(meaning.further) <= set(meaning.cosine)  # and fused with their meaning
    widened = len(seen["ranked"])
    monkeypatch.setattr(hybrid, "MEANING_MORE_WORDS", 0)
    index.search(query, mode="hybrid")
    assert seen["meaning"].further == ()
    assert len(seen["ranked"]) <= widened - hybrid.MEANING_MORE_WORDS + 1  # the one nearest may be among them


@pytest.fixture
def pipelines(request: pytest.FixtureRequest, tmp_path: Path) -> podsearch.Index:
    """An index with vectors of eight paragraphs about pipelines and an episode about hobbies."""
    request.getfixturevalue("counting")  # the module's one model
    return pipelines_and_hobbies(tmp_path, 8)


class SlowModel:
    """The index's query model made slow: the threads it ran on, when it was entered and when each
    call ended (just before returning the vector)."""

    def __init__(self, index: podsearch.Index, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
        encoder = index._query_encoder()
        self._query, self._seconds = encoder.query, seconds
        self.threads: list[threading.Thread] = []
        self.entered = threading.Event()
        self.ended: list[float] = []
        monkeypatch.setattr(encoder, "query", self)

    def __call__(self, text: str) -> Any:
        self.threads.append(threading.current_thread())
        self.entered.set()
        time.sleep(self._seconds)
        self.ended.append(time.monotonic())
        return self._query(text)


def test_the_query_is_embedded_on_another_thread_while_the_words_are_searched(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.query import pipeline

    model = SlowModel(pipelines, monkeypatch, 0.3)  # the words' stage must not wait for it
    seen: dict[str, float] = {}
    first_stage = pipeline.first_stage

    def timed_first_stage(*args: Any) -> Any:
        model.entered.wait(5)
        seen["first stage"] = time.monotonic()
        return first_stage(*args)

    monkeypatch.setattr(pipeline, "first_stage", timed_first_stage)
    assert pipelines.search("pipeline weekend", mode="hybrid").hits
    assert model.threads[0] is not threading.current_thread()
    assert seen["first stage"] < model.ended[0]  # the first stage ran while the model did


def test_the_model_starts_before_the_query_is_analysed(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.query import pipeline

    model = SlowModel(pipelines, monkeypatch, 0.3)
    seen: dict[str, float] = {}
    analyse = pipeline.analyse

    def timed_analyse(*args: Any) -> Any:
        assert model.entered.wait(5)  # the model was started first
        seen["analysed"] = time.monotonic()
        return analyse(*args)

    monkeypatch.setattr(pipeline, "analyse", timed_analyse)
    assert pipelines.search("pipeline weekend", mode="hybrid").hits
    assert seen["analysed"] < model.ended[0]


def test_a_thread_with_its_vector_ready_searches_as_soon_as_it_is_handed_its_rows(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a repeated query's vector comes from the model's cache at once: woken while this thread runs
    # Python, its thread would wait for the GIL up to the switch interval, after the first stage
    from podsearch.index.vectors import VectorTable
    from podsearch.query import pipeline

    encoder = pipelines._query_encoder()
    vector = encoder.query("pipeline weekend")
    seen: dict[str, float] = {}
    first_stage, table_search = pipeline.first_stage, VectorTable.search

    def busy_first_stage(*args: Any) -> Any:
        end = time.monotonic() + 0.3
        while time.monotonic() < end:  # Python all along: this thread never lets the GIL go by itself
            pass
        seen["first stage"] = time.monotonic()
        return first_stage(*args)

    def timed_search(*args: Any) -> Any:
        seen.setdefault("search", time.monotonic())
        return table_search(*args)

    monkeypatch.setattr(encoder, "query", lambda text: vector.copy())
    monkeypatch.setattr(pipeline, "first_stage", busy_first_stage)
    monkeypatch.setattr(VectorTable, "search", timed_search)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(2.0)
    try:
        assert pipelines.search("pipeline weekend", mode="hybrid").hits
    finally:
        sys.setswitchinterval(previous)
    assert seen["search"] < seen["first stage"]


def test_a_query_whose_analysis_fails_neither_waits_for_the_model_nor_searches_the_vectors(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.errors import QueryError
    from podsearch.index.vectors import VectorTable

    model = SlowModel(pipelines, monkeypatch, 0.5)
    searched: list[int] = []
    table_search = VectorTable.search
    monkeypatch.setattr(VectorTable, "search", lambda *args: searched.append(1) or table_search(*args))
    began = time.monotonic()
    with pytest.raises(QueryError):
        pipelines.search("pipeline weekend", mode="hybrid", speaker="nobody of that name")
    assert time.monotonic() - began < 0.4  # the error came while the model still ran
    assert model.threads and model.threads[0].is_alive()
    model.threads[0].join()
    assert searched == []  # called off: the thread read nothing of the index


def test_a_wildcard_query_is_embedded_once_its_analysis_shows_plain_words(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = pipelines._query_encoder()
    embedded: list[str] = []
    query = encoder.query
    monkeypatch.setattr(encoder, "query", lambda text: embedded.append(text) or query(text))
    results = pipelines.search("pipe* weekend", mode="hybrid")
    assert results.hits and embedded == ["pipe* weekend"]
    assert any(hit.matched != "words" for hit in results.hits)  # meaning took part


def test_only_a_query_meaning_takes_part_in_is_embedded(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = pipelines
    encoder = index._query_encoder()
    embedded: list[str] = []
    query = encoder.query
    monkeypatch.setattr(encoder, "query", lambda text: embedded.append(text) or query(text))
    for operators in ['"pipeline number"', "pipeline -weekend", "speaker:ann pipeline"]:
        assert index.search(operators, mode="hybrid").hits, operators
    assert embedded == []  # their logic has no meaning to mix: the model is not run
    index.search("data between systems", mode="hybrid")
    assert embedded == ["data between systems"]


def test_an_error_of_the_model_on_its_thread_reaches_the_caller(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.errors import ModelError

    index = pipelines
    encoder = index._query_encoder()

    def broken(text: str) -> Any:
        raise ModelError("the model broke")

    monkeypatch.setattr(encoder, "query", broken)
    with pytest.raises(ModelError, match="the model broke"):
        index.search("pipeline weekend", mode="hybrid")
    assert index.search("pipeline weekend", mode="words").hits  # the index is fine


def test_the_vector_thread_never_outlives_a_search_that_failed(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a search that fails midway (here its first stage) may have its generation closed next, as a
    # retry after a concurrent commit does: the thread reading that generation's vectors must be done
    from podsearch.query import pipeline

    model = SlowModel(pipelines, monkeypatch, 0.3)

    def failing_first_stage(*args: Any) -> Any:
        model.entered.wait(5)
        raise OSError("the disk went away")

    monkeypatch.setattr(pipeline, "first_stage", failing_first_stage)
    with pytest.raises(OSError, match="the disk went away"):
        pipelines.search("pipeline weekend", mode="hybrid")
    assert model.threads and not model.threads[0].is_alive()


def test_the_words_best_hits_are_made_while_the_vectors_are_searched_and_not_made_again(
    pipelines: podsearch.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.query import hits

    model = SlowModel(pipelines, monkeypatch, 0.3)  # the search waits for it once it has re-scored
    make_hit = hits.make_hit
    made: list[tuple[int, float]] = []

    def counted(catalog: Any, read: Any, doc: int, *args: Any) -> Any:
        made.append((doc, time.monotonic()))
        return make_hit(catalog, read, doc, *args)

    monkeypatch.setattr(hits, "make_hit", counted)
    fresh = pipelines.search("pipeline weekend", mode="hybrid", limit=5)
    docs = [doc for doc, _ in made]
    assert len(docs) == len(set(docs))  # none made twice
    assert sum(1 for _, when in made if when < model.ended[0]) >= 3  # made ahead, while the model ran
    monkeypatch.setattr(hits.HitMaker, "ahead", lambda *args: None)
    assert pipelines.search("pipeline weekend", mode="hybrid", limit=5).hits == fresh.hits


def test_hits_made_ahead_stop_when_the_search_can_go_on(pipelines: podsearch.Index) -> None:
    from podsearch.query import hits

    def run(generation: Any) -> tuple[int, Any, Any]:
        context = pipelines._search_context(generation)
        read = context.generation.paragraph
        docs = sorted(context.catalog.documents_of((0,)))[:10]
        maker = hits.HitMaker(context.catalog, read, ["pipeline"], 0)
        asked: list[int] = []
        maker.ahead(docs, lambda: asked.append(1) is None and len(asked) > 2)
        return (
            len(maker._made),
            maker(2.5, docs[1]),
            hits.make_hit(context.catalog, read, docs[1], 2.5, ["pipeline"], 0),
        )

    count, ahead, fresh = pipelines._read(run)
    assert count == 2 and ahead == fresh  # two made before it could go on, each as a fresh one with its score


def test_hybrid_searches_from_several_threads_answer_as_one_thread_does(pipelines: podsearch.Index) -> None:
    # each search runs its own vector thread, hands it its rows and settles it: shared, one index
    # and one model must give every thread what a lone search gives, and leave no thread behind
    from concurrent.futures import ThreadPoolExecutor

    from podsearch.errors import QueryError

    queries = ["pipeline weekend", "data between systems", "pipe* weekend", "hobbies", "pipeline weekend"]
    expected = {query: pipelines.search(query, mode="hybrid").hits for query in queries}

    def run(round_: int) -> list[bool]:
        same = []
        for query in queries[round_ % len(queries) :] + queries[: round_ % len(queries)]:
            same.append(pipelines.search(query, mode="hybrid").hits == expected[query])
            with pytest.raises(QueryError):  # a query called off after its model started
                pipelines.search(query, mode="hybrid", speaker="nobody of that name")
        return same

    with ThreadPoolExecutor(4) as pool:
        outcomes = [same for result in pool.map(run, range(8)) for same in result]
    assert len(outcomes) == 40 and all(outcomes)
    deadline = time.monotonic() + 5
    while any(thread.name == "podsearch-meaning" for thread in threading.enumerate()):
        assert time.monotonic() < deadline, "a vector thread outlived its search"
        time.sleep(0.01)
