"""The spelling dictionary kept in the index: written in the commit, kept up to date, checked, and used."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

import podsearch
from podsearch.errors import IndexDamagedError
from podsearch.index import spellings
from podsearch.index.commits import encode, record_name
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.query import spelling

from .cli_support import invoke
from .factory import write_episode

FIRST = [
    ("Alexey", 1, "We built a recommendation system with collaborative filtering."),
    ("Bob", 5, "Kubernetes clusters are hard to operate, and recommendations need monitoring."),
]
SECOND = [("Alexey", 1, "Observability matters for microservices and their dashboards.")]


def _index(tmp_path: Path) -> tuple[podsearch.Index, Path]:
    episodes = tmp_path / "eps"
    write_episode(episodes, "first", FIRST, youtube="aaaaaaaaaaa")
    index = podsearch.Index(tmp_path / "idx")
    index.update(episodes)
    return index, episodes


def _dictionary_path(index: podsearch.Index) -> Path:
    store = IndexDir(index.path)
    record = store.record(store.generation() or 0)
    return store.path / record.spellings


# --- the file in the commit -------------------------------------------------------------------


def test_commit_writes_the_dictionary_and_lists_it_in_its_record(tmp_path: Path) -> None:
    index, _ = _index(tmp_path)
    store = IndexDir(index.path)
    record = store.record(1)
    assert record.spellings == spellings.file_name(1)
    assert record.spellings in record.files
    words = dict(spellings.Dictionary.open(store.path / record.spellings).words())
    assert words["recommendation"] == 1 and words["kubernetes"] == 1
    assert "we" not in words  # shorter than three letters


def test_a_flipped_byte_is_caught_by_check(tmp_path: Path) -> None:
    index, _ = _index(tmp_path)
    path = _dictionary_path(index)
    index.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert any(path.name in damage for damage in IndexDir(index.path).verify().damaged)
    code, _, err = invoke("check", "--index", str(index.path))
    assert code == 69 and path.name in err


def test_a_truncated_dictionary_is_reported_as_damage(tmp_path: Path) -> None:
    index, _ = _index(tmp_path)
    path = _dictionary_path(index)
    index.close()
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(IndexDamagedError, match=re.escape(path.name)):
        podsearch.Index(index.path).search("recommendation")


def test_a_dictionary_whose_layout_is_wrong_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "x.dic"
    path.write_bytes(b"PSDICT1\n" + b"\0" * 3)
    with pytest.raises(IndexDamagedError, match=r"x\.dic"):
        spellings.Dictionary.open(path)


def test_an_update_adds_the_words_of_the_episodes_it_read(tmp_path: Path) -> None:
    index, episodes = _index(tmp_path)
    assert index.search("obsrevability").suggestion is None  # not a word of the corpus yet
    write_episode(episodes, "second", SECOND, number=2, youtube="bbbbbbbbbbb")
    index.update(episodes)
    assert index.search("obsrevability").suggestion == "observability"
    assert index.search("reccomendation").suggestion == "recommendation"  # the earlier words are kept
    words = dict(spellings.Dictionary.open(_dictionary_path(index)).words())
    assert words["kubernetes"] == 1 and words["microservices"] == 1
    names = [name for name in os.listdir(index.path) if name.endswith(".dic")]
    assert names == [spellings.file_name(2)]  # the previous generation's went with it


def test_a_rebuild_starts_afresh(tmp_path: Path) -> None:
    index, episodes = _index(tmp_path)
    write_episode(episodes, "second", SECOND, number=2, youtube="bbbbbbbbbbb")
    index.update(episodes)
    (episodes / "first.md").unlink()
    index.update(episodes)
    assert "kubernetes" in dict(spellings.Dictionary.open(_dictionary_path(index)).words())  # kept: harmless
    assert index.search("reccomendation").suggestion is None  # its stem no longer occurs
    index.update(episodes, rebuild=True)
    assert "kubernetes" not in dict(spellings.Dictionary.open(_dictionary_path(index)).words())


def test_an_index_without_a_dictionary_still_corrects_and_gets_one_at_its_next_update(tmp_path: Path) -> None:
    index, episodes = _index(tmp_path)
    index.close()
    store = IndexDir(index.path)
    record = store.record(1)
    (store.path / record.spellings).unlink()
    older = dataclasses.replace(
        record, spellings="", files={name: entry for name, entry in record.files.items() if name != record.spellings}
    )
    (store.path / record_name(INDEX_NAME, 1)).write_bytes(encode(older))  # as written before dictionaries
    reopened = podsearch.Index(index.path)
    assert reopened.search("reccomendation").suggestion == "recommendation"
    assert reopened.search("colaborative filtering").suggestion == "collaborative filtering"
    write_episode(episodes, "second", SECOND, number=2, youtube="bbbbbbbbbbb")
    reopened.update(episodes)
    words = dict(spellings.Dictionary.open(_dictionary_path(reopened)).words())
    assert "kubernetes" in words and "observability" in words  # made from every document


def test_cli_shows_the_suggestion_from_the_dictionary(tmp_path: Path) -> None:
    index, _ = _index(tmp_path)
    code, out, _ = invoke("search", "colaborative filtring", "--index", str(index.path))
    assert code == 0
    assert "Did you mean: collaborative filtering?" in out


# --- the table --------------------------------------------------------------------------------


def _dictionary(
    counts: dict[str, int], tmp_path: Path, previous: spellings.Dictionary | None = None, name: str = "words"
) -> spellings.Dictionary:
    path = tmp_path / f"{name}.dic"
    path.write_bytes(spellings.encode(counts, previous))
    return spellings.Dictionary.open(path)


def test_candidates_cover_every_word_within_reach(tmp_path: Path) -> None:
    counts = {"recommendation": 5, "recommend": 9, "recognition": 2, "system": 7, "systems": 3, "cat": 1, "café": 1}
    dictionary = _dictionary(counts, tmp_path)
    for typo in ("reccomendation", "recomendation", "rceommendation", "ercommendation", "systme", "sytem", "caf"):
        bound = 2 if len(typo) >= 8 else 1
        expected = {word for word in counts if spelling.distance(typo, word, bound) <= bound}
        found = {word for word, _ in dictionary.candidates(typo, bound)}
        assert expected <= found, typo
    assert ("café", 1) in dictionary.candidates("cafe", 1)


def test_an_updated_table_finds_what_a_fresh_one_does(tmp_path: Path) -> None:
    first = {"recommendation": 5, "system": 7, "kubernetes": 4}
    both = {**first, "recommender": 2, "observability": 1, "sys": 1}
    updated = _dictionary(both, tmp_path, _dictionary(first, tmp_path, name="first"), name="updated")
    fresh = _dictionary(both, tmp_path, name="fresh")
    assert list(updated.words()) == list(fresh.words())
    for typo in ("recomender", "obsrevability", "systme", "kubernetis", "sy"):
        assert sorted(updated.candidates(typo, 2)) == sorted(fresh.candidates(typo, 2))


def test_suggest_prefers_fewer_edits_then_the_commoner_stem(tmp_path: Path) -> None:
    dictionary = _dictionary({"recommendation": 1, "recommendations": 1, "recognition": 1, "stale": 1}, tmp_path)
    stems = {"recommend": 300, "recognit": 5000}
    assert spelling.suggest("reccomendation", lambda term: stems.get(term, 0), dictionary) == (
        "recommendation",
        "recommend",
    )
    plural = spelling.suggest("reccomendations", lambda term: stems.get(term, 0), dictionary)
    assert plural is not None and plural[0] == "recommendations"  # fewest edits, though of the same stem
    assert spelling.suggest("stael", lambda term: stems.get(term, 0), dictionary) is None  # its stem no longer occurs
    assert spelling.suggest("abc", lambda term: 1, dictionary) is None  # too short to guess


def test_short_words_are_corrected_one_edit_away_only(tmp_path: Path) -> None:
    dictionary = _dictionary({"learned": 1, "leaned": 1}, tmp_path)
    counts = {"learn": 50, "lean": 5}
    assert spelling.suggest("lerned", lambda term: counts.get(term, 0), dictionary) == ("learned", "learn")
    assert spelling.suggest("lrnd", lambda term: counts.get(term, 0), dictionary) is None  # three edits


# --- the real corpus --------------------------------------------------------------------------


def test_corpus_index_keeps_a_dictionary_of_its_words(corpus_index: podsearch.Index) -> None:
    words = dict(spellings.Dictionary.open(_dictionary_path(corpus_index)).words())
    assert words["recommendation"] > 10 and words["kubernetes"] > 10


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("reccomendation systems", "recommendation systems"),
        ("machine lerning", "machine learning"),
        ("obsrevability tools", "observability tools"),
        ("feature stroe", "feature store"),
    ],
)
def test_corpus_queries_are_corrected_from_the_dictionary(
    corpus_index: podsearch.Index, query: str, suggestion: str
) -> None:
    assert corpus_index.search(query).suggestion == suggestion
