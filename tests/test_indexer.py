"""Incremental updates: what is read, what is reported, what is kept, what is written.

Small crafted folders (a few lines per episode) keep every update well under a
second; the worker-process path is exercised by lowering ``PARALLEL_FROM``.
The helpers at the top are shared with the other ``test_index_*`` modules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.errors import IndexMissingError, IndexVersionError, PodsearchError, RemovalRefusedError
from podsearch.index import indexer, writing
from podsearch.index.schema import SCHEMA_VERSION
from podsearch.index.segments import BulkSegmentWriter
from podsearch.index.storage import INDEX_NAME, IndexDir

from .factory import write_episode, write_person

# --- helpers shared by the test_index_* modules ------------------------------------------------


def write_show(folder: Path, number: int, word: str = "") -> Path:
    """Episode ``ep{number:02d}``: four paragraphs, two sections, its own words (``uniq{number}``)."""
    return write_episode(
        folder,
        f"ep{number:02d}",
        [
            ("header", "Background"),
            ("Alexey", 10, f"Welcome to show {number}. Today we talk about pipelines and uniq{number}."),
            ("Guest", 30, f"I build data pipelines {word} at company{number}; before that I studied physics."),
            ("header", "Advice"),
            ("Alexey", 90, "What would you tell someone who starts in data engineering today?"),
            (None, None, f"Learn SQL first, then Python. {word}".strip()),
        ],
        title=f"Show {number} about pipelines",
        season=1,
        number=number,
        guests=[f"guest{number}"],
    )


def make_folder(folder: Path, count: int) -> list[str]:
    """``count`` episodes ``ep00``… in ``folder``; their ids."""
    return [f"s01e{number:02d}" for number in range(count) if write_show(folder, number)]


def break_file(path: Path) -> None:
    """Make an episode file unparseable (the reason is :data:`BROKEN`)."""
    path.write_text("---\ntitle: broken\nseason: [1\n---\n", encoding="utf-8")


BROKEN = "line 4, column 1: invalid YAML: did not find expected ',' or ']'"


def generation(index: Path) -> int | None:
    return IndexDir(index).generation()


def ids(results: podsearch.Results) -> set[str]:
    return {hit.episode.id for hit in results}


def search_ids(index: Path, query: str) -> set[str]:
    with podsearch.Index(index) as ix:
        return ids(ix.search(query, limit=100))


def index_content(index: Path) -> dict[str, Any]:
    """What an index holds, independent of segments, deletions and document numbers:
    the stored fields of each live document, every posting and every field length."""
    from whoosh.filedb.filestore import FileStorage

    ix = FileStorage(str(index), readonly=True).open_index(INDEX_NAME)
    with ix.reader() as reader:
        names: dict[int, tuple[str, int]] = {}
        documents = []
        for docnum, stored in reader.iter_docs():
            names[docnum] = (stored["eid"], stored["hit"][0] if "hit" in stored else -1)
            documents.append((names[docnum], sorted(stored.items())))
        postings: dict[tuple[str, bytes], list[Any]] = {}
        for field in sorted(reader.indexed_field_names()):
            for term in reader.lexicon(field):
                matcher = reader.postings(field, term)
                found = []
                while matcher.is_active():
                    found.append((names[matcher.id()], matcher.weight(), matcher.value()))
                    matcher.next()
                if found:
                    postings[(field, term)] = sorted(found)
        lengths = {
            (names[docnum], field): reader.doc_field_length(docnum, field)
            for field in reader.schema.scorable_names()
            for docnum in names
        }
    ix.close()
    return {"documents": sorted(documents), "postings": postings, "lengths": lengths}


def index_files(index: Path) -> list[str]:
    """The index folder's file names, without the lock and metadata."""
    return sorted(n for n in os.listdir(index) if not n.startswith("podsearch.") and not n.endswith(".tmp"))


def assert_tidy(index: Path) -> None:
    """Only the latest generation's table of contents and segment files are left."""
    from whoosh.filedb.filestore import FileStorage

    ix = FileStorage(str(index), readonly=True).open_index(INDEX_NAME)
    used = {segment.segment_id() for segment in ix._segments()}
    latest = ix.latest_generation()
    ix.close()
    for name in index_files(index):
        if name.endswith("_WRITELOCK"):
            continue
        if name.startswith("_"):
            assert name in (f"_{INDEX_NAME}_{latest}.toc", f"_{INDEX_NAME}_{latest}.commit"), name
        else:
            assert name.split(".", 1)[0] in used or name == f"{INDEX_NAME}_spellings-{latest}.dic", name


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the worker processes from two files on."""
    monkeypatch.setattr(indexer, "PARALLEL_FROM", 2)


# --- first build, re-runs, edit / add / remove / break -----------------------------------------


def test_first_update_indexes_every_file(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    episodes = make_folder(folder, 3)
    report = podsearch.Index(index).update(folder)
    assert report.added == tuple(episodes)
    assert (report.updated, report.removed, report.unchanged, report.failed) == ((), (), (), ())
    assert report.paragraphs == 3 * 4 and report.rebuilt and report.ok
    assert report.folders == (str(folder),)
    assert search_ids(index, "uniq1") == {"s01e01"}
    assert generation(index) == 1


def test_unchanged_rerun_reports_all_unchanged_and_writes_nothing(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    episodes = make_folder(folder, 3)
    podsearch.Index(index).update(folder)
    before = {name: os.stat(index / name).st_mtime_ns for name in index_files(index)}
    report = podsearch.Index(index).update(folder)
    assert report.unchanged == tuple(episodes)
    assert (report.added, report.updated, report.removed, report.failed, report.paragraphs) == ((), (), (), (), 0)
    assert not report.changed and not report.rebuilt
    assert generation(index) == 1
    assert {name: os.stat(index / name).st_mtime_ns for name in index_files(index)} == before
    meta = IndexDir(index).read_meta()
    assert meta["report"]["unchanged"] == 3 and meta["generation"] == 1


def test_edit_add_remove_cycle_reports_exactly(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 4)
    ix = podsearch.Index(index)
    ix.update(folder)
    write_show(folder, 1, word="kubernetes")  # edited
    write_show(folder, 7)  # added
    (folder / "ep02.md").unlink()  # removed
    report = ix.update(folder)
    assert (report.added, report.updated, report.removed) == (("s01e07",), ("s01e01",), ("s01e02",))
    assert report.unchanged == ("s01e00", "s01e03") and report.failed == ()
    assert report.paragraphs == 8 and not report.rebuilt
    assert search_ids(index, "kubernetes") == {"s01e01"}
    assert search_ids(index, "uniq7") == {"s01e07"}
    assert search_ids(index, "uniq2") == set()
    assert search_ids(index, "uniq1") == {"s01e01"}  # the edited episode is there once
    with podsearch.Index(index) as fresh:
        assert [e.id for e in fresh.episodes()] == ["s01e00", "s01e01", "s01e03", "s01e07"]
        assert fresh.stats().paragraphs == 16


def test_file_broken_after_indexing_keeps_its_last_good_version(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 3)
    ix = podsearch.Index(index)
    ix.update(folder)
    break_file(folder / "ep01.md")
    report = ix.update(folder)
    assert [(f.path, f.message) for f in report.failed] == [(str(folder / "ep01.md"), BROKEN)]
    assert report.unchanged == ("s01e00", "s01e02") and not report.changed
    assert search_ids(index, "uniq1") == {"s01e01"}
    # Across a full rebuild too: the indexed copy is carried over.
    report = ix.update(folder, rebuild=True)
    assert report.rebuilt and [f.path for f in report.failed] == [str(folder / "ep01.md")]
    assert search_ids(index, "uniq1") == {"s01e01"}
    assert ix.episode("s01e01").title == "Show 1 about pipelines"
    # Fixed: read again.
    write_show(folder, 1, word="repaired")
    report = ix.update(folder)
    assert report.updated == ("s01e01",) and report.ok
    assert search_ids(index, "repaired") == {"s01e01"}


def test_a_failing_file_never_stops_the_others(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 3)
    break_file(folder / "ep00.md")
    (folder / "notes.md").write_text("---\ntitle: not an episode\n---\n", encoding="utf-8")
    report = podsearch.Index(index).update(folder)
    assert report.added == ("s01e01", "s01e02")
    assert [(Path(f.path).name, f.message) for f in report.failed] == [("ep00.md", BROKEN)]
    # not an episode page: skipped with the reason, not a failure
    assert [(Path(f.path).name, f.message) for f in report.skipped] == [("notes.md", "no transcript")]


def test_known_failures_are_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    break_file(folder / "ep01.md")
    first = podsearch.Index(index).update(folder)
    monkeypatch.setattr(writing, "read_episode", _must_not_read)
    again = podsearch.Index(index).update(folder)
    assert again.failed == first.failed and again.unchanged == ("s01e00",)
    # A changed failing file is read again.
    (folder / "ep01.md").write_text("---\ntitle: [still broken\n---\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="read ep01"):
        podsearch.Index(index).update(folder)


def _must_not_read(path: str, people: object = None, raw: object = None) -> None:
    raise AssertionError(f"read {Path(path).stem}")


def test_a_missing_folder_never_deletes_indexed_episodes(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    ix = podsearch.Index(index)
    ix.update(folder)
    folder.rename(tmp_path / "moved")
    for rebuild in (False, True):
        with pytest.raises(RemovalRefusedError, match=r"the folder .*eps cannot be listed.* holds 2 episodes"):
            ix.update(folder, rebuild=rebuild)
        assert search_ids(index, "pipelines") == {"s01e00", "s01e01"} and generation(index) == 1
    report = ix.update(folder, allow_removals=True)
    assert report.removed == ("s01e00", "s01e01") and [f.path for f in report.failed] == [str(folder)]
    assert "cannot list the folder" in report.failed[0].message


def test_with_two_folders_a_missing_one_is_refused_unless_allowed(tmp_path: Path) -> None:
    first, second, index = tmp_path / "a", tmp_path / "b", tmp_path / "index"
    write_show(first, 1)
    write_show(first, 2)
    write_show(second, 3)
    ix = podsearch.Index(index)
    ix.update([first, second])
    (first / "ep02.md").unlink()
    shutil.rmtree(second)
    with pytest.raises(RemovalRefusedError):
        ix.update([first, second])
    assert search_ids(index, "pipelines") == {"s01e01", "s01e02", "s01e03"}
    report = ix.update([first, second], allow_removals=True)
    assert report.removed == ("s01e02", "s01e03") and report.unchanged == ("s01e01",)
    assert search_ids(index, "pipelines") == {"s01e01"}


def test_without_folders_the_last_runs_folders_are_used(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    write_show(folder, 5)
    report = podsearch.Index(index).update()
    assert report.added == ("s01e05",) and report.folders == (str(folder.resolve()),)


def test_without_folders_or_a_last_run_the_default_folder_is_used(tmp_path: Path) -> None:
    make_folder(tmp_path / "episodes", 1)  # $PODSEARCH_EPISODES points here (conftest)
    report = podsearch.Index().update()
    assert report.added == ("s01e00",) and (tmp_path / "index").is_dir()


def test_two_files_with_one_code_get_two_ids_in_path_order(tmp_path: Path) -> None:
    write_show(tmp_path / "a", 1)
    write_show(tmp_path / "b", 1)
    index = tmp_path / "index"
    report = podsearch.Index(index).update([tmp_path / "a", tmp_path / "b"])
    assert report.added == ("s01e01", "s01e01-abcdefghijk") and report.ok
    with podsearch.Index(index) as ix:
        assert {e.id: e.path for e in ix.episodes()} == {
            "s01e01": str(tmp_path / "a" / "ep01.md"),
            "s01e01-abcdefghijk": str(tmp_path / "b" / "ep01.md"),
        }
    # the id held stays held, also through a rebuild
    report = podsearch.Index(index).update(rebuild=True)
    assert report.rebuilt and report.unchanged == ("s01e01", "s01e01-abcdefghijk")
    with podsearch.Index(index) as ix:
        assert ix.episode("s01e01-abcdefghijk").path == str(tmp_path / "b" / "ep01.md")


def test_read_folder_gives_two_files_with_one_code_the_ids_the_index_gives(tmp_path: Path) -> None:
    folder = tmp_path / "eps"
    write_show(folder, 1)
    (folder / "ep01.md").rename(folder / "a-first.md")
    write_show(folder, 1)
    (folder / "ep01.md").rename(folder / "b-second.md")
    read = {Path(e.path).name: e.id for e in podsearch.read_folder(folder) if isinstance(e, podsearch.Episode)}
    assert read == {"a-first.md": "s01e01", "b-second.md": "s01e01-abcdefghijk"}
    with podsearch.Index(tmp_path / "index") as ix:
        ix.update(folder)
        assert {Path(e.path).name: e.id for e in ix.episodes()} == read


def test_a_changed_file_is_found_by_content_not_by_time(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    os.utime(folder / "ep00.md", (1, 1))  # as after a fresh clone: new times, same bytes
    assert podsearch.Index(index).update(folder).unchanged == ("s01e00", "s01e01")
    path = folder / "ep01.md"
    stat = path.stat()
    path.write_text(path.read_text().replace("physics", "biology"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time, new bytes
    assert podsearch.Index(index).update(folder).updated == ("s01e01",)


def test_a_renamed_guest_reindexes_the_folder(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    people = tmp_path / "people"
    write_person(people, "janedoe", "Jane Doe")
    write_episode(folder, "guest", [("Jane", 10, "Vectors and more vectors.")], guests=["janedoe"], number=1)
    write_episode(folder, "other", [("Bob", 10, "Nothing about that.")], number=2)
    ix = podsearch.Index(index)
    ix.update(folder)
    assert ix.search("vectors")[0].who == "Jane Doe"
    assert ix.update(folder).unchanged == ("s01e01", "s01e02")  # the people folder is read, not changed
    write_person(people, "janedoe", "Jane Q. Doe")
    assert ix.update(folder).updated == ("s01e01", "s01e02")  # which guests a file names is unknown unread
    assert ix.search("vectors")[0].who == "Jane Q. Doe"
    (people / "newcomer.md").mkdir()  # not a file: no name, no error
    assert ix.update(folder).ok
    ix.close()


def test_progress_is_reported_for_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "eps"
    make_folder(folder, 3)
    seen: list[indexer.Progress] = []
    podsearch.Index(tmp_path / "index").update(folder, progress=seen.append)
    assert [(p.files, p.total) for p in seen] == [(1, 3), (2, 3), (3, 3)]
    assert seen[-1].paragraphs == 12


# --- the state kept in podsearch.json ---------------------------------------------------------------


def test_a_stale_metadata_file_is_not_trusted(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    meta = IndexDir(index).read_meta()
    IndexDir(index).write_meta({**meta, "manifest": {}, "generation": 99})  # wrong on purpose
    report = podsearch.Index(index).update(folder)
    assert report.unchanged == ("s01e00", "s01e01") and not report.changed
    (index / "podsearch.json").write_text("{not json", encoding="utf-8")
    assert podsearch.Index(index).update(folder).unchanged == ("s01e00", "s01e01")


def test_an_idle_run_imports_neither_whoosh_nor_yaml(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    break_file(folder / "ep01.md")
    podsearch.Index(index).update(folder)
    code = (
        "import sys, podsearch\n"
        f"report = podsearch.Index({str(index)!r}).update({str(folder)!r})\n"
        "assert report.unchanged == ('s01e00',) and len(report.failed) == 1, report\n"
        "print(sorted(m for m in ('whoosh.index', 'whoosh.writing', 'yaml', 'podsearch.index.writing') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- leftovers, versions, a first build that never finished -----------------------------------------


def test_leftovers_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    debris = [
        f"_{INDEX_NAME}_2.toc.1700000000.25",  # a table of contents never renamed into place
        f"_{INDEX_NAME}_0.toc",  # an older generation
        f"{INDEX_NAME}_0123456789abcdef.pst",  # a segment never committed
        ".podsearch.json.4242.tmp",
    ]
    for name in debris:
        (index / name).write_bytes(b"x")
    podsearch.Index(index).update(folder)
    assert not set(debris) & set(os.listdir(index))
    assert_tidy(index)


def test_an_index_of_another_version_is_refused_then_rebuilt(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    podsearch.Index(index).update(folder)
    other = f"podsearch_s{SCHEMA_VERSION + 1}"
    for name in os.listdir(index):
        if INDEX_NAME in name:
            os.rename(index / name, index / name.replace(INDEX_NAME, other))
    meta = IndexDir(index).read_meta()
    IndexDir(index).write_meta({**meta, "podsearch": "9.9.9", "schema": SCHEMA_VERSION + 1})
    with pytest.raises(IndexVersionError, match=r"podsearch 9\.9\.9 .*podsearch index --rebuild"):
        podsearch.Index(index).search("pipelines")
    report = podsearch.Index(index).update(folder)
    assert report.rebuilt and report.added == ("s01e00", "s01e01")
    assert search_ids(index, "pipelines") == {"s01e00", "s01e01"}
    assert not [name for name in os.listdir(index) if other in name]


def test_an_index_whose_first_build_never_finished_counts_as_missing(tmp_path: Path) -> None:
    from whoosh.filedb.filestore import FileStorage

    from podsearch.index.schema import make_schema

    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    index.mkdir()
    FileStorage(str(index)).create_index(make_schema(), indexname=INDEX_NAME)  # generation 0 only
    assert not podsearch.Index(index).exists()
    with pytest.raises(IndexMissingError):
        podsearch.Index(index).search("pipelines")
    assert podsearch.Index(index).update(folder).added == ("s01e00", "s01e01")
    assert search_ids(index, "uniq0") == {"s01e00"}


# --- segments ----------------------------------------------------------------------------------------


def segment_count(index: Path) -> int:
    with podsearch.Index(index) as ix:
        return ix.stats().segments


def test_many_small_updates_do_not_grow_segments_without_bound(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    ix = podsearch.Index(index)
    ix.update(folder)
    bound = indexer.MAX_SEGMENTS + 2  # and one per 60,000 documents
    counts, rebuilds = [], 0
    for number in range(10, 10 + 2 * bound):
        write_show(folder, number)  # each update adds a segment, and empties none
        report = ix.update(folder)
        assert report.added == (f"s01e{number:02d}",) or report.rebuilt
        rebuilds += report.rebuilt
        counts.append(segment_count(index))
    assert max(counts) <= bound + 1 and rebuilds >= 1, counts
    assert min(counts[counts.index(max(counts)) :]) == 1  # the compaction made one segment
    with podsearch.Index(index) as fresh:
        assert len(fresh.episodes()) == 2 + 2 * bound
    # Edits empty their episode's old segment, which is then dropped.
    for step in range(4):
        write_show(folder, 10, word=f"edit{step}")
        ix.update(folder)
    assert search_ids(index, "edit3") == {"s01e10"} and search_ids(index, "edit2") == set()


def test_workers_build_the_same_index_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "eps"
    make_folder(folder, 5)
    podsearch.Index(tmp_path / "one").update(folder)
    monkeypatch.setattr(indexer, "PARALLEL_FROM", 2)
    monkeypatch.setattr(indexer, "SEGMENT_DOCUMENTS", 7)  # several segments per worker
    seen: list[indexer.Progress] = []
    report = podsearch.Index(tmp_path / "two").update(folder, progress=seen.append)
    assert report.added == tuple(f"s01e{n:02d}" for n in range(5)) and report.paragraphs == 20
    assert sorted(p.files for p in seen) == [1, 2, 3, 4, 5]
    assert index_content(tmp_path / "two") == index_content(tmp_path / "one")
    assert segment_count(tmp_path / "two") > 2
    # A full build's own segments never trigger a compaction.
    assert not podsearch.Index(tmp_path / "two").update(folder).rebuilt


def indexed_then_changed(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """Four episodes indexed, then all four edited: the folder, the index and its content before."""
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 4)
    podsearch.Index(index).update(folder)
    before = index_content(index)
    for number in range(4):
        write_show(folder, number, word="changed")
    return folder, index, before


def test_a_worker_that_dies_stops_the_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None) -> None:
    folder, index, before = indexed_then_changed(tmp_path)
    parent = os.getpid()
    real = writing.read_episode

    def dies_in_a_worker(path: str, people: object = None, raw: object = None) -> object:
        if os.getpid() != parent and path.endswith("ep02.md"):
            os._exit(9)
        return real(path, people, raw)

    monkeypatch.setattr(writing, "read_episode", dies_in_a_worker)
    with pytest.raises(PodsearchError, match=r"worker process died \(exit code 9\); the index is unchanged"):
        podsearch.Index(index).update(folder)
    assert index_content(index) == before and generation(index) == 1
    monkeypatch.setattr(writing, "read_episode", real)
    assert podsearch.Index(index).update(folder).updated == ("s01e00", "s01e01", "s01e02", "s01e03")
    assert_tidy(index)


def test_a_worker_segment_short_of_documents_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None
) -> None:
    folder, index, before = indexed_then_changed(tmp_path)
    parent = os.getpid()
    real = BulkSegmentWriter.add_document

    def drops_one(self: BulkSegmentWriter, **fields: Any) -> None:
        if os.getpid() != parent and fields.get("hit", (None,))[0] == 2 and fields["eid"] == "s01e01":
            return  # as if the document had been lost
        real(self, **fields)

    monkeypatch.setattr(BulkSegmentWriter, "add_document", drops_one)
    with pytest.raises(PodsearchError, match=r"an indexing worker wrote \d+ of \d+ documents; the index is unchanged"):
        podsearch.Index(index).update(folder)
    assert index_content(index) == before


def test_a_worker_that_loses_a_segment_or_a_file_is_refused() -> None:
    share = [indexer.Source("a", "/a.md", "1"), indexer.Source("b", "/b.md", "2")]
    outcomes = [writing.Outcome("a", 3, 4), writing.Outcome("b", 1, 2)]
    built = writing.Built()
    with pytest.raises(PodsearchError, match="returned segments of 4 of 6 documents; the index is unchanged"):
        writing.accept(share, outcomes, [("first", 4)], built)
    with pytest.raises(PodsearchError, match="did not report every file; the index is unchanged"):
        writing.accept(share, outcomes[:1], [("first", 4)], built)
    assert built.outcomes == [] and built.segments == []
    writing.accept(share, outcomes, [("first", 4), ("second", 2)], built)
    assert built.read() == {"a", "b"}


def test_a_worker_failure_releases_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: None) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 3)
    monkeypatch.setattr(writing, "read_episode", lambda path, people=None: os._exit(3))
    with pytest.raises(PodsearchError):
        podsearch.Index(index).update(folder)
    with IndexDir(index).lock(wait=False):
        pass


def test_the_report_is_kept_for_stats(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    make_folder(folder, 2)
    break_file(folder / "ep01.md")
    report = podsearch.Index(index).update(folder)
    meta = json.loads((index / "podsearch.json").read_text(encoding="utf-8"))
    assert meta["report"] == indexer.report_record(report)
    assert meta["schema"] == SCHEMA_VERSION and meta["podsearch"] == podsearch.__version__
    assert meta["folders"] == [str(folder.resolve())]


# --- the real corpus ---------------------------------------------------------------------------------


@pytest.mark.corpus
def test_the_corpus_is_indexed_by_workers_and_an_idle_rerun_reads_nothing(
    corpus_index: podsearch.Index, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = corpus_index.stats()
    # 202 episodes: the two pages without a transcript by their metadata; repeated lines once
    assert (stats.episodes, stats.paragraphs) == (202, 27_561)
    assert stats.segments == 2  # one per worker
    monkeypatch.setattr(writing, "read_episode", _must_not_read)
    report = podsearch.Index(corpus_index.path).update(corpus_dir)
    assert len(report.unchanged) == 202 and not report.changed and report.ok
    assert [(Path(f.path).name, f.message) for f in report.skipped] == [
        ("_template.md", "line 6, column 9: invalid YAML: found unhashable key"),
    ]


def test_a_worker_frees_each_segment_before_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded on a large corpus: Whoosh's writer sits in a reference cycle
    that the paused garbage collector never frees, so the postings are dropped explicitly."""
    import gc
    import threading
    from multiprocessing import Pipe

    from whoosh.filedb.filestore import FileStorage

    from podsearch.index.schema import make_schema

    from .conftest import BUNDLED_EPISODE

    folder = tmp_path / "eps"
    folder.mkdir()
    for number in range(8):
        shutil.copyfile(BUNDLED_EPISODE, folder / f"copy{number}.md")
    FileStorage(str(tmp_path / "ix")).create().create_index(make_schema(), indexname=INDEX_NAME)
    monkeypatch.setattr(indexer, "SEGMENT_DOCUMENTS", 200)  # two episodes a segment
    live: list[int] = []
    close = writing.close_segment

    def counting(writer: BulkSegmentWriter) -> Any:
        live.append(len(gc.get_objects()))
        return close(writer)

    monkeypatch.setattr(writing, "close_segment", counting)
    receiver, sender = Pipe(duplex=False)
    threading.Thread(target=lambda: [receiver.recv() for _ in range(9)], daemon=True).start()
    sources = [indexer.Source(f"copy{n}", str(folder / f"copy{n}.md"), "sha") for n in range(8)]
    writing.run_share(str(tmp_path / "ix"), sources, sender, os.getppid())
    writing._KEPT_UNTIL_EXIT.clear()
    growth = [after - before for before, after in pairwise(live)]
    assert len(live) == 4 and max(growth) < 5_000, live  # a segment of postings: ~17,000 objects
