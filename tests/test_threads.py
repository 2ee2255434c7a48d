"""One ``Index`` shared by threads: every search returns what it returns alone, also during a rebuild.

Eight threads each run 500 mixed searches (plain, phrases, operators, filters,
typos, wildcards, grouping, date order, context) on one shared ``Index``, in
their own shuffled order; every result (ids, scores, order, totals, groups,
suggestions) must equal the single-threaded run of the same search. The
second test does the same on a smaller copy of the corpus while another
process keeps running ``podsearch index --rebuild`` over the same files: a
search that lands during a swap returns the same results, or at most a
``PodsearchError``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import podsearch

THREADS = 8
SEARCHES_PER_THREAD = 500

#: (query, options): each kind of search the library offers.
SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("feature store", {}),
    ("mlops", {}),
    ("kubernetes deployment", {}),
    ("model monitoring drift", {}),
    ("career switch from academia to industry", {}),
    ("data quality", {}),
    ("python", {"limit": 25}),
    ("open source", {"limit": 3}),
    ('"data contracts"', {}),
    ('"feature store" -spark', {}),
    ('"first job" junior', {}),
    ("kafka AND streaming", {}),
    ("(airflow OR dagster) orchestration", {}),
    ("speaker:alexey python", {}),
    ("season:[3 TO 5] kafka", {}),
    ("guest:mihaileric research", {}),
    ("mlops", {"speaker": "alexey"}),
    ("recommender systems", {"season": 5}),
    ("career", {"season": 3, "limit": 5}),
    ("thats a grat question", {}),
    ("machne lerning", {}),
    ("dta enginering pipline", {}),
    ("embedd*", {}),
    ("recomm* system", {}),
    ("data pip*", {}),
    ("vector database", {"group_by": "episode"}),
    ("machine learning", {"group_by": "episode", "limit": 5}),
    ("dbt", {"sort": "date"}),
    ("analytics engineer", {"context": 2}),
    ("yeah", {"limit": 40}),
    ("xyzzy plugh", {}),
    ("*", {}),  # refused: a QueryError, the same every time
    ("season:5", {}),
]


def _fingerprint(index: podsearch.Index, query: str, options: dict[str, Any]) -> Any:
    """Everything a search returns that must not depend on threads: ids, scores, order, counts, groups."""
    try:
        results = index.search(query, **options)
    except podsearch.QueryError as error:
        return ("refused", str(error))
    hits = [
        (hit.episode.id, hit.paragraph, hit.score, hit.spans, [p.number for p in (*hit.before, *hit.after)])
        for hit in results
    ]
    groups = [
        (group.episode.id, group.count, group.score, [h.paragraph for h in group.hits]) for group in results.groups
    ]
    return (hits, results.total, results.suggestion, groups)


def _reference(index: podsearch.Index) -> list[Any]:
    return [_fingerprint(index, query, options) for query, options in SEARCHES]


def _hammer(index: podsearch.Index, expected: list[Any], keep_going: threading.Event | None = None) -> dict[str, Any]:
    """Eight threads searching at once; what each got wrong, and the errors they met."""
    outcome: dict[str, Any] = {"wrong": [], "errors": [], "searches": 0}
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        order = [i for _ in range(-(-SEARCHES_PER_THREAD // len(SEARCHES))) for i in range(len(SEARCHES))]
        rng.shuffle(order)
        start.wait()
        done = 0
        while done < SEARCHES_PER_THREAD or (keep_going is not None and keep_going.is_set()):
            number = order[done % len(order)]
            query, options = SEARCHES[number]
            try:
                got = _fingerprint(index, query, options)
            except podsearch.PodsearchError as error:
                with lock:
                    outcome["errors"].append(error)
            except Exception as error:
                with lock:
                    outcome["wrong"].append((query, options, f"raised {type(error).__name__}: {error}"))
            else:
                if got != expected[number]:
                    with lock:
                        outcome["wrong"].append((query, options, "results differ from the single-threaded run"))
            done += 1
        with lock:
            outcome["searches"] += done

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.corpus
def test_threads_sharing_an_index_get_the_single_threaded_results(corpus_index: podsearch.Index) -> None:
    shared = podsearch.Index(corpus_index.path)
    expected = _reference(shared)
    assert sum(1 for result in expected if result[0] != "refused" and result[0]) >= len(SEARCHES) - 3
    outcome = _hammer(shared, expected)
    shared.close()
    assert outcome["wrong"] == []
    assert outcome["errors"] == []
    assert outcome["searches"] == THREADS * SEARCHES_PER_THREAD


def _small_corpus(corpus: Path, target: Path, episodes: int = 24) -> Path:
    """A copy of a few corpus episodes with the people folder (a rebuild takes a second or two)."""
    podcast = target / "datatalks" / "podcast"
    podcast.mkdir(parents=True)
    files = sorted(path for path in corpus.glob("*.md") if not path.name.startswith("_"))
    for path in files[:: max(1, len(files) // episodes)][:episodes]:
        shutil.copy(path, podcast / path.name)
    shutil.copytree(corpus.parent / "people", target / "datatalks" / "people")
    return podcast


@pytest.mark.corpus
def test_threads_get_the_same_results_while_another_process_rebuilds(corpus_dir: Path, tmp_path: Path) -> None:
    folder = _small_corpus(corpus_dir, tmp_path / "corpus")
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    expected = _reference(index)
    first_generation = _generation(index.path)

    keep_going = threading.Event()
    keep_going.set()
    rebuilds = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, os\n"
            "while not os.path.exists(sys.argv[2]):\n"
            "    subprocess.run([sys.executable, '-m', 'podsearch', 'index', '--rebuild', '--quiet', '--wait',"
            " '--index', sys.argv[1]], check=True)\n",
            str(index.path),
            str(tmp_path / "stop"),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(podsearch.__file__).parents[1])},
    )
    try:
        # search until at least two rebuilds have landed (the first 500 per thread, then more)
        stopper = threading.Thread(target=_stop_after_rebuilds, args=(index.path, first_generation, keep_going))
        stopper.start()
        outcome = _hammer(index, expected, keep_going)
        stopper.join()
    finally:
        (tmp_path / "stop").touch()
        rebuilds.wait(timeout=120)
    index.close()
    assert rebuilds.returncode == 0
    assert _generation(index.path) >= first_generation + 2, "no rebuild landed while the threads searched"
    assert outcome["wrong"] == []
    assert all(isinstance(error, podsearch.PodsearchError) for error in outcome["errors"])
    # a search that lands during a swap may say so, but most searches must go through
    kinds = sorted({f"{type(error).__name__}: {error}" for error in outcome["errors"]})
    assert len(outcome["errors"]) < outcome["searches"] / 4, kinds[:5]


def _generation(path: Path) -> int:
    names = [name for name in os.listdir(path) if name.endswith(".toc")]
    return max(int(name.rsplit("_", 1)[1].split(".")[0]) for name in names)


def _stop_after_rebuilds(path: Path, first: int, keep_going: threading.Event, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _generation(path) < first + 2:
        time.sleep(0.1)
    keep_going.clear()
