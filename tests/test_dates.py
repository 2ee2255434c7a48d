"""Estimated dates: every episode has one, filters and date order use it, and the output says so."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import podsearch
from podsearch.cli import deferred
from podsearch.cli.app import app
from podsearch.index.dating import estimate_dates
from podsearch.model import EpisodeInfo

from .factory import write_episode

runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deferred, "defer_unused_imports", lambda: None)


def _info(number: int, day: str | None, season: int | None = 1) -> EpisodeInfo:
    return EpisodeInfo(
        id=f"e{number}", title="t", season=season, number=number, date_added=date.fromisoformat(day) if day else None
    )


def test_estimates_interpolate_between_neighbours_and_extrapolate_past_the_newest() -> None:
    infos = [
        _info(1, "2024-01-01"),
        _info(2, None),
        _info(3, "2024-01-21"),
        _info(4, "2024-01-31"),
        _info(5, None),
        _info(6, None),
        _info(7, None, season=None),
    ]
    estimates = estimate_dates(infos)
    assert estimates[1] == date(2024, 1, 11)  # halfway between its neighbours
    assert estimates[4] == date(2024, 2, 10) and estimates[5] == date(2024, 2, 20)  # the typical gap: 10 days
    assert estimates[6] == date(2024, 1, 31)  # no place in the order: the newest date
    assert set(estimates) == {1, 4, 5, 6}
    assert estimate_dates([_info(1, None)]) == {}


@pytest.fixture(scope="module")
def undated(tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    folder = tmp_path_factory.mktemp("undated") / "episodes"
    for number, day in ((1, "2024-01-01"), (2, "2024-02-01"), (3, None), (4, None)):
        write_episode(
            folder, f"ep{number}", [("Ann", 10, f"Kafka streams, part {number}.")], number=number, dateadded=day
        )
    index = podsearch.Index(folder.parent / "index")
    assert not index.update(folder).failed
    yield index
    index.close()


def test_every_listing_shows_the_estimated_date(undated: podsearch.Index) -> None:
    infos = {info.id: info for info in undated.episodes()}
    assert (infos["s01e03"].date_added, infos["s01e03"].date_estimated) == (date(2024, 3, 3), True)
    assert (infos["s01e02"].date_added, infos["s01e02"].date_estimated) == (date(2024, 2, 1), False)
    assert undated.episode("s01e04").date_estimated and undated.episode("s01e04").date_added == date(2024, 4, 3)


def test_filters_and_date_order_include_undated_episodes(undated: podsearch.Index) -> None:
    after = undated.search("kafka", after="2024-02-15")
    assert {hit.episode.id for hit in after} == {"s01e03", "s01e04"}
    assert after.estimated_dates == ("s01e04", "s01e03") or set(after.estimated_dates) == {"s01e03", "s01e04"}
    assert "dates estimated (~) for 2 episodes" in after.summary()
    ordered = undated.search("kafka", sort="date")
    assert [hit.episode.id for hit in ordered] == ["s01e04", "s01e03", "s01e02", "s01e01"]
    assert undated.search("kafka").estimated_dates == ()  # no date used: nothing to say


def test_cli_json_and_terminal_mark_estimated_dates(undated: podsearch.Index) -> None:
    result = runner.invoke(app, ["search", "kafka", "--after", "2024-02-15", "--index", str(undated.path), "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["hits"]
    assert {(hit["date_added"], hit["date_estimated"]) for hit in hits} == {("2024-03-03", True), ("2024-04-03", True)}
    result = runner.invoke(app, ["search", "kafka", "--sort", "date", "--index", str(undated.path)])
    assert "dates estimated (~) for 2 episodes" in result.output
    result = runner.invoke(app, ["episodes", "--index", str(undated.path)])
    assert "2024-03-03~" in result.output and "2024-01-01~" not in result.output


def test_a_date_filter_gives_exactly_the_unfiltered_results_of_those_episodes(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    for number in range(1, 7):
        lines = [("Ann", 10 * k, f"Docker and kubernetes, take {k} of episode {number}.") for k in range(1, number + 1)]
        write_episode(
            folder, f"ep{number}", lines, number=number, dateadded=f"2024-0{number}-01" if number < 5 else None
        )
    with podsearch.Index(tmp_path / "index") as index:
        index.update(folder)
        for query in ("kubernetes docker", "kubernetes OR docker", '"docker and kubernetes"'):
            everything = index.search(query, limit=100)
            kept = {info.id for info in index.episodes() if info.date_added and info.date_added >= date(2024, 3, 1)}
            expected = [(hit.episode.id, hit.paragraph) for hit in everything if hit.episode.id in kept]
            filtered = index.search(query, limit=100, after="2024-03-01")
            assert [(hit.episode.id, hit.paragraph) for hit in filtered] == expected
            assert filtered.total == len(expected)


def test_corpus_recent_episodes_are_found_after_a_date(corpus_index: podsearch.Index) -> None:
    recent = corpus_index.search("ai engineer", after="2025-11-01", limit=50)
    assert recent and all(hit.episode.date_estimated for hit in recent)
    ordered = corpus_index.search("ai engineer", sort="date", limit=5)
    assert ordered[0].episode.date_estimated and ordered.estimated_dates
    undated = [info for info in corpus_index.episodes() if info.date_estimated]
    assert len(undated) >= 14 and all(info.date_added for info in corpus_index.episodes())
