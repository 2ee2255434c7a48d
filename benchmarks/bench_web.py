"""Load on ``podsearch serve``: 1, 10 and 50 concurrent clients on loopback, mixed requests.

The server runs as its own process (``podsearch.web.server.serve``, one uvicorn
worker, as ``podsearch serve`` starts it) on a free port of 127.0.0.1; the
clients are threads of this process, each with its own keep-alive connection,
sending a fixed mix of search pages, grouped and filtered searches, API calls,
episode pages and the script's results fragment for a bounded time per level.
Each level runs once on a quiet index, then each level of more than one client
runs again with ``podsearch index --rebuild`` started ``--reindex-after``
seconds in, in another process on the same index: its commit must not fail a
single request.

Printed per level: requests, requests per second, p50/p95/max latency, errors
(any status but 200, or a broken connection; zero expected), and whether and
how long the rebuild ran inside the level.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_web.py                       # the shared corpus, 10 s per level
    .venv/bin/python benchmarks/bench_web.py --seconds 30 --clients 1,10,50
    .venv/bin/python benchmarks/bench_web.py --episodes episodes/ --seconds 5

The index is built once in a temporary folder from ``--episodes`` (default: the
shared corpus, ``$PODSEARCH_CORPUS`` or ``../shared/corpus``), never in ``./index``.
Only loopback is ever contacted. The figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

#: The request mix: what people type, grouped and filtered, the API, an episode page.
REQUESTS = [
    "/?q=" + quote("full-stack data scientist"),
    "/results?q=" + quote("feature stores"),
    "/?q=" + quote("career transitions") + "&by=episode",
    "/api/search?q=" + quote("RAG") + "&limit=10",
    "/?q=" + quote('"open source" contribution'),
    "/results?q=" + quote("how do you monitor models in production") + "&season=5",
    "/api/search?q=" + quote("data quality") + "&sort=date",
    "/?q=" + quote("kubernetes OR docker") + "&after=2022-01-01",
    "/episodes/S05E05?t=2433&q=" + quote("data scientist"),
    "/results?q=" + quote("thats a grat question"),
    "/api/episodes",
    "/?q=" + quote("embedd*"),
]


@dataclass
class Level:
    """What one level of concurrency measured."""

    clients: int
    latencies: list[float] = field(default_factory=list)
    #: (path, seconds) of every request, for the per-request breakdown.
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reindex: str = "-"


#: What the server wrote on stderr after its first line.
SERVER_LOG: list[str] = []


def _default_episodes() -> Path:
    configured = os.environ.get("PODSEARCH_CORPUS")
    corpus = Path(configured) if configured else ROOT.parent / "shared" / "corpus"
    return corpus / "datatalks" / "podcast"


def start_server(index: Path) -> tuple[subprocess.Popen[str], str]:
    """``serve`` in a new process on a free loopback port; returns it and its URL."""
    code = (
        "import sys; from pathlib import Path; from podsearch.web.server import serve\n"
        "try:\n    serve(Path(sys.argv[1]), '127.0.0.1', 0)\nexcept KeyboardInterrupt:\n    pass\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(index)], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()
    if " on http://" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    # keep reading its stderr (tracebacks of failed requests), or a full pipe would stall the server
    threading.Thread(target=SERVER_LOG.extend, args=(process.stderr,), daemon=True).start()
    return process, line.split(" on ")[1].split()[0]


def client(url: str, offset: int, deadline: float, level: Level, lock: threading.Lock) -> None:
    """Send the mix (starting at ``offset``) until the deadline, on one keep-alive connection."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    latencies: list[float] = []
    errors: list[str] = []
    paths: list[str] = []
    for path in itertools.islice(itertools.cycle(REQUESTS), offset, None):
        if time.perf_counter() >= deadline:
            break
        began = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append(f"{path}: {response.status} {body[:160]!r}")
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{path}: {type(error).__name__}: {error}")
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        latencies.append(time.perf_counter() - began)
        paths.append(path)
    connection.close()
    with lock:
        level.latencies.extend(latencies)
        level.errors.extend(errors)
        level.timings.extend(zip(paths, latencies, strict=True))


def run_level(url: str, index: Path, clients: int, seconds: float, reindex_after: float | None) -> Level:
    """``clients`` threads for ``seconds``; a rebuild in another process from ``reindex_after`` on."""
    level = Level(clients)
    lock = threading.Lock()
    began = time.perf_counter()
    deadline = began + seconds
    threads = [
        threading.Thread(target=client, args=(url, i, deadline, level, lock), daemon=True) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    rebuild = None
    if reindex_after is not None:
        time.sleep(reindex_after)
        started = time.perf_counter()
        command = [sys.executable, "-m", "podsearch", "index", "--rebuild", "--quiet", "--index", str(index)]
        rebuild = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for thread in threads:
        thread.join()
    level.seconds = time.perf_counter() - began
    if rebuild is not None:
        code = rebuild.wait()
        took = time.perf_counter() - started
        overlap = min(deadline, started + took) - started
        # exit 1: some files of the corpus are not episodes (a template, two without transcripts)
        level.reindex = f"rebuild from {reindex_after:g} s, {took:.1f} s long, overlapped {overlap:.1f} s, exit {code}"
    return level


def _ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=Path, default=_default_episodes(), help="episodes folder to index")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each level runs")
    parser.add_argument("--clients", default="1,10,50", help="levels of concurrency, comma-separated")
    parser.add_argument("--reindex-after", type=float, default=3.0, help="seconds into a level to start the rebuild")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]
    if not args.episodes.is_dir():
        raise SystemExit(f"no episodes folder at {args.episodes}; pass --episodes")

    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        index = Path(folder) / "index"
        subprocess.run(
            [sys.executable, "-m", "podsearch", "index", "--quiet", "--index", str(index), str(args.episodes)],
            check=False,
            stderr=subprocess.DEVNULL,  # the corpus has a template and two files without transcripts
        )
        server, url = start_server(index)
        try:
            warm = Level(1)  # open the searcher, fill the caches
            client(url, 0, time.perf_counter() + 1.0, warm, threading.Lock())
            results = [run_level(url, index, n, args.seconds, None) for n in levels]
            results += [run_level(url, index, n, args.seconds, args.reindex_after) for n in levels if n > 1]
        finally:
            server.terminate()
            server.wait(30)

    print(f"podsearch serve under load: {args.episodes} ({len(REQUESTS)} kinds of request), 1 uvicorn worker")
    print(
        f"{'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}  reindex"
    )
    for level in results:
        rate = len(level.latencies) / level.seconds if level.seconds else 0.0
        print(
            f"{level.clients:>7} {len(level.latencies):>9} {rate:>8.1f} {_ms(level.latencies, 0.5):>8.1f} "
            f"{_ms(level.latencies, 0.95):>8.1f} {max(level.latencies, default=0) * 1000:>8.1f} "
            f"{len(level.errors):>7}  {level.reindex}"
        )
    quiet = results[0]
    print(f"per request, {quiet.clients} client(s), no rebuild: p50 ms")
    for path in REQUESTS:
        spent = [s for p, s in quiet.timings if p == path]
        print(f"  {_ms(spent, 0.5):8.1f}  {path}")
    for level in results:
        for error in level.errors[:5]:
            print(f"  error ({level.clients} clients): {error}")
    if SERVER_LOG:
        print(f"server stderr: {len(SERVER_LOG)} lines, the last: {SERVER_LOG[-1].rstrip()}")
    median = statistics.median(x for level in results for x in level.latencies) * 1000 if results else 0
    print(f"median of every request: {median:.1f} ms")
    print(
        "rerun: .venv/bin/python benchmarks/bench_web.py "
        f"--episodes {args.episodes} --seconds {args.seconds:g} --clients {args.clients} "
        f"--reindex-after {args.reindex_after:g}"
    )


if __name__ == "__main__":
    main()
