"""What a hybrid search costs over a words search, and what two of its choices save, in one run.

On an index with vectors (bench_semantic.py's, by default), 200 queries of the benchmark sets
(known, partial, typo, topic and paraphrase, shuffled) are each searched, in rotating order, by:

- ``words``;
- ``hybrid``: as shipped (the query's embedding and the vector search on a thread of their own,
  begun before the lexical first stage, beside it);
- ``hybrid, not giving way``: without the re-scoring's short sleeps that let the search's thread
  take the GIL once its model has ended (``hybrid.VectorSearch.give_way``);
- ``hybrid, waiting``: the embedding and vector search run on the caller's thread, when it has
  re-scored the words' candidates and needs their outcome;
- ``hybrid, pooled thread``: handed to a thread pool's waiting worker instead, not giving way (the
  worker runs once it gets the GIL: mostly when the caller waits for it);
- ``hybrid, N meaning``: ``--pool`` meaning candidates instead of ``MEANING_CANDIDATES``;
- ``words, reading by seeks``: a second ``Index`` on the same folder reading Whoosh's files with a
  seek and a read each, as before ``podsearch/index/mapped.py``.

Each hybrid search embeds its query (the model's query cache is emptied before each), with the
runtime the environment chooses (``PODSEARCH_RUNTIME``). Printed: p50 and p95 of each, and the
median of the per-query differences with words.

    .venv/bin/python benchmarks/bench_hybrid_cost.py [--index /tmp/podsearch-semantic/index-full] [--pool 30]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import bench_semantic as B
import queries as Q
import relevance as R
from whoosh.filedb.filestore import FileStorage

import podsearch
from podsearch.index.mapped import MappedStorage
from podsearch.query import hybrid


class Deferred(Future[Any]):
    """Work run on the caller's thread when the caller asks for its result (or waits for it)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work = work

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            try:
                self.set_result(self._work())
            except BaseException as error:
                self.set_exception(error)
        return super().result(timeout)


def waiting(work: Callable[[], Any]) -> Future[Any]:
    """The work (the query's embedding, then the vector search) run on the caller's thread once
    it has re-scored the words' candidates and needs the vector search's outcome."""
    return Deferred(work)


POOL = ThreadPoolExecutor(max_workers=1)


def pooled(work: Callable[[], Any]) -> Future[Any]:
    """The work handed to a pool's waiting thread (which takes the GIL when the caller lets it go)."""
    return POOL.submit(work)


def seeking(path: str) -> podsearch.Index:
    """The index opened with Whoosh's own file reads (a seek and a read each) instead of mappings."""
    index = podsearch.Index(path)
    shipped = MappedStorage.open_file
    MappedStorage.open_file = FileStorage.open_file  # type: ignore[method-assign]
    try:
        index.search("warm", mode="words")  # opens the generation now, with the patch
    finally:
        MappedStorage.open_file = shipped  # type: ignore[method-assign]
    return index


class NotGivingWay(hybrid.VectorSearch):
    """A vector search whose caller never lets its thread take the GIL before waiting for it."""

    def give_way(self) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--index", default="/tmp/podsearch-semantic/index-full", help="an index with vectors")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pool", type=int, default=30, help="meaning candidates of the last variant")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    reproduce = (
        f"python benchmarks/bench_hybrid_cost.py --index {args.index} --queries {args.queries} "
        f"--pool {args.pool} --seed {args.seed}"
    )
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    episodes = Q.load_episodes(folder)
    per_set = (args.queries + 30) // 5 + 1  # 30 more to warm up
    sets = B.query_sets(episodes, per_set, args.seed)
    texts = [query.text for queries in sets.values() for query in queries]
    random.Random(args.seed).shuffle(texts)

    index = podsearch.Index(args.index)
    shipped = {
        "MEANING_CANDIDATES": hybrid.MEANING_CANDIDATES,
        "beside": hybrid.beside,
        "VectorSearch": hybrid.VectorSearch,
    }
    # each variant: its mode, and what it sets in podsearch.query.hybrid (the rest as shipped)
    variants: dict[str, tuple[str, dict[str, Any]]] = {
        "words": ("words", {}),
        "hybrid": ("hybrid", {}),
        "hybrid, not giving way": ("hybrid", {"VectorSearch": NotGivingWay}),
        "hybrid, waiting": ("hybrid", {"beside": waiting}),
        "hybrid, pooled thread": ("hybrid", {"beside": pooled, "VectorSearch": NotGivingWay}),
        f"hybrid, {args.pool} meaning": ("hybrid", {"MEANING_CANDIDATES": args.pool}),
        "words, reading by seeks": ("words", {"index": seeking(args.index)}),
    }
    for text in texts[:30]:  # warm: the model, the vectors in memory, the caches
        index.search(text, mode="hybrid")
        index.search(text, mode="words")
    encoder = index._query_encoder()
    print(f"# runtime: {encoder.runtime}; load {os.getloadavg()[0]:.1f}")
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for turn, text in enumerate(texts[30 : 30 + args.queries]):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            mode, settings = variants[name]
            searched = settings.get("index", index)
            for attribute, value in (shipped | settings).items():
                if attribute != "index":
                    setattr(hybrid, attribute, value)
            encoder._queries.clear()
            began = time.perf_counter()
            searched.search(text, mode=mode)
            times[name].append(1000 * (time.perf_counter() - began))
    for attribute, value in shipped.items():
        setattr(hybrid, attribute, value)
    print(f"\n{len(times['words'])} queries; ms")
    for name, values in times.items():
        difference = statistics.median(v - w for v, w in zip(values, times["words"], strict=True))
        print(
            f"  {name:22} p50 {B.percentile(values, 0.5):6.2f}  p95 {B.percentile(values, 0.95):6.2f}  "
            f"median difference with words {difference:+6.2f}"
        )
    print(f"# load {os.getloadavg()[0]:.1f}; reproduce: {reproduce}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
