"""Searching through the library: the contract, ranking properties, the query language, filters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import podsearch

from .factory import CAREERS, CONTRACTS, VECTORS, write_episode, write_person

FILLER = "We talked about many other things that day and it was fun."


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    """Three small episodes designed to exercise ranking, fields and filters."""
    folder = tmp_path_factory.mktemp("crafted") / "episodes"
    write_person(folder.parent / "people", "janedoe", "Jane Doe")
    write_episode(
        folder,
        "vector-search",
        [
            ("header", "Introductions"),
            ("Alexey", 10, "Welcome to the podcast. Today we talk about vector databases."),
            ("Jane", 30, "Thanks. I have built search engines for ten years."),
            ("header", "Embeddings in production"),
            ("Jane", 120, "The hard part of embeddings is keeping the index fresh when documents change."),
            ("Alexey", 200, "Search search search search search, everybody says search."),
            (None, None, "So search is really everywhere, search again."),
            ("Jane", 300, "Sparse retrieval still beats dense retrieval on rare product names."),
            ("Jane", 330, FILLER),
        ],
        **VECTORS,
        chapters=[("Intro", 0, 100), ("Embeddings", 100, 400)],
        topics=["search", "embeddings"],
    )
    write_episode(
        folder,
        "data-contracts",
        [
            ("Alexey", 5, "This week we discuss data contracts between teams."),
            ("Bob", 40, "A data contract is an agreement on the schema of the data a team publishes."),
            ("Bob", 90, "Engineers search logs when a contract breaks, the engine search fails quietly."),
            ("Alexey", 140, "What would you tell a junior engineer who wants to learn about contracts?"),
            ("Bob", 170, "Start small, learn the basics of schemas, and talk to the consumers of your data."),
        ],
        **CONTRACTS,
    )
    write_episode(
        folder,
        "career-switch",
        [
            ("Alexey", 15, "Our guest moved from physics to machine learning engineering."),
            ("Carol", 45, "I left academia because I wanted to ship products that people use."),
            ("Carol", 75, "My advice for the career switch: build a portfolio of small projects."),
        ],
        **CAREERS,
    )
    index = podsearch.Index(folder.parent / "index")
    report = index.update(folder)
    assert report.failed == () and len(report.added) == 3
    yield index
    index.close()


def _texts(results: podsearch.Results) -> list[str]:
    return [hit.text for hit in results]


# --- the contract of a hit ------------------------------------------------------------------


def test_hit_carries_everything(crafted: podsearch.Index) -> None:
    hit = crafted.search("sparse retrieval product names")[0]
    assert hit.text.startswith("Sparse retrieval still beats dense")
    assert (hit.start, hit.estimated, hit.time) == (300, False, "5:00")
    assert hit.youtube_id == "abcdefghijk"
    assert hit.url == "https://www.youtube.com/watch?v=abcdefghijk&t=300s"
    assert (hit.speaker, hit.speaker_name, hit.who) == ("Jane", "Jane Doe", "Jane Doe")
    assert hit.episode.title == "Vector Search in Practice"
    assert (hit.episode.season, hit.episode.number, hit.episode.code) == (3, 7, "S03E07")
    assert hit.section == "Embeddings in production"
    assert hit.chapter == "Embeddings"
    assert hit.score > 0
    assert [hit.text[a:b] for a, b in hit.spans] == ["Sparse", "retrieval", "retrieval", "product", "names"]
    assert hit.snippet is not None and hit.snippet.text == hit.text


def test_estimated_time_is_marked(crafted: podsearch.Index) -> None:
    hit = crafted.search("search is really everywhere")[0]
    assert hit.text.startswith("So search is really everywhere")
    assert hit.estimated and 200 < hit.start < 300


def test_results_are_plain_dataclasses(crafted: podsearch.Index) -> None:
    results = crafted.search("contract")
    assert isinstance(results, podsearch.Results) and isinstance(results[0], podsearch.Hit)
    assert results.total == len(results) == 4
    assert results.suggestion is None and results.elapsed >= 0
    assert isinstance(results[:2], tuple)


# --- ranking properties -----------------------------------------------------------------------


def test_phrase_beats_scattered_words(crafted: podsearch.Index) -> None:
    # both paragraphs contain "engine" and "search"; only one says "search engines"
    first = crafted.search("search engines")[0]
    assert first.text.startswith("Thanks. I have built search engines")


def test_more_matched_words_beat_one_repeated_word(crafted: podsearch.Index) -> None:
    first = crafted.search("search index fresh")[0]
    assert first.text.startswith("The hard part of embeddings")


def test_a_missing_word_does_not_empty_the_results(crafted: podsearch.Index) -> None:
    results = crafted.search("keeping the embeddings index fresh zeppelin")
    assert results and results[0].text.startswith("The hard part of embeddings")


def test_quote_with_stop_words_finds_its_paragraph(crafted: podsearch.Index) -> None:
    first = crafted.search("what would you tell a junior engineer")[0]
    assert first.text.startswith("What would you tell a junior engineer")


def test_typo_finds_the_word_and_suggests_the_correction(crafted: podsearch.Index) -> None:
    results = crafted.search("portfollio of small projects")
    assert results[0].text.startswith("My advice for the career switch")
    assert results.suggestion == "portfolio of small projects"
    assert crafted.search("portfolio").suggestion is None


def test_only_misspelled_content_word(crafted: podsearch.Index) -> None:
    results = crafted.search("that you lerned about")
    assert results.suggestion == "that you learned about"
    assert "learn" in results[0].text


# --- query language ---------------------------------------------------------------------------


def test_exact_phrase(crafted: podsearch.Index) -> None:
    assert _texts(crafted.search('"search engines"')) == ["Thanks. I have built search engines for ten years."]
    assert crafted.search('"years ten"').hits == ()


def test_exclusion_and_not(crafted: podsearch.Index) -> None:
    excluded = crafted.search("contract -schema")
    assert excluded and all("schema" not in t for t in _texts(excluded))
    assert _texts(crafted.search("contract AND NOT schema")) == _texts(excluded)


def test_or_and_parentheses(crafted: podsearch.Index) -> None:
    either = {h.text for h in crafted.search("physics OR academia")}
    assert either == {
        "Our guest moved from physics to machine learning engineering.",
        "I left academia because I wanted to ship products that people use.",
    }
    both = crafted.search("(physics OR academia) AND products")
    assert _texts(both) == ["I left academia because I wanted to ship products that people use."]


def test_prefix(crafted: podsearch.Index) -> None:
    results = crafted.search("embed*")
    assert results and all("mbedding" in t for t in _texts(results))
    assert any(hit.text[a:b].lower().startswith("embed") for hit in results for a, b in hit.spans)


@pytest.mark.parametrize(
    ("query", "expected_episode"),
    [
        ("speaker:bob contract", "s04e02"),
        ("guest:janedoe search", "s03e07"),
        ('guest:"jane doe" search', "s03e07"),
        ("season:3 search", "s03e07"),
        ("episode:5 advice", "s04e05"),
    ],
)
def test_fields(crafted: podsearch.Index, query: str, expected_episode: str) -> None:
    results = crafted.search(query)
    assert results and {hit.episode.id for hit in results} == {expected_episode}


def test_speaker_field_restricts(crafted: podsearch.Index) -> None:
    results = crafted.search("speaker:alexey search")
    assert results and all(hit.speaker == "Alexey" for hit in results)


def test_unknown_and_internal_fields_are_plain_words(crafted: podsearch.Index) -> None:
    # "kind:e" must not reach the internal episode documents
    for query in ("kind:e", "path:x", "meta:anything"):
        for hit in crafted.search(query):
            assert hit.text


def test_bad_queries_raise_query_error(crafted: podsearch.Index) -> None:
    for query in ("", "   ", "*", "a*", "x" * 3000):
        with pytest.raises(podsearch.QueryError):
            crafted.search(query)


# --- filters, grouping, order, context ---------------------------------------------------------


def test_filters(crafted: podsearch.Index) -> None:
    assert {h.speaker for h in crafted.search("search", speaker="jane")} == {"Jane"}
    assert {h.episode.id for h in crafted.search("data engineer", guest="bobsmith")} == {"s04e02"}
    assert {h.episode.id for h in crafted.search("search", guest="Jane Doe")} == {"s03e07"}
    assert {h.episode.season for h in crafted.search("learn", season=4)} == {4}
    assert {h.episode.number for h in crafted.search("learn", season=4, episode=2)} == {2}
    after = crafted.search("engineering OR engineer", after=date(2024, 1, 1))
    assert after and all(h.episode.date_added >= date(2024, 1, 1) for h in after)
    before = crafted.search("engineering OR engineer", before="2023-12-31")
    assert before and all(h.episode.date_added <= date(2023, 12, 31) for h in before)
    assert crafted.search("search", season=99).hits == ()


def test_bad_filter_values(crafted: podsearch.Index) -> None:
    with pytest.raises(podsearch.QueryError):
        crafted.search("search", after="yesterday")
    with pytest.raises(podsearch.QueryError):
        crafted.search("search", limit=0)
    with pytest.raises(podsearch.QueryError):
        crafted.search("search", sort="random")


def test_group_by_episode(crafted: podsearch.Index) -> None:
    results = crafted.search("search OR engineer OR data", group_by="episode")
    assert [g.episode.id for g in results.groups][:1] == ["s03e07"]
    counts = {g.episode.id: g.count for g in results.groups}
    assert counts == {"s03e07": 3, "s04e02": 5, "s04e05": 1}
    assert all(g.hits and g.hits[0].episode == g.episode for g in results.groups)
    assert [hit.episode.id for hit in results] == [g.episode.id for g in results.groups]


def test_group_by_episode_fills_the_limit_when_one_episode_dominates(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    # 40 moments about kafka in one episode: more than the re-ranker's candidates
    write_episode(folder, "all-kafka", [("Ann", n * 10, f"Kafka topic number {n} and kafka again.") for n in range(40)])
    write_episode(folder, "some-kafka", [("Ben", 10, "We used Kafka once."), ("Ben", 20, FILLER)], number=2)
    write_episode(folder, "one-kafka", [("Cat", 10, FILLER), ("Cat", 20, "Kafka came up at the end.")], number=3)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    for query in ("kafka", "kafka OR nothing"):  # the postings path and Whoosh's matchers
        results = index.search(query, limit=3, group_by="episode")
        assert [g.episode.id for g in results.groups][:1] == ["s01e01"]
        assert {g.episode.id: g.count for g in results.groups} == {"s01e01": 40, "s01e02": 1, "s01e03": 1}
    assert len(index.search("kafka", limit=2, group_by="episode").groups) == 2
    index.close()


def test_sort_by_date(crafted: podsearch.Index) -> None:
    results = crafted.search("engineer OR engineering OR search", sort="date", limit=50)
    dates = [hit.episode.date_added for hit in results]
    assert dates == sorted(dates, reverse=True)


def test_context_paragraphs(crafted: podsearch.Index) -> None:
    hit = crafted.search("sparse retrieval", context=2)[0]
    assert [p.start for p in hit.before] == [200, hit.before[1].start]
    assert hit.before[1].estimated
    assert [p.start for p in hit.after] == [330]
    assert crafted.search("sparse retrieval")[0].before == ()


def test_episode_lookup(crafted: podsearch.Index) -> None:
    episode = crafted.episode("S04E02")
    assert episode.id == "s04e02" and len(episode.paragraphs) == 5
    assert crafted.episode("data-contracts").turns[1].speaker == "Bob"
    with pytest.raises(podsearch.EpisodeNotFound):
        crafted.episode("S09E09")
    assert [info.id for info in crafted.episodes()] == ["s03e07", "s04e02", "s04e05"]


# --- the bundled episode and the module-level search -----------------------------------------


def test_bundled_full_stack_query(bundled_index: podsearch.Index) -> None:
    results = bundled_index.search("full-stack data scientist", limit=10)
    first = results[0]
    assert first.section == "Full-stack data scientists"
    assert 40 * 60 + 33 <= first.start <= 44 * 60 + 36
    assert first.url == "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s"
    assert any(hit.start == 3356 and hit.speaker == "Mihail" for hit in results)
    assert {hit.who for hit in results} == {"Alexey", "Mihail Eric"}  # episodes/people/mihaileric.md
    assert "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s" in {hit.url for hit in results}


def test_module_search_builds_the_default_index(episodes_dir: Path, tmp_path: Path) -> None:
    assert not (tmp_path / "index").exists()
    results = podsearch.search("full-stack data scientist", limit=3)
    assert results[0].section == "Full-stack data scientists"
    assert podsearch.Index().exists()
    assert podsearch.Index().path == tmp_path / "index"


@pytest.mark.corpus
def test_corpus_quote_and_typo(corpus_index: podsearch.Index) -> None:
    results = corpus_index.search("full-stack data scientist is similar to an ML engineer")
    assert results[0].episode.youtube_id == "d9xVXqKq3sU"
    assert "full-stack data scientist is similar to an ML engineer" in results[0].text
    typo = corpus_index.search("that you lerned that in the")
    assert typo.suggestion is not None and typo.hits


def test_a_line_said_twice_is_one_moment(tmp_path: Path) -> None:
    """The same words at two moments of one episode (a question asked again) show once, in every view."""
    folder = tmp_path / "episodes"
    asked = "Could you tell us about your favourite recommendation systems?"
    write_episode(
        folder,
        "asked-twice",
        [
            ("Host", 10, asked),
            ("Guest", 20, FILLER),
            ("Host", 300, asked),
            ("Guest", 310, "Recommendation systems rank."),
        ],
    )
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    for options in ({}, {"sort": "date"}, {"group_by": "episode"}):
        results = index.search("favourite recommendation systems", **options)
        shown = results.groups[0].hits if results.groups else results.hits
        texts = [hit.text for hit in shown]
        assert texts.count(asked) == 1, options
        assert "Recommendation systems rank." in texts, options
