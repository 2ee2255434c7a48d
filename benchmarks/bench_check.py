"""Integrity-check benchmark: what opening a generation and ``podsearch check`` cost on the corpus.

Builds an index of the corpus (or uses ``--index``), then times, in this process:

- the open-time check (:meth:`IndexDir.check_integrity`: the commit record read and
  one ``stat`` per file; target under 5 ms), cold-ish (first call) and warm (median);
- the full verification (:meth:`Index.verify`: every file's CRC-32; median);
- for scale, opening a Whoosh searcher on the same generation (median).

    .venv/bin/python benchmarks/bench_check.py
    .venv/bin/python benchmarks/bench_check.py --index /path/to/index --repeat 50

Skips (exit 0) when the corpus is absent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_corpus() -> Path:
    configured = os.environ.get("PODSEARCH_CORPUS")
    base = Path(configured) if configured else ROOT.parent / "shared" / "corpus"
    return base / "datatalks" / "podcast"


def timed(action, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds of each of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The cost of the open-time integrity check and of verify().")
    parser.add_argument("--corpus", type=Path, default=default_corpus(), help="episodes folder [default: %(default)s]")
    parser.add_argument("--index", type=Path, help="an existing index [default: a new index of the corpus]")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per figure [default: 30]")
    args = parser.parse_args(argv)

    import podsearch
    from podsearch.index.storage import IndexDir

    scratch = None
    index = args.index
    if index is None:
        if not args.corpus.is_dir():
            print(f"no corpus at {args.corpus}: skipped")
            return 0
        scratch = tempfile.TemporaryDirectory(prefix="bench_check_")
        index = Path(scratch.name) / "index"
        podsearch.Index(index).update(args.corpus)
    store = IndexDir(index)
    record = store.check_integrity()
    size = sum(size for size, _ in record.files.values())
    first = timed(store.check_integrity, 1)[0]
    check = timed(store.check_integrity, args.repeat)
    verify = timed(lambda: podsearch.Index(index).verify(), max(3, args.repeat // 10))

    def open_searcher() -> None:
        store.open().searcher().close()

    searcher = timed(open_searcher, max(3, args.repeat // 3))
    print(f"index: {index} ({len(record.manifest)} episodes, {len(record.files)} files, {size / 1e6:.1f} MB)")
    print(
        f"open-time check (record + stat of each file): first {first * 1e3:.2f} ms, "
        f"median {statistics.median(check) * 1e3:.2f} ms, max {max(check) * 1e3:.2f} ms (target < 5 ms)"
    )
    print(
        f"full verify (CRC-32 of every file): median {statistics.median(verify) * 1e3:.0f} ms "
        f"({size / 1e6 / statistics.median(verify):.0f} MB/s)"
    )
    print(f"for scale, opening a Whoosh searcher: median {statistics.median(searcher) * 1e3:.2f} ms")
    print(
        f"reproduce: {sys.executable} benchmarks/bench_check.py --repeat {args.repeat}"
        + (f" --index {args.index}" if args.index else "")
    )
    if scratch is not None:
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
