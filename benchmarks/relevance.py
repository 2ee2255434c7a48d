"""Relevance check: podsearch against SQLite FTS5 BM25 on generated query sets.

Query sets and their judgments are generated from the shared corpus at run
time with a fixed seed (see ``benchmarks/queries/__init__.py``): verbatim
known-item quotes, half-remembered quotes, quotes with one typo, section
headers as topic queries (against the corpus indexed without its headers) and
episode titles. Nothing was judged or tuned by hand.

For each set it prints Success@1, Success@10 and MRR@10 of podsearch and of
two FTS5 baselines over the same paragraphs (``fts5 or`` and ``fts5 and>or``,
see ``benchmarks/fts5.py``), then, per set, where podsearch's misses went
wrong: was the right paragraph among the first stage's candidates (a
re-ranking problem) or not (a candidate problem), with a few examples.

Relevance is binary: a hit is relevant when its ``(episode id, paragraph
number)`` is among the query's judged answers (one paragraph for the quote
sets; every paragraph of the section or episode for ``topic`` and ``title``).
MRR@10 is the mean of 1/rank of the first relevant hit in the top 10 (0 when
there is none).

When tuning, tune on one seed and confirm on another (``--seed 2``): a weight
fitted to one sample of queries overstates its gain. The ``title`` set is
every unique title (~200), so it has no held-out sample.

Run from the repository root::

    .venv/bin/python benchmarks/relevance.py                 # ~2 minutes, fresh indexes
    .venv/bin/python benchmarks/relevance.py --cache /tmp/psbench --no-fts5   # quick, while tuning
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fts5
import queries as Q
from queries import headerless

import podsearch

REPO = Path(__file__).resolve().parents[1]
#: The podsearch sub-packages that only matter at query time: changing them keeps a cached index.
QUERY_TIME_PARTS = frozenset({"query", "output", "cli", "web"})
#: Depth of the ranked lists that are scored.
DEPTH = 10
#: Candidates of podsearch's first stage (``podsearch.query.tuning.CANDIDATES``) when it cannot be read.
DEFAULT_CANDIDATES = 64

Ranking = list[tuple[str, int]]
Searcher = Callable[[str], Ranking]


# --- indexes --------------------------------------------------------------------------------


def index_fingerprint() -> str:
    """A hash of podsearch's sources that can change what an index holds."""
    package = Path(podsearch.__file__).resolve().parent
    digest = hashlib.sha256(podsearch.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] not in QUERY_TIME_PARTS:
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def podsearch_index(folder: Path, where: Path, expected: int, label: str) -> podsearch.Index:
    """An up-to-date podsearch index of ``folder`` at ``where``.

    An index already at ``where`` is updated incrementally, or rebuilt when
    podsearch's index-time sources changed since it was written.
    """
    stamp = where.parent / f"{where.name}.fingerprint"
    fingerprint = index_fingerprint()
    rebuild = not stamp.exists() or stamp.read_text() != fingerprint
    began = time.perf_counter()
    index = podsearch.Index(where)
    report = index.update(folder, rebuild=rebuild)
    stamp.write_text(fingerprint)
    paragraphs = index.stats().paragraphs
    log(
        f"podsearch index ({label}): {paragraphs:,} paragraphs, "
        f"{'rebuilt' if report.rebuilt else 'updated'} in {time.perf_counter() - began:.1f} s"
    )
    if paragraphs != expected:
        log(f"WARNING: the {label} index holds {paragraphs:,} paragraphs; the parsed corpus has {expected:,}")
    return index


def podsearch_searcher(index: podsearch.Index, errors: list[str]) -> Searcher:
    """Search with podsearch as a user would (limit 10); refused queries rank nothing."""

    def search(text: str) -> Ranking:
        try:
            results = index.search(text, limit=DEPTH)
        except podsearch.PodsearchError as error:
            errors.append(f"{text!r}: {error}")
            return []
        return [(hit.episode.id, hit.paragraph) for hit in results]

    return search


# --- scoring --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one system did on one query set."""

    system: str
    rankings: list[Ranking]
    #: Rank (1-based) of the first relevant hit in the top ``DEPTH``, else ``None``.
    ranks: list[int | None]
    seconds: float
    errors: list[str] = field(default_factory=list)

    def success(self, k: int) -> float:
        """Share of queries with a relevant hit in the top ``k``."""
        return sum(1 for r in self.ranks if r is not None and r <= k) / max(1, len(self.ranks))

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the first relevant hit (cut at ``DEPTH``)."""
        return sum(1 / r for r in self.ranks if r is not None) / max(1, len(self.ranks))


def first_relevant(ranking: Ranking, relevant: frozenset[tuple[str, int]]) -> int | None:
    """1-based rank of the first relevant item, or ``None``."""
    for rank, item in enumerate(ranking, 1):
        if item in relevant:
            return rank
    return None


def evaluate(system: str, search: Searcher, queries: Sequence[Q.Query], errors: list[str] | None = None) -> Outcome:
    """Run every query through ``search`` and score the rankings."""
    began = time.perf_counter()
    rankings = [search(query.text)[:DEPTH] for query in queries]
    seconds = time.perf_counter() - began
    ranks = [first_relevant(r, q.relevant) for r, q in zip(rankings, queries, strict=True)]
    return Outcome(system, rankings, ranks, seconds, list(errors or []))


# --- where podsearch's misses go wrong ----------------------------------------------------------


def candidates_count() -> int:
    """How many candidates podsearch's first stage hands to the re-ranker."""
    try:
        from podsearch.query import tuning as podsearch_query
    except ImportError:  # before the weights had one module
        from podsearch.query import pipeline as podsearch_query  # type: ignore[no-redef]
    return int(getattr(podsearch_query, "CANDIDATES", DEFAULT_CANDIDATES))


def rank_within(index: podsearch.Index, text: str, relevant: frozenset[tuple[str, int]], depth: int) -> int | None:
    """Rank of the first relevant paragraph when podsearch is asked for ``depth`` hits.

    podsearch re-ranks ``max(CANDIDATES, limit)`` first-stage candidates, so
    with ``depth == CANDIDATES`` this says whether the paragraph was a
    candidate at all, and with a larger ``depth`` whether the first stage
    matched it within that depth (and where the re-ranker would then put it).
    """
    try:
        results = index.search(text, limit=depth)
    except podsearch.PodsearchError:
        return None
    return first_relevant([(h.episode.id, h.paragraph) for h in results], relevant)


def excerpt(text: str, width: int = 110) -> str:
    """The start of a text on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass
class Lookup:
    """Paragraph texts and sections of the (original) corpus, by ``(episode id, number)``."""

    text: dict[tuple[str, int], str]
    section: dict[tuple[str, int], str | None]

    @classmethod
    def of(cls, episodes: Sequence[podsearch.Episode]) -> Lookup:
        text: dict[tuple[str, int], str] = {}
        section: dict[tuple[str, int], str | None] = {}
        for episode in episodes:
            for turn in episode.turns:
                for paragraph in turn.paragraphs:
                    text[(episode.id, paragraph.number)] = paragraph.text
                    section[(episode.id, paragraph.number)] = turn.section
        return cls(text, section)


def diagnose(
    name: str,
    queries: Sequence[Q.Query],
    ours: Outcome,
    baseline: Outcome | None,
    index: podsearch.Index,
    lookup: Lookup,
    examples: int,
    budget: int,
    deep: int,
) -> None:
    """Print where podsearch's misses at rank 1 went wrong, with a few examples."""
    misses = [i for i, rank in enumerate(ours.ranks) if rank != 1]
    if not misses:
        print(f"\n[{name}] podsearch ranks a relevant paragraph first for every query.")
        return
    pool = candidates_count()
    studied = misses[:budget]
    labels = ("2-10", f"11-{pool}", f"first stage {pool + 1}-{deep}", f"not in first stage top {deep}")
    buckets = dict.fromkeys(labels, 0)
    details: list[tuple[int, int | None, int | None]] = []
    for i in studied:
        query = queries[i]
        final = ours.ranks[i] or rank_within(index, query.text, query.relevant, pool)
        wider = final if final is not None else rank_within(index, query.text, query.relevant, deep)
        if final is not None and final <= DEPTH:
            buckets[labels[0]] += 1
        elif final is not None:
            buckets[labels[1]] += 1
        elif wider is not None:
            buckets[labels[2]] += 1
        else:
            buckets[labels[3]] += 1
        details.append((i, final, wider))
    print(
        f"\n[{name}] podsearch misses at rank 1: {len(misses)} of {len(queries)}"
        + (f" (the first {len(studied)} studied)" if len(studied) < len(misses) else "")
    )
    print(
        "  where the first relevant paragraph was: "
        + ", ".join(f"{label}: {count}" for label, count in buckets.items() if count)
    )
    same = sum(
        1 for i in misses if ours.rankings[i] and any(ours.rankings[i][0][0] == r[0] for r in queries[i].relevant)
    )
    print(f"  the #1 hit came from the right episode in {same} of the {len(misses)} misses")
    print(f"  (ranks 2-{pool}: among the re-ranker's {pool} candidates; beyond: lost by the first stage)")
    for i, final, wider in details[:examples]:
        query = queries[i]
        print(f"  - query {query.text!r}  [{query.note}]")
        if query.extra:
            print(f"      {query.extra}")
        if len(query.relevant) == 1:
            (wanted,) = query.relevant
            print(f"      wanted {wanted[0]}#{wanted[1]}: {excerpt(lookup.text.get(wanted, '?'))}")
        top = ours.rankings[i][0] if ours.rankings[i] else None
        if top is None:
            print("      got nothing" + (f" ({ours.errors[0]})" if ours.errors else ""))
        else:
            same = "same episode" if any(top[0] == r[0] for r in query.relevant) else "other episode"
            print(
                f"      got #1 {top[0]}#{top[1]} ({same}; section {lookup.section.get(top)!r}): "
                f"{excerpt(lookup.text.get(top, '?'))}"
            )
        where = (
            f"rank {final}"
            if final is not None
            else (
                f"not a candidate; rank {wider} of {deep} candidates" if wider is not None else f"not in the top {deep}"
            )
        )
        other = f"; {baseline.system}: rank {baseline.ranks[i] or f'>{DEPTH}'}" if baseline else ""
        print(f"      podsearch: {where}{other}")


# --- output ---------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress goes to stderr, figures to stdout."""
    print(message, file=sys.stderr, flush=True)


def git_state() -> str:
    """``git describe --always --dirty`` of the repository, or ``unknown``."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def print_table(results: dict[str, list[Outcome]], sizes: dict[str, int]) -> None:
    """The Success@1 / Success@10 / MRR@10 table, one row per set and system."""
    print("| set | queries | system | S@1 | S@10 | MRR@10 | ms/query | refused |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, outcomes in results.items():
        for position, outcome in enumerate(outcomes):
            label = (name, str(sizes[name])) if position == 0 else ("", "")
            ms = 1000 * outcome.seconds / max(1, sizes[name])
            print(
                f"| {label[0]} | {label[1]} | {outcome.system} | {outcome.success(1):.3f} | "
                f"{outcome.success(10):.3f} | {outcome.mrr:.3f} | {ms:.1f} | {len(outcome.errors)} |"
            )


def compare(results: dict[str, list[Outcome]]) -> None:
    """podsearch against the better FTS5 baseline of each set, with per-query wins and losses."""
    print("\npodsearch vs the better FTS5 baseline (by MRR@10) of each set:")
    for name, outcomes in results.items():
        ours, *baselines = outcomes
        best = max(baselines, key=lambda o: o.mrr)
        rr = [(1 / a if a else 0.0, 1 / b if b else 0.0) for a, b in zip(ours.ranks, best.ranks, strict=True)]
        wins = sum(1 for a, b in rr if a > b)
        losses = sum(1 for a, b in rr if a < b)
        verdict = "better" if ours.mrr > best.mrr else "NOT better"
        print(
            f"  {name:8} vs {best.system:12} ΔS@1 {ours.success(1) - best.success(1):+.3f}  "
            f"ΔS@10 {ours.success(10) - best.success(10):+.3f}  ΔMRR@10 {ours.mrr - best.mrr:+.3f}  "
            f"per query: {wins} better, {losses} worse, {len(rr) - wins - losses} same → {verdict}"
        )


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Relevance of podsearch vs SQLite FTS5 BM25 on query sets generated from the shared corpus.",
        epilog="Sets: " + ", ".join(Q.SETS) + ". See benchmarks/queries/__init__.py for how each is made.",
    )
    parser.add_argument("--corpus", help="the shared corpus folder (default: $PODSEARCH_CORPUS or ../shared/corpus)")
    parser.add_argument("--limit", type=int, default=300, help="queries per set (default: 300)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default: 1)")
    parser.add_argument("--sets", default=",".join(Q.SETS), help="comma-separated sets (default: all)")
    parser.add_argument(
        "--cache",
        help="keep the indexes and the header-free corpus copy in this folder and reuse them "
        "(rebuilt when podsearch's index-time modules change; default: a fresh temporary folder)",
    )
    parser.add_argument("--failures", type=int, default=4, help="example misses shown per set (default: 4)")
    parser.add_argument("--study", type=int, default=40, help="misses per set looked into more deeply (default: 40)")
    parser.add_argument(
        "--deep", type=int, default=300, help="how deep the first stage is searched for a lost answer (default: 300)"
    )
    parser.add_argument("--dump", help="also write the query sets as JSON lines to this file")
    parser.add_argument(
        "--no-fts5", action="store_true", help="skip the FTS5 baselines (quicker runs while tuning podsearch)"
    )
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in Q.SETS]
    if unknown or not args.sets:
        parser.error(f"unknown sets {unknown}; choose from {', '.join(Q.SETS)}")
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def reproduce_line(args: argparse.Namespace) -> str:
    """The command that repeats this run (with every default spelled out)."""
    words = ["python", "benchmarks/relevance.py", "--seed", str(args.seed), "--limit", str(args.limit)]
    words += ["--sets", ",".join(args.sets)]
    if args.corpus:
        words += ["--corpus", args.corpus]
    return " ".join(shlex.quote(w) for w in words)


def start(corpus_option: str | None, reproduce: str) -> Path | None:
    """The episodes folder, after printing how to reproduce the run; ``None`` (said) when absent."""
    folder = Q.podcast_folder(Q.corpus_root(corpus_option))
    if folder is None:
        print(
            f"No corpus at {Q.corpus_root(corpus_option)}/datatalks/podcast: nothing to measure "
            "(give --corpus or $PODSEARCH_CORPUS)."
        )
        return None
    print(f"# reproduce: {reproduce}")
    print(f"# podsearch {podsearch.__version__} at {git_state()}; corpus {folder}")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = start(args.corpus, reproduce_line(args))
    if folder is None:
        return 0
    began = time.perf_counter()

    episodes = Q.load_episodes(folder)
    paragraphs = sum(len(t.paragraphs) for e in episodes for t in e.turns)
    sets = Q.build_sets(episodes, args.sets, args.limit, args.seed)
    log(
        f"{len(episodes)} episodes, {paragraphs:,} paragraphs; "
        + ", ".join(f"{name} {len(qs)}" for name, qs in sets.items())
        + " queries"
    )
    if args.dump:
        Q.dump(sets, Path(args.dump))

    with tempfile.TemporaryDirectory(prefix="podsearch-relevance-") as scratch:
        work = Path(args.cache) if args.cache else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        indexes: dict[str, podsearch.Index] = {}
        if any(name not in Q.HEADERLESS_SETS for name in args.sets):
            indexes["full"] = podsearch_index(folder, work / "index-full", paragraphs, "full corpus")
        if Q.HEADERLESS_SETS & set(args.sets):
            stripped = work / "headerless" / "podcast"
            headerless.write_stripped_corpus(folder, stripped)
            changed = headerless.same_paragraphs(episodes, Q.load_episodes(stripped))
            if changed:
                raise SystemExit(f"the header-free copy changed the paragraphs of {changed[:5]}: fix strip_headers")
            indexes["headerless"] = podsearch_index(stripped, work / "index-headerless", paragraphs, "without headers")
        # FTS5 indexes paragraph text only, which stripping headers leaves as it is: one index serves all sets.
        baseline = None if args.no_fts5 else fts5.build(episodes)
        if baseline is not None:
            log(f"FTS5 index: {baseline.count:,} paragraphs in {baseline.build_seconds:.1f} s")

        results: dict[str, list[Outcome]] = {}
        for name, queries in sets.items():
            index = indexes["headerless" if name in Q.HEADERLESS_SETS else "full"]
            errors: list[str] = []
            ours = evaluate("podsearch", podsearch_searcher(index, errors), queries, errors)
            outcomes = [ours]
            if baseline is not None:
                for mode, label in (("or", "or"), ("and_or", "and>or")):
                    run = functools.partial(baseline.search, limit=DEPTH, mode=mode)
                    outcomes.append(evaluate(f"fts5 {label}", run, queries))
            results[name] = outcomes
            log(f"{name}: done")

        print()
        print_table(results, {name: len(qs) for name, qs in sets.items()})
        if baseline is not None:
            compare(results)
        if "known" in results:
            rate = results["known"][0].success(1)
            print(
                f"\nknown-item quotes with the exact paragraph first: {rate:.1%} (target >= 95%)"
                f" → {'met' if rate >= 0.95 else 'NOT met'}"
            )
        for name, outcomes in results.items():
            if outcomes[0].errors:
                print(f"\n[{name}] podsearch refused {len(outcomes[0].errors)} queries, e.g. {outcomes[0].errors[:3]}")

        if args.failures or args.study:
            lookup = Lookup.of(episodes)
            for name, outcomes in results.items():
                index = indexes["headerless" if name in Q.HEADERLESS_SETS else "full"]
                best = max(outcomes[1:], key=lambda o: o.mrr, default=None)
                studied = max(args.study, args.failures)
                diagnose(name, sets[name], outcomes[0], best, index, lookup, args.failures, studied, args.deep)
        for index in indexes.values():
            index.close()
        if baseline is not None:
            baseline.close()
    print(f"\n# {time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
