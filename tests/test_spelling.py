"""Spelling: long words corrected up to two edits away, through the library and the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import podsearch
from podsearch.cli import deferred
from podsearch.cli.app import app
from podsearch.query import spelling

runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deferred, "defer_unused_imports", lambda: None)


def test_distance_counts_swaps_as_one_edit() -> None:
    assert spelling.distance("recommendation", "reccomendation", 2) == 2
    assert spelling.distance("form", "from", 2) == 1
    assert spelling.distance("kubernetes", "kubernetes", 2) == 0
    assert spelling.distance("kubernetes", "docker", 2) == 3  # over the bound


def test_lexicon_compares_terms_with_starts_of_the_word() -> None:
    lexicon = spelling.Lexicon(["collabor", "recommend", "system", "cat"])
    assert (1, "collabor") in lexicon.near("colaboratve", 2)
    assert (2, "recommend") in lexicon.near("reccomendation", 2)
    assert all(term != "cat" for _, term in lexicon.near("reccomendation", 2))


def test_correct_far_prefers_fewer_edits_then_frequency() -> None:
    lexicon = spelling.Lexicon(["recommend", "recognis", "system"])
    counts = {"recommend": 300, "recognis": 5000, "system": 900}
    written = {"recommend": ["recommendation"], "recognis": ["recognised"], "system": ["systems"]}
    found = spelling.correct_far("reccomendation", counts.get, lexicon, written.__getitem__)
    assert found == ("recommendation", "recommend")
    assert spelling.correct_far("zzzzzzzzzz", counts.get, lexicon, written.__getitem__) is None


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("reccomendation systems", "recommendation systems"),
        ("infrastrcutre as code", "infrastructure as code"),
        ("kubernetis clusters", "kubernetes clusters"),
    ],
)
def test_corpus_two_letter_typos_are_corrected(corpus_index: podsearch.Index, query: str, suggestion: str) -> None:
    results = corpus_index.search(query)
    assert results.suggestion == suggestion
    assert results.hits == corpus_index.search(suggestion).hits  # the results of the corrected query


def test_corpus_recommendation_typo_finds_recommender_moments(corpus_index: podsearch.Index) -> None:
    hits = corpus_index.search("reccomendation systems")
    assert "recommend" in hits[0].text.lower()
    assert sum("recommend" in hit.text.lower() for hit in hits) >= 3


def test_short_words_stay_one_edit_away(corpus_index: podsearch.Index) -> None:
    assert corpus_index.search("that you lerned").suggestion == "that you learned"
    assert corpus_index.search("daat qualty").suggestion is not None


def test_cli_shows_the_suggestion(corpus_index: podsearch.Index) -> None:
    result = runner.invoke(app, ["search", "reccomendation systems", "--index", str(corpus_index.path), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "Did you mean: recommendation systems?" in result.output
