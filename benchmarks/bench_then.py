"""The meaning sets answered by an earlier podsearch, side by side with words and hybrid search now.

Issue 14's relevance figures are stated "over today's lexical podsearch": the podsearch the issue
was filed against (commit ``3d6d1d1`` by default). This runs that commit's code, unchanged, on
the same queries as ``benchmarks/bench_semantic.py`` (same seed, same ``topic`` and
``paraphrase`` sets, searched in the corpus without its section headers; ``known``, ``partial``
and ``typo`` in the full corpus), and prints S@1, S@10 and MRR@10 of the earlier words-only
podsearch, of today's words-only podsearch and of today's hybrid search, with the differences.
Both differences matter and both are printed: over the earlier podsearch (what the work since
gained as a whole: issue 11's reading of the real site, issue 14's wider re-rank pool,
exact-phrase check, episode score and meaning) and over today's words (what the meaning alone adds).

The earlier podsearch named episodes by file name and split paragraphs by its own rules (27,963
paragraphs against 27,561 now), so each of its hits is judged as the paragraph now said at the
hit's second in that episode. For the sets judged by a range of paragraphs (``topic``,
``paraphrase``) that is exact; for the one-paragraph sets (``known``, ``partial``, ``typo``) a
paragraph the two readers cut differently can land on its neighbour, which counts against the
earlier podsearch: read those rows as a lower bound of its figures.

The earlier code comes from ``git archive`` into ``--cache`` and runs in a child Python started
with ``-S`` (so that this checkout's editable install does not shadow it), with this
environment's packages on its path; it builds its own indexes there (about a minute each, kept
for the next run). Today's indexes and vectors are bench_semantic.py's (its cache and vector cache).

    .venv/bin/python benchmarks/bench_then.py --seed 1
    .venv/bin/python benchmarks/bench_then.py --seed 2 --commit 3d6d1d1
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path

import bench_semantic as B
import relevance as R

import podsearch

ROOT = Path(__file__).resolve().parents[1]

#: Run by the child Python in the earlier tree: index both corpus copies, answer every query.
CHILD = """
import json, sys
from pathlib import Path
import podsearch
job = json.loads(Path(sys.argv[1]).read_text())
out = {}
for name, spec in job["sets"].items():
    index = podsearch.Index(spec["index"])
    if not any(Path(spec["index"]).glob("*.toc")):
        index.update(spec["folder"])
    rankings = []
    for text in spec["queries"]:
        try:
            rankings.append([[hit.episode.id, hit.start] for hit in index.search(text, limit=10)])
        except podsearch.PodsearchError:
            rankings.append([])
    out[name] = rankings
    index.close()
Path(sys.argv[2]).write_text(json.dumps(out))
"""


def earlier_tree(commit: str, cache: Path) -> Path:
    """The files of ``commit`` (extracted once), as committed."""
    resolved = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", commit], check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = cache / f"tree-{resolved}"
    if not (tree / "podsearch" / "__init__.py").is_file():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", resolved], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def earlier_rankings(
    tree: Path,
    cache: Path,
    folders: dict[str, Path],
    sets: dict[str, list[B.Q.Query]],
    episodes: Sequence[podsearch.Episode],
) -> dict[str, list[R.Ranking]]:
    """Each set's rankings by the earlier podsearch (its own index of the set's corpus copy)."""
    job = {
        name: {
            "index": str(cache / f"{tree.name}-index-{'headerless' if name in B.HEADERLESS else 'full'}"),
            "folder": str(folders["headerless" if name in B.HEADERLESS else "full"]),
            "queries": [query.text for query in queries],
        }
        for name, queries in sets.items()
    }
    job_file, out_file = cache / "job.json", cache / "rankings.json"
    job_file.write_text(json.dumps({"sets": job}))
    paths = [str(tree), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    subprocess.run(
        [sys.executable, "-S", "-c", CHILD, str(job_file), str(out_file)], check=True, env=environment, cwd=tree
    )
    found = json.loads(out_file.read_text())
    moment = moments_now(episodes)
    return {name: [[moment(eid, float(start)) for eid, start in ranking] for ranking in found[name]] for name in sets}


def moments_now(episodes: Sequence[podsearch.Episode]) -> Callable[[str, float], tuple[str, int]]:
    """``(earlier id, start) → (id, paragraph)`` now: the earlier podsearch named an episode by its
    file's name and numbered paragraphs by its own rules, so a moment is found again by its time,
    the paragraph now being said at that second."""
    starts: dict[str, tuple[str, list[float], list[int]]] = {}
    for episode in episodes:
        paragraphs = sorted((p.start, p.number) for turn in episode.turns for p in turn.paragraphs)
        if episode.path and paragraphs:
            stem = Path(episode.path).stem
            starts[stem] = (episode.id, [start for start, _ in paragraphs], [number for _, number in paragraphs])

    def moment(earlier: str, start: float) -> tuple[str, int]:
        found = starts.get(earlier)
        if found is None:
            return (earlier, -1)
        eid, times, numbers = found
        return (eid, numbers[max(0, bisect.bisect_right(times, start) - 1)])

    return moment


def replay(rankings: list[R.Ranking], queries: Sequence[B.Q.Query]) -> R.Searcher:
    """A searcher answering each query's text with its recorded ranking."""
    by_text = {query.text: ranking for query, ranking in zip(queries, rankings, strict=True)}
    return lambda text: by_text[text]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=300, help="queries per set (default: 300)")
    parser.add_argument("--commit", default="3d6d1d1", help="the earlier podsearch (default: where issue 14 was filed)")
    parser.add_argument("--cache", default="/tmp/podsearch-semantic", help="bench_semantic.py's indexes")
    parser.add_argument("--then-cache", default="/tmp/podsearch-then", help="the earlier tree and its indexes")
    parser.add_argument(
        "--vectors-cache", default=str(B.DEFAULT_NOTES_CACHE) if B.DEFAULT_NOTES_CACHE.parent.is_dir() else ""
    )
    args = parser.parse_args(argv)
    reproduce = f"python benchmarks/bench_then.py --seed {args.seed} --limit {args.limit} --commit {args.commit}"
    folder = R.start(args.corpus, reproduce)
    if folder is None:
        return 0
    work, then = Path(args.cache), Path(args.then_cache)
    work.mkdir(parents=True, exist_ok=True)
    then.mkdir(parents=True, exist_ok=True)
    episodes, _, indexes, sets = B.indexes_and_sets(folder, work, args.limit, args.seed)
    notes = Path(args.vectors_cache) if args.vectors_cache else None
    for name, index in indexes.items():
        B.with_vectors(index, notes, name)
    tree = earlier_tree(args.commit, then)
    R.log(f"the earlier podsearch: {args.commit} in {tree}")
    folders = {"full": folder, "headerless": work / "headerless" / "podcast"}
    earlier = earlier_rankings(tree, then, folders, sets, episodes)

    results: dict[str, list[R.Outcome]] = {}
    for name, queries in sets.items():
        index = indexes["headerless" if name in B.HEADERLESS else "full"]
        errors: list[str] = []
        results[name] = [
            R.evaluate(f"words {args.commit}", replay(earlier[name], queries), queries),
            R.evaluate("words now", B.searcher(index, "words", errors), queries, errors),
            R.evaluate("hybrid now", B.searcher(index, "hybrid", errors), queries, errors),
        ]
    print()
    R.print_table(results, {name: len(queries) for name, queries in sets.items()})
    now = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"\ndifferences, S@10 / MRR@10 (now: {now}; issue 14's targets for topic and paraphrase: +0.04 / +0.03):")
    for name, (earlier_words, words, mixed) in results.items():
        print(
            f"  {name:10} hybrid now − words {args.commit}: {mixed.success(10) - earlier_words.success(10):+.3f} / "
            f"{mixed.mrr - earlier_words.mrr:+.3f};  hybrid now − words now: "
            f"{mixed.success(10) - words.success(10):+.3f} / {mixed.mrr - words.mrr:+.3f};  "
            f"words now − words {args.commit}: {words.success(10) - earlier_words.success(10):+.3f} / "
            f"{words.mrr - earlier_words.mrr:+.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
