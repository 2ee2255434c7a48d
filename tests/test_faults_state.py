"""State that can be lost loses nothing; no run silently empties the index; empty is valid; files are read once.

What a run indexes and removes comes from the commit record written inside the
atomic commit, never from ``podsearch.json``; a folder that is missing, empty or
unreadable, or a run that would remove more than half of the episodes, is refused
with nothing changed unless removals are allowed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import podsearch
from podsearch.errors import IndexBuildingError, RemovalRefusedError, UsageError
from podsearch.index import writing
from podsearch.index.storage import META_FILE, IndexDir

from .test_indexer import generation, index_content, make_folder, search_ids, write_show


@pytest.fixture
def mirrored(tmp_path: Path) -> tuple[Path, Path]:
    """Four episodes in ``shows/`` indexed, and a different ``./episodes`` (the default folder) beside."""
    folder, index = tmp_path / "shows", tmp_path / "index"
    make_folder(folder, 4)
    podsearch.Index(index).update(folder)
    write_show(tmp_path / "episodes", 7)  # $PODSEARCH_EPISODES (conftest): must never be used here
    return folder, index


@pytest.mark.parametrize(
    "meta",
    [None, b"", b"{not json", b'{"folders": ["/elsewhere"], "manifest": {}, "generation": 1}'],
    ids=["lost", "empty", "garbage", "edited"],
)
def test_a_lost_or_edited_report_changes_nothing(mirrored: tuple[Path, Path], meta: bytes | None) -> None:
    folder, index = mirrored
    before = index_content(index)
    path = index / META_FILE
    if meta is None:
        path.unlink()
    else:
        path.write_bytes(meta)
    report = podsearch.Index(index).update()  # the nightly, folder-less form
    assert report.folders == (str(folder.resolve()),) and report.removed == () and report.added == ()
    assert len(report.unchanged) == 4 and index_content(index) == before
    write_show(folder, 9)
    assert podsearch.Index(index).update().added == ("s01e09",)  # once, not the whole folder again
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03", "s01e09"}


def test_the_cli_nightly_form_uses_the_recorded_folders(mirrored: tuple[Path, Path]) -> None:
    _, index = mirrored
    (index / META_FILE).unlink()
    done = subprocess.run(
        [sys.executable, "-m", "podsearch", "index", "--index", str(index), "--quiet"], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03"}


def test_a_folder_less_run_on_an_index_that_does_not_know_its_folders_is_a_usage_error(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "_podsearch_s1_3.toc").write_bytes(b"an index of an older version")
    write_show(tmp_path / "episodes", 1)  # the default folder exists: still not a fallback
    with pytest.raises(UsageError, match="does not record which folders it mirrors"):
        podsearch.Index(index).update()


@pytest.mark.parametrize("how", ["missing", "empty", "unreadable"])
def test_a_folder_that_vanished_is_refused(
    mirrored: tuple[Path, Path], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index = mirrored
    before = index_content(index)
    if how == "missing":
        folder.rename(folder.with_name("unmounted"))
    elif how == "empty":
        for path in folder.iterdir():
            path.unlink()
    else:
        real = os.listdir

        def denied(path: object = ".") -> list[str]:
            if Path(str(path)) == folder:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "listdir", denied)
    for rebuild in (False, True):
        with pytest.raises(RemovalRefusedError, match=r"holds 4 episodes from it.*--allow-removals"):
            podsearch.Index(index).update(rebuild=rebuild)
    assert index_content(index) == before and generation(index) == 1
    report = podsearch.Index(index).update(allow_removals=True)
    assert report.removed == ("s01e00", "s01e01", "s01e02", "s01e03")


def test_removing_more_than_half_is_refused_unless_allowed(mirrored: tuple[Path, Path]) -> None:
    folder, index = mirrored
    for number in (0, 1, 2):
        (folder / f"ep0{number}.md").unlink()
    with pytest.raises(RemovalRefusedError, match="would remove 3 of the 4 episodes"):
        podsearch.Index(index).update()
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03"}
    assert podsearch.Index(index).update(allow_removals=True).removed == ("s01e00", "s01e01", "s01e02")


def test_removing_half_or_less_goes_ahead(mirrored: tuple[Path, Path]) -> None:
    folder, _ = mirrored
    (folder / "ep00.md").unlink()
    (folder / "ep01.md").unlink()
    assert podsearch.Index(mirrored[1]).update().removed == ("s01e00", "s01e01")


def test_pointing_at_the_wrong_folder_is_refused(mirrored: tuple[Path, Path], tmp_path: Path) -> None:
    _, index = mirrored
    with pytest.raises(RemovalRefusedError, match="would remove 4 of the 4"):
        podsearch.Index(index).update(tmp_path / "episodes")
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01", "s01e02", "s01e03"}


# --- empty is a valid state ------------------------------------------------------------------


def test_an_index_without_episodes_opens_searches_and_reports(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    index = tmp_path / "index"
    report = podsearch.Index(index).update(tmp_path / "empty")
    assert report.rebuilt and not report.failed
    with podsearch.Index(index) as ix:
        for _ in range(2):  # also with the kept searcher
            assert len(ix.search("pipelines")) == 0
        assert ix.episodes() == [] and ix.stats().episodes == 0
    assert IndexDir(index).check_integrity().manifest == {}
    write_show(tmp_path / "empty", 1)
    assert podsearch.Index(index).update().added == ("s01e01",)


def test_a_search_during_the_first_build_says_it_is_being_built(tmp_path: Path) -> None:
    index = tmp_path / "index"
    building = f"the index at {index} is being built; try again in a moment"
    with IndexDir(index).lock(), podsearch.Index(index) as ix, pytest.raises(IndexBuildingError, match=building):
        ix.search("pipelines")
    with pytest.raises(podsearch.IndexMissingError):  # the lock released: simply no index
        podsearch.Index(index).search("pipelines")


# --- read once -------------------------------------------------------------------------------


def test_a_file_edited_while_it_is_indexed_is_never_left_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    listed = write_show(folder, 1, word="listedversion").read_bytes()  # what the run hashes
    real = writing.read_bytes

    def edited_meanwhile(path: Path) -> bytes:
        if path.name == "ep01.md":  # someone saves another version just before it is read…
            write_show(folder, 1, word="readversion")
            data = real(path)
            path.write_bytes(listed)  # …and the listed one again just after
            return data
        return real(path)

    monkeypatch.setattr(writing, "read_bytes", edited_meanwhile)
    assert podsearch.Index(index).update(folder).updated == ("s01e01",)
    assert search_ids(index, "readversion") == {"s01e01"}  # indexed as read
    monkeypatch.undo()
    # the file now differs from what was indexed: the next run reads it again
    assert podsearch.Index(index).update(folder).updated == ("s01e01",)
    assert search_ids(index, "listedversion") == {"s01e01"} and search_ids(index, "readversion") == set()


def test_the_report_is_only_a_report(mirrored: tuple[Path, Path]) -> None:
    _, index = mirrored
    meta = json.loads((index / META_FILE).read_text())
    assert "manifest" not in meta and meta["episodes"] == 4 and meta["generation"] == generation(index)
