"""Crash safety: ``kill -9`` of an update at any moment, including mid-commit.

A child process updates an index from version 1 of a folder to version 2 (two
episodes edited, two added, two removed, one indexed episode broken) and is
killed: at random moments from outside, or at a chosen step of the commit by a
hook installed in the child. Afterwards the index must open and search, hold
exactly version 1 or version 2, and the next update must converge to what an
uninterrupted update makes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.index.storage import IndexDir

from .test_indexer import (
    assert_tidy,
    break_file,
    index_content,
    make_folder,
    search_ids,
    write_show,
)

#: The child: an update with workers from two files on, and a way to die at a chosen step.
CHILD = r"""
import os, signal, sys
import podsearch
from podsearch.index import indexer
from podsearch.index import writing
index, folder, point, rebuild = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "rebuild"
indexer.PARALLEL_FROM = 2
parent = os.getpid()


def die():
    os.kill(parent, signal.SIGKILL)


if point == "before-commit":  # worker segments written, no table of contents yet
    writing.Writer._commit_toc = lambda self, segments: die()
elif point == "toc-written":  # the new table of contents written, not yet renamed into place
    from whoosh.filedb.filestore import FileStorage

    rename = FileStorage.rename_file

    def renamed(self, old, new, safe=False):
        if new.endswith(".toc"):
            die()
        return rename(self, old, new, safe)

    FileStorage.rename_file = renamed
elif point == "toc-renamed":  # the new generation in place, old files not yet deleted
    import whoosh.index

    whoosh.index.clean_files = lambda *args: die()
elif point == "cleaning":  # some old files deleted, others not
    from whoosh.filedb.filestore import FileStorage

    delete, deleted = FileStorage.delete_file, []

    def deleting(self, name):
        deleted.append(name)
        if len(deleted) == 3:
            die()
        return delete(self, name)

    FileStorage.delete_file = deleting
elif point == "before-meta":  # committed, podsearch.json not yet written
    from podsearch.index.storage import IndexDir

    IndexDir.write_meta = lambda self, data: die()
elif point == "by-a-worker":  # the parent killed while its workers read files
    read = writing.read_episode

    def reading(path, people=None, raw=None):
        if os.getpid() != parent and path.endswith("ep05.md"):
            die()
        return read(path, people, raw)

    writing.read_episode = reading
print("updating", flush=True)
podsearch.Index(index).update(folder, rebuild=rebuild)
print("done", flush=True)
"""

POINTS = ["before-commit", "toc-written", "toc-renamed", "cleaning", "before-meta", "by-a-worker"]


def version_1(folder: Path) -> None:
    make_folder(folder, 12)


def version_2(folder: Path) -> None:
    for number in (1, 5):
        write_show(folder, number, word="edited")
    for number in (20, 21):
        write_show(folder, number)
    for number in (2, 3):
        (folder / f"ep{number:02d}.md").unlink()
    break_file(folder / "ep04.md")


class Scenario:
    """Version 1 indexed; the folder at version 2; what an uninterrupted update makes."""

    def __init__(self, root: Path) -> None:
        self.folder, self.index = root / "eps", root / "index"
        version_1(self.folder)
        podsearch.Index(self.index).update(self.folder)
        self.before = index_content(self.index)
        version_2(self.folder)
        reference = root / "reference"
        shutil.copytree(self.index, reference)
        podsearch.Index(reference).update(self.folder)
        self.after = index_content(reference)
        self.after_rebuild = self.after  # a rebuild makes the same content (ep04 carried over)

    def run(self, point: str, rebuild: bool = False, delay: float | None = None, group: bool = True) -> int:
        """Run the child until it is killed (or finishes); its exit status."""
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(self.index), str(self.folder), point, "rebuild" if rebuild else "-"],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "updating\n"
        if delay is not None:
            time.sleep(delay)
            # as `kill -9` of a cron job's process group, or of the main process alone
            _kill(child.pid, group)
        child.communicate(timeout=60)
        return child.returncode

    def check_after_kill(self) -> None:
        """The index opens and searches, and holds version 1 or version 2, nothing else."""
        assert search_ids(self.index, "pipelines")  # opens and searches
        content = index_content(self.index)
        assert content in (self.before, self.after), "a half-written index"

    def check_convergence(self) -> None:
        """The next update (queued behind any worker still finishing) completes the work."""
        report = podsearch.Index(self.index).update(self.folder, wait=True)
        assert [Path(f.path).name for f in report.failed] == ["ep04.md"]
        assert index_content(self.index) == self.after
        assert_tidy(self.index)
        again = podsearch.Index(self.index).update(self.folder)
        assert not again.changed and len(again.unchanged) == 11
        assert search_ids(self.index, "uniq4") == {"s01e04"}  # the broken file's last good version


def _kill(pid: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it had finished


@pytest.mark.parametrize("rebuild", [False, True], ids=["update", "rebuild"])
@pytest.mark.parametrize("point", POINTS)
def test_killed_at_a_step_of_the_update(tmp_path: Path, point: str, rebuild: bool) -> None:
    scenario = Scenario(tmp_path)
    assert scenario.run(point, rebuild) == -signal.SIGKILL
    scenario.check_after_kill()
    if point in ("toc-renamed", "cleaning", "before-meta"):
        assert index_content(scenario.index) == scenario.after  # the commit had happened
    else:
        assert index_content(scenario.index) == scenario.before
    scenario.check_convergence()


def test_killed_at_random_moments(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path)
    chance = random.Random(20240601)
    for attempt in range(6):
        if attempt:
            # back to version 1 indexed, the folder at version 2
            shutil.rmtree(scenario.index)
            shutil.rmtree(scenario.folder)
            scenario = Scenario(tmp_path / f"again{attempt}")
        scenario.run("-", rebuild=attempt % 3 == 2, delay=chance.uniform(0.0, 0.6), group=attempt % 2 == 0)
        scenario.check_after_kill()
        scenario.check_convergence()


def test_a_first_build_killed_at_random_moments_leaves_no_index_or_a_whole_one(tmp_path: Path) -> None:
    chance = random.Random(7)
    for attempt in range(4):
        folder, index = tmp_path / f"eps{attempt}", tmp_path / f"index{attempt}"
        make_folder(folder, 12)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(index), str(folder), "-", "-"],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "updating\n"
        time.sleep(chance.uniform(0.0, 0.4))
        _kill(child.pid, group=True)
        child.communicate(timeout=60)
        ix = podsearch.Index(index)
        if ix.exists():
            assert len(ix.episodes()) == 12
        else:
            with pytest.raises(podsearch.IndexMissingError):
                ix.search("pipelines")
        assert len(podsearch.Index(index).update(folder, wait=True).failed) == 0
        assert len(podsearch.Index(index).episodes()) == 12
        assert_tidy(index)


def test_meta_written_before_a_kill_is_not_trusted_after_it(tmp_path: Path) -> None:
    scenario = Scenario(tmp_path)
    assert scenario.run("before-meta") == -signal.SIGKILL
    meta: dict[str, Any] = IndexDir(scenario.index).read_meta()
    assert meta["generation"] < IndexDir(scenario.index).generation()  # stale: read the index instead
    report = podsearch.Index(scenario.index).update(scenario.folder)
    assert not report.changed and index_content(scenario.index) == scenario.after


def test_every_file_reaches_the_disk_before_the_commit_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A power cut, unlike a kill, loses what the OS had not written: the new table
    # of contents must only be renamed into place after the files it lists are synced.
    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc to name the synced files")
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 3)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    podsearch.Index(index).update(folder)
    toc = next(name for name in os.listdir(index) if name.endswith(".toc"))
    written = synced.index(next(name for name in synced if name.startswith(toc + ".")))  # the temporary table
    dictionary = next(name for name in os.listdir(index) if name.endswith(".dic"))
    segment_files = {name for name in os.listdir(index) if name.startswith("podsearch_s") and "." in name}
    assert segment_files and segment_files - {dictionary} <= set(synced[:written])
    # the spelling dictionary is made in the commit: synced and renamed before the record names it
    assert synced[written + 1 : written + 3] == [f".{dictionary}.{os.getpid()}.tmp", "index"]
    written += 2
    # then the generation's record (synced, renamed, the folder synced), and the folder once the
    # table is renamed into place
    record = f"._{toc[1:].replace('.toc', '.commit')}.{os.getpid()}.tmp"
    assert synced[written + 1 : written + 4] == [record, "index", "index"]
    assert f".podsearch.json.{os.getpid()}.tmp" in synced[written + 4 :]  # the report too, before it is named
