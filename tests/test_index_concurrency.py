"""One writer, many readers: searches during commits, and two indexers at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import podsearch
from podsearch.cli.app import app
from podsearch.errors import IndexLockedError
from podsearch.index import indexer
from podsearch.index.storage import LOCK_FILE, IndexDir

from .test_indexer import make_folder, search_ids, write_show

#: A process that searches in a loop until told to stop (or a deadline), with a
#: kept Index (its searcher refreshed when the index changes) and a fresh one
#: each time (opening while commits delete files). It prints what it saw.
READER = r"""
import json, os, sys, time, traceback
import podsearch

index, stop, query, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + seconds
kept = podsearch.Index(index)
searches = failures = empty = 0
errors = []
while not os.path.exists(stop) and time.monotonic() < deadline:
    for ix in (kept, podsearch.Index(index)):
        try:
            found = len(ix.search(query, limit=5))
        except Exception as error:  # the point of this process: count any failure at all
            failures += 1
            errors.append(traceback.format_exc())
            continue
        finally:
            if ix is not kept:
                ix.close()
        searches += 1
        empty += found == 0
    if searches == 2:
        print("searching", flush=True)
print(json.dumps({"searches": searches, "failures": failures, "empty": empty, "errors": errors[:5]}))
"""


def test_searches_never_fail_while_the_index_is_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index, stop = tmp_path / "eps", tmp_path / "index", tmp_path / "stop"
    make_folder(folder, 30)
    ix = podsearch.Index(index)
    ix.update(folder)
    monkeypatch.setattr(indexer, "PARALLEL_FROM", 4)  # workers for the larger updates
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(index), str(stop), "pipelines physics", "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "searching\n"
        commits = 0
        for step in range(20):
            for number in range(step % 5, 30, 5):  # six edited episodes
                write_show(folder, number, word=f"step{step}")
            write_show(folder, 100 + step)  # one added
            if step:
                (folder / f"ep{100 + step - 1}.md").unlink()  # one removed
            report = ix.update(folder, rebuild=step % 4 == 3)
            commits += report.changed or report.rebuilt
        assert commits == 20
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    seen = json.loads(out.splitlines()[-1])
    assert seen["failures"] == 0, "\n".join(seen["errors"])
    assert seen["empty"] == 0 and seen["searches"] > 40, seen
    assert search_ids(index, "step19") == {f"s01e{n:02d}" for n in range(4, 30, 5)}


def test_a_second_indexer_is_refused_at_once(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    with IndexDir(index).lock():
        began = time.monotonic()
        with pytest.raises(IndexLockedError, match=r"another 'podsearch index' is updating .*--wait"):
            podsearch.Index(index).update(folder)
        assert time.monotonic() - began < 1


#: Holds the index lock until its standard input closes.
HOLDER = r"""
import sys
from podsearch.index.storage import IndexDir
with IndexDir(sys.argv[1]).lock():
    print("locked", flush=True)
    sys.stdin.read()
"""


def _hold_lock(index: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(index)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_the_cli_exits_75_while_another_process_indexes(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    holder = _hold_lock(index)
    try:
        result = CliRunner().invoke(app, ["index", str(folder), "--index", str(index)])
        assert result.exit_code == 75
        assert result.stderr.startswith(f"Error: another 'podsearch index' is updating {index}")
        assert result.stdout == ""
    finally:
        holder.communicate("")


def test_wait_queues_behind_the_running_indexer(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    holder = _hold_lock(index)
    waiter = subprocess.Popen(
        [sys.executable, "-m", "podsearch", "index", str(folder), "--index", str(index), "--wait", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    assert waiter.poll() is None  # still waiting for the lock
    holder.communicate("")
    out, err = waiter.communicate(timeout=60)
    assert (waiter.returncode, out, err) == (0, "", "")
    assert search_ids(index, "uniq1") == {"s01e01"}


def _locked(index: Path) -> bool:
    """Whether some process holds the index lock, seen in /proc/locks (taking it to test
    would race with the indexer)."""
    try:
        inode = os.stat(index / LOCK_FILE).st_ino
    except FileNotFoundError:
        return False
    with open("/proc/locks", encoding="ascii") as locks:
        # "1: FLOCK  ADVISORY  WRITE 4242 00:2a:1234 0 EOF": the device:inode field
        return any(
            field.count(":") == 2 and field.endswith(f":{inode}")
            for line in locks
            if "FLOCK" in line and "->" not in line
            for field in line.split()
        )


#: ``podsearch`` with everything imported, started when a line arrives on stdin
#: (so it starts within milliseconds, while the first indexer holds the lock).
READY = r"""
import sys
from podsearch import api
from podsearch.cli import app as cli
from podsearch.index import indexer
from podsearch.cli import launcher
from podsearch.index import writing
print("ready", flush=True)
sys.stdin.readline()
launcher.main(sys.argv[1:])
"""


#: ``podsearch`` whose update takes two seconds more while holding the lock.
SLOW = r"""
import sys, time
from podsearch.index import indexer
from podsearch.cli import launcher
plan = indexer.make_plan
indexer.make_plan = lambda *args: time.sleep(2) or plan(*args)
launcher.main(sys.argv[1:])
"""


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs /proc/locks to see the lock")
def test_two_podsearch_index_processes_at_once(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 6)
    arguments = ["index", str(folder), "--index", str(index), "--quiet"]
    second = subprocess.Popen(
        [sys.executable, "-c", READY, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert second.stdout is not None and second.stdout.readline() == "ready\n"
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW, *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not _locked(index) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert first.poll() is None, "the first indexer finished before it was seen holding the lock"
    out, err = second.communicate("go\n", timeout=60)
    assert second.returncode == 75, (out, err)
    assert err.startswith("Error: another 'podsearch index' is updating")
    out, err = first.communicate(timeout=60)
    assert (first.returncode, out, err) == (0, "", "")
    with podsearch.Index(index) as ix:
        assert len(ix.episodes()) == 6
