"""Throughput of threads sharing one ``podsearch.Index``, against one thread.

Runs the same mixed queries (the latency benchmark's sets: quotes, partial
quotes, typos, topics, titles, short queries) with 1, 2, 4 and 8 threads
searching one shared ``Index``, and prints queries per second, the median
latency of a search and the throughput relative to one thread. For
comparison it also runs the other design an application could pick: one
``Index`` (its own open generation and caches) per thread.

Run from the repository root::

    .venv/bin/python benchmarks/bench_threads.py                          # builds the corpus index
    .venv/bin/python benchmarks/bench_threads.py --cache /tmp/psbench     # reuse relevance.py's index
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import queries as Q
from latency import mixed_queries
from relevance import podsearch_index, start

import podsearch


def run(indexes: Sequence[podsearch.Index], texts: list[str], rounds: int) -> tuple[float, float]:
    """``len(indexes)`` threads (thread i searches ``indexes[i]``) sharing the queries: (queries/s, median ms)."""
    threads = len(indexes)
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def worker(number: int) -> None:
        mine = [text for position, text in enumerate(texts * rounds) if position % threads == number]
        own: list[float] = []
        barrier.wait()
        for text in mine:
            began = time.perf_counter()
            try:
                indexes[number].search(text, limit=10)
            except podsearch.QueryError:
                pass
            own.append(time.perf_counter() - began)
        with lock:
            latencies.extend(own)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--threads", default="1,2,4,8", help="thread counts to measure (default: 1,2,4,8)")
    parser.add_argument("--per-set", type=int, default=30, help="queries from each relevance set (default: 30)")
    parser.add_argument("--short", type=int, default=50, help="short one- and two-word queries (default: 50)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the queries per measurement (default: 2)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default: 1)")
    parser.add_argument("--cache", help="keep the index in this folder and reuse it (same layout as relevance.py)")
    return parser.parse_args(argv)


def reproduce_line(args: argparse.Namespace) -> str:
    parts = ["python", "benchmarks/bench_threads.py", "--threads", args.threads, "--per-set", str(args.per_set)]
    parts += ["--short", str(args.short), "--rounds", str(args.rounds), "--seed", str(args.seed)]
    if args.corpus:
        parts += ["--corpus", args.corpus]
    return shlex.join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = start(args.corpus, reproduce_line(args))
    if folder is None:
        return 0
    episodes = Q.load_episodes(folder)
    paragraphs = sum(len(t.paragraphs) for e in episodes for t in e.turns)
    texts = mixed_queries(episodes, args.per_set, args.short, args.seed)
    counts = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="podsearch-threads-") as scratch:
        work = Path(args.cache) if args.cache else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        shared = podsearch_index(folder, work / "index-full", paragraphs, "full corpus")
        for text in texts:  # warm: every search below finds the generation open and its caches filled
            try:
                shared.search(text, limit=10)
            except podsearch.QueryError:
                pass
        print(f"\n{len(texts)} queries × {args.rounds} rounds per measurement\n")
        print("| design | threads | queries/s | × one thread | median ms |")
        print("|---|---:|---:|---:|---:|")
        single = None
        for threads in counts:
            rate, median = run([shared] * threads, texts, args.rounds)
            single = single or rate
            print(f"| one shared Index | {threads} | {rate:,.0f} | {rate / single:.2f} | {median:.2f} |")
        for threads in counts[1:]:
            own = [podsearch.Index(shared.path) for _ in range(threads)]
            rate, median = run(own, texts, args.rounds)  # each Index opens and warms its own caches
            print(f"| one Index per thread (cold) | {threads} | {rate:,.0f} | {rate / single:.2f} | {median:.2f} |")
            rate, median = run(own, texts, args.rounds)
            print(f"| one Index per thread (warm) | {threads} | {rate:,.0f} | {rate / single:.2f} | {median:.2f} |")
            for index in own:
                index.close()
        shared.close()
    print(f"\n# reproduce: {reproduce_line(args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
