"""numpy against ONNX Runtime (float32 and int8 queries): relevance of hybrid search, query embedding and latency.

One run, for one seed, on the corpus indexes of bench_semantic.py (built under ``--cache`` from the
vector cache, so nothing is re-embedded when the cache holds the corpus):

- hybrid relevance (S@1, S@10, MRR@10) with each query's vector made by numpy, by ONNX Runtime in
  float32 and by ONNX Runtime in int8, against the same stored (numpy) vectors, and words alone;
- query embedding p50 of the three, interleaved query by query so that all see the same load;
- search latency p50, words and hybrid, with the numpy encoder and with the ONNX Runtime one
  (interleaved), and the model's load time (first search) both ways, with the ONNX graph cached
  and without it (a fresh subprocess each).

Needs the ``semantic-fast`` extra and a model.

    .venv/bin/python benchmarks/bench_runtime.py --seed 1 --cache /tmp/ps-T
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bench_semantic as B
import numpy as np
import relevance as R

import podsearch
from podsearch.embedding import runtime
from podsearch.embedding.encoder import Encoder
from podsearch.embedding.onnx_graph import build_graph
from podsearch.embedding.passages import episode_passages

LOAD_CODE = (
    "import time; t = time.perf_counter()\n"
    "from podsearch.embedding.encoder import Encoder\n"
    "e = Encoder.load(); e.fingerprint; e.query('career transitions')\n"
    "peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0]\n"
    "print(time.perf_counter() - t, int(peak) / 1024)\n"
)


def load_encoder(name: str) -> Encoder:
    """The encoder of runtime ``name`` (``numpy`` or ``onnx``)."""
    previous = os.environ.get(runtime.RUNTIME_VAR)
    os.environ[runtime.RUNTIME_VAR] = name
    try:
        return Encoder.load()
    finally:
        if previous is None:
            del os.environ[runtime.RUNTIME_VAR]
        else:
            os.environ[runtime.RUNTIME_VAR] = previous


def hybrid_with(index: podsearch.Index, encoder: Any, vectors: dict[str, Any], queries: list[Any], label: str) -> Any:
    """Hybrid relevance with the queries' vectors given beforehand."""
    index._encoder = B.Precomputed(encoder, vectors)
    errors: list[str] = []
    try:
        return R.evaluate(label, B.searcher(index, "hybrid", errors), queries, errors)
    finally:
        index._encoder = None


def embed_one(encoder: Encoder, network: runtime.OnnxNetwork, text: str) -> Any:
    """One query's vector by ``network``."""
    ids = encoder.tokens(text)
    return network.embed(np.array([ids], dtype=np.int64), np.array([len(ids)], dtype=np.int64))[0]


def documents(encoders: dict[str, Encoder], folder: Path, count: int, seed: int) -> None:
    """Texts per second embedding ``count`` random episodes as an index update does, with numpy and with
    ONNX Runtime in float32 (two batches at once on one thread each, and one batch on two threads),
    alternating episode by episode; and the corpus's time projected from each rate."""
    episodes = [e for e in podsearch.read_folder(folder) if isinstance(e, podsearch.Episode)]
    total = sum(len(episode_passages(e)[1]) for e in episodes)
    onnx = encoders["onnx"]
    float32 = onnx.network.graphs.network("float32")  # type: ignore[attr-defined]
    graph = float32.path.read_bytes() if float32.path else build_graph(encoders["numpy"].network)  # type: ignore[arg-type]
    wide = dataclasses.replace(onnx, network=runtime.OnnxNetwork(graph, onnx.dimensions, "float32", None, threads=2))
    runs: dict[str, Callable[[list[str]], Any]] = {
        "numpy, 2 batches at once": encoders["numpy"].encode,
        "onnx float32, 2 batches at once on 1 thread each": onnx.encode,
        "onnx float32, 1 batch on 2 threads": functools.partial(wide.encode, threads=1),
    }
    seconds = dict.fromkeys(runs, 0.0)
    texts = 0
    for episode in random.Random(seed).sample(episodes, count):
        passages = episode_passages(episode)[1]
        texts += len(passages)
        for label, run in runs.items():
            seconds[label] += timed(run, passages) / 1000
    print(f"\ndocuments: {count} episodes, {texts} texts, alternating (load {os.getloadavg()[0]:.1f}):")
    for label, spent in seconds.items():
        print(
            f"  {label:50} {texts / spent:6.1f} texts/s -> corpus ({total:,} texts) ~{total / (texts / spent) / 60:.1f} min"
        )


def p50(values: Sequence[float]) -> float:
    return B.percentile(values, 0.5)


def timed(function: Callable[..., Any], *arguments: Any, **options: Any) -> float:
    """Milliseconds of one call."""
    began = time.perf_counter()
    function(*arguments, **options)
    return 1000 * (time.perf_counter() - began)


def load_seconds(runtime_name: str, cache: str) -> tuple[float, float]:
    """Seconds to load the model and embed a first query, in a fresh process, and its peak memory (MB)."""
    env = os.environ | {runtime.RUNTIME_VAR: runtime_name, runtime.CACHE_VAR: cache}
    done = subprocess.run([sys.executable, "-c", LOAD_CODE], env=env, capture_output=True, text=True, check=True)
    seconds, megabytes = done.stdout.split()
    return float(seconds), float(megabytes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=300, help="queries per set (default: 300)")
    parser.add_argument("--cache", default="/tmp/podsearch-semantic", help="where the indexes are kept between runs")
    parser.add_argument("--vectors-cache", default=str(B.DEFAULT_NOTES_CACHE))
    parser.add_argument(
        "--keep-float32",
        default="layer0,down",
        help="int8 query graphs to compare too, each with these linear layers in float32 (comma-separated; "
        "'+' joins several in one graph; see onnx_graph.build_graph)",
    )
    parser.add_argument("--documents", type=int, default=0, help="episodes embedded per runtime (default: 0, none)")
    parser.add_argument("--latency", type=int, default=200, help="queries timed (default: 200)")
    args = parser.parse_args(argv)
    reproduce = (
        f"python benchmarks/bench_runtime.py --seed {args.seed} --limit {args.limit} --cache {args.cache} "
        f"--keep-float32 '{args.keep_float32}' --documents {args.documents}"
    )
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    if not runtime.available():
        print("ONNX Runtime is not installed (pip install -e '.[semantic-fast]'): nothing to compare.")
        return 0
    began = time.perf_counter()
    work = Path(args.cache)
    notes = Path(args.vectors_cache) if args.vectors_cache else None
    _, _, indexes, sets = B.indexes_and_sets(folder, work, args.limit, args.seed)
    for name, index in indexes.items():
        B.with_vectors(index, notes, name)

    encoders = {"numpy": load_encoder("numpy"), "onnx": load_encoder("onnx")}
    print(f"# runtimes: {', '.join(e.runtime for e in encoders.values())}")
    makers: dict[str, Callable[[str], Any]] = {
        "numpy": encoders["numpy"].query,
        "onnx float32": lambda text: encoders["onnx"].encode([text])[0],
        "onnx int8": encoders["onnx"].query,
    }
    bert = encoders["numpy"].network
    for keep in filter(None, args.keep_float32.split(",")):
        graph = build_graph(bert, int8=True, keep_float32=keep.split("+"))
        network = runtime.OnnxNetwork(graph, bert.dimensions, "int8", None)
        makers[f"int8 but {keep}"] = functools.partial(embed_one, encoders["numpy"], network)
    texts = sorted({q.text[:2000] for queries in sets.values() for q in queries})
    vectors = {label: {text: make(text) for text in texts} for label, make in makers.items()}
    for label in list(makers)[1:]:
        cosines = [float(vectors[label][t] @ vectors["numpy"][t]) for t in texts]
        print(
            f"# {label} vs numpy over {len(texts)} queries: cosine min {min(cosines):.5f}, "
            f"p1 {B.percentile(cosines, 0.01):.5f}, median {p50(cosines):.5f}"
        )

    results: dict[str, list[R.Outcome]] = {}
    for name, queries in sets.items():
        index = indexes["headerless" if name in B.HEADERLESS else "full"]
        errors: list[str] = []
        outcomes = [R.evaluate("podsearch words", B.searcher(index, "words", errors), queries, errors)]
        for label in makers:
            outcomes.append(hybrid_with(index, encoders["numpy"], vectors[label], queries, f"hybrid {label}"))
        results[name] = outcomes
        R.log(f"{name}: done")
    print()
    R.print_table(results, {name: len(qs) for name, qs in sets.items()})
    print("\nhybrid minus words, by query runtime (ΔMRR@10; ΔS@10):")
    for name, outcomes in results.items():
        words = outcomes[0]
        cells = [
            f"{o.system.removeprefix('hybrid '):16} {o.mrr - words.mrr:+.3f}; {o.success(10) - words.success(10):+.3f}"
            for o in outcomes[1:]
        ]
        print(f"  {name:10} " + "   ".join(cells))

    # --- query embedding, interleaved
    timing = texts.copy()
    random.Random(args.seed).shuffle(timing)
    timing = timing[: args.latency]
    ms: dict[str, list[float]] = {label: [] for label in makers}
    for text in timing[:10]:
        for make in makers.values():
            make(text)
    for text in timing:
        for label, make in makers.items():
            for encoder in encoders.values():
                encoder._queries.clear()  # time the model, not the encoder's kept query vectors
            ms[label].append(timed(make, text))
    print(
        f"\nquery embedding p50 ({len(timing)} queries, interleaved, load {os.getloadavg()[0]:.1f}): "
        + ", ".join(f"{label} {p50(values):.2f} ms" for label, values in ms.items())
    )

    # --- search latency: words and hybrid, with each encoder (query vectors not kept between searches)
    index = indexes["full"]
    search_ms: dict[str, list[float]] = {"words": [], "hybrid numpy": [], "hybrid onnx": []}
    for text in timing[:10]:  # warm: the table in memory, each encoder's fingerprint
        for encoder in encoders.values():
            index._encoder = encoder
            index.search(text, limit=10, mode="hybrid")
    for text in timing:
        search_ms["words"].append(timed(index.search, text, limit=10, mode="words"))
        for name, encoder in encoders.items():
            encoder._queries.clear()
            index._encoder = encoder
            search_ms[f"hybrid {name}"].append(timed(index.search, text, limit=10, mode="hybrid"))
    index._encoder = None
    words = p50(search_ms["words"])
    print(
        f"search latency p50 on the corpus ({len(timing)} queries, interleaved, load {os.getloadavg()[0]:.1f}): "
        f"words {words:.1f} ms; "
        + "; ".join(
            f"{label} {p50(v):.1f} ms (+{p50(v) - words:.1f})" for label, v in search_ms.items() if label != "words"
        )
    )

    if args.documents:
        documents(encoders, folder, args.documents, args.seed)

    # --- loading the model (first search), fresh processes
    with tempfile.TemporaryDirectory(prefix="podsearch-graphs-") as empty:
        loads = {
            "numpy": [load_seconds("numpy", empty) for _ in range(3)],
            "onnx, graph built": [],
            "onnx, graph cached": [],
        }
        for _ in range(3):
            for path in Path(empty).glob("*.onnx"):
                path.unlink()
            loads["onnx, graph built"].append(load_seconds("onnx", empty))
            loads["onnx, graph cached"].append(load_seconds("onnx", empty))
    print(
        f"model load + first query embedding (median of 3 fresh processes, load {os.getloadavg()[0]:.1f}): "
        + ", ".join(f"{label} {sorted(v)[1][0]:.2f} s (peak {sorted(v)[1][1]:.0f} MB)" for label, v in loads.items())
    )
    for idx in indexes.values():
        idx.close()
    print(f"\n# {time.perf_counter() - began:.0f} s in all; reproduce: {reproduce}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
