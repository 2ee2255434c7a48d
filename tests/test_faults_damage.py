"""Damaged index files: detected when a generation is opened, reported in one line, repaired by ``--rebuild``.

Each case damages a built index the way a disk, a person or a half-finished copy
would (a truncated file, a deleted one, garbage in the table of contents, a
same-size change that only a checksum sees) and checks what a search, an update,
``verify()`` and a rebuild do with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import podsearch
from podsearch.errors import IndexDamagedError, UsageError
from podsearch.index.storage import INDEX_NAME, IndexDir

from .test_indexer import assert_tidy, index_content, make_folder, search_ids, write_show

DAMAGED = r"the index at .* is damaged \((?P<file>[^)]+)\); repair it with: podsearch index --rebuild"


def _file(index: Path, suffix: str) -> Path:
    return next(index / name for name in sorted(os.listdir(index)) if name.endswith(suffix))


def truncate(suffix: str) -> Callable[[Path], str]:
    def damage(index: Path) -> str:
        path = _file(index, suffix)
        path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
        return path.name

    return damage


def delete(suffix: str) -> Callable[[Path], str]:
    def damage(index: Path) -> str:
        path = _file(index, suffix)
        path.unlink()
        return path.name

    return damage


def garbage(suffix: str) -> Callable[[Path], str]:
    def damage(index: Path) -> str:
        path = _file(index, suffix)
        path.write_bytes(b"\x00garbage" * 40)
        return path.name

    return damage


DAMAGES = {
    "truncated .trm": truncate(".trm"),
    "truncated _stored.col": truncate("_stored.col"),
    "truncated _text_len.col": truncate("_text_len.col"),
    "deleted .pst": delete(".pst"),
    "garbage table of contents": garbage(".toc"),
    "truncated table of contents": truncate(".toc"),
    "deleted commit record": delete(".commit"),
    "garbage commit record": garbage(".commit"),
}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict]:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 4)
    podsearch.Index(index).update(folder)
    return folder, index, index_content(index)


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_damage_is_reported_in_one_line_and_repaired_by_rebuild(kind: str, built: tuple[Path, Path, dict]) -> None:
    folder, index, before = built
    name = DAMAGES[kind](index)
    with podsearch.Index(index) as ix, pytest.raises(IndexDamagedError, match=DAMAGED) as raised:
        ix.search("pipelines")
    assert name in str(raised.value)
    with pytest.raises(IndexDamagedError, match=DAMAGED):  # an update refuses it too
        podsearch.Index(index).update(folder)
    report = podsearch.Index(index).update(rebuild=True)  # the folders come from the record, or the report
    assert report.rebuilt and not report.failed and len(report.added + report.unchanged) == 4
    assert index_content(index) == before and search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03"}
    assert podsearch.Index(index).verify().ok
    assert_tidy(index)


def test_a_same_size_change_is_found_by_verify(built: tuple[Path, Path, dict]) -> None:
    folder, index, _ = built
    path = _file(index, ".pst")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = podsearch.Index(index).verify()
    assert not report.ok and report.damaged == (f"{path.name}: its content changed since it was written",)
    assert "repair it with: podsearch index --rebuild" in report.summary()
    podsearch.Index(index).update(folder, rebuild=True)
    assert podsearch.Index(index).verify().ok


def test_verify_names_every_damaged_file(built: tuple[Path, Path, dict]) -> None:
    _, index, _ = built
    truncated = truncate(".trm")(index)
    deleted = delete(".pst")(index)
    report = podsearch.Index(index).verify()
    assert report.generation == 1 and report.files == len(IndexDir(index).record(1).files)
    assert sorted(report.damaged) == sorted(
        [f"{deleted}: missing", f"{truncated}: " + report.damaged[-1].split(": ")[1]]
    )
    assert any(line.startswith(truncated) and "bytes instead of" in line for line in report.damaged)


def test_a_sound_index_verifies(built: tuple[Path, Path, dict]) -> None:
    _, index, _ = built
    report = podsearch.Index(index).verify()
    assert report.ok and report.bytes > 0 and report.summary().startswith(f"the index at {index} is sound")


def test_a_truncated_lengths_file_never_changes_rankings_silently(built: tuple[Path, Path, dict]) -> None:
    _, index, _ = built
    truncate("_text_len.col")(index)
    with podsearch.Index(index) as ix, pytest.raises(IndexDamagedError):
        ix.search("data pipelines physics")


def test_rebuild_keeps_searches_on_the_last_good_index_until_it_lands(
    built: tuple[Path, Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index, _ = built
    from podsearch.index import writing

    seen: list[set[str]] = []
    real = writing.Writer.commit_segments

    def searching_first(self: writing.Writer, *args: object) -> object:
        seen.append(search_ids(index, "pipelines"))  # mid-rebuild: the old generation still answers
        return real(self, *args)

    monkeypatch.setattr(writing.Writer, "commit_segments", searching_first)
    write_show(folder, 9)
    podsearch.Index(index).update(folder, rebuild=True)
    assert seen == [{"s01e00", "s01e01", "s01e02", "s01e03"}]
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03", "s01e09"}


def test_rebuild_works_from_any_state_of_the_folder(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 3)
    podsearch.Index(index).update(folder)
    for name in os.listdir(index):  # everything half-written or garbage, nothing readable
        if name not in ("podsearch.lock",):
            (index / name).write_bytes(b"\xff" * 7)
    (index / f"_{INDEX_NAME}_9.toc.1700000000.5").write_bytes(b"half")
    (index / f"{INDEX_NAME}.tmp").mkdir()
    with pytest.raises(UsageError, match="does not record which folders"):  # podsearch.json is garbage too
        podsearch.Index(index).update(rebuild=True)
    report = podsearch.Index(index).update(folder, rebuild=True)
    assert report.rebuilt and len(report.added) == 3
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02"}
    assert_tidy(index)


def test_the_cli_reports_damage_and_repairs_it(built: tuple[Path, Path, dict]) -> None:
    _, index, before = built
    truncate(".trm")(index)
    search = subprocess.run(
        [sys.executable, "-m", "podsearch", "pipelines", "--index", str(index)], capture_output=True, text=True
    )
    assert search.returncode != 0 and "Traceback" not in search.stderr
    assert "is damaged" in search.stderr and "podsearch index --rebuild" in search.stderr
    rebuild = subprocess.run(
        [sys.executable, "-m", "podsearch", "index", "--rebuild", "--index", str(index), "-q"],
        capture_output=True,
        text=True,
    )
    assert rebuild.returncode == 0, rebuild.stderr
    assert index_content(index) == before
