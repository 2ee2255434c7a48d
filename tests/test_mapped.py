"""Reading maps the segment files (podsearch/index/mapped.py): the same answers, nothing left mapped,
and a generation that stays readable after a commit deleted its files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

import podsearch
from podsearch.index.engine import open_generation
from podsearch.index.mapped import MappedFile, MappedStorage
from podsearch.index.storage import IndexDir

QUERIES = ["full-stack data scientist", "researchers engineers", '"machine learning"', "notebooks -python", "deploy*"]


def answers(index: podsearch.Index) -> list[list[tuple[str, int, float, str]]]:
    return [
        [(hit.episode.id, hit.paragraph, round(hit.score, 9), hit.snippet.text if hit.snippet else "") for hit in found]
        for found in (index.search(query, limit=20, context=1) for query in QUERIES)
    ]


def mapped_files(folder: Path) -> int:
    return sum(1 for line in Path("/proc/self/maps").read_text().splitlines() if str(folder) in line)


def test_searches_answer_the_same_through_mappings_as_through_reads(
    episodes_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = podsearch.Index(tmp_path / "index")
    index.update(episodes_dir)
    mapped = answers(index)
    index.close()
    monkeypatch.setattr(MappedStorage, "open_file", FileStorage.open_file)  # Whoosh's seeks and reads
    assert answers(index) == mapped
    assert all(mapped)  # every query found something


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_an_open_generation_maps_its_files_and_closing_it_releases_them(episodes_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    podsearch.Index(folder).update(episodes_dir)
    for _ in range(5):
        with podsearch.Index(folder) as index:
            assert index.search("data scientist").hits
            assert mapped_files(folder) > 0
        assert mapped_files(folder) == 0


def test_a_generation_stays_readable_after_a_commit_deleted_its_files(episodes_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    podsearch.Index(folder).update(episodes_dir)
    generation = open_generation(IndexDir(folder))
    docs = sorted(generation.catalog.documents_of(range(len(generation.catalog))))
    expected = [generation.paragraph(doc).text for doc in docs]
    generation.close()
    generation = open_generation(IndexDir(folder))
    before = {path.name for path in folder.iterdir()}
    podsearch.Index(folder).update(episodes_dir, rebuild=True)  # a new index beside; the old files go
    gone = before - {path.name for path in folder.iterdir()}
    assert any(name.endswith((".pst", ".seg", ".col", ".trm", ".fln", ".sto")) for name in gone), gone
    assert len(expected) > 50 and [generation.paragraph(doc).text for doc in docs] == expected
    generation.close()


def test_an_empty_file_opens_and_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "some").write_bytes(b"0123456789")
    storage = MappedStorage(str(tmp_path))
    empty = storage.open_file("empty")
    assert empty.read() == b""
    empty.close()
    some = storage.open_file("some")
    assert isinstance(some, MappedFile)
    assert some.get(3, 4) == b"3456" and some.read(2) == b"01"  # get leaves sequential reads where they were
    assert some.get(8, 10) == b"89"  # past the end: what is there, as a file's read gives
    some.close()
