"""The DataTalks.Club site as it really is (issue 11): a checkout as input, drafts and
templates, pages without a transcript, repeated lines, ids that survive renames.

Corpus tests lay a copy of ``../shared/corpus`` out as the site (``site/_podcast``,
``site/_people``) in a temporary folder; crafted tests use a few small files.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

import podsearch
from podsearch.index import writing
from podsearch.index.storage import IndexDir
from podsearch.reading import frontmatter

from .cli_support import invoke
from .conftest import PEOPLE
from .factory import write_episode


def lay_out_site(root: Path, podcast: Path, names: list[str] | None = None) -> Path:
    """A site checkout at ``root``: ``_podcast/`` (every file, or ``names``) and ``_people/``."""
    (root / "_podcast").mkdir(parents=True)
    for path in sorted(podcast.glob("*.md")):
        if names is None or path.name in names:
            shutil.copyfile(path, root / "_podcast" / path.name)
    if PEOPLE.is_dir():
        shutil.copytree(PEOPLE, root / "_people")
    (root / "index.md").write_text("---\nlayout: home\n---\n", encoding="utf-8")  # the site's own pages
    return root


class Reads:
    """Counts the episode files opened: for indexing, and for their identity."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files: list[str] = []
        reading, identity = writing.read_bytes, frontmatter.read_text

        def read_bytes(path: Path) -> bytes:
            self.files.append(Path(path).name)
            return reading(path)

        def read_text(path: Path) -> str:
            self.files.append(Path(path).name)
            return identity(path)

        monkeypatch.setattr(writing, "read_bytes", read_bytes)
        monkeypatch.setattr(frontmatter, "read_text", read_text)


# --- the whole site -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lay_out_site(tmp_path_factory.mktemp("checkout") / "site", corpus_dir)


@pytest.fixture(scope="module")
def site_index(site: Path) -> Path:
    """The index of the site, built through the command line: ``podsearch index site``."""
    index = site.parent / "index"
    code, out, err = invoke("index", str(site), "--index", str(index))
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-2] == f"skipped {site / '_podcast' / '_template.md'}: " + (
        "line 6, column 9: invalid YAML: found unhashable key"
    )
    assert out.splitlines()[-1].startswith("202 added, 0 updated, 0 removed, 0 unchanged, 1 skipped, 0 failed;")
    return index


@pytest.mark.corpus
def test_a_site_checkout_indexes_with_exit_0_twice_in_a_row(site: Path, site_index: Path) -> None:
    # `podsearch index site` found _podcast/ itself, and guest names in _people/
    stats = json.loads(invoke("stats", "--index", str(site_index), "--json")[1])
    assert stats["folders"] == [str((site / "_podcast").resolve())]
    assert stats["last_report"]["skipped"] == [
        {
            "path": str(site / "_podcast" / "_template.md"),
            "message": "line 6, column 9: invalid YAML: found unhashable key",
        }
    ]
    # the nightly run: nothing changed, nothing to say, exit 0 (again with the folder named)
    for args in ([], [str(site / "_podcast")], [str(site)]):
        assert invoke("index", *args, "--index", str(site_index), "--quiet") == (0, "", "")
    report = podsearch.Index(site_index).update()
    assert (report.ok, report.changed, len(report.unchanged), len(report.skipped)) == (True, False, 202, 1)
    with podsearch.Index(site_index) as ix:
        hits = ix.search("mihail eric full-stack data scientist", speaker="mihail")
        assert hits and {hit.speaker_name for hit in hits} == {"Mihail Eric"}  # names from site/_people


@pytest.mark.corpus
def test_drafts_are_indexed_and_marked(site_index: Path) -> None:
    with podsearch.Index(site_index) as ix:
        drafts = {info.id: info for info in ix.episodes() if info.draft}
        assert sorted(drafts) == ["s12e08", "s21e09"]
        assert ix.episode("_s12e08").draft and not ix.episode("s12e07").draft
    episodes = json.loads(invoke("episodes", "--index", str(site_index), "--json")[1])
    assert {e["id"]: e["draft"] for e in episodes if e["draft"]} == {"s12e08": True, "s21e09": True}


@pytest.mark.corpus
def test_a_page_without_a_transcript_is_found_by_its_title_and_chapters(site_index: Path) -> None:
    with podsearch.Index(site_index) as ix:
        title = "AI for Ecology, Biodiversity, and Conservation"
        hit = ix.search(title)[0]
        assert (hit.episode.id, hit.episode.transcript, hit.speaker) == ("s18e03", False, None)
        chapter = ix.search("camera traps drone imagery species identification")[0]
        assert (chapter.episode.id, chapter.time, chapter.speaker) == ("s18e03", "10:30", None)
        episode = ix.episode("S18E03")
        assert [p.text for p in episode.paragraphs][1] == "Podcast Introduction"
        assert ix.paragraph_counts()["s18e03"] == len(episode.paragraphs) == 24
        assert {info.id for info in ix.episodes()} >= {"s18e03", "s18e07"}
    code, out, _ = invoke("show", "ai-for-ecology-biodiversity-and-conservation", "--index", str(site_index))
    assert code == 0 and "Framing the Crisis: Biodiversity Loss and Data Gaps" in out


@pytest.mark.corpus
def test_show_accepts_every_reference_and_lists_the_candidates_of_an_ambiguous_one(site_index: Path) -> None:
    with podsearch.Index(site_index) as ix:
        by_code = ix.episode("S05E05")
        for reference in ("s05e05", by_code.youtube_id, Path(by_code.path).stem, Path(by_code.path).name):
            assert ix.episode(reference).id == "s05e05", reference
        # two files share S03E04: the one indexed first keeps the code as its id
        assert ix.episode("s03e04").path.endswith("data-science-interview-and-cv-guide.md")
        assert ix.episode("s03e04-gqroEsTyLD0").path.endswith("data-translator-role-and-data-strategy.md")
        with pytest.raises(podsearch.AmbiguousEpisodeError) as caught:
            ix.episode("S03E04")
        assert caught.value.candidates == ("s03e04", "s03e04-gqroEsTyLD0")
    code, _, err = invoke("show", "S03E04", "--index", str(site_index))
    assert code == 2
    assert err.strip() == (
        "Error: 2 episodes answer to 'S03E04': s03e04 (data-science-interview-and-cv-guide), "
        "s03e04-gqroEsTyLD0 (data-translator-role-and-data-strategy); name one by its id"
    )


@pytest.mark.corpus
def test_repeated_lines_of_the_corpus_are_indexed_once(corpus_index: podsearch.Index) -> None:
    for episode in corpus_index.episodes():
        said = [(turn.speaker, p.text) for turn in corpus_index.episode(episode.id).turns for p in turn.paragraphs]
        for before, after in pairwise(said):  # "Bye." "Bye." by two people is two moments
            assert before != after, (episode.id, after)
    for query in ("data quality", "modern data stack reverse etl", "data engineering tools", "airbyte"):
        for season in (None, 5):
            hits = corpus_index.search(query, season=season, limit=100)
            keys = Counter((hit.episode.id, hit.text) for hit in hits)
            assert hits and keys.most_common(1)[0][1] == 1, (query, season, keys.most_common(1))
    # the kept copy speaks with its speaker at its time, not the bare copy's estimate
    hit = corpus_index.search('"Basically, before, engineers would need"')[0]
    assert (hit.episode.id, hit.who, hit.time, hit.estimated) == ("s05e02", "Alexey", "38:01", False)


# --- crafted ----------------------------------------------------------------------------------


def test_a_repeated_line_is_indexed_once_with_the_speaker_and_time_of_its_timed_copy(tmp_path: Path) -> None:
    write_episode(
        tmp_path / "eps",
        "repeats",
        [
            ("Alexey", 10, "Welcome to the show about feature stores."),
            (None, None, "Tell me about your career path in data quality."),  # bare copy, then the real one
            ("Alexey", 60, "Tell me about your career path in data quality."),
            (None, None, "I started as a data analyst at a bank."),  # interleaved: two bare copies first
            (None, None, "Then I moved to data quality engineering."),
            ("Maria", 90, "I started as a data analyst at a bank."),
            ("Maria", 120, "Then I moved to data quality engineering."),
            ("Alexey", 200, "Bye."),
            ("Maria", 200, "Bye."),  # two people saying it: two moments
        ],
    )
    episode = podsearch.read_episode(tmp_path / "eps" / "repeats.md")
    assert [(t.speaker, p.start, p.estimated, p.text[:12]) for t in episode.turns for p in t.paragraphs] == [
        ("Alexey", 10, False, "Welcome to t"),
        ("Alexey", 60, False, "Tell me abou"),
        ("Maria", 90, False, "I started as"),
        ("Maria", 120, False, "Then I moved"),
        ("Alexey", 200, False, "Bye."),
        ("Maria", 200, False, "Bye."),
    ]
    index = podsearch.Index(tmp_path / "index")
    index.update(tmp_path / "eps")
    hits = index.search("data quality", limit=20)
    assert [(hit.who, hit.time) for hit in hits if "career" in hit.text] == [("Alexey", "1:00")]
    assert len({(hit.episode.id, hit.text) for hit in hits}) == len(hits) == 3
    # both goodbyes stay in the transcript (above), but a search shows the words once
    assert [hit.text for hit in index.search("bye", limit=5)] == ["Bye."]
    index.close()


def shows(folder: Path, count: int) -> None:
    for number in range(1, count + 1):
        write_episode(
            folder,
            f"episode-{number}-first-name",
            [("Alexey", 10, f"Show {number} is about topic{number}.")],
            season=2,
            number=number,
            youtube=f"video{number:06d}",
        )


def test_renamed_files_keep_their_ids_and_are_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index = tmp_path / "site" / "_podcast", tmp_path / "index"
    shows(folder, 6)
    first = podsearch.Index(index).update(tmp_path / "site")
    assert first.added == tuple(f"s02e{n:02d}" for n in range(1, 7))
    # the site renames four of six files (more than half: the removal guard must not trip)
    for number in (1, 2, 3, 4):
        (folder / f"episode-{number}-first-name.md").rename(folder / f"episode-{number}-new-slug.md")
    reads = Reads(monkeypatch)
    report = podsearch.Index(index).update()
    assert reads.files == []
    assert (report.renamed, report.added, report.removed, report.updated) == (
        ("s02e01", "s02e02", "s02e03", "s02e04"),
        (),
        (),
        (),
    )
    assert report.unchanged == ("s02e05", "s02e06") and report.ok
    assert report.summary() == "0 added, 0 updated, 4 renamed, 0 removed, 2 unchanged, 0 failed"
    with podsearch.Index(index) as ix:
        assert [info.id for info in ix.episodes()] == [f"s02e{n:02d}" for n in range(1, 7)]
        renamed = ix.episode("episode-1-first-name")  # the old file name still finds it
        assert renamed.path == str(folder / "episode-1-new-slug.md")
        assert renamed.aliases == ("episode-1-first-name",)
        assert ix.episode("episode-1-new-slug.md").id == ix.episode("video000001").id == "s02e01"
        assert ix.search("topic1")[0].episode.path == str(folder / "episode-1-new-slug.md")
    # and the next run has nothing to do
    again = podsearch.Index(index).update()
    assert not again.changed and reads.files == []


def test_a_renamed_and_edited_file_keeps_its_id_and_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    shows(folder, 3)
    podsearch.Index(index).update(folder)
    (folder / "episode-2-first-name.md").unlink()
    write_episode(folder, "episode-2-edited", [("Alexey", 10, "Now about kubernetes.")], season=2, number=2)
    reads = Reads(monkeypatch)
    report = podsearch.Index(index).update(folder)
    assert (report.updated, report.renamed, report.added, report.removed) == (("s02e02",), ("s02e02",), (), ())
    assert sorted(set(reads.files)) == ["episode-2-edited.md"]
    with podsearch.Index(index) as ix:
        assert ix.search("kubernetes")[0].episode.id == "s02e02" and not ix.search("topic2")
        assert ix.episode("episode-2-first-name").id == "s02e02"


def test_publishing_a_draft_is_a_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, index = tmp_path / "eps", tmp_path / "index"
    write_episode(folder, "_s12e08", [("Alexey", 5, "Draft words.")], season=12, number=8)
    (folder / "_template.md").write_text("---\ntitle: {{ title }}\nguests: [{{ guest }}]\n---\n", encoding="utf-8")
    report = podsearch.Index(index).update(folder)
    assert report.added == ("s12e08",) and report.ok and [Path(f.path).name for f in report.skipped] == ["_template.md"]
    with podsearch.Index(index) as ix:
        assert ix.search("draft words")[0].episode.draft
    (folder / "_s12e08.md").rename(folder / "data-generalist.md")
    reads = Reads(monkeypatch)
    report = podsearch.Index(index).update(folder)
    assert report.renamed == ("s12e08",) and reads.files == []
    with podsearch.Index(index) as ix:
        assert not ix.search("draft words")[0].episode.draft
        assert ix.episode("_s12e08").id == "s12e08"


def test_an_episode_without_code_or_video_is_named_by_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "eps"
    folder.mkdir()
    (folder / "_special.md").write_text(
        "---\ntitle: A special\ntranscript:\n- line: Special words.\n  sec: 1\n---\n", encoding="utf-8"
    )
    with podsearch.Index(tmp_path / "index") as ix:
        assert ix.update(folder).added == ("special",)
        assert ix.episode("_special").draft


def test_messages_name_the_index_by_its_absolute_path(tmp_path: Path) -> None:
    code, _, err = invoke("stats", "--index", "index")
    assert code == 66 and f"no index at {tmp_path / 'index'};" in err
    assert IndexDir("index").path == tmp_path / "index"
