"""How long ``podsearch "full-stack data scientist"`` takes end to end, as a new process.

Issue "The terminal and the notebook" asks for a median of at most 250 ms wall
on a warm disk on the project's 2-core machine. Python's own start-up and a
small import are the floor, so the same number of runs of
``python -c "import yaml"`` (and of ``python -c pass``) are timed side by side,
interleaved with the search so a change in the machine's speed hits both.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_startup.py             # the bundled episode
    .venv/bin/python benchmarks/bench_startup.py --runs 30
    .venv/bin/python benchmarks/bench_startup.py --index /tmp/corpus-index   # a bigger index
    .venv/bin/python benchmarks/bench_startup.py --imports   # slowest imports of one search
    git worktree add /tmp/base bd2faa0 && .venv/bin/python benchmarks/bench_startup.py --tree /tmp/base --tree .

Without ``--index`` an index of ``episodes/`` is built once in a temporary
folder (not timed), once per ``--tree``: each ``--tree`` is a checkout whose
code is timed in place of the installed one, run by run with the others, so
a before/after comparison shares the machine's moods. Output goes to a pipe, as in ``podsearch … | less``; pass
``--tty`` to time output to a pseudo-terminal (colours and links) instead.
The figures are printed, not asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = "full-stack data scientist"
#: The figure the issue sets for the median wall time of one search.
TARGET_MS = 250.0


def podsearch_command() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("podsearch")
    if not script.exists():
        found = shutil.which("podsearch")
        if not found:
            sys.exit("the podsearch command is not installed; run: pip install -e .")
        script = Path(found)
    return [str(script)]


def run_once(command: list[str], env: dict[str, str], tty: bool) -> float:
    """Wall seconds of one run; its output is read and discarded."""
    if tty:
        controller, device = pty.openpty()
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=device, stderr=subprocess.DEVNULL)
        os.close(device)
        while True:
            try:
                if not os.read(controller, 65536):
                    break
            except OSError:  # the pseudo-terminal closes when the process ends
                break
        process.wait()
        elapsed = time.perf_counter() - began
        os.close(controller)
    else:
        began = time.perf_counter()
        process = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - began
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {process.returncode}")
    return elapsed


def describe(name: str, seconds: list[float], width: int = 42) -> str:
    """``name  min  median  max`` in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return f"{name:<{width}} {ms[0]:7.1f} {statistics.median(ms):8.1f} {ms[-1]:7.1f}"


def slowest_imports(command: list[str], env: dict[str, str], count: int = 15) -> str:
    """The modules with the largest cumulative import time in one search."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", *command], env=env, capture_output=True, text=True, check=False
    )
    rows = []
    for line in process.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    return "\n".join(f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:count])


def main() -> None:
    """Time the search and the floor, interleaved, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="counted runs of each command (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="runs not counted, first (default 3)")
    parser.add_argument("--index", type=Path, help="an existing index to search [default: build one of episodes/]")
    parser.add_argument("--query", default=QUERY, help=f"the query (default {QUERY!r})")
    parser.add_argument("--tty", action="store_true", help="write to a pseudo-terminal instead of a pipe")
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports of one search")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="a checkout's root to time instead of the installed podsearch (its podsearch/ goes first on "
        "PYTHONPATH); repeat it to compare trees run by run, e.g. a `git worktree` of the base commit",
    )
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="podsearch-bench-") as scratch:
        base = dict(os.environ)
        base.pop("NO_COLOR", None)
        # A user's installation caches bytecode; a sandbox that forbids writing it
        # would time compiling podsearch's sources on every run instead.
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        envs: dict[str, dict[str, str]] = {}
        for number, tree in enumerate(options.tree or [None]):
            env = dict(base)
            if tree is not None:
                env["PYTHONPATH"] = str(tree.resolve())
            index = options.index
            if index is None:  # each tree builds its own: index formats may differ between them
                index = Path(scratch) / f"index{number}"
                build = [*podsearch_command(), "index", str(ROOT / "episodes"), "--index", str(index), "--quiet"]
                subprocess.run(build, env=env, check=True)
            env["PODSEARCH_INDEX"] = str(index)
            envs[f"podsearch {options.query!r}" + (f" [{tree}]" if tree else "")] = env
        floor = 'python -c "import yaml"   (floor)'
        commands = {name: ([*podsearch_command(), options.query], env) for name, env in envs.items()}
        commands[floor] = ([sys.executable, "-c", "import yaml"], base)
        commands["python -c pass"] = ([sys.executable, "-c", "pass"], base)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.warmup):
            for command, env in commands.values():
                run_once(command, env, options.tty)
        for _ in range(options.runs):
            for name, (command, env) in commands.items():
                times[name].append(run_once(command, env, options.tty))

        print(
            f"{options.runs} runs each after {options.warmup} warm-up, interleaved; "
            f"output to a {'pseudo-terminal' if options.tty else 'pipe'}"
        )
        width = max(42, *(len(name) + 1 for name in commands))
        print(f"{'wall time, ms':<{width}} {'min':>7} {'median':>8} {'max':>7}")
        for name, seconds in times.items():
            print(describe(name, seconds, width))
        for search in envs:
            ratios = [a / b for a, b in zip(times[search], times[floor], strict=True)]
            median = statistics.median(times[search]) * 1000
            print(
                f"{search}: search / floor, pair by pair: median {statistics.median(ratios):.2f}x "
                f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x); "
                f"target median <= {TARGET_MS:.0f} ms: {'met' if median <= TARGET_MS else 'NOT met'} ({median:.0f} ms)"
            )
        if options.imports:
            first = next(iter(envs))
            print("\nslowest imports (cumulative) of one search:")
            print(slowest_imports(commands[first][0], envs[first]))
        print("\nreproduce: .venv/bin/python benchmarks/bench_startup.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
