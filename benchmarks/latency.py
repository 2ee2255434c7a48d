"""Query latency: podsearch against SQLite FTS5, warm, in process, limit 10 with snippets.

One :class:`podsearch.Index` over the shared corpus is kept open for the whole
run, as a notebook or a server would. Every query is run once through
podsearch to warm up (the searcher, podsearch's per-searcher caches, the OS
page cache; FTS5, in memory, gets a few queries), then the timed pass runs
each query ``--repeat`` times and keeps every time. Times are
wall-clock ``time.perf_counter()`` around ``Index.search(query, limit=10)``,
which builds the hits with their snippets; the FTS5 baseline is timed around
the SQL query that returns the top 10 with FTS5's ``snippet()``.

The queries are the relevance query sets (``benchmarks/queries``; topic
queries here run against the full corpus) plus short one- and two-word
queries. Percentiles are nearest-rank.

Targets (issue 4): median <= 3 ms and p95 <= 15 ms for podsearch.

Run from the repository root::

    .venv/bin/python benchmarks/latency.py
    .venv/bin/python benchmarks/latency.py --profile        # where podsearch's time goes
    .venv/bin/python benchmarks/latency.py --cache /tmp/psbench   # reuse relevance.py's index
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import fts5
import queries as Q
from relevance import log, podsearch_index, start

import podsearch

#: Targets from issue 4, in milliseconds.
TARGET_MEDIAN_MS = 3.0
TARGET_P95_MS = 15.0
LIMIT = 10
#: FTS5 queries run before timing (an in-memory table needs little warming).
FTS5_WARMUP = 25


def query_sets(episodes: Sequence[Any], corpus: Any, per_set: int, short: int, seed: int) -> dict[str, list[Any]]:
    """The timed queries: ``per_set`` of each relevance set and ``short`` one- and two-word queries."""
    sets = Q.build_sets(episodes, Q.SETS, per_set, seed, corpus) if per_set else {}
    sets["short"] = Q.short_items(corpus, episodes, short, seed)
    return sets


def mixed_queries(episodes: Sequence[Any], per_set: int, short: int, seed: int) -> list[str]:
    """The texts of :func:`query_sets`, in order."""
    sets = query_sets(episodes, Q.Corpus(episodes), per_set, short, seed)
    return [query.text for queries in sets.values() for query in queries]


def percentile(sorted_ms: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (``share`` in 0..1)."""
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


def summary(times_ms: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, max and mean of a list of times."""
    ordered = sorted(times_ms)
    return {
        "median": statistics.median(ordered) if ordered else math.nan,
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else math.nan,
        "mean": statistics.fmean(ordered) if ordered else math.nan,
    }


def timed(run: Callable[[str], object], texts: Sequence[str], repeat: int) -> list[list[float]]:
    """Per query, the milliseconds of each of ``repeat`` runs."""
    times: list[list[float]] = []
    for text in texts:
        runs = []
        for _ in range(repeat):
            began = time.perf_counter()
            run(text)
            runs.append(1000 * (time.perf_counter() - began))
        times.append(runs)
    return times


def podsearch_runner(index: podsearch.Index) -> Callable[[str], object]:
    """``Index.search`` as a user calls it; a refused query still costs its time."""

    def run(text: str) -> object:
        try:
            return index.search(text, limit=LIMIT)
        except podsearch.PodsearchError as error:
            return error

    return run


def print_table(rows: dict[str, dict[str, float]], counts: dict[str, int]) -> None:
    """One line per system (or system and set) with its latency figures."""
    print("| system | set | queries | median ms | p95 ms | p99 ms | max ms | mean ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key, figures in rows.items():
        system, name = key.split("|")
        print(
            f"| {system} | {name} | {counts[key]} | {figures['median']:.2f} | {figures['p95']:.2f} | "
            f"{figures['p99']:.2f} | {figures['max']:.2f} | {figures['mean']:.2f} |"
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Warm in-process query latency of podsearch vs SQLite FTS5 (limit 10, with snippets)."
    )
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--per-set", type=int, default=60, help="queries from each relevance set (default: 60)")
    parser.add_argument("--short", type=int, default=100, help="short one- and two-word queries (default: 100)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default: 1)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each query (default: 1)")
    parser.add_argument("--slowest", type=int, default=10, help="slowest podsearch queries to list (default: 10)")
    parser.add_argument(
        "--fts5-modes", default="or,and_or", help="FTS5 baselines to time, of: or, and_or (default: both)"
    )
    parser.add_argument("--cache", help="keep the index in this folder and reuse it (same layout as relevance.py)")
    parser.add_argument("--profile", action="store_true", help="also profile a podsearch pass with cProfile")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile (default: 30)")
    args = parser.parse_args(argv)
    args.fts5_modes = [m.strip() for m in args.fts5_modes.split(",") if m.strip()]
    if any(mode not in fts5.MODES for mode in args.fts5_modes):
        parser.error(f"--fts5-modes takes some of {', '.join(fts5.MODES)}")
    if args.repeat < 1 or args.per_set < 0 or args.short < 0:
        parser.error("--repeat must be at least 1; --per-set and --short at least 0")
    return args


def reproduce_line(args: argparse.Namespace) -> str:
    """The command that repeats this run (with the defaults spelled out)."""
    words = [
        "python",
        "benchmarks/latency.py",
        "--seed",
        str(args.seed),
        "--per-set",
        str(args.per_set),
        "--short",
        str(args.short),
        "--repeat",
        str(args.repeat),
        "--fts5-modes",
        ",".join(args.fts5_modes),
    ]
    if args.corpus:
        words += ["--corpus", args.corpus]
    if args.profile:
        words.append("--profile")
    return " ".join(shlex.quote(w) for w in words)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = start(args.corpus, reproduce_line(args))
    if folder is None:
        return 0
    began = time.perf_counter()

    episodes = Q.load_episodes(folder)
    corpus = Q.Corpus(episodes)
    sets = query_sets(episodes, corpus, args.per_set, args.short, args.seed)
    workload = [(name, query.text) for name, queries in sets.items() for query in queries]
    texts = [text for _, text in workload]
    log(f"{len(workload)} queries: " + ", ".join(f"{name} {len(qs)}" for name, qs in sets.items()))

    with tempfile.TemporaryDirectory(prefix="podsearch-latency-") as scratch:
        work = Path(args.cache) if args.cache else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        paragraphs = len(corpus.passages)
        index = podsearch_index(folder, work / "index-full", paragraphs, "full corpus")
        baseline = fts5.build(episodes)

        systems: dict[str, Callable[[str], object]] = {"podsearch": podsearch_runner(index)}
        for mode in args.fts5_modes:
            systems[f"fts5 {mode.replace('_', '>')}"] = lambda text, mode=mode: baseline.search_rows(
                text, limit=LIMIT, mode=mode, snippets=True
            )

        # podsearch warms every query (its searcher, caches and the page cache);
        # FTS5 lives in memory and has nothing to warm beyond its first queries.
        warm = time.perf_counter()
        for system, run in systems.items():
            for text in texts if system == "podsearch" else texts[:: max(1, len(texts) // FTS5_WARMUP)]:
                run(text)
        log(f"warm-up pass: {time.perf_counter() - warm:.1f} s")

        times = {system: timed(run, texts, args.repeat) for system, run in systems.items()}

        rows: dict[str, dict[str, float]] = {}
        counts: dict[str, int] = {}
        for system, per_query in times.items():
            every = [ms for runs in per_query for ms in runs]
            rows[f"{system}|all"] = summary(every)
            counts[f"{system}|all"] = len(every)
        for name in sets:
            for system, per_query in times.items():
                chosen = [
                    ms
                    for (set_name, _), runs in zip(workload, per_query, strict=True)
                    if set_name == name
                    for ms in runs
                ]
                rows[f"{system}|{name}"] = summary(chosen)
                counts[f"{system}|{name}"] = len(chosen)

        print()
        print_table(rows, counts)
        ours = rows["podsearch|all"]
        print(
            f"\npodsearch median {ours['median']:.2f} ms (target <= {TARGET_MEDIAN_MS:g}: "
            f"{'met' if ours['median'] <= TARGET_MEDIAN_MS else 'NOT met'}), "
            f"p95 {ours['p95']:.2f} ms (target <= {TARGET_P95_MS:g}: "
            f"{'met' if ours['p95'] <= TARGET_P95_MS else 'NOT met'})"
        )

        for typo_set in ("typo", "typo2"):
            if f"podsearch|{typo_set}" in rows and "podsearch|known" in rows:
                typo_ms, known_ms = rows[f"podsearch|{typo_set}"]["median"], rows["podsearch|known"]["median"]
                print(
                    f"{typo_set} queries (known-item quotes with a mistyped word): median {typo_ms:.2f} ms, "
                    f"{typo_ms / known_ms:.2f}x the same kind of quote spelled right ({known_ms:.2f} ms)"
                )
        fts5_all = [rows[key]["median"] for key in rows if key.startswith("fts5") and key.endswith("|all")]
        if fts5_all:
            print(f"podsearch median / best FTS5 median: {ours['median'] / min(fts5_all):.2f}")

        print(f"\nslowest {args.slowest} podsearch queries (median of their runs):")
        slowest = sorted(
            (
                (statistics.median(runs), name, text)
                for (name, text), runs in zip(workload, times["podsearch"], strict=True)
            ),
            reverse=True,
        )[: args.slowest]
        for ms, name, text in slowest:
            shown = text if len(text) <= 90 else text[:89] + "…"
            print(f"  {ms:8.2f} ms  {name:8} {shown!r}")

        if args.profile:
            profiler = cProfile.Profile()
            run = systems["podsearch"]
            profiler.enable()
            for text in texts:
                run(text)
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.strip_dirs()
            print(f"\ncProfile of one podsearch pass over the {len(texts)} queries, by own time:")
            stats.sort_stats("tottime").print_stats(args.top)
            print("by cumulative time:")
            stats.sort_stats("cumulative").print_stats(args.top)
        index.close()
        baseline.close()
    print(f"# {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
