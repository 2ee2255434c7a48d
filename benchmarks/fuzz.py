"""Long fuzz run: mutated corpus files through the reader (and the indexer), random queries.

Not part of CI (pytest only collects ``tests/``). For a given number of minutes
it mutates copies of the shared corpus files (byte flips, cuts, line edits,
injected hostile YAML: alias bombs, Python tags, deep nesting, odd scalars,
control characters...) and checks that :func:`podsearch.read_episode` returns a
sane :class:`~podsearch.Episode` or raises :class:`~podsearch.EpisodeError`;
every so often it indexes a folder of mutated files; and it throws random
queries (query syntax, corpus words, random characters) at an index of the
whole corpus, which must answer with results or a
:class:`~podsearch.QueryError`.

A failure is any other exception, an insane episode, or a call that takes
longer than ``--hang`` seconds; slow calls (over ``--slow``) are listed apart.
Each failure is saved as a reproducer (the file, or the query) in ``--out``.

Run from the repository root::

    .venv/bin/python benchmarks/fuzz.py 3                  # three minutes
    .venv/bin/python benchmarks/fuzz.py 10 --seed 7 --index /tmp/corpus-index

Exit status: 0 when there was no failure, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import podsearch  # noqa: E402  (after the path is set)
from podsearch.records import episode_record  # noqa: E402
from podsearch.timecode import MAX_SECONDS  # noqa: E402
from tests.hostile_yaml import FRAGMENTS as LIGHT_FRAGMENTS  # noqa: E402
from tests.hostile_yaml import SYNTAX  # noqa: E402

T = TypeVar("T")
MOMENT = re.compile(r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}&t=\d+s")

#: Hostile YAML injected at line boundaries: the reader tests' fragments, plus
#: heavier ones that a long run can afford.
FRAGMENTS = [
    *LIGHT_FRAGMENTS,
    b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    b"m0: &m0 {a: 1, b: 2, c: 3}\nm1: &m1 {<<: [*m0, *m0, *m0]}\nm2: {<<: [*m1, *m1, *m1]}\n",
    b"title: !!python/object/apply:os.system ['echo pwned > /tmp/podsearch-fuzz-pwned']\n",
    b"  sec: .nan\n",
    b"  sec: " + b"9" * 5000 + b"\n",
    b"  sec: true\n",
    b"dateadded: 2001-12-14t21:59:43.10-99:00\n",
    b"[" * 1200 + b"]" * 1200 + b"\n",
    b"x: " + b"{a: " * 1200 + b"1" + b"}" * 1200 + b"\n",
    b'- line: "\\ud800"\n',
    b'- line: "\\e]8;;javascript:alert(1)\\e\\\\click\\0\\x9b"\n',
    b'- line: "[bold red]x[/] [link=javascript:alert(1)]y[/link] </script><script>alert(1)</script>"\n',
    b"x: !!binary aGVsbG8=\n",
    b"- line: " + b"word " * 200_000 + b"\n",
    b"guests: ['../../etc/passwd', '/etc/passwd', '..']\n",
]
OPTIONS: list[dict[str, Any]] = [
    {},
    {},
    {},
    {"limit": 50},
    {"group_by": "episode"},
    {"sort": "date"},
    {"context": 2},
    {"speaker": "alexey"},
    {"season": 5},
    {"after": "2023-01-01"},
]


@dataclass
class Tally:
    """What the run did and found."""

    files: int = 0
    episodes: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    updates: int = 0
    queries: int = 0
    answered: int = 0
    query_errors: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    slowest_file: tuple[float, str] = (0.0, "")
    slowest_query: tuple[float, str] = (0.0, "")


class Hang(Exception):
    """A call ran longer than the hang limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread after ``seconds`` (Unix only; elsewhere no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(action: Callable[[], T], hang: float) -> tuple[T, float]:
    began = time.perf_counter()
    with time_limit(hang):
        result = action()
    return result, time.perf_counter() - began


# --- files ------------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """One to five random mutations of a file, and what they were."""
    done: list[str] = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(
            ["inject"] * 4 + ["duplicate"] * 2 + ["delete"] * 2 + ["flip"] * 2 + ["swap", "splice", "truncate", "crlf"]
        )
        lines = data.splitlines(keepends=True) or [b""]
        at = rng.randrange(len(lines))
        if kind == "flip":
            buffer = bytearray(data)
            for _ in range(rng.randint(1, 10)):
                if buffer:
                    buffer[rng.randrange(len(buffer))] = rng.choice([rng.randint(32, 126), rng.randint(0, 255)])
            data = bytes(buffer)
        elif kind == "truncate":
            data = data[: rng.randint(0, len(data))]
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        else:
            if kind == "inject":
                lines.insert(at, rng.choice(FRAGMENTS))
            elif kind == "duplicate":
                lines[at:at] = lines[at : at + rng.randint(1, 30)] * rng.randint(1, 100)
            elif kind == "delete":
                del lines[at : at + rng.randint(1, 30)]
            elif kind == "swap":
                other = rng.randrange(len(lines))
                lines[at], lines[other] = lines[other], lines[at]
            else:
                lines.insert(at, bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 64))))
            data = b"".join(lines)
        done.append(f"{kind}@{at}")
    return data, done


def check_episode(episode: podsearch.Episode, path: Path) -> None:
    """Raise AssertionError unless every value of the episode is sane."""
    assert episode.id == path.stem and isinstance(episode.title, str) and episode.title
    assert episode.turns and all(turn.paragraphs for turn in episode.turns)
    paragraphs = episode.paragraphs
    assert [p.number for p in paragraphs] == list(range(len(paragraphs)))
    assert all(isinstance(p.text, str) and p.text for p in paragraphs)
    assert all(type(p.start) is int and 0 <= p.start <= MAX_SECONDS for p in paragraphs)
    assert episode.youtube_id is None or re.fullmatch(r"[A-Za-z0-9_-]{11}", episode.youtube_id)
    url = episode.url(paragraphs[-1].start)
    assert url is None or MOMENT.fullmatch(url)
    record = episode_record(episode)
    assert json.loads(json.dumps(record)) == record


def fuzz_file(seeds: list[Path], work: Path, out: Path, rng: random.Random, tally: Tally, args: Any) -> Path:
    seed = rng.choice(seeds)
    data, mutations = mutate(seed.read_bytes(), rng)
    path = work / f"f{tally.files % 20:02d}-{seed.stem[:40]}.md"
    path.write_bytes(data)
    tally.files += 1
    what = f"{seed.name} {' '.join(mutations)}"
    try:
        outcome, seconds = timed(lambda: podsearch.read_episode(path), args.hang)
        check_episode(outcome, path)
        tally.episodes += 1
    except podsearch.EpisodeError as error:
        seconds = 0.0
        assert error.path == path, error
        tally.refused[re.sub(r"[0-9,]+|['\"].*", "#", error.reason)[:70]] += 1
    except Exception as error:
        fail(tally, out, f"file ({what})", error, data, ".md")
        return path
    if seconds > tally.slowest_file[0]:
        tally.slowest_file = (seconds, what)
    if seconds > args.slow:
        tally.slow.append(f"file {seconds:.2f} s: {what}")
    return path


def fuzz_update(files: list[Path], work: Path, out: Path, tally: Tally, args: Any) -> None:
    """Index a folder of recent mutated files: the update must finish and report."""
    folder = work / "update"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for number, source in enumerate(files):
        if source.exists():
            shutil.copyfile(source, folder / f"u{number:02d}.md")
    tally.updates += 1
    try:
        report, _ = timed(lambda: podsearch.Index(work / "update-index").update(folder), args.hang * 4)
        assert len(report.added) + len(report.updated) + len(report.unchanged) + len(report.failed) >= len(files)
    except podsearch.PodsearchError as error:
        tally.refused[f"update: {type(error).__name__}"] += 1
    except Exception as error:
        saved = out / f"update-{len(tally.failures)}"
        shutil.copytree(folder, saved, dirs_exist_ok=True)
        fail(tally, out, f"update of {saved}", error, b"", "")


# --- queries ----------------------------------------------------------------------------------


def random_query(words: list[str], rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.choice([1, 1, 2, 3, 4, 6, 10, 30])):
        roll = rng.random()
        if roll < 0.5:
            pieces.append(rng.choice(words))
        elif roll < 0.8:
            pieces.append(rng.choice(SYNTAX))
        elif roll < 0.9:
            pieces.append(rng.choice(words)[: rng.randint(1, 5)] + rng.choice(["*", "?", "~", "^2"]))
        else:
            pieces.append(
                "".join(
                    chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0, 0x2FFF)])) for _ in range(rng.randint(1, 6))
                )
            )
    return rng.choice(["", " "]).join(pieces) if rng.random() < 0.2 else " ".join(pieces)


def fuzz_query(
    index: podsearch.Index, words: list[str], out: Path, rng: random.Random, tally: Tally, args: Any
) -> None:
    query = random_query(words, rng)
    options = rng.choice(OPTIONS)
    tally.queries += 1
    what = f"{query!r} {options}"
    try:
        results, seconds = timed(lambda: index.search(query, **options), args.hang)
        for hit in results:
            assert hit.text and (hit.url is None or MOMENT.fullmatch(hit.url)), hit
        tally.answered += 1
    except podsearch.QueryError as error:
        seconds = 0.0
        tally.query_errors[re.sub(r"'.*'|[0-9,]+", "#", str(error))[:60]] += 1
    except Exception as error:
        fail(tally, out, f"query {what}", error, json.dumps({"query": query, "options": options}).encode(), ".json")
        return
    if seconds > tally.slowest_query[0]:
        tally.slowest_query = (seconds, what)
    if seconds > args.slow:
        tally.slow.append(f"query {seconds:.2f} s: {what}")
        with open(out / "slow-queries.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"seconds": round(seconds, 3), "query": query, "options": options}) + "\n")


def fail(tally: Tally, out: Path, what: str, error: BaseException, data: bytes, suffix: str) -> None:
    number = len(tally.failures)
    reproducer = out / f"failure-{number:03d}{suffix}" if suffix else None
    if reproducer is not None:
        reproducer.write_bytes(data)
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    (out / f"failure-{number:03d}.txt").write_text(f"{what}\n\n{trace}", encoding="utf-8", errors="backslashreplace")
    tally.failures.append(f"{type(error).__name__}: {str(error)[:120]!r} -- {what[:200]} -> {reproducer or out}")
    print(f"FAILURE {tally.failures[-1]}", flush=True)


# --- the run ----------------------------------------------------------------------------------


def corpus_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    root = os.environ.get("PODSEARCH_CORPUS")
    return (Path(root) if root else ROOT.parent / "shared" / "corpus") / "datatalks" / "podcast"


def vocabulary(corpus: Path, rng: random.Random) -> list[str]:
    words: set[str] = set()
    for result in podsearch.read_folder(corpus):
        if isinstance(result, podsearch.Episode):
            for paragraph in rng.sample(result.paragraphs, min(20, len(result.paragraphs))):
                words.update(re.findall(r"[\w'-]+", paragraph.text))
    return sorted(words)


def report(tally: Tally, minutes: float, out: Path) -> None:
    print("\n== podsearch fuzz run ==")
    print(f"minutes:          {minutes:.1f}")
    print(
        f"files tried:      {tally.files:,} ({tally.episodes:,} read as episodes, "
        f"{sum(tally.refused.values()) - sum(v for k, v in tally.refused.items() if k.startswith('update')):,} refused)"
    )
    print(f"index updates:    {tally.updates:,}")
    print(
        f"queries tried:    {tally.queries:,} ({tally.answered:,} answered, {sum(tally.query_errors.values()):,} QueryError)"
    )
    print(f"slowest file:     {tally.slowest_file[0]:.3f} s  {tally.slowest_file[1][:100]}")
    print(f"slowest query:    {tally.slowest_query[0]:.3f} s  {tally.slowest_query[1][:100]}")
    print("most common refusals:")
    for reason, count in tally.refused.most_common(8):
        print(f"  {count:6,}  {reason}")
    print("most common query errors:")
    for reason, count in tally.query_errors.most_common(6):
        print(f"  {count:6,}  {reason}")
    print(
        f"slow calls (over the --slow limit): {len(tally.slow)}"
        + (f" (queries in {out / 'slow-queries.jsonl'})" if tally.slow else "")
    )
    for line in tally.slow[:20]:
        print(f"  {line[:160]}")
    print(f"FAILURES: {len(tally.failures)}" + (f" (reproducers in {out})" if tally.failures else ""))
    for line in tally.failures[:50]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("minutes", type=float, nargs="?", default=3.0, help="how long to run (default 3)")
    parser.add_argument("--corpus", help="episode folder to mutate (default ../shared/corpus/datatalks/podcast)")
    parser.add_argument("--index", help="an index of the corpus to query (built in a temporary folder if absent)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed; reuse it to replay a run)")
    parser.add_argument("--queries", type=float, default=0.4, help="share of the time spent on queries (0.4)")
    parser.add_argument("--slow", type=float, default=1.0, help="seconds after which a call is listed as slow")
    parser.add_argument("--hang", type=float, default=20.0, help="seconds after which a call is a failure")
    parser.add_argument("--out", help="where reproducers go (default: a new temporary folder)")
    args = parser.parse_args(argv)

    corpus = corpus_folder(args.corpus)
    seeds = sorted(corpus.glob("*.md"))
    if not seeds:
        print(f"no corpus files in {corpus}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="podsearch-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="podsearch-fuzz-work-"))
    print(f"seed {seed}; corpus {corpus} ({len(seeds)} files); reproducers go to {out}", flush=True)
    try:
        index = podsearch.Index(args.index or work / "corpus-index")
        if not index.exists():
            began = time.perf_counter()
            index.update(corpus)
            print(f"indexed the corpus in {time.perf_counter() - began:.1f} s", flush=True)
        words = vocabulary(corpus, rng)
        tally = Tally()
        run(index, seeds, words, work, out, rng, tally, args)
        index.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(tally, args.minutes, out)
    return 1 if tally.failures else 0


def run(
    index: podsearch.Index,
    seeds: list[Path],
    words: list[str],
    work: Path,
    out: Path,
    rng: random.Random,
    tally: Tally,
    args: Any,
) -> None:
    began = time.monotonic()
    deadline = began + args.minutes * 60
    spent = {"files": 0.0, "queries": 0.0}
    recent: list[Path] = []
    next_progress = began + 30
    while time.monotonic() < deadline:
        side = "queries" if spent["queries"] < args.queries * (spent["files"] + spent["queries"]) else "files"
        start = time.monotonic()
        if side == "queries":
            fuzz_query(index, words, out, rng, tally, args)
        else:
            recent = [*recent, fuzz_file(seeds, work, out, rng, tally, args)][-10:]
            if tally.files % 100 == 0:
                fuzz_update(recent, work, out, tally, args)
        spent[side] += time.monotonic() - start
        if time.monotonic() > next_progress:
            next_progress += 30
            print(
                f"  {time.monotonic() - began:5.0f} s: {tally.files:,} files, {tally.queries:,} queries, "
                f"{tally.updates} updates, {len(tally.failures)} failures",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
