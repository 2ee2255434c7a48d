"""Vectors in the index and hybrid search, on a few small crafted episodes.

Skipped without the ``semantic`` extra or a model. The model is loaded once per
module and handed to every index through ``Encoder.load``; a counting wrapper
records every text the index embeds, so the tests can say what was embedded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import podsearch
from podsearch.index.commits import decode
from tests.factory import write_episode

np = pytest.importorskip("numpy")
pytest.importorskip("safetensors")

from podsearch.embedding import Encoder  # noqa: E402
from podsearch.errors import ModelError  # noqa: E402

CAREER = [
    ("Alexey", 10, "I left my university job and started working as an engineer at a startup."),
    ("Jane", 20, "The hardest part was learning to ship things quickly instead of polishing papers."),
]
CONTRACTS = [
    ("Bob", 5, "The data contract tells producers what consumers expect from a table."),
    ("Bob", 15, "Monitoring models in production catches drift before customers notice it."),
]
COOKING = [
    ("Carol", 3, "My grandmother taught me to bake bread with sourdough starter."),
    ("Carol", 9, "The mixed strategy for hybrid search is a weighted sum of two scores."),
]
GARDEN = [
    ("Dana", 4, "Sun Water Garden is the name of the bar where we met our first investor."),
    ("Dana", 8, "Tomatoes in the backyard need watering and sunshine every day."),
]


@pytest.fixture(scope="module")
def shared_encoder() -> Encoder:
    try:
        return Encoder.load()
    except ModelError as error:
        pytest.skip(f"no embedding model: {error}")


class Counting:
    """The encoder, recording the texts it embeds."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.texts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    def encode(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        self.texts.extend(texts)
        return self.encoder.encode(texts, *args, **kwargs)


@pytest.fixture
def counting(shared_encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counting]:
    """Every ``Encoder.load()`` returns the one shared model, counting what it embeds."""
    wrapper = Counting(shared_encoder)
    monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, source=None: wrapper))
    yield wrapper


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    eps = tmp_path / "episodes"
    eps.mkdir()
    write_episode(eps, "ep1", CAREER, title="Leaving academia", season=1, number=1)
    write_episode(eps, "ep2", CONTRACTS, title="Data contracts", season=1, number=2)
    return eps


def record_of(index: podsearch.Index) -> Any:
    records = sorted(index.path.glob("_*.commit"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return decode(records[-1].read_bytes())


def vector_files(index: podsearch.Index) -> list[Path]:
    return sorted(index.path.glob("*_vectors-*.vec"))


def test_vectors_are_committed_with_the_text_and_verified(counting: Counting, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    record = record_of(index)
    assert record.vectors["model"] == counting.fingerprint
    assert record.vectors["file"] in record.files  # size checked at open, CRC by verify
    assert [p.name for p in vector_files(index)] == [record.vectors["file"]]
    assert index.verify().ok
    # episode rows (title and description) and one row per paragraph, for both episodes
    assert len(counting.texts) == 2 + 4
    assert not (index.path / "vectors-cache").exists()  # the cache is gone once committed

    path = vector_files(index)[0]
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    report = index.verify()
    assert not report.ok and any(path.name in line for line in report.damaged)
    index.update(folder, rebuild=True)  # the repair recomputes what it cannot trust
    assert index.verify().ok
    assert index.search("leaving university for industry", mode="meaning").hits


def test_only_new_and_changed_episodes_are_embedded(counting: Counting, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    counting.texts.clear()

    report = index.update(folder)  # nothing changed: nothing embedded, nothing committed
    assert report.summary().startswith("0 added") and counting.texts == []

    write_episode(folder, "ep3", COOKING, title="Baking", season=1, number=3)
    index.update(folder)  # remembered: the new episode is embedded, and only it
    assert (
        sorted(counting.texts) == sorted([t for t in counting.texts if t.startswith("Baking")])
        and len(counting.texts) == 3
    )
    counting.texts.clear()

    write_episode(folder, "ep1", CAREER[:1], title="Leaving academia", season=1, number=1)
    index.update(folder)  # changed: embedded again
    assert len(counting.texts) == 2 and all(t.startswith("Leaving academia") for t in counting.texts)
    counting.texts.clear()

    index.update(folder, rebuild=True)  # a rebuild reuses the vectors of the same texts
    assert counting.texts == []
    assert len(vector_files(index)) == 1 and index.verify().ok


def test_an_interrupted_embedding_resumes_without_losing_finished_episodes(
    counting: Counting, folder: Path, tmp_path: Path
) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)

    def interrupt(done: int, total: int) -> None:
        if done > 0:  # the first episode is embedded (and cached): stop there
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index.update(folder, semantic=True, embedding_progress=interrupt)
    assert not record_of(index).vectors and vector_files(index) == []  # the last good index, untouched
    assert index.search("data contract").hits
    first = list(counting.texts)
    counting.texts.clear()
    index.update(folder)  # a plain (nightly) run in between keeps the finished episode
    assert len(list((index.path / "vectors-cache").iterdir())) == 1

    index.update(folder, semantic=True)
    assert len(first) == 3 and len(counting.texts) == 3  # only the episode left
    assert not set(first) & set(counting.texts)
    assert record_of(index).vectors and index.verify().ok
    assert not (index.path / "vectors-cache").exists()


def test_dropping_vectors_drops_an_unfinished_embedding(counting: Counting, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)

    def interrupt(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index.update(folder, semantic=True, embedding_progress=interrupt)
    assert (index.path / "vectors-cache").is_dir()
    index.update(folder, semantic=False)
    assert not (index.path / "vectors-cache").exists() and vector_files(index) == []


def test_modes_and_how_each_hit_matched(counting: Counting, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    assert {hit.matched for hit in index.search("data contract")} == {"words"}
    with pytest.raises(podsearch.QueryError, match="--semantic"):
        index.search("data contract", mode="meaning")
    with pytest.raises(podsearch.QueryError, match="mode"):
        index.search("data contract", mode="vibes")

    index.update(folder, semantic=True)
    # by meaning only: no shared word, no highlight, and it says so
    meaning = index.search("changing careers from research", mode="meaning")
    best = meaning[0]
    assert (best.episode.id, best.paragraph) == ("s01e01", 0)
    assert best.matched == "meaning" and best.spans == () and best.snippet is not None
    assert best.snippet.spans == ()
    # hybrid is the default with vectors; words mode is as without them
    default = index.search("changing careers from research")
    assert [(h.episode.id, h.paragraph) for h in default] == [
        (h.episode.id, h.paragraph) for h in index.search("changing careers from research", mode="hybrid")
    ]
    assert index.search("changing careers from research", mode="words").hits == ()
    both = index.search("data contract producers", mode="hybrid")
    assert both[0].matched == "both" and both[0].spans
    words = index.search("data contract producers", mode="words")
    assert all(hit.matched == "words" for hit in words)


def test_a_quote_keeps_its_lexical_winner(counting: Counting, folder: Path, tmp_path: Path) -> None:
    write_episode(folder, "ep3", COOKING, title="Baking", season=1, number=3)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    quote = "a weighted sum of two scores"
    words = index.search(quote, mode="words")
    hybrid = index.search(quote, mode="hybrid")
    assert (hybrid[0].episode.id, hybrid[0].paragraph) == (words[0].episode.id, words[0].paragraph) == ("s01e03", 1)


def test_by_episode_uses_meaning(counting: Counting, folder: Path, tmp_path: Path) -> None:
    write_episode(folder, "ep3", COOKING, title="Baking", season=1, number=3)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    results = index.search("bakery and recipes", group_by="episode")
    assert results.groups[0].episode.id == "s01e03"
    assert results.groups[0].hits[0].matched in ("meaning", "both")


def test_mode_and_matched_through_the_command_line(counting: Counting, folder: Path, tmp_path: Path) -> None:
    from podsearch.cli.app import app

    runner = CliRunner()
    where = str(tmp_path / "index")
    built = runner.invoke(app, ["index", str(folder), "--index", where, "--semantic"])
    assert built.exit_code == 0, built.output
    found = runner.invoke(
        app, ["search", "changing careers from research", "--index", where, "--mode", "meaning", "--json"]
    )
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["matched"] == "meaning" and hits[0]["snippet_spans"] == []
    shown = runner.invoke(app, ["search", "changing careers from research", "--index", where, "--mode", "meaning"])
    assert "matched by meaning" in shown.stdout
    words = runner.invoke(app, ["search", "data contract", "--index", where, "--mode", "words", "--jsonl"])
    assert {json.loads(line)["matched"] for line in words.stdout.splitlines()} == {"words"}
    bad = runner.invoke(app, ["search", "data", "--index", where, "--mode", "vibes"])
    assert bad.exit_code == 2

    dropped = runner.invoke(app, ["index", "--index", where, "--no-semantic"])
    assert dropped.exit_code == 0, dropped.output
    assert list(Path(where).glob("*_vectors-*.vec")) == []
    refused = runner.invoke(app, ["search", "data", "--index", where, "--mode", "meaning"])
    assert refused.exit_code == 2 and "--semantic" in refused.stderr


def test_without_the_extra_an_index_with_vectors_is_searched_by_words(
    counting: Counting, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    expected = [(h.episode.id, h.paragraph, h.spans) for h in index.search("data contract", mode="words")]
    index.close()
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now fails, as without the extra
    plain = podsearch.Index(tmp_path / "index")
    results = plain.search("data contract")
    assert [(h.episode.id, h.paragraph, h.spans) for h in results] == expected
    assert {h.matched for h in results} == {"words"}
    plain.close()


def test_without_asking_nothing_is_embedded(counting: Counting, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    write_episode(folder, "ep3", COOKING, title="Baking", season=1, number=3)
    index.update(folder)
    assert counting.texts == [] and vector_files(index) == [] and not record_of(index).vectors
    assert not (index.path / "vectors-cache").exists()


def test_mode_and_matched_through_the_web_api_and_page(counting: Counting, folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from podsearch.web.app import create_app

    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    index.close()
    with TestClient(create_app(tmp_path / "index")) as client:
        answer = client.get("/api/search", params={"q": "changing careers from research", "mode": "meaning"})
        assert answer.status_code == 200
        hit = answer.json()["hits"][0]
        assert hit["matched"] == "meaning" and hit["snippet_spans"] == []
        page = client.get("/", params={"q": "changing careers from research", "mode": "meaning"})
        first = page.text.split('<li class="hit">')[1].split("</li>")[0]
        assert "by meaning" in first and "<mark>" not in first
        assert client.get("/api/search", params={"q": "data", "mode": "vibes"}).status_code == 400


def test_the_meaning_reorders_only_when_no_paragraph_holds_every_word(
    counting: Counting, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.query import hybrid

    write_episode(folder, "ep3", COOKING, title="Baking", season=1, number=3)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    monkeypatch.setattr(hybrid, "MEANING_WEIGHT", 100.0)  # the meaning decides wherever it takes part

    def keys(query: str, mode: str) -> list[tuple[str, int]]:
        return [(hit.episode.id, hit.paragraph) for hit in index.search(query, mode=mode)]

    # "bread" alone is in a paragraph, about baking; the query is about leaving research
    query = "quitting academia bread"
    assert keys(query, "words")[0] == ("s01e03", 0)
    assert keys(query, "hybrid")[0] == ("s01e01", 0)
    # a paragraph holds every word: the words' ranking stands though the meaning prefers another
    write_episode(folder, "ep4", GARDEN, title="Weekend", season=1, number=4)
    index.update(folder, semantic=True)
    query = "watering the garden in the sun"
    assert keys(query, "meaning")[0] == ("s01e04", 1)
    words, both = keys(query, "words"), keys(query, "hybrid")
    assert words[0] == both[0] == ("s01e04", 0)
    assert [key for key in both if key in words] == words
