"""Full disks, permissions, read-only file systems: one podsearch error, the previous index intact, no leftovers.

Errors are injected at the write layer (Whoosh's file creation, in the parent
and in worker processes) and, where the machine allows mounting (root), met for
real on a small tmpfs.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.errors import DiskFullError, StorageError, StoragePermissionError
from podsearch.index import indexer
from podsearch.index.durable import DurableFileStorage
from podsearch.index.storage import INDEX_NAME, IndexDir

from .conftest import BUNDLED_EPISODE
from .test_indexer import assert_tidy, index_content, make_folder, parallel, search_ids, write_show

__all__ = ["parallel"]  # a fixture used here


def _failing_writes(
    monkeypatch: pytest.MonkeyPatch, number: int, after: int = 0, in_workers_only: bool = False
) -> None:
    """Make Whoosh's file creation fail with ``number`` after ``after`` files."""
    real = DurableFileStorage.create_file
    parent = os.getpid()
    created = [0]

    def create_file(self: DurableFileStorage, name: str, *args: Any, **kwargs: Any) -> Any:
        created[0] += 1
        if created[0] > after and not (in_workers_only and os.getpid() == parent):
            raise OSError(number, os.strerror(number), os.path.join(self.folder, name))
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(DurableFileStorage, "create_file", create_file)


def _indexed(tmp_path: Path) -> tuple[Path, Path, dict]:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 4)
    podsearch.Index(index).update(folder)
    for number in (4, 5, 6):
        write_show(folder, number)
    return folder, index, index_content(index)


def _leftovers(index: Path) -> set[str]:
    """Files beside what the latest generation uses (its record names them all)."""
    record = IndexDir(index).check_integrity()
    allowed = {"podsearch.lock", "podsearch.json", *record.files, f"_{INDEX_NAME}_{record.generation}.commit"}
    return {name for name in os.listdir(index) if not name.endswith("_WRITELOCK")} - allowed


@pytest.mark.parametrize(
    ("number", "error"),
    [
        (errno.ENOSPC, DiskFullError),
        (errno.EDQUOT, DiskFullError),
        (errno.EACCES, StoragePermissionError),
        (errno.EROFS, StoragePermissionError),
        (errno.EIO, StorageError),
    ],
    ids=["ENOSPC", "EDQUOT", "EACCES", "EROFS", "EIO"],
)
@pytest.mark.parametrize("after", [0, 3], ids=["first-file", "mid-segment"])
def test_a_write_error_is_one_podsearch_error_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int, error: type, after: int
) -> None:
    folder, index, before = _indexed(tmp_path)
    _failing_writes(monkeypatch, number, after)
    with pytest.raises(error) as raised:
        podsearch.Index(index).update(folder)
    assert type(raised.value) is error and raised.value.path == index
    assert str(index) in str(raised.value) and "the previous index is unchanged" in str(raised.value)
    if error is DiskFullError:
        assert raised.value.needed and " MB more is needed" in str(raised.value)
    monkeypatch.undo()
    assert index_content(index) == before and search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03"}
    assert _leftovers(index) == set()
    assert podsearch.Index(index).update(folder).added == ("s01e04", "s01e05", "s01e06")
    assert_tidy(index)


def test_a_worker_out_of_space_is_reported_as_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None
) -> None:
    folder, index, before = _indexed(tmp_path)
    _failing_writes(monkeypatch, errno.ENOSPC, in_workers_only=True)
    with pytest.raises(DiskFullError, match="no space left to write the index"):
        podsearch.Index(index).update(folder)
    monkeypatch.undo()
    assert index_content(index) == before and _leftovers(index) == set()


def test_the_lock_on_a_read_only_folder_is_a_permission_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith("podsearch.lock") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(StoragePermissionError, match="Read-only file system"):
        podsearch.Index(tmp_path / "index").update(tmp_path)


# --- compaction never makes a run fail ------------------------------------------------------


def _many_segments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    folder, index = tmp_path / "eps", tmp_path / "index"
    monkeypatch.setattr(indexer, "MAX_SEGMENTS", 1)
    make_folder(folder, 2)
    for number in range(2, 6):  # four commits: one segment each
        podsearch.Index(index).update(folder)
        write_show(folder, number)
    return folder, index


def test_compaction_is_postponed_when_free_space_is_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index = _many_segments(tmp_path, monkeypatch)
    monkeypatch.setattr(indexer, "free_bytes", lambda path: 1000)
    report = podsearch.Index(index).update(folder)
    assert report.added == ("s01e05",) and not report.rebuilt
    assert report.postponed.startswith("compaction postponed: it needs about")
    assert "s01e05" in search_ids(index, "pipelines")
    monkeypatch.undo()


def test_compaction_that_meets_a_full_disk_lands_the_incremental_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index = _many_segments(tmp_path, monkeypatch)
    from podsearch.index import writing

    real = writing.apply

    def full_when_rebuilding(store: Any, plan: Any, *args: Any) -> Any:
        if plan.rebuild:
            raise OSError(errno.ENOSPC, "No space left on device", str(store.path))
        return real(store, plan, *args)

    monkeypatch.setattr(writing, "apply", full_when_rebuilding)
    report = podsearch.Index(index).update(folder)
    assert report.added == ("s01e05",) and not report.rebuilt and "not enough free space" in report.postponed


# --- a real full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs (skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_real_full_disk(small_disk: Path, tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", small_disk / "index"
    folder.mkdir()
    shutil.copyfile(BUNDLED_EPISODE, folder / "copy0.md")
    podsearch.Index(index).update(folder)
    before = index_content(index)
    for number in range(1, 12):  # about 5 MB of index: more than the disk has left
        shutil.copyfile(BUNDLED_EPISODE, folder / f"copy{number}.md")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (6 * 2**20))
    with pytest.raises(DiskFullError, match=rf"no space left to write the index at {index} \(.* MB free\)"):
        podsearch.Index(index).update(folder)
    assert index_content(index) == before and _leftovers(index) == set()
    done = subprocess.run(
        [sys.executable, "-m", "podsearch", "index", str(folder), "--index", str(index), "-q"],
        capture_output=True,
        text=True,
    )
    assert done.returncode not in (0, 1) and "Traceback" not in done.stderr and "no space left" in done.stderr
    assert index_content(index) == before and _leftovers(index) == set()
    filler.unlink()
    assert len(podsearch.Index(index).update(folder).added) == 11
    assert_tidy(index)
