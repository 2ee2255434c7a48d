"""Words against hybrid search on a real index of 20 times the corpus (4,000 episodes), end to end.

Issue 14's cost target: a hybrid query's p50 at most 40 ms above a words query's at 20× the corpus.
This script builds that index for real (``Index.update``, then ``update(semantic=True)``: the
Whoosh segments, the vector file and, past 100,000 vectors, the HNSW graph of the
``semantic-scale`` extra) and times, query by query, words and hybrid searches on it and on the
corpus itself (1×) in the same run, then prints p50/p95 of each, the differences, the sizes on
disk and the resident memory of a process that opens each index and searches it.

**How the 20× corpus is made.** Every episode file is written ``--times`` times into a folder under
``--cache``: copy 0 is the file itself; copy ``k`` is the same bytes except for what names the
episode: its file name (``<name>-x<k>.md``), its season (``season + 100 k``, so its code and id
``s112e08`` differ) and its YouTube id (the last two characters replaced, in the ``youtube`` lines
of the front matter only). The guests' folder is a symlink to the corpus's ``people``. So there are
4,000 distinct episodes with distinct ids, files, codes, videos and graph keys, each copy with the
same title, description and transcript as its original.

**What is shared between copies, and why the figure still holds.** A paragraph's vector is the
model's vector of ``"<episode title>: <paragraph text>"`` (:mod:`podsearch.embedding.passages`),
and an episode's own row that of its title and description; copies change neither, so the model
would give every copy exactly the vectors of its original. The index looks an episode's vectors up
by the key of those texts and the model (:func:`podsearch.embedding.passages.episode_key`) in its
own per-episode cache before embedding; that cache is seeded here with the 1× index's vectors
(themselves seeded from ``--vectors-cache``, as ``bench_semantic.py`` does), so the 20× build
embeds nothing (the script checks that it embedded 0 texts), yet stores, per copy, the vectors the
model gives those texts. Nothing else is shared: the 20× index has its own Whoosh segments with
20× the documents and postings, a vector file of 20× the rows and an HNSW graph built over all of
them; a query pays the full 20× cost of reading postings, of the first stage's BM25 over 20× the
matching documents, of the graph search and of the fusion. What differs from a real archive of
4,000 episodes: (a) the vocabulary is the corpus's, each posting list exactly 20× long (a real
archive's rare words would have shorter lists, its common ones the same: the words' side is if
anything pessimistic); (b) every vector occurs 20 times, so the graph holds 20 identical points
for each paragraph and a query's 50 nearest rows are a few paragraphs in 20 copies (the graph's
search cost is set by its width, ``ef_search`` 1024, not by the data; ``bench_vectors.py`` times
the graph on 20× of noisy, distinct copies); (c) 20 equal candidates of every paragraph reach the
re-ranker, which keeps a fixed number of them, as it would of distinct ones.

The built 20× index is cached under ``--cache`` with a fingerprint of what it was made from (this
script's way of copying, the corpus files, the podsearch sources its contents depend on (see
:func:`index_sources`), the model's weights, usearch's version): a rerun with the same fingerprint
reuses it and only times (the build's figures are kept beside it and printed again). The 1× index
is ``relevance.py``'s, rebuilt when any index-time source changed (13 s). Needs the ``semantic`` extra, a model and, for the graph,
``semantic-scale``; the first build takes a while on 2 cores (the Whoosh indexing of 4,000 episodes
and the graph), later runs a few minutes.

    .venv/bin/python benchmarks/bench_scale.py [--times 20] [--queries 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import queries as Q
import relevance as R
from bench_semantic import DEFAULT_NOTES_CACHE, with_vectors

import podsearch
from podsearch.index import nearest
from podsearch.index import vectors as V
from podsearch.query.tuning import MEANING_CANDIDATES
from podsearch.reading.episodes import episode_files

#: Changes whenever the way copies are made changes (part of the cache's fingerprint).
SCHEME = "bench_scale copies v1: file -x<k>, season + 100k, youtube id tail"
SETS = ("known", "partial", "typo", "topic")
#: Queries searched before timing (other texts than the timed ones): the models, tables, caches.
WARM = 50
_SEASON = re.compile(r"^(season:\s*['\"]?)(\d+)(['\"]?\s*)$", re.MULTILINE)
_YOUTUBE_LINE = re.compile(r"^[ \t]*youtube:.*$", re.MULTILINE)
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# --- the replicated corpus --------------------------------------------------------------------------


def copy_text(text: str, copy: int) -> str:
    """An episode file's text as copy number ``copy`` (0: unchanged): another season and video."""
    if copy == 0:
        return text
    text = _SEASON.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + 100 * copy}{m.group(3)}", text, count=1)

    def video(line: re.Match[str]) -> str:
        return re.sub(
            r"(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{9})[A-Za-z0-9_-]{2}(?![A-Za-z0-9_-])",
            lambda m: m.group(1) + "x" + _ID_CHARS[copy % len(_ID_CHARS)],
            line.group(0).replace("youtube:", "\0"),
        ).replace("\0", "youtube:")

    return _YOUTUBE_LINE.sub(video, text)


def replicate(folder: Path, target: Path, times: int) -> int:
    """Write ``times`` copies of every episode file of ``folder`` into ``target/podcast``; the files written."""
    podcast = target / "podcast"
    shutil.rmtree(target, ignore_errors=True)
    podcast.mkdir(parents=True)
    people = folder.parent / "people"
    if people.is_dir():
        (target / "people").symlink_to(people.resolve(), target_is_directory=True)
    written = 0
    for path in episode_files(folder):
        text = path.read_bytes().decode("utf-8")
        stem = path.name[:-3]
        for copy in range(times):
            name = path.name if copy == 0 else f"{stem}-x{copy:02d}.md"
            (podcast / name).write_bytes(copy_text(text, copy).encode("utf-8"))
            written += 1
    return written


def index_sources() -> str:
    """A hash of the podsearch sources the 20× index's contents depend on: reading, index, the top-level
    modules, and what is embedded for a paragraph (``embedding/passages.py``). Not the model's code: the
    build embeds nothing (it checks), its vectors come from the cache, keyed by the model's weights and
    the texts (``model`` in :func:`fingerprint`). Not the query side, which only changes the timings."""
    package = Path(podsearch.__file__).resolve().parent
    digest = hashlib.sha256(podsearch.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if len(relative.parts) == 1 or relative.parts[0] in ("reading", "index") or relative.name == "passages.py":
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(folder: Path, times: int, model: str) -> str:
    """What the 20× index is made from: the scheme, the corpus, podsearch's index-time sources, the model."""
    digest = hashlib.sha256(f"{SCHEME}\0{times}\0{index_sources()}\0{model}\0".encode())
    digest.update((inspect.getsource(copy_text) + inspect.getsource(replicate)).encode())
    for path in episode_files(folder):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    people = folder.parent / "people"
    for path in sorted(people.glob("*.md")) if people.is_dir() else []:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    usearch = "none"
    if nearest.available():
        import usearch as usearch_package

        usearch = str(getattr(usearch_package, "__version__", "unknown"))
    digest.update(usearch.encode())
    return digest.hexdigest()[:24]


def seed_from(table: V.VectorTable, index_path: Path) -> int:
    """Put every episode's vectors of ``table`` into the index's own cache (named as the index names them)."""
    from io import BytesIO

    target = index_path / V.CACHE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for eid, start, count in table.episode_rows():
        key = table.by_id[eid][2]
        buffer = BytesIO()
        np.save(buffer, np.asarray(table.matrix[start : start + count], dtype=np.float16), allow_pickle=False)
        data = buffer.getvalue()
        path = target / f"{key}-{zlib.crc32(data):08x}.npy"
        if not path.exists():
            path.write_bytes(data)
            written += 1
    return written


def table_of(index: podsearch.Index) -> V.VectorTable:
    table = index._read(lambda generation: generation.vectors)
    if table is None:
        sys.exit(f"{index.path} has no vectors")
    return table


def build_scaled(folder: Path, work: Path, times: int, base: podsearch.Index) -> tuple[podsearch.Index, dict[str, Any]]:
    """The index of ``times`` copies of the corpus (reused when its fingerprint matches) and its build figures."""
    base_table = table_of(base)
    stamp = fingerprint(folder, times, base_table.model)
    where = work / f"index-{times}x"
    record = work / f"index-{times}x.build.json"
    if record.exists() and where.is_dir():
        built = json.loads(record.read_text())
        if built.get("fingerprint") == stamp:
            R.log(f"{times}x index: reused {where} (fingerprint {stamp})")
            index = podsearch.Index(where)
            check_scaled(index, base, times)
            return index, built | {"reused": True}
    R.log(f"{times}x index: building (fingerprint {stamp}); this takes a while")
    record.unlink(missing_ok=True)
    shutil.rmtree(where, ignore_errors=True)
    corpus = work / f"corpus-{times}x"
    began = time.perf_counter()
    files = replicate(folder, corpus, times)
    copy_s = time.perf_counter() - began
    loads = [os.getloadavg()[0]]
    index = podsearch.Index(where)
    began = time.perf_counter()
    index.update(corpus / "podcast")
    words_s = time.perf_counter() - began
    loads.append(os.getloadavg()[0])
    R.log(f"  words: {files:,} files indexed in {words_s:.0f} s (load {loads[-1]:.1f})")
    seeded = seed_from(base_table, where)
    embedded = [0]
    began = time.perf_counter()
    index.update(semantic=True, embedding_progress=lambda done, total: embedded.__setitem__(0, total))
    vectors_s = time.perf_counter() - began
    loads.append(os.getloadavg()[0])
    R.log(f"  vectors and graph: {vectors_s:.0f} s, {embedded[0]} texts embedded (load {loads[-1]:.1f})")
    built = {
        "fingerprint": stamp,
        "files": files,
        "copy_s": copy_s,
        "words_s": words_s,
        "vectors_s": vectors_s,
        "seeded": seeded,
        "embedded": embedded[0],
        "loads": loads,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    check_scaled(index, base, times)
    record.write_text(json.dumps(built))
    return index, built | {"reused": False}


def check_scaled(index: podsearch.Index, base: podsearch.Index, times: int) -> None:
    """Stop unless the scaled index holds ``times`` copies of every episode, paragraph and vector."""
    ours, theirs = index.stats(), base.stats()
    table, base_table = table_of(index), table_of(base)
    problems = []
    if ours.episodes != times * theirs.episodes or ours.paragraphs != times * theirs.paragraphs:
        problems.append(f"{ours.episodes} episodes / {ours.paragraphs} paragraphs, not {times}× the corpus's")
    if len(table.numbers) != times * len(base_table.numbers):
        problems.append(f"{len(table.numbers):,} vectors, not {times}× {len(base_table.numbers):,}")
    if set(table.keys) != set(base_table.keys):
        problems.append("its episodes' texts are not the corpus's")
    if len(table.numbers) >= nearest.MIN_ROWS and nearest.available() and table.graph is None:
        problems.append("no graph past the threshold")
    if problems:
        sys.exit(f"the {times}x index is not what it should be: " + "; ".join(problems))


# --- measuring --------------------------------------------------------------------------------------


def query_texts(episodes: Sequence[podsearch.Episode], count: int, seed: int) -> list[str]:
    """``count + WARM`` real query texts of the benchmark sets, mixed (the first WARM for warming)."""
    per_set = -(-(count + WARM) // len(SETS))
    sets = Q.build_sets(episodes, SETS, per_set, seed)
    texts = [q.text for name in SETS for q in sets[name]]
    random.Random(seed).shuffle(texts)
    return texts[: count + WARM]


def timed(index: podsearch.Index, text: str, mode: str) -> float:
    began = time.perf_counter()
    index.search(text, limit=10, mode=mode)
    return 1000 * (time.perf_counter() - began)


def percentile(values: Sequence[float], share: float) -> float:
    return float(np.percentile(values, 100 * share))


def latency(indexes: dict[str, podsearch.Index], texts: Sequence[str], rounds: int) -> None:
    """Every (index, mode) on every query, query by query, the order rotated from one query to the next."""
    for text in texts[:WARM]:
        for index in indexes.values():
            index.search(text, limit=10, mode="hybrid")
            index.search(text, limit=10, mode="words")
    runs = [(name, mode) for name in indexes for mode in ("words", "hybrid")]
    for number in range(rounds):
        load = os.getloadavg()
        times: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
        began = time.perf_counter()
        for position, text in enumerate(texts[WARM:]):
            # a trailing space per round: the same search, but the query's vector is not in the model's cache
            text += " " * number
            for name, mode in runs[position % len(runs) :] + runs[: position % len(runs)]:
                times[(name, mode)].append(timed(indexes[name], text, mode))
        after = os.getloadavg()
        seen = "queries new to the process" if number == 0 else "the same queries again (their terms' caches warm)"
        print(
            f"\nround {number + 1}, {seen}: {len(texts) - WARM} queries, each in every index and mode, "
            f"{time.perf_counter() - began:.0f} s; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before, "
            f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f} after"
        )
        for name in indexes:
            words, both = times[(name, "words")], times[(name, "hybrid")]
            paired = [b - w for w, b in zip(words, both, strict=True)]
            print(
                f"  {name:>4}: words p50 {percentile(words, 0.5):6.1f} ms p95 {percentile(words, 0.95):6.1f}; "
                f"hybrid p50 {percentile(both, 0.5):6.1f} ms p95 {percentile(both, 0.95):6.1f}; "
                f"hybrid - words: p50 {percentile(both, 0.5) - percentile(words, 0.5):+6.1f} ms "
                f"(median of per-query differences {statistics.median(paired):+.1f}, "
                f"p95 {percentile(both, 0.95) - percentile(words, 0.95):+.1f})"
            )
    print("  target: hybrid p50 at most +10 ms over words on the corpus, +40 ms at 20x")


def parts(indexes: dict[str, podsearch.Index], texts: Sequence[str]) -> None:
    """What hybrid adds, in parts: embedding the query (the model) and the vector search alone (the table)."""
    load = os.getloadavg()[0]
    for name, index in indexes.items():
        encoder = index._query_encoder()
        table = table_of(index)
        embed_ms, search_ms = [], []
        for text in texts:
            began = time.perf_counter()
            vector = encoder.encode([text])[0]
            embed_ms.append(1000 * (time.perf_counter() - began))
            began = time.perf_counter()
            table.search(vector, MEANING_CANDIDATES)
            search_ms.append(1000 * (time.perf_counter() - began))
        print(
            f"  {name:>4}: embedding the query p50 {percentile(embed_ms, 0.5):.1f} ms; vector search "
            f"({'graph' if table.graph is not None else 'exact'}, {MEANING_CANDIDATES} nearest of "
            f"{len(table.numbers):,}) p50 {percentile(search_ms, 0.5):.1f} ms p95 {percentile(search_ms, 0.95):.1f} "
            f"(load {load:.2f})"
        )


def sizes(index: podsearch.Index) -> str:
    """The index folder's size on disk and its vector and graph files'."""
    folder = index.path
    table = table_of(index)
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    graph = sorted(folder.glob("*.ann"), key=lambda p: p.stat().st_mtime)
    graph_mb = f"{graph[-1].stat().st_size / 1e6:.0f} MB" if table.graph is not None and graph else "none"
    return (
        f"{total / 1e6:.0f} MB on disk; vector file {table.path.stat().st_size / 1e6:.0f} MB "
        f"({len(table.numbers):,} float16 vectors); graph {graph_mb}"
    )


def mapped_mb(folder: Path) -> dict[str, float]:
    """Resident MB of this process's mappings of the index's files, by kind (vectors, graph, words)."""
    kinds: dict[str, float] = {}
    kind = None
    with open("/proc/self/smaps") as file:
        for line in file:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:  # a mapping's first line
                name = parts[5] if len(parts) > 5 else ""
                kind = None
                if name.startswith(str(folder)):
                    kind = "vectors" if name.endswith(".vec") else "graph" if name.endswith(".ann") else "words"
            elif kind is not None and parts[0] == "Rss:":
                kinds[kind] = kinds.get(kind, 0.0) + int(parts[1]) / 1024
    return kinds


def memory_of(path: Path, texts: Sequence[str]) -> dict[str, Any]:
    """A fresh process's memory (MB) and first searches (ms): opened by a words search, searched by
    words, then the first hybrid search (the model loaded, the graph checked and mapped) and more."""

    def status() -> dict[str, float]:
        with open("/proc/self/status") as file:
            fields = dict(line.split(":", 1) for line in file if ":" in line)
        return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}

    found: dict[str, Any] = {"start": status()["VmRSS"]}
    index = podsearch.Index(path)
    found["first_words_ms"] = timed(index, texts[0], "words")
    found["open"] = status()["VmRSS"]
    for text in texts:
        index.search(text, limit=10, mode="words")
    found["words"] = status()["VmRSS"]
    found["first_hybrid_ms"] = timed(index, texts[0], "hybrid")
    for text in texts[1:]:
        index.search(text, limit=10, mode="hybrid")
    after = status()
    found |= {"hybrid": after["VmRSS"], "anon": after["RssAnon"], "file": after["RssFile"], "peak": after["VmHWM"]}
    found["mapped"] = mapped_mb(path.resolve())
    return found


def memory(indexes: dict[str, podsearch.Index], texts: Sequence[str]) -> None:
    """Each index opened and searched in a process of its own (so one's memory is not the other's)."""
    for name, index in indexes.items():
        done = subprocess.run(
            [sys.executable, __file__, "--memory-of", str(index.path), "--memory-texts", json.dumps(list(texts))],
            capture_output=True,
            text=True,
            check=True,
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  {name:>4}: {found['open']:.0f} MB once opened (one search; a bare process {found['start']:.0f} MB), "
            f"{found['words']:.0f} MB after {len(texts)} words searches, {found['hybrid']:.0f} MB after as many "
            f"hybrid ones ({found['anon']:.0f} MB private: the model and caches; {found['file']:.0f} MB mapped "
            f"index files, the pages read so far, which the system may drop), peak {found['peak']:.0f} MB"
        )
        mapped = ", ".join(f"{kind} {mb:.0f} MB" for kind, mb in sorted(found["mapped"].items()))
        print(
            f"        mapped and resident by kind: {mapped or 'none'}; a fresh process's first words search "
            f"{found['first_words_ms']:.0f} ms, its first hybrid search {found['first_hybrid_ms']:.0f} ms "
            "(opening: the model loaded, the graph's checksum checked and the graph mapped)"
        )


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--times", type=int, default=20, help="copies of the corpus (default: 20)")
    parser.add_argument("--queries", type=int, default=200, help="queries timed (default: 200)")
    parser.add_argument("--rounds", type=int, default=1, help="timing rounds in this run (default: 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/podsearch-scale", help="where the indexes are kept between runs")
    parser.add_argument(
        "--vectors-cache", default=str(DEFAULT_NOTES_CACHE) if DEFAULT_NOTES_CACHE.is_dir() else "", help="seeds 1x"
    )
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    parser.add_argument("--memory-texts", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_of:
        print(json.dumps(memory_of(Path(args.memory_of), json.loads(args.memory_texts))))
        return 0
    reproduce = (
        f".venv/bin/python benchmarks/bench_scale.py --times {args.times} --queries {args.queries} "
        f"--rounds {args.rounds} --seed {args.seed} --cache {args.cache}"
    )
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    load = os.getloadavg()
    print(f"# load at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    work = Path(args.cache)
    work.mkdir(parents=True, exist_ok=True)
    notes = Path(args.vectors_cache) if args.vectors_cache else None

    episodes = Q.load_episodes(folder)
    paragraphs = sum(len(t.paragraphs) for e in episodes for t in e.turns)
    base = R.podsearch_index(folder, work / "index-1x", paragraphs, "1x")
    with_vectors(base, notes, "1x")
    scaled, built = build_scaled(folder, work, args.times, base)
    name = f"{args.times}x"
    indexes = {"1x": base, name: scaled}

    print(
        f"\n{name} index: {scaled.stats().episodes:,} episodes, {scaled.stats().paragraphs:,} paragraphs, "
        f"{len(table_of(scaled).numbers):,} vectors; graph "
        f"{'yes' if table_of(scaled).graph is not None else 'no (exact search)'}, "
        f"threshold {nearest.MIN_ROWS:,}, ef_search {nearest.EXPANSION_SEARCH}"
    )
    loads = ", ".join(f"{value:.1f}" for value in built["loads"])
    print(
        f"build ({'cached, made ' + built['when'] if built['reused'] else 'this run'}): copies written in "
        f"{built['copy_s']:.0f} s, words index {built['words_s']:.0f} s, vectors and graph {built['vectors_s']:.0f} s "
        f"({built['embedded']} texts embedded, {built['seeded']} episodes' vectors seeded); load {loads}"
    )
    for label, index in indexes.items():
        print(f"  {label:>4}: {sizes(index)}")

    texts = query_texts(episodes, args.queries, args.seed)
    latency(indexes, texts, args.rounds)
    print(f"\nthe parts of hybrid's extra cost ({min(100, args.queries)} of the queries):")
    parts(indexes, texts[WARM : WARM + 100])
    load = os.getloadavg()
    print(f"\nresident memory, each index in a process of its own (load {load[0]:.2f}):")
    for index in indexes.values():
        index.close()
    memory(indexes, texts[WARM : WARM + 50])
    load = os.getloadavg()
    print(f"\n# load at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; rerun: {reproduce}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
