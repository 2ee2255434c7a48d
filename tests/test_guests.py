"""Guests and speakers by name: accent folding, no-match suggestions, a guest's name as a query, titles."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import podsearch
from podsearch.cli import deferred
from podsearch.cli.app import app

from .factory import write_episode, write_person

runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deferred, "defer_unused_imports", lambda: None)


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    """Two episodes: a guest with an accented name, and a host who talks about another guest."""
    folder = tmp_path_factory.mktemp("named") / "episodes"
    write_person(folder.parent / "people", "ellenkonig", "Ellen König")
    write_person(folder.parent / "people", "jorgeperez", "Jorge Pérez")
    write_episode(
        folder,
        "koenig",
        [
            ("Alexey", 10, "Today we talk about mlops with our guest."),
            ("Ellen", 40, "Thanks. Mlops for me means shipping models every week."),
            ("Ellen", 80, "Monitoring drift is the part of mlops people forget."),
        ],
        title="Shipping Models Weekly",
        season=7,
        number=8,
        guests=["ellenkonig"],
        dateadded="2022-03-14",
    )
    write_episode(
        folder,
        "perez",
        [
            ("Alexey", 10, "Ellen once told me that mlops is mostly about people."),
            ("Alexey", 30, "Ellen said that again and again: ellen ellen, mlops mlops."),
            ("Jorge", 60, "Data platforms are about contracts between teams."),
        ],
        title="Platforms and Contracts",
        season=7,
        number=9,
        guests=["jorgeperez"],
        dateadded="2022-04-01",
    )
    index = podsearch.Index(folder.parent / "index")
    assert not index.update(folder).failed
    yield index
    index.close()


@pytest.mark.parametrize("value", ["Ellen Konig", "ellen könig", "ELLEN KONIG", "ellenkonig", "konig"])
def test_guest_filter_ignores_case_and_accents(named: podsearch.Index, value: str) -> None:
    hits = named.search("mlops", guest=value)
    assert hits and {hit.episode.id for hit in hits} == {"s07e08"}


@pytest.mark.parametrize("value", ["Ellen Konig", "ellen", "ellenkonig", "KÖNIG"])
def test_speaker_filter_ignores_case_and_accents(named: podsearch.Index, value: str) -> None:
    hits = named.search("mlops", speaker=value)
    assert hits and {hit.who for hit in hits} == {"Ellen König"}


def test_name_fields_in_the_query_fold_accents_too(named: podsearch.Index) -> None:
    assert {hit.who for hit in named.search("speaker:konig mlops")} == {"Ellen König"}
    assert {hit.episode.id for hit in named.search('guest:"jorge perez" contracts')} == {"s07e09"}


def test_a_filter_matching_nobody_says_so_and_suggests_names(named: podsearch.Index) -> None:
    with pytest.raises(podsearch.QueryError, match=r"no guest matches 'Elen Konig'; closest: Ellen König"):
        named.search("mlops", guest="Elen Konig")
    with pytest.raises(podsearch.QueryError, match=r"no speaker matches 'alexy'; closest: Alexey"):
        named.search("mlops", speaker="alexy")
    with pytest.raises(podsearch.QueryError, match=r"no guest matches 'zzzz'"):
        named.search("mlops", guest="zzzz")


def test_the_cli_reports_the_unmatched_filter_with_exit_2(named: podsearch.Index) -> None:
    result = runner.invoke(app, ["search", "mlops", "--guest", "Elen Konig", "--index", str(named.path)])
    assert result.exit_code == 2
    assert "no guest matches 'Elen Konig'; closest: Ellen König" in result.output
    assert "No moments matched" not in result.output
    result = runner.invoke(app, ["search", "mlops", "--guest", "Ellen Konig", "--index", str(named.path), "--json"])
    assert result.exit_code == 0 and '"s07e08"' in result.output


def test_a_query_naming_a_guest_ranks_their_episode_and_words_first(named: podsearch.Index) -> None:
    # the host of another episode says "Ellen" far more often than the guest's own episode
    assert named.search("ellen")[0].episode.id == "s07e09"
    hits = named.search("Ellen König mlops")
    assert hits[0].episode.id == "s07e08" and hits[0].who == "Ellen König"
    assert named.search("ellen konig")[0].episode.id == "s07e08"


def test_a_guest_name_alone_opens_on_the_guest_speaking(tmp_path: Path) -> None:
    """The host says the name; the guest never does: their first long answer comes first, and is counted."""
    folder = tmp_path / "episodes"
    write_person(folder.parent / "people", "ellenkonig", "Ellen König")
    long_answer = "I studied physics, then I built forecasting models at a retailer for " + "many " * 20 + "years."
    write_episode(
        folder,
        "koenig",
        [
            ("Alexey", 10, "Welcome, Ellen König. Ellen works on forecasting."),
            ("Ellen", 20, "Thanks for having me."),
            ("Alexey", 30, "Tell us about your career, Ellen."),
            ("Ellen", 40, long_answer),
        ],
        title="Forecasting at Scale",
        guests=["ellenkonig"],
    )
    with podsearch.Index(tmp_path / "index") as index:
        index.update(folder)
        results = index.search("Ellen König")
        assert results[0].who == "Ellen König" and results[0].text.startswith("I studied physics")
        assert results.total == len(results) == 3  # the two mentions and the answer; not "thanks"
        result = runner.invoke(app, ["search", "ellen konig", "--index", str(index.path)])
        assert result.exit_code == 0
        assert result.output.index("I studied physics") < result.output.index("Welcome")


def test_a_title_query_ranks_the_episode_first(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    write_episode(
        folder,
        "aside",
        [("Ann", 10, "The kaggle leaderboard is not everything: beyond it there is real work.")] * 1,
        title="Careers in Data",
        number=1,
    )
    write_episode(
        folder,
        "target",
        [("Bob", 10, "We compete to learn."), ("Bob", 20, "Leaderboards change every week.")],
        title="Competitions: Beyond the Kaggle Leaderboard",
        number=2,
    )
    with podsearch.Index(tmp_path / "index") as index:
        index.update(folder)
        assert index.search("beyond the kaggle leaderboard")[0].episode.id == "s01e02"
        assert index.search("kaggle leaderboard work")[0].episode.id == "s01e01"  # not the title: words decide


# --- the real corpus ------------------------------------------------------------------------


def test_corpus_guest_name_finds_the_guest_episode(corpus_index: podsearch.Index) -> None:
    results = corpus_index.search("Willem Pienaar")
    assert results[0].episode.guest_names == ("Willem Pienaar",)
    assert results[0].who == "Willem Pienaar"  # his own words, not the host's "Welcome, Willem."
    hits = corpus_index.search("Willem Pienaar feature stores")
    assert hits[0].episode.guest_names == ("Willem Pienaar",) and hits[0].who == "Willem Pienaar"


def test_corpus_accent_folding_and_suggestion(corpus_index: podsearch.Index) -> None:
    hits = corpus_index.search("mlops", guest="Ellen Konig")
    assert hits and {hit.episode.guest_names for hit in hits} == {("Ellen König",)}
    with pytest.raises(podsearch.QueryError, match="closest: Ellen König"):
        corpus_index.search("mlops", guest="Elen Konig")


def test_corpus_title_query(corpus_index: podsearch.Index) -> None:
    hit = corpus_index.search("beyond the kaggle leaderboard")[0]
    assert hit.episode.title == "Competitions: Beyond the Kaggle Leaderboard"
