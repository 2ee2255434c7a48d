"""Hybrid search (words + all-MiniLM-L6-v2 vectors) against lexical podsearch and FTS5, and what it costs.

One run prints, for one seed:

- relevance (S@1, S@10, MRR@10) of podsearch by words, podsearch hybrid (one row per weight of
  the meaning when several are given) and the two FTS5 baselines, on the ``known``, ``partial``
  and ``typo`` sets (full corpus) and on ``topic`` and ``paraphrase`` (the corpus without its
  section headers and chapters). ``paraphrase`` is built here: the chapter names of
  ``quotableClips`` (written by editors, not taken from the transcript), each matched to the
  paragraphs within its time range; chapters whose name is also a section header of the
  episode are left out (those are the ``topic`` set's), and so are names that occur twice;
- the known-item quotes found first and in the top 10, by words and hybrid;
- query latency p50/p95 by words and hybrid on the same queries, the vector part alone, and the
  vector part on a synthetic table of ``--scale`` times the corpus's vectors (exact search);
- the cost of a nightly run with one new episode (vectors kept), the index's size with and
  without vectors, the memory of the vectors;
- the embedding throughput of this run (when it had to embed anything).

Corpus vectors are cached in ``--vectors-cache`` (default ``/work/notes/vectors-cache`` when it
exists), one file per episode named by the key of its texts and the model
(:func:`podsearch.embedding.passages.episode_key`): they seed each index's own cache, so a rerun
embeds nothing. Needs the ``semantic`` extra and a model.

    .venv/bin/python benchmarks/bench_semantic.py --seed 1 --weights 0.2,0.35,0.5
    .venv/bin/python benchmarks/bench_semantic.py --seed 2 --weights 0.35
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import resource
import shutil
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fts5
import numpy as np
import queries as Q
import relevance as R
from queries import headerless

import podsearch
from podsearch.index import vectors as V
from podsearch.query import hybrid

DEFAULT_NOTES_CACHE = Path("/work/notes/vectors-cache")
SETS = ("known", "partial", "typo", "topic", "paraphrase")
HEADERLESS = frozenset({"topic", "paraphrase"})


# --- the paraphrase set ----------------------------------------------------------------------------


def paraphrase_items(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[Q.Query]:
    """Chapter names as queries; relevant = the paragraphs starting within the chapter's time range."""
    names: dict[str, int] = {}
    for episode in episodes:
        for chapter in episode.chapters:
            names[Q._folded_text(chapter.name)] = names.get(Q._folded_text(chapter.name), 0) + 1
    found = []
    for episode in episodes:
        headers = {Q._folded_text(t.section) for t in episode.turns if t.section}
        paragraphs = [p for t in episode.turns for p in t.paragraphs]
        chapters = sorted(episode.chapters, key=lambda c: c.start)
        for position, chapter in enumerate(chapters):
            folded = Q._folded_text(chapter.name)
            if not folded or names[folded] != 1 or folded in headers:
                continue
            end = (
                chapter.end
                if chapter.end is not None
                else (chapters[position + 1].start if position + 1 < len(chapters) else 1 << 30)
            )
            members = frozenset((episode.id, p.number) for p in paragraphs if chapter.start <= p.start < end)
            if members:
                found.append(Q.Query("paraphrase", chapter.name, members, f"{episode.id} @ {chapter.start}s"))
    rng = random.Random(f"{seed}/paraphrase")
    return Q._shuffled(found, rng)[:count]


def indexes_and_sets(
    folder: Path, work: Path, limit: int, seed: int
) -> tuple[list[podsearch.Episode], int, dict[str, podsearch.Index], dict[str, list[Q.Query]]]:
    """The corpus's episodes and paragraph count, its two indexes (``full``, and ``headerless``
    without section headers, made under ``work``) and the query sets of this benchmark."""
    episodes = Q.load_episodes(folder)
    paragraphs = sum(len(t.paragraphs) for e in episodes for t in e.turns)
    stripped = work / "headerless" / "podcast"
    headerless.write_stripped_corpus(folder, stripped)
    indexes = {
        "full": R.podsearch_index(folder, work / "index-full", paragraphs, "full corpus"),
        "headerless": R.podsearch_index(stripped, work / "index-headerless", paragraphs, "without headers"),
    }
    return episodes, paragraphs, indexes, query_sets(episodes, limit, seed)


def query_sets(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> dict[str, list[Q.Query]]:
    """This benchmark's query sets (:data:`SETS`), up to ``count`` queries each."""
    sets = Q.build_sets(episodes, [name for name in SETS if name != "paraphrase"], count, seed)
    sets["paraphrase"] = paraphrase_items(episodes, count, seed)
    return sets


# --- indexes with vectors --------------------------------------------------------------------------


def seed_cache(index_path: Path, notes: Path | None) -> int:
    """Copy the cached episode vectors into the index's own cache (named as it names them)."""
    if notes is None or not notes.is_dir():
        return 0
    target = index_path / V.CACHE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in notes.glob("*.npy"):
        data = path.read_bytes()
        name = f"{path.stem}-{zlib.crc32(data):08x}.npy"
        if not (target / name).exists():
            (target / name).write_bytes(data)
            copied += 1
    return copied


def export_cache(index: podsearch.Index, notes: Path | None) -> None:
    """Save every episode's vectors of the index into the shared cache (for the next run)."""
    if notes is None:
        return
    notes.mkdir(parents=True, exist_ok=True)
    table = index._read(lambda generation: generation.vectors)
    for eid, start, count in table.episode_rows():
        key = table.by_id[eid][2]
        path = notes / f"{key}.npy"
        if not path.exists():
            np.save(notes / f".{key}.tmp.npy", np.asarray(table.matrix[start : start + count]))
            (notes / f".{key}.tmp.npy").rename(path)


def with_vectors(index: podsearch.Index, notes: Path | None, label: str) -> float:
    """Give the index vectors (seeded from the cache); the seconds it took."""
    seeded = seed_cache(index.path, notes)
    embedded = [0]
    began = time.perf_counter()
    index.update(semantic=True, embedding_progress=lambda done, total: embedded.__setitem__(0, total))
    seconds = time.perf_counter() - began
    R.log(f"vectors ({label}): {seeded} cached episodes seeded, {embedded[0]:,} paragraphs embedded in {seconds:.1f} s")
    if embedded[0]:
        R.log(f"  embedding throughput: {embedded[0] / seconds:.1f} paragraphs/s (load {os.getloadavg()[0]:.1f})")
    export_cache(index, notes)
    # seeded entries of episodes this index does not hold (the other corpus copy's) are not the index's
    shutil.rmtree(index.path / V.CACHE_FOLDER, ignore_errors=True)
    return seconds


def searcher(index: podsearch.Index, mode: str, errors: list[str]) -> R.Searcher:
    def search(text: str) -> R.Ranking:
        try:
            results = index.search(text, limit=R.DEPTH, mode=mode)
        except podsearch.PodsearchError as error:
            errors.append(f"{text!r}: {error}")
            return []
        return [(hit.episode.id, hit.paragraph) for hit in results]

    return search


class Precomputed:
    """The index's model, answering the queries whose vectors were made beforehand at once."""

    def __init__(self, encoder: Any, vectors: dict[str, Any]) -> None:
        self.encoder = encoder
        self.vectors = vectors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    def query(self, text: str) -> Any:
        found = self.vectors.get(text)
        return found if found is not None else self.encoder.query(text)


# --- latency ----------------------------------------------------------------------------------------


def latencies(index: podsearch.Index, texts: Sequence[str], mode: str) -> list[float]:
    times = []
    for text in texts:
        began = time.perf_counter()
        index.search(text, limit=10, mode=mode)
        times.append(1000 * (time.perf_counter() - began))
    return times


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def vector_part(table: V.VectorTable, rows: int, queries: int, rng: np.random.Generator) -> list[float]:
    """Milliseconds of the exact vector search (product + top 50) over ``rows`` vectors."""
    dense = table.dense()
    if rows != len(dense):
        reps = -(-rows // len(dense))
        noise = rng.standard_normal((len(dense), dense.shape[1]), dtype=np.float32) * 0.05
        blocks = [dense + noise * (i > 0) for i in range(reps)]
        dense = np.concatenate(blocks)[:rows]
        dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    times = []
    for _ in range(queries):
        query = dense[rng.integers(len(dense))]
        began = time.perf_counter()
        scores = dense @ query
        np.argpartition(-scores, hybrid.MEANING_CANDIDATES)[: hybrid.MEANING_CANDIDATES]
        times.append(1000 * (time.perf_counter() - began))
    return times


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=300, help="queries per set (default: 300)")
    parser.add_argument("--weights", default=str(hybrid.MEANING_WEIGHT), help="meaning weights to compare")
    parser.add_argument("--cache", default="/tmp/podsearch-semantic", help="where the indexes are kept between runs")
    parser.add_argument(
        "--vectors-cache", default=str(DEFAULT_NOTES_CACHE) if DEFAULT_NOTES_CACHE.parent.is_dir() else ""
    )
    parser.add_argument("--scale", type=int, default=20, help="synthetic table of this many times the vectors")
    parser.add_argument("--latency", type=int, default=200, help="queries timed per mode (default: 200)")
    parser.add_argument("--no-fts5", action="store_true")
    parser.add_argument("--no-nightly", action="store_true", help="skip the nightly-run measurement")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    reproduce = f"python benchmarks/bench_semantic.py --seed {args.seed} --limit {args.limit} --weights {args.weights}"
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    notes = Path(args.vectors_cache) if args.vectors_cache else None
    work = Path(args.cache)
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    episodes, paragraphs, indexes, sets = indexes_and_sets(folder, work, args.limit, args.seed)
    R.log(
        f"{len(episodes)} episodes, {paragraphs:,} paragraphs; " + ", ".join(f"{n} {len(q)}" for n, q in sets.items())
    )
    for name, index in indexes.items():
        with_vectors(index, notes, name)
    baseline = None if args.no_fts5 else fts5.build(episodes)

    results: dict[str, list[R.Outcome]] = {}
    for name, queries in sets.items():
        index = indexes["headerless" if name in HEADERLESS else "full"]
        errors: list[str] = []
        outcomes = [R.evaluate("podsearch words", searcher(index, "words", errors), queries, errors)]
        for weight in weights:
            hybrid.MEANING_WEIGHT = weight
            errors = []
            outcomes.append(R.evaluate(f"hybrid w={weight}", searcher(index, "hybrid", errors), queries, errors))
        if baseline is not None:
            for mode, label in (("or", "or"), ("and_or", "and>or")):
                run = functools.partial(baseline.search, limit=R.DEPTH, mode=mode)
                outcomes.append(R.evaluate(f"fts5 {label}", run, queries))
        results[name] = outcomes
        R.log(f"{name}: done")

    print()
    R.print_table(results, {name: len(qs) for name, qs in sets.items()})
    print(
        "\nhybrid minus words (targets: topic/paraphrase ΔS@10 >= +0.04 and ΔMRR >= +0.03; "
        "known/partial/typo ΔMRR >= -0.005):"
    )
    for name, outcomes in results.items():
        words = outcomes[0]
        for outcome in outcomes[1 : 1 + len(weights)]:
            print(
                f"  {name:10} {outcome.system:12} ΔS@1 {outcome.success(1) - words.success(1):+.3f}  "
                f"ΔS@10 {outcome.success(10) - words.success(10):+.3f}  ΔMRR@10 {outcome.mrr - words.mrr:+.3f}"
            )
    known = results["known"]
    for outcome in known[: 1 + len(weights)]:
        print(f"known-item quotes, {outcome.system}: first {outcome.success(1):.1%}, top 10 {outcome.success(10):.1%}")
    hybrid.MEANING_WEIGHT = weights[0]

    # --- latency on the corpus, and the vector part at scale
    texts = [q.text for name in SETS for q in sets[name]]
    random.Random(args.seed).shuffle(texts)
    texts = texts[: args.latency]
    index = indexes["full"]
    latencies(index, texts[:20], "hybrid")  # warm: the model, the table in memory, the caches
    words_ms, hybrid_ms = [], []
    for text in texts:  # interleaved, so both see the same load
        words_ms += latencies(index, [text], "words")
        hybrid_ms += latencies(index, [text], "hybrid")
    print(
        f"\nquery latency on the corpus ({len(texts)} queries, load {os.getloadavg()[0]:.1f}): "
        f"words p50 {percentile(words_ms, 0.5):.1f} ms p95 {percentile(words_ms, 0.95):.1f}; "
        f"hybrid p50 {percentile(hybrid_ms, 0.5):.1f} ms p95 {percentile(hybrid_ms, 0.95):.1f} "
        f"(+{percentile(hybrid_ms, 0.5) - percentile(words_ms, 0.5):.1f} ms at p50; target <= +10)"
    )
    encoder = index._query_encoder()
    encode_ms = []
    for text in texts[:50]:
        t0 = time.perf_counter()
        encoder.encode([text])
        encode_ms.append(1000 * (time.perf_counter() - t0))
    # the same, each query's vector made beforehand: what the vector search, re-rank and fusion add
    index._encoder = Precomputed(encoder, {text: encoder.query(text[:2000]) for text in texts})
    words_ms, ready_ms = [], []
    for text in texts:
        words_ms += latencies(index, [text], "words")
        ready_ms += latencies(index, [text], "hybrid")
    index._encoder = encoder
    print(
        f"with each query's vector ready (load {os.getloadavg()[0]:.1f}): words p50 {percentile(words_ms, 0.5):.1f} ms, "
        f"hybrid p50 {percentile(ready_ms, 0.5):.1f} ms (+{percentile(ready_ms, 0.5) - percentile(words_ms, 0.5):.1f} "
        "ms: vector search, the extra re-rank and the fusion)"
    )
    table = index._read(lambda generation: generation.vectors)
    rng = np.random.default_rng(args.seed)
    here = vector_part(table, len(table.numbers), 100, rng)
    scaled = vector_part(table, args.scale * len(table.numbers), 30, rng)
    print(
        f"query embedding p50 {percentile(encode_ms, 0.5):.1f} ms; exact vector search p50 "
        f"{percentile(here, 0.5):.2f} ms over {len(table.numbers):,} vectors, "
        f"{percentile(scaled, 0.5):.1f} ms over {args.scale * len(table.numbers):,} (synthetic, {args.scale}x); "
        f"at {args.scale}x the added cost is about {percentile(encode_ms, 0.5) + percentile(scaled, 0.5):.0f} ms "
        "+ fusion (target <= +40)"
    )
    dense_mb = table.dense().nbytes / 1e6
    print(
        f"vectors: {table.matrix.nbytes / 1e6:.1f} MB float16 on disk (memory-mapped), {dense_mb:.1f} MB float32 "
        f"in memory while searching ({dense_mb * args.scale:.0f} MB at {args.scale}x); process peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    for name, idx in indexes.items():
        # the indexes are kept between runs, vectors and all: the vector file is what they add
        vector_file = idx._read(lambda generation: generation.vectors).path
        total, added = idx.stats().size_bytes, vector_file.stat().st_size
        print(f"index size ({name}): {(total - added) / 1e6:.1f} MB without vectors, {total / 1e6:.1f} MB with")

    # --- a nightly run with one new episode (vectors kept)
    if not args.no_nightly:
        nightly = indexes["headerless"]
        newest = sorted((work / "headerless" / "podcast").glob("*.md"))[-1]
        aside = work / newest.name
        shutil.move(newest, aside)
        nightly.update()
        shutil.move(aside, newest)
        t0 = time.perf_counter()
        report = nightly.update()
        print(
            f"nightly run, one new episode with vectors: {time.perf_counter() - t0:.1f} s "
            f"({report.summary()}; target <= 15 s)"
        )
    for idx in indexes.values():
        idx.close()
    if baseline is not None:
        baseline.close()
    print(f"\n# {time.perf_counter() - began:.0f} s in all; reproduce: {reproduce}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
