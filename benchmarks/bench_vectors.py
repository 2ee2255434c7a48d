"""Vector search at 1× and N× the corpus: exact search against the HNSW graph (``semantic-scale`` extra).

The corpus's own paragraph vectors (from an index folder with vectors, or a folder of per-episode
``.npy`` files such as bench_semantic.py's cache) are the 1× table; the N× table adds N−1
noise-perturbed copies of every row (Gaussian noise of ``--noise`` per dimension, renormalised),
so that neighbours are as dense as a bigger archive's on the same topics, not uniform noise. The
queries are real texts (section headers of the corpus and a few typed topics) embedded by the
model. For each size this writes the table as podsearch stores it (a float16 vector file) and
times the library's own search (:meth:`podsearch.index.vectors.VectorTable.search`, 50 rows as a
hybrid query asks): exact (float32 copy in memory) and, for the tables at or past the graph's
threshold or with ``--graph-everywhere``, through the graph (built as a commit builds it; build
time, file size, recall@10 and @50 against exact, a filtered search). Memory is the process's
resident size after each step.

With ``--index`` (an index with vectors, e.g. bench_semantic.py's ``/tmp/podsearch-semantic/index-full``)
it first times words against hybrid search on the corpus, query by query.

    .venv/bin/python benchmarks/bench_vectors.py [--sizes 1,4,20] [--queries 200] [--index PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import podsearch  # noqa: E402
from podsearch.embedding import Encoder  # noqa: E402
from podsearch.index import nearest, vectors  # noqa: E402
from podsearch.model import Episode  # noqa: E402
from podsearch.query.tuning import MEANING_CANDIDATES  # noqa: E402

CORPUS = Path(os.environ.get("PODSEARCH_CORPUS") or ROOT.parent / "shared" / "corpus") / "datatalks" / "podcast"
NOTES_CACHE = Path("/work/notes/vectors-cache")
TYPED = ["career transitions", "open-source contribution", "RAG", "feature store", "imposter syndrome"]


def load_rows(source: Path) -> np.ndarray:
    """The corpus's vectors (float16): an index folder's newest vector file, or a folder of ``.npy`` files."""
    files = sorted(source.glob("*_vectors-*.vec"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if files:
        return np.asarray(vectors.VectorTable.open(files[-1]).matrix)
    parts = [np.load(path) for path in sorted(source.glob("*.npy"))]
    if not parts:
        sys.exit(f"no vectors in {source} (give an index folder with vectors or a folder of .npy files)")
    return np.concatenate(parts).astype(np.float16)


def scaled(base: np.ndarray, times: int, noise: float, seed: int) -> np.ndarray:
    """``base`` and ``times - 1`` perturbed copies, renormalised, float16."""
    rng = np.random.default_rng(seed)
    blocks = [base]
    for _ in range(times - 1):
        block = base.astype(np.float32) + rng.standard_normal(base.shape, dtype=np.float32) * noise
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        blocks.append(block.astype(np.float16))
    return np.concatenate(blocks)


def write_table(folder: Path, matrix: np.ndarray, per_episode: int = 140) -> vectors.VectorTable:
    """The matrix as podsearch stores it (episodes of ``per_episode`` rows), memory-mapped."""
    episodes = []
    for number, start in enumerate(range(0, len(matrix), per_episode)):
        rows = matrix[start : start + per_episode]
        episodes.append((f"e{number}", "sha", f"k{number}", list(range(-1, len(rows) - 1)), rows))
    path = folder / vectors.file_name(len(matrix))
    path.write_bytes(vectors._encode("bench", matrix.shape[1], episodes))
    return vectors.VectorTable.open(path)


def query_texts(count: int, seed: int) -> list[str]:
    """A few typed topics and the corpus's section headers (what people ask about)."""
    headers = sorted(
        {
            turn.section
            for episode in podsearch.read_folder(CORPUS)
            if isinstance(episode, Episode)
            for turn in episode.turns
            if turn.section
        }
    )
    return TYPED + random.Random(seed).sample(headers, min(count - len(TYPED), len(headers)))


def rss_mb() -> float:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def timed(table: vectors.VectorTable, qs: np.ndarray, allowed: np.ndarray | None) -> tuple[list[float], list[set[int]]]:
    times, found = [], []
    for query in qs:
        began = time.perf_counter()
        result = table.search(query, MEANING_CANDIDATES, allowed)
        times.append(1000 * (time.perf_counter() - began))
        found.append({int(row) for row in result.rows})
    return times, found


def ranked(table: vectors.VectorTable, qs: np.ndarray, count: int) -> list[list[int]]:
    dense = table.dense()
    return [np.argsort(-(dense @ q))[:count].tolist() for q in qs]


def corpus_latency(path: Path, texts: list[str]) -> None:
    """Words against hybrid search on a real index with vectors, interleaved query by query (same load)."""
    index = podsearch.Index(path)
    for text in texts[:20]:  # warm: the model, the table, the caches
        index.search(text, limit=10, mode="hybrid")
    words, both = [], []
    for text in texts:
        began = time.perf_counter()
        index.search(text, limit=10, mode="words")
        words.append(1000 * (time.perf_counter() - began))
        began = time.perf_counter()
        index.search(text + " ", limit=10, mode="hybrid")  # a new text each time: the query cache does not answer
        both.append(1000 * (time.perf_counter() - began))
    index.close()
    words_p50, both_p50 = statistics.median(words), statistics.median(both)
    print(
        f"\non the corpus ({path}, {len(texts)} queries, load {os.getloadavg()[0]:.1f}): words p50 {words_p50:.1f} ms, "
        f"hybrid p50 {both_p50:.1f} ms: +{both_p50 - words_p50:.1f} ms (target <= +10)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", default=str(NOTES_CACHE), help="index folder with vectors, or folder of .npy")
    parser.add_argument("--sizes", default="1,20", help="table sizes in times the corpus (default 1,20)")
    parser.add_argument("--noise", type=float, default=0.05, help="per-dimension noise of the copies (default 0.05)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--graph-everywhere", action="store_true", help="also build a graph below the threshold")
    parser.add_argument("--ef", default=str(nearest.EXPANSION_SEARCH), help="graph search widths to compare")
    parser.add_argument("--index", help="also time words against hybrid search on this index (with vectors)")
    args = parser.parse_args()
    command = (
        f".venv/bin/python benchmarks/bench_vectors.py --sizes {args.sizes} --noise {args.noise} "
        f"--queries {args.queries} --seed {args.seed} --ef {args.ef}"
        + (" --graph-everywhere" if args.graph_everywhere else "")
        + (f" --index {args.index}" if args.index else "")
    )
    base = load_rows(Path(args.vectors))
    texts = query_texts(args.queries, args.seed)
    qs = np.stack([Encoder.load().query(text) for text in texts])
    if args.index:
        corpus_latency(Path(args.index), texts)
    print(f"corpus: {len(base):,} vectors of {base.shape[1]}; {len(qs)} queries; graph threshold {nearest.MIN_ROWS:,}")
    print(f"graph: usearch {'installed' if nearest.available() else 'NOT installed'}, f16, M={nearest.CONNECTIVITY}, ")
    print(f"  ef_construction={nearest.EXPANSION_ADD}, ef_search={nearest.EXPANSION_SEARCH}")
    with tempfile.TemporaryDirectory(prefix="podsearch-bench-vectors-") as temporary:
        folder = Path(temporary)
        for times in [int(size) for size in args.sizes.split(",")]:
            matrix = scaled(base, times, args.noise, args.seed)
            table = write_table(folder, matrix)
            del matrix
            rows = len(table.numbers)
            file_mb = os.path.getsize(table.path) / 1e6
            before = rss_mb()
            table.search(qs[0], MEANING_CANDIDATES)  # makes the float32 copy
            exact_ms, exact_found = timed(table, qs, None)
            selective = np.zeros(rows, dtype=bool)
            selective[: rows // 20] = True  # a filter allowing 5 % of the rows (one season of twenty)
            exact_filtered_ms, _ = timed(table, qs, selective)
            dense_mb = rss_mb() - before
            print(
                f"\n{times}x: {rows:,} vectors, vector file {file_mb:.0f} MB (float16, memory-mapped); "
                f"load {os.getloadavg()[0]:.1f}"
            )
            print(
                f"  exact:  p50 {statistics.median(exact_ms):.2f} ms, p95 {np.percentile(exact_ms, 95):.2f}; "
                f"filtered to 5 % p50 {statistics.median(exact_filtered_ms):.2f} ms; "
                f"float32 copy {table.dense().nbytes / 1e6:.0f} MB (RSS +{dense_mb:.0f} MB)"
            )
            if not nearest.available() or (rows < nearest.MIN_ROWS and not args.graph_everywhere):
                continue
            truth = ranked(table, qs, 50)
            del table._dense
            table._dense = None
            keys = nearest.row_keys(table.episode_rows(), table.numbers)
            assert keys is not None
            graph_path = folder / nearest.file_name(rows)
            began = time.perf_counter()
            load_before = os.getloadavg()[0]
            nearest.write_graph(graph_path, table.matrix, keys, None)
            build_s = time.perf_counter() - began
            before = rss_mb()
            table.graph = nearest.open_graph(graph_path, keys)
            print(
                f"  graph:  built in {build_s:.0f} s (load {load_before:.1f}); file "
                f"{os.path.getsize(graph_path) / 1e6:.0f} MB (memory-mapped)"
            )
            for ef in [int(value) for value in args.ef.split(",")]:
                table.graph.index.expansion_search = ef
                graph_ms, graph_found = timed(table, qs, None)
                graph_filtered_ms, _ = timed(table, qs, selective)
                # the ten best of the fifty by their exact cosine (what the fusion sees) against exact search's ten
                ten = []
                for query, exact, found in zip(qs, truth, graph_found, strict=True):
                    rows_found = np.array(sorted(found))
                    scores = np.asarray(table.matrix[rows_found], dtype=np.float32) @ query
                    ten.append(len(set(exact[:10]) & set(rows_found[np.argsort(-scores)[:10]].tolist())) / 10)
                fifty = [len(set(t) & f) / 50 for t, f in zip(truth, graph_found, strict=True)]
                print(
                    f"    ef_search {ef}: p50 {statistics.median(graph_ms):.2f} ms, "
                    f"p95 {np.percentile(graph_ms, 95):.2f}; filtered to 5 % p50 "
                    f"{statistics.median(graph_filtered_ms):.2f} ms; recall@10 {np.mean(ten):.3f}, recall@50 "
                    f"{np.mean(fifty):.3f} (vs exact); RSS +{rss_mb() - before:.0f} MB; load {os.getloadavg()[0]:.1f}"
                )
            del exact_found
            # a nightly run: one new episode (140 rows) added to the previous graph, as a commit does it
            new_keys = np.concatenate([keys, keys[:140] ^ np.uint64(1 << 63)])
            new_rows = np.concatenate([np.asarray(table.matrix), np.asarray(table.matrix[:140])])
            began = time.perf_counter()
            nearest.write_graph(
                folder / "next.ann", new_rows, new_keys, (graph_path, keys, np.ones(len(keys), dtype=bool))
            )
            print(f"  graph updated with one new episode (140 rows) in {time.perf_counter() - began:.1f} s")
            del new_rows
            (folder / "next.ann").unlink()
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; rerun: {command}")


if __name__ == "__main__":
    main()
