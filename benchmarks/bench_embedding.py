"""Embedding speed and cost of podsearch's all-MiniLM-L6-v2 encoder (numpy, no PyTorch) on the real corpus.

Embeds a random sample of the corpus's paragraphs (alone, and with the paragraph before and after
as context) and projects the time for the whole corpus from it: the sample is drawn uniformly, so
its mean cost per paragraph is the corpus's. Also measures loading the model, tokenizing every
paragraph, one short query's latency, and the process's peak memory. Needs the ``semantic`` extra
and a model (see podsearch.embedding.sources).

    .venv/bin/python benchmarks/bench_embedding.py [--sample 300] [--seed 1] [--batch-size 32]
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


def corpus_texts(folder: Path) -> tuple[list[str], list[str]]:
    """Every paragraph, and every paragraph with its neighbours in the same episode as context."""
    alone: list[str] = []
    context: list[str] = []
    for episode in podsearch.read_folder(folder):
        if not isinstance(episode, Episode):
            continue
        texts = [p.text for p in episode.paragraphs]
        alone.extend(texts)
        context.extend(" ".join(texts[max(0, i - 1) : i + 2]) for i in range(len(texts)))
    return alone, context


def embed_rate(encoder: Encoder, texts: list[str], sample: int, seed: int, batch_size: int) -> tuple[float, float]:
    """(texts per second, seconds projected for all ``texts``) from a uniform sample."""
    chosen = random.Random(seed).sample(texts, min(sample, len(texts)))
    started = time.perf_counter()
    encoder.encode(chosen, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    return len(chosen) / elapsed, elapsed / len(chosen) * len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=300, help="paragraphs embedded per variant (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="model folder (default: PODSEARCH_MODEL, HF cache, package)")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"no corpus at {CORPUS} (set PODSEARCH_CORPUS)")

    started = time.perf_counter()
    encoder = Encoder.load(args.model)
    load_s = time.perf_counter() - started
    alone, context = corpus_texts(CORPUS)

    started = time.perf_counter()
    lengths = [len(encoder.tokens(text)) for text in alone]
    tokenize_s = time.perf_counter() - started
    context_lengths = [len(encoder.tokens(text)) for text in context]

    encoder.encode(QUERIES)  # warm the caches before timing queries
    latencies = []
    for _ in range(5):
        for query in QUERIES:
            t = time.perf_counter()
            encoder.encode([query])
            latencies.append((time.perf_counter() - t) * 1000)

    rate, projected = embed_rate(encoder, alone, args.sample, args.seed, args.batch_size)
    context_rate, context_projected = embed_rate(encoder, context, args.sample, args.seed, args.batch_size)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"model: {encoder.files.describe()}, {encoder.dimensions} dimensions, max {encoder.max_tokens} tokens")
    print(f"load: {load_s:.2f} s; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"corpus: {len(alone):,} paragraphs, {sum(lengths):,} tokens (mean {statistics.mean(lengths):.0f}, "
        f"{sum(n == encoder.max_tokens for n in lengths)} cut at {encoder.max_tokens}); tokenizing all: {tokenize_s:.1f} s"
    )
    print(
        f"with neighbours: {sum(context_lengths):,} tokens (mean {statistics.mean(context_lengths):.0f}, "
        f"{sum(n == encoder.max_tokens for n in context_lengths)} cut)"
    )
    print(
        f"paragraphs alone: {rate:.1f} paragraphs/s on a sample of {args.sample} -> whole corpus ~{projected / 60:.1f} min"
    )
    print(
        f"with neighbours:  {context_rate:.1f} paragraphs/s on a sample of {args.sample} "
        f"-> whole corpus ~{context_projected / 60:.1f} min"
    )
    print(
        f"one short query: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {statistics.quantiles(latencies, n=20)[-1]:.1f} ms ({len(latencies)} queries)"
    )
    print(f"peak memory: {peak_mb:.0f} MB")
    command = f".venv/bin/python benchmarks/bench_embedding.py --sample {args.sample} --seed {args.seed}"
    if args.batch_size != 32:
        command += f" --batch-size {args.batch_size}"
    print(f"rerun: {command}")


if __name__ == "__main__":
    main()
