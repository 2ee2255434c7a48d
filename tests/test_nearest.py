"""The nearest-neighbour graph of a large vector table (podsearch/index/nearest.py, the ``semantic-scale`` extra).

Unit tests on synthetic clustered vectors (the graph finds what exact search finds, keys stay
stable, a commit with a few changed episodes updates the previous graph), then through the
library with a stand-in model (word-hash vectors: fast and deterministic) and the graph's
threshold lowered, so that a handful of episodes get a graph: written in the commit, named in its
record, checked, reused by the next update, and giving the same hits as exact search, filters
included. Skipped without numpy or usearch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.cli import exits
from podsearch.index.commits import decode
from tests.cli_support import invoke
from tests.factory import write_episode

np = pytest.importorskip("numpy")
pytest.importorskip("usearch")

from podsearch.embedding import Encoder  # noqa: E402
from podsearch.index import nearest, vectors  # noqa: E402


def clustered(rows: int, dimensions: int = 32, seed: int = 0) -> Any:
    """Unit vectors around 40 centres: neighbours as close as a corpus's, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dimensions)).astype(np.float32)
    points = centres[rng.integers(40, size=rows)] + 0.4 * rng.standard_normal((rows, dimensions)).astype(np.float32)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float16)


def episode_layout(rows_per_episode: Sequence[int]) -> tuple[list[tuple[str, int, int]], Any]:
    episodes, numbers, start = [], [], 0
    for position, count in enumerate(rows_per_episode):
        episodes.append((f"ep{position}", start, count))
        numbers.extend(range(-1, count - 1))
        start += count
    return episodes, np.array(numbers, dtype=np.int32)


def test_row_keys_are_unique_and_refuse_what_they_cannot_key() -> None:
    episodes, numbers = episode_layout([3, 5, 2])
    keys = nearest.row_keys(episodes, numbers)
    assert keys is not None and len(set(keys.tolist())) == 10
    # the same episode and paragraph has the same key in any table (the graph survives re-layouts)
    moved = nearest.row_keys([("ep1", 0, 5)], numbers[3:8])
    assert moved is not None and moved.tolist() == keys[3:8].tolist()
    assert nearest.row_keys([("a", 0, 2), ("a", 2, 2)], np.array([0, 1, 0, 1])) is None  # two rows, one key
    assert nearest.row_keys([("a", 0, 1)], np.array([1 << 30])) is None


def test_the_graph_finds_what_exact_search_finds(tmp_path: Path) -> None:
    matrix = clustered(3000)
    episodes, numbers = episode_layout([100] * 30)
    keys = nearest.row_keys(episodes, numbers)
    assert keys is not None
    nearest.write_graph(tmp_path / "g.ann", matrix, keys, None)
    graph = nearest.open_graph(tmp_path / "g.ann", keys)
    assert graph is not None
    dense = matrix.astype(np.float32)
    recalls = []
    for row in range(0, 3000, 150):
        query = dense[row] + 0.1
        query /= np.linalg.norm(query)
        exact = set(np.argsort(-(dense @ query))[:10].tolist())
        found = graph.nearest(query, 10)
        recalls.append(len(exact & set(found.tolist())) / 10)
    assert np.mean(recalls) >= 0.95


def test_a_commit_with_one_changed_episode_updates_the_previous_graph(tmp_path: Path) -> None:
    matrix = clustered(2000)
    episodes, numbers = episode_layout([100] * 20)
    keys = nearest.row_keys(episodes, numbers)
    assert keys is not None
    nearest.write_graph(tmp_path / "old.ann", matrix, keys, None)
    # the next table: episode 0 gone, episode 5 changed (new vectors, same keys), a new episode at the end
    fresh = clustered(100, seed=7)
    new_matrix = np.concatenate([matrix[100:500], fresh, matrix[600:], clustered(50, seed=8)])
    new_episodes, new_numbers = episode_layout([100] * 19 + [50])
    new_episodes = [(f"ep{position + 1}", start, count) for position, (_, start, count) in enumerate(new_episodes)]
    new_keys = nearest.row_keys(new_episodes, new_numbers)
    assert new_keys is not None
    unchanged = np.ones(2000, dtype=bool)
    unchanged[500:600] = False
    nearest.write_graph(tmp_path / "new.ann", new_matrix, new_keys, (tmp_path / "old.ann", keys, unchanged))
    graph = nearest.open_graph(tmp_path / "new.ann", new_keys)
    assert graph is not None and len(graph.index) == 1950
    # each changed or added row is found by its new vector, at its new row
    for row in [400, 450, 499, 1900, 1949]:
        assert graph.nearest(new_matrix[row].astype(np.float32), 1).tolist() == [row]
    assert not graph.index.contains(int(keys[0]))  # the removed episode's rows are gone
    with pytest.raises(podsearch.IndexDamagedError):
        nearest.open_graph(tmp_path / "new.ann", new_keys[:-1])  # a graph of another table


# --- through the library -----------------------------------------------------------------------------


class WordHashModel:
    """A stand-in for the encoder: each word a fixed random direction, a text the sum of its words'."""

    fingerprint = "word-hash-model"
    dimensions = 48
    max_tokens = 256

    def encode(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        return np.stack([self.query(text) for text in texts]) if texts else np.zeros((0, 48), np.float32)

    def query(self, text: str) -> Any:
        total = np.full(self.dimensions, 1e-3, dtype=np.float32)
        for word in text.lower().split():
            seed = int.from_bytes(hashlib.sha256(word.strip(".,:").encode()).digest()[:4], "little")
            total += np.random.default_rng(seed).standard_normal(self.dimensions).astype(np.float32)
        return total / np.linalg.norm(total)


TOPICS = [
    "I moved from academia into a startup job as an engineer.",
    "Data contracts tell producers what consumers expect from a table.",
    "Monitoring models in production catches drift early.",
    "Baking sourdough bread needs a lively starter and patience.",
    "Hiring junior data scientists means teaching them to ask questions.",
]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> WordHashModel:
    stand_in = WordHashModel()
    monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, source=None: stand_in))
    monkeypatch.setattr(nearest, "MIN_ROWS", 10)
    return stand_in


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    eps = tmp_path / "episodes"
    eps.mkdir()
    for number in range(1, 7):
        items = [("Guest", 10 * k, TOPICS[(number + k) % len(TOPICS)]) for k in range(4)]
        write_episode(eps, f"ep{number}", items, title=f"Episode {number}", season=1 + number % 2, number=number)
    return eps


def record_of(index: podsearch.Index) -> Any:
    records = sorted(index.path.glob("_*.commit"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return decode(records[-1].read_bytes())


def hits(index: podsearch.Index, query: str, **filters: Any) -> list[tuple[str, int]]:
    return [(hit.episode.id, hit.paragraph) for hit in index.search(query, mode="meaning", limit=20, **filters)]


def test_a_large_table_gets_a_graph_in_its_commit(model: WordHashModel, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    record = record_of(index)
    graph = record.vectors["graph"]
    assert graph.endswith(".ann") and graph in record.files and (index.path / graph).is_file()
    assert index.verify().ok
    about_contracts = {(f"s0{1 + n % 2}e0{n}", k) for n in range(1, 7) for k in range(4) if (n + k) % len(TOPICS) == 1}
    assert set(hits(index, "data contracts producers consumers")[: len(about_contracts)]) == about_contracts
    filtered = hits(index, "data contracts producers", season=2)
    assert filtered and all(eid in {"s02e01", "s02e03", "s02e05"} for eid, _ in filtered)

    # a damaged graph is found by the check and repaired by a rebuild
    data = bytearray((index.path / graph).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (index.path / graph).write_bytes(bytes(data))
    report = index.verify()
    assert not report.ok and any(graph in line for line in report.damaged)
    index.update(folder, rebuild=True)
    assert index.verify().ok


def test_graph_and_exact_search_agree(model: WordHashModel, folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    record = record_of(index)
    table = vectors.open_table(index.path, record)
    assert table is not None and table.graph is not None
    exact_table = vectors.VectorTable.open(index.path / record.vectors["file"])
    everyone = len(table.numbers)
    for query in ["startup engineer", "sourdough starter", "junior data scientists questions"]:
        vector = model.query(query)
        by_graph, exact = table.search(vector, 8), exact_table.search(vector, 8)
        assert sorted(by_graph.rows.tolist()) == sorted(exact.rows.tolist())
        assert all(abs(by_graph[row] - exact[row]) < 1e-3 for row in exact.rows)
        # a filter that allows few rows: only those, the best of them
        allowed = np.zeros(everyone, dtype=bool)
        allowed[::3] = True
        by_graph, exact = table.search(vector, 4, allowed), exact_table.search(vector, 4, allowed)
        assert allowed[by_graph.rows].all() and sorted(by_graph.rows.tolist()) == sorted(exact.rows.tolist())
        # exact search over a selective filter's rows only: the best of them, with their cosines
        sparse = np.zeros(everyone, dtype=bool)
        sparse[::5] = True
        found = exact_table.search(vector, 3, sparse)
        brute = np.flatnonzero(sparse)[np.argsort(-(exact_table.dense()[sparse] @ vector))[:3]]
        assert sorted(found.rows.tolist()) == sorted(brute.tolist())
        assert all(abs(found[row] - float(exact_table.dense()[row] @ vector)) < 1e-5 for row in brute)


def test_a_selective_filter_through_the_graph_still_fills_the_page(
    model: WordHashModel, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    monkeypatch.setattr(vectors, "EXACT_ROWS", 0)  # always ask the graph, then drop what the filter refuses
    table = vectors.open_table(index.path, record_of(index))
    assert table is not None and table.graph is not None
    allowed = np.zeros(len(table.numbers), dtype=bool)
    allowed[-5:] = True
    found = table.search(model.query("startup engineer"), 5, allowed)
    assert sorted(found.rows.tolist()) == list(range(len(table.numbers) - 5, len(table.numbers)))


def test_the_next_update_reuses_the_graph_and_removes_the_old_one(
    model: WordHashModel, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    first = record_of(index).vectors["graph"]
    restored: list[bool] = []
    original = nearest.write_graph

    def spy(path: Path, matrix: Any, keys: Any, previous: Any, threads: int = 0) -> None:
        restored.append(previous is not None)
        original(path, matrix, keys, previous, threads)

    monkeypatch.setattr(nearest, "write_graph", spy)
    write_episode(folder, "ep9", [("Guest", 5, "Sourdough starter and rye flour.")], title="Bread", number=9)
    index.update(folder)
    record = record_of(index)
    assert restored == [True] and record.vectors["graph"] != first
    assert not (index.path / first).exists() and sorted(p.name for p in index.path.glob("*.ann")) == [
        record.vectors["graph"]
    ]
    assert ("s01e09", 0) in hits(index, "sourdough starter rye flour")[:3]

    index.update(folder, semantic=False)  # dropping vectors drops the graph
    assert not list(index.path.glob("*.ann")) and not record_of(index).vectors


def test_below_the_threshold_or_without_usearch_search_is_exact(
    model: WordHashModel, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nearest, "MIN_ROWS", 10_000)
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    assert "graph" not in record_of(index).vectors and not list(index.path.glob("*.ann"))
    monkeypatch.setattr(nearest, "MIN_ROWS", 10)
    monkeypatch.setattr(nearest, "available", lambda: False)
    index.update(folder, rebuild=True)
    assert "graph" not in record_of(index).vectors
    assert hits(index, "startup engineer")


def test_a_graph_damaged_in_place_is_refused_before_usearch_maps_it(
    model: WordHashModel, folder: Path, tmp_path: Path
) -> None:
    """Same size, other bytes: usearch would follow the damaged links (a segmentation fault, seen on
    random flips); the graph is checked against its recorded CRC-32 on first use instead."""
    where = tmp_path / "index"
    podsearch.Index(where).update(folder, semantic=True)
    graph = where / record_of(podsearch.Index(where)).vectors["graph"]
    data = bytearray(graph.read_bytes())
    for position in range(len(data) // 3, len(data), len(data) // 7):
        data[position] ^= 0xFF
    graph.write_bytes(bytes(data))

    with podsearch.Index(where) as index:
        assert index.search("data contracts", mode="words")  # a words search does not read the graph
        with pytest.raises(podsearch.IndexDamagedError, match=rf"{graph.name}.*podsearch index --rebuild"):
            index.search("data contracts producers", mode="meaning")
    code, out, err = invoke("search", "data contracts producers", "--index", str(where), "--mode", "hybrid")
    assert (code, out) == (exits.EXIT_DAMAGED, "")
    assert graph.name in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

    podsearch.Index(where).update(folder, rebuild=True)
    with podsearch.Index(where) as index:
        assert hits(index, "data contracts producers")


SEARCH_IN_A_FRESH_PROCESS = """
import sys
import podsearch
with podsearch.Index(sys.argv[1]) as index:
    index.search("data contracts", mode="words")
    print("usearch after words:", "usearch" in sys.modules)
    hits = index.search("data contracts producers", mode="hybrid")
    print("hits:", len(hits.hits), "runtime:", index._encoder.runtime)
"""


def test_a_words_search_leaves_usearch_unloaded_and_meaning_loads_the_model_first(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """usearch is imported when the graph is first used, after the model: imported before it, it makes
    onnxruntime's import crash, and a words search has no use for its 0.2 s import."""
    try:
        Encoder.load()
    except podsearch.PodsearchError as error:
        pytest.skip(f"no embedding model: {error}")
    monkeypatch.setattr(nearest, "MIN_ROWS", 10)
    where = tmp_path / "index"
    podsearch.Index(where).update(folder, semantic=True)
    assert record_of(podsearch.Index(where)).vectors.get("graph")
    shown = subprocess.run(
        [sys.executable, "-c", SEARCH_IN_A_FRESH_PROCESS, str(where)], capture_output=True, text=True, check=True
    ).stdout
    assert "usearch after words: False" in shown
    hits, runtime = shown.split("hits: ")[1].split(" runtime: ")
    assert int(hits) > 0
    onnx = importlib.util.find_spec("onnxruntime") is not None and os.environ.get("PODSEARCH_RUNTIME") != "numpy"
    assert runtime.strip().startswith("onnx" if onnx else "numpy")
