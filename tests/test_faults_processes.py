"""Worker processes: they die with their parent, are stopped on any exception, report their
errors, and never decide the order of the index."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.index import writing
from podsearch.index.storage import LOCK_FILE, TEMP_FOLDER, IndexDir

from .test_indexer import assert_tidy, index_content, make_folder, parallel, write_show

__all__ = ["parallel"]  # a fixture used here

#: An update whose workers write their pid and then read very slowly.
SLOW_WORKERS = r"""
import os, sys, time
import podsearch
from podsearch.index import indexer, writing
index, folder, pids = sys.argv[1], sys.argv[2], sys.argv[3]
indexer.PARALLEL_FROM = 2
parent = os.getpid()
read = writing.read_episode


def slow(path, people=None, raw=None):
    if os.getpid() != parent:
        with open(os.path.join(pids, str(os.getpid())), "w"):
            pass
        time.sleep(60)
    return read(path, people, raw)


writing.read_episode = slow
podsearch.Index(index).update(folder)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_the_parent_takes_its_workers_and_frees_the_lock(tmp_path: Path) -> None:
    folder, index, pids = tmp_path / "eps", tmp_path / "index", tmp_path / "pids"
    make_folder(folder, 4)
    pids.mkdir()
    child = subprocess.Popen([sys.executable, "-c", SLOW_WORKERS, str(index), str(folder), str(pids)])
    deadline = time.monotonic() + 60
    while len(os.listdir(pids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(name) for name in os.listdir(pids)]
    assert len(workers) == 2
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # the workers sleep for a minute: only the kernel's parent-death signal ends them now
    deadline = time.monotonic() + 20
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, workers))
    descriptor = os.open(index / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: the next run would not exit 75
    finally:
        os.close(descriptor)
    report = podsearch.Index(index).update(folder)
    assert len(report.added) == 4
    assert_tidy(index)


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_an_interrupted_update_stops_its_workers_and_removes_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None, interruption: type
) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 4)
    podsearch.Index(index).update(folder)
    before = index_content(index)
    for number in range(4, 12):
        write_show(folder, number)
    files = [0]

    def interrupted(progress: Any) -> None:  # Ctrl-C, or the exception C's SIGTERM handler raises
        files[0] += 1
        if files[0] == 3:
            raise interruption()

    with pytest.raises(interruption):
        podsearch.Index(index).update(folder, progress=interrupted)
    assert multiprocessing.active_children() == []
    assert index_content(index) == before
    assert not (index / TEMP_FOLDER).exists()
    assert_tidy(index)
    assert not IndexDir(index).is_locked()


def _delaying(monkeypatch: pytest.MonkeyPatch, slow_id: str) -> None:
    """Workers whose share holds ``slow_id`` finish last."""
    real = writing._index_share

    def index_share(index_path: str, sources: list[Any], report: Any) -> Any:
        result = real(index_path, sources, report)
        if any(source.id == slow_id for source in sources):
            time.sleep(0.5)
        return result

    monkeypatch.setattr(writing, "_index_share", index_share)


def _document_order(index: Path) -> list[tuple[str, Any]]:
    from whoosh.filedb.filestore import FileStorage

    from podsearch.index.storage import INDEX_NAME

    ix = FileStorage(str(index), readonly=True).open_index(INDEX_NAME)
    with ix.reader() as reader:
        return [(stored["eid"], stored.get("kind")) for _, stored in reader.iter_docs()]


def test_the_same_files_give_the_same_order_whichever_worker_finishes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None
) -> None:
    folder = tmp_path / "eps"
    make_folder(folder, 6)
    orders = []
    for attempt, slow in enumerate(["s01e00", "s01e01", "s01e00", "s01e01"]):
        _delaying(monkeypatch, slow)
        podsearch.Index(tmp_path / f"index{attempt}").update(folder)
        orders.append(_document_order(tmp_path / f"index{attempt}"))
        monkeypatch.undo()
        monkeypatch.setattr("podsearch.index.indexer.PARALLEL_FROM", 2)
    assert len(orders[0]) == 6 * 5 and all(order == orders[0] for order in orders)
