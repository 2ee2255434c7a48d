"""Embedding speed and cost of podsearch's all-MiniLM-L6-v2 encoder (numpy, no PyTorch) on the real corpus.

Embeds random episodes one at a time as an index update does (each paragraph with the episode's
title, and the episode's title and description) and projects the corpus's time from their tokens
per second; also a random sample of paragraphs with their neighbours as context (the variant not
taken), projected from its mean cost per paragraph. Also measures loading the model, tokenizing every
paragraph, one short query's latency, and the process's peak memory. Needs the ``semantic`` extra
and a model (see podsearch.embedding.sources).

    .venv/bin/python benchmarks/bench_embedding.py [--episodes 4] [--sample 300] [--seed 1] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import podsearch  # noqa: E402
from podsearch.embedding import Encoder  # noqa: E402
from podsearch.embedding.encoder import DEFAULT_BATCH_SIZE  # noqa: E402
from podsearch.embedding.passages import episode_passages  # noqa: E402
from podsearch.model import Episode  # noqa: E402

CORPUS = Path(os.environ.get("PODSEARCH_CORPUS") or ROOT.parent / "shared" / "corpus") / "datatalks" / "podcast"
QUERIES = [
    "career transitions",
    "open-source contribution",
    "RAG",
    "how to become a data engineer",
    "feature store",
    "imposter syndrome",
    "model monitoring in production",
    "hiring junior data scientists",
]


def corpus_texts(folder: Path) -> tuple[list[list[str]], list[str]]:
    """What the index embeds, episode by episode (each paragraph with its episode's title, and the
    episode's title and description: :func:`episode_passages`), and every paragraph with its
    neighbours as context."""
    indexed: list[list[str]] = []
    context: list[str] = []
    for episode in podsearch.read_folder(folder):
        if not isinstance(episode, Episode):
            continue
        indexed.append(episode_passages(episode)[1])
        texts = [p.text for p in episode.paragraphs]
        context.extend(" ".join(texts[max(0, i - 1) : i + 2]) for i in range(len(texts)))
    return indexed, context


def episode_rate(
    encoder: Encoder, episodes: list[list[str]], sample: int, seed: int, batch_size: int
) -> tuple[float, float, float]:
    """(texts per second, tokens per second, seconds projected for the corpus) embedding a uniform
    sample of episodes one at a time, as an index update does (podsearch/index/vectors.py)."""
    chosen = random.Random(seed).sample(episodes, min(sample, len(episodes)))
    texts = sum(len(episode) for episode in chosen)
    tokens = sum(len(encoder.tokens(text)) for episode in chosen for text in episode)
    all_tokens = sum(len(encoder.tokens(text)) for episode in episodes for text in episode)
    started = time.perf_counter()
    for episode in chosen:
        encoder.encode(episode, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    return texts / elapsed, tokens / elapsed, all_tokens / (tokens / elapsed)


def embed_rate(
    encoder: Encoder, texts: list[str], sample: int, seed: int, batch_size: int
) -> tuple[float, float, float]:
    """(texts per second, tokens per second, seconds projected for all ``texts``) from a uniform sample."""
    chosen = random.Random(seed).sample(texts, min(sample, len(texts)))
    tokens = sum(len(encoder.tokens(text)) for text in chosen)
    started = time.perf_counter()
    encoder.encode(chosen, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    return len(chosen) / elapsed, tokens / elapsed, elapsed / len(chosen) * len(texts)


def query_latency(encoder: Encoder, queries: list[str]) -> list[float]:
    """Milliseconds per query through the model (:meth:`Encoder.encode` of one text: the query cache is not used)."""
    encoder.encode(QUERIES)  # warm the caches
    times = []
    for query in queries:
        began = time.perf_counter()
        encoder.encode([query])
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=4, help="episodes embedded as indexed (default 4)")
    parser.add_argument("--sample", type=int, default=300, help="paragraphs embedded with neighbours (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--model", default=None, help="model folder (default: PODSEARCH_MODEL, HF cache, package)")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"no corpus at {CORPUS} (set PODSEARCH_CORPUS)")

    started = time.perf_counter()
    encoder = Encoder.load(args.model)
    load_s = time.perf_counter() - started
    indexed, context = corpus_texts(CORPUS)

    started = time.perf_counter()
    lengths = [len(encoder.tokens(text)) for episode in indexed for text in episode]
    tokenize_s = time.perf_counter() - started
    context_lengths = [len(encoder.tokens(text)) for text in context]

    query_ms = query_latency(encoder, QUERIES * 5)

    load_before = os.getloadavg()[0]
    rate, token_rate, projected = episode_rate(encoder, indexed, args.episodes, args.seed, args.batch_size)
    context_rate, context_token_rate, context_projected = embed_rate(
        encoder, context, args.sample, args.seed, args.batch_size
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"model: {encoder.files.describe()}, {encoder.dimensions} dimensions, max {encoder.max_tokens} tokens")
    print(f"load: {load_s:.2f} s; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"corpus as indexed: {len(lengths):,} texts, {sum(lengths):,} tokens (mean {statistics.mean(lengths):.0f}, "
        f"{sum(n == encoder.max_tokens for n in lengths)} cut at {encoder.max_tokens}); tokenizing all: {tokenize_s:.1f} s"
    )
    print(
        f"with neighbours: {sum(context_lengths):,} tokens (mean {statistics.mean(context_lengths):.0f}, "
        f"{sum(n == encoder.max_tokens for n in context_lengths)} cut)"
    )
    print(f"embedding (load {load_before:.1f} before, {os.getloadavg()[0]:.1f} after):")
    print(
        f"  as indexed (episode by episode): {rate:.1f} texts/s, {token_rate:,.0f} tokens/s on {args.episodes} "
        f"episodes -> whole corpus ~{projected / 60:.1f} min"
    )
    print(
        f"  with neighbours:  {context_rate:.1f} paragraphs/s, {context_token_rate:,.0f} tokens/s on a sample of "
        f"{args.sample} -> whole corpus ~{context_projected / 60:.1f} min"
    )
    print(
        f"one short query ({len(query_ms)} queries, load {os.getloadavg()[0]:.1f}): p50 {statistics.median(query_ms):.2f} ms, "
        f"p95 {statistics.quantiles(query_ms, n=20)[-1]:.2f}"
    )
    print(f"peak memory: {peak_mb:.0f} MB")
    command = (
        f".venv/bin/python benchmarks/bench_embedding.py --episodes {args.episodes} --sample {args.sample} "
        f"--seed {args.seed}"
    )
    if args.batch_size != DEFAULT_BATCH_SIZE:
        command += f" --batch-size {args.batch_size}"
    print(f"rerun: {command}")


if __name__ == "__main__":
    main()
