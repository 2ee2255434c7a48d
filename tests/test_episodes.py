"""The episode reader: the bundled episode, crafted quirk files and the real corpus."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest

import podsearch
from podsearch.reading.episodes import People, episode_files, read_episode, read_folder

from .conftest import BUNDLED_EPISODE, DATA, PEOPLE
from .factory import write_person

QUIRKS = DATA / "quirks"


@pytest.fixture(scope="module")
def bundled() -> podsearch.Episode:
    return read_episode(BUNDLED_EPISODE)


def _paragraph_at(episode: podsearch.Episode, seconds: int) -> tuple[podsearch.Turn, podsearch.Paragraph]:
    for turn in episode.turns:
        for paragraph in turn.paragraphs:
            if paragraph.start == seconds:
                return turn, paragraph
    raise AssertionError(f"no paragraph at {seconds}")


def test_bundled_episode_fields(bundled: podsearch.Episode) -> None:
    assert bundled.id == "s05e05"  # from the code, not the file name
    assert bundled.title == "What Researchers and Engineers Can Learn from Each Other"
    assert (bundled.season, bundled.number, bundled.code) == (5, 5, "S05E05")
    assert bundled.guests == ("mihaileric",)
    assert bundled.youtube_id == "d9xVXqKq3sU"
    assert bundled.url(3356) == "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s"


def test_bundled_paragraph_at_55_56_is_mihails(bundled: podsearch.Episode) -> None:
    turn, paragraph = _paragraph_at(bundled, 3356)
    assert turn.speaker == "Mihail"
    assert "full-stack data scientist" in paragraph.text
    assert paragraph.time == "55:56" and not paragraph.estimated
    assert turn.section == "Choosing between engineering or research if you’re just starting"


def test_untimed_paragraphs_are_estimated_in_order(bundled: podsearch.Episode) -> None:
    paragraphs = bundled.paragraphs
    index = next(i for i, p in enumerate(paragraphs) if p.start == 2452)
    following = paragraphs[index + 1 : index + 3]
    assert all(p.estimated for p in following)
    assert 2452 < following[0].start < following[1].start < 2565
    assert paragraphs[index + 3].start == 2565 and not paragraphs[index + 3].estimated


def test_turns_group_consecutive_lines_of_one_speaker(bundled: podsearch.Episode) -> None:
    for previous, turn in pairwise(bundled.turns):
        assert turn.speaker != previous.speaker or turn.section != previous.section
    assert sum(len(t.paragraphs) for t in bundled.turns) == len(bundled.paragraphs)
    assert [p.number for p in bundled.paragraphs] == list(range(len(bundled.paragraphs)))
    # the 2:14 turn continues over the next lines that have no `who`
    turn, _ = _paragraph_at(bundled, 134)
    assert turn.speaker == "Mihail" and len(turn.paragraphs) >= 4


def test_first_section_starts_at_its_header(bundled: podsearch.Episode) -> None:
    assert bundled.turns[0].section is None
    assert bundled.turns[2].section == "Mihail’s background"


@pytest.mark.parametrize("name", ["stray-line.md", "no-final-newline.md", "blank-lines.md", "crlf.md", "bom.md"])
def test_quirky_files_read_the_same(name: str) -> None:
    episode = read_episode(QUIRKS / name)
    assert episode.id == "s09e03"
    assert episode.title == "A Quirky Episode"
    assert (episode.season, episode.number, episode.youtube_id) == (9, 3, "abcdefghijk")
    assert [(t.speaker, t.section) for t in episode.turns] == [("Alexey", "Opening"), ("Jane", "Opening")]
    assert [p.text for p in episode.paragraphs] == [
        "Welcome to the show about vector databases.",
        "Thanks for having me.",
    ]
    assert [p.start for p in episode.paragraphs] == [5, 12]


def test_broken_yaml_names_file_and_line() -> None:
    with pytest.raises(podsearch.EpisodeError) as caught:
        read_episode(QUIRKS / "broken-yaml.md")
    error = caught.value
    assert error.path == QUIRKS / "broken-yaml.md"
    assert error.line is not None and 2 <= error.line <= 7
    assert str(error).startswith(f"{QUIRKS / 'broken-yaml.md'}:{error.line}:")


def test_an_episode_page_without_a_transcript_is_read_by_its_metadata() -> None:
    episode = read_episode(QUIRKS / "no-transcript.md")
    assert (episode.id, episode.title, episode.transcript) == ("s01e01", "Announcement", False)
    assert [(t.speaker, p.text, p.start) for t in episode.turns for p in t.paragraphs] == [(None, "Announcement", 0)]


def test_a_page_without_a_transcript_reads_as_title_description_and_chapters(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "---\ntitle: Feature Stores\nseason: 7\nepisode: 1\ndescription: Why <br><br> teams build them.\n"
        "quotableClips:\n- name: Intro\n  startOffset: 0\n- name: Serving skew\n  startOffset: 95\n---\n",
        encoding="utf-8",
    )
    episode = read_episode(page)
    assert not episode.transcript and episode.chapters[1].name == "Serving skew"
    assert [(p.text, p.start) for p in episode.paragraphs] == [
        ("Feature Stores\n\nWhy teams build them.", 0),
        ("Intro", 0),
        ("Serving skew", 95),
    ]
    # a page that names no episode (only a title) is not an episode
    (tmp_path / "note.md").write_text("---\ntitle: A note\n---\n", encoding="utf-8")
    with pytest.raises(podsearch.NotAnEpisode, match="no transcript"):
        read_episode(tmp_path / "note.md")


def test_a_file_named_with_an_underscore_is_a_draft(tmp_path: Path) -> None:
    draft = _write(tmp_path / "_s12e08.md", "- line: hi\n  sec: 1\n", "season: 12\nepisode: 8\n")
    episode = read_episode(draft)
    assert (episode.id, episode.draft) == ("s12e08", True)
    assert not read_episode(_write(tmp_path / "s12e08.md", "- line: hi\n", "season: 12\nepisode: 8\n")).draft


def test_read_folder_reports_and_continues() -> None:
    results = list(read_folder(QUIRKS))
    errors = [r for r in results if isinstance(r, podsearch.EpisodeError)]
    episodes = [r for r in results if isinstance(r, podsearch.Episode)]
    assert len(episodes) == 6
    assert sorted(e.path.name for e in errors) == ["broken-yaml.md"]


def _write(path: Path, transcript: str, extra: str = "") -> Path:
    path.write_text(f"---\ntitle: T\n{extra}transcript:\n{transcript}---\n", encoding="utf-8")
    return path


def test_time_only_and_estimates(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "times.md",
        "- line: aaaaaaaaaa\n  time: '1:00'\n  who: A\n"
        "- line: bbbbbbbbbb\n"
        "- line: cccccccccc\n  time: '1:02:57'\n"
        "- line: dddddddddddddddddddddddddddddd\n"
        "- line: eeeeeeeeee\n",
    )
    paragraphs = read_episode(path).paragraphs
    assert [p.start for p in paragraphs][:3] == [60, 60 + (3777 - 60) // 2, 3777]
    assert [p.estimated for p in paragraphs] == [False, True, False, True, True]
    # after the last timed line: the speaking rate (15 characters a second)
    assert paragraphs[3].start == 3777 + 10 // 15
    assert paragraphs[4].start == 3777 + 40 // 15


def test_times_going_backwards_are_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "back.md",
        "- line: one\n  sec: 100\n  who: A\n- line: two\n  sec: 50\n- line: three\n- line: four\n  sec: 200\n",
    )
    # 50 is kept as given; "three" lies 3/8 of the way from 50 to 200 by characters
    assert [p.start for p in read_episode(path).paragraphs] == [100, 50, 50 + 150 * 3 // 8, 200]


def test_speaker_names_are_tidied_and_lines_without_who_continue(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "who.md",
        "- line: one\n  who: 'Alexey:'\n- line: two\n- line: three\n  who: Alexey\n- line: four\n  who: ' Jane '\n",
    )
    turns = read_episode(path).turns
    assert [(t.speaker, len(t.paragraphs)) for t in turns] == [("Alexey", 3), ("Jane", 1)]


def test_guest_names_from_people_folder(tmp_path: Path) -> None:
    write_person(tmp_path / "people", "janedoe", "Jane Doe")
    (tmp_path / "podcast").mkdir()
    path = _write(
        tmp_path / "podcast" / "ep.md",
        "- line: hi\n  who: Alexey\n- line: hello\n  who: Jane\n",
        extra="guests: [janedoe, ../../etc/passwd]\n",
    )
    episode = read_episode(path)
    assert episode.guest_names == ("Jane Doe", "../../etc/passwd")
    assert [t.speaker_name for t in episode.turns] == [None, "Jane Doe"]


def test_people_folder_inside_the_episodes_folder(tmp_path: Path) -> None:
    write_person(tmp_path / "people", "janedoe", "Jane Doe")
    path = _write(tmp_path / "ep.md", "- line: hello\n  who: Jane\n", extra="guests: [janedoe]\n")
    assert read_episode(path).guest_names == ("Jane Doe",)
    assert [item.id for item in read_folder(tmp_path)] == ["ep"]  # people/ is not an episode


def test_youtube_id_from_links_when_ids_missing(tmp_path: Path) -> None:
    good = _write(
        tmp_path / "a.md", "- line: x\n", extra="links:\n  youtube: https://www.youtube.com/watch?v=d9xVXqKq3sU\n"
    )
    bad = _write(tmp_path / "b.md", "- line: x\n", extra="ids:\n  youtube: 'javascript:alert(1)'\n")
    assert read_episode(good).youtube_id == "d9xVXqKq3sU"
    assert read_episode(bad).youtube_id is None
    assert read_episode(bad).url(5) is None


def test_newer_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "new.md",
        "- line: x\n  sec: 10\n- line: y\n  sec: 100\n",
        extra=(
            "dateadded: 2024-04-28\nduration: PT01H03M37S\ntopics: [MLOps, LLMs]\n"
            "quotableClips:\n- name: Intro\n  startOffset: 0\n  endOffset: 60\n"
            "- name: Main\n  startOffset: 60\n  endOffset: 3817\n"
        ),
    )
    episode = read_episode(path)
    assert episode.date_added == date(2024, 4, 28)
    assert episode.duration == 3817
    assert episode.topics == ("MLOps", "LLMs")
    assert [c.name for c in episode.chapters] == ["Intro", "Main"]
    assert episode.chapter_at(100).name == "Main"


def test_episode_files_lists_only_markdown(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("x")
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in episode_files(tmp_path)] == ["a.md", "b.md"]


@pytest.mark.corpus
def test_the_whole_real_corpus(corpus_dir: Path) -> None:
    results = list(read_folder(corpus_dir))
    episodes = [r for r in results if isinstance(r, podsearch.Episode)]
    errors = {r.path.name: r for r in results if isinstance(r, podsearch.EpisodeError)}
    assert len(episodes) == 202
    assert sum(len(e.paragraphs) for e in episodes) == 27_561
    assert sorted(errors) == ["_template.md"]
    assert "invalid YAML" in errors["_template.md"].reason and errors["_template.md"].line is not None
    # the two pages without a transcript, by their metadata
    untranscribed = {e.path.rsplit("/", 1)[1]: e for e in episodes if not e.transcript}
    assert sorted(untranscribed) == [
        "ai-for-ecology-biodiversity-and-conservation.md",
        "building-domestic-risk-assessment-tool.md",
    ]
    assert untranscribed["ai-for-ecology-biodiversity-and-conservation.md"].id == "s18e03"
    # the file with a stray line before its front matter is read, as a draft
    drafts = {e.id: e for e in episodes if e.draft}
    assert sorted(drafts) == ["s12e08", "s21e09"]
    assert drafts["s21e09"].path.endswith("_theme-park-crowd-modeling-to-tesla-full-stack-data-engineering.md")
    # ids from codes; of the two files coded S03E04 the second gets its video id, as in the index
    assert sorted(e.id for e in episodes if e.id.startswith("s03e04")) == ["s03e04", "s03e04-gqroEsTyLD0"]
    assert len({e.id for e in episodes}) == 202  # every file its own id
    # every episode has a valid video id and every paragraph a time
    assert all(e.youtube_id for e in episodes)
    assert all(p.start >= 0 for e in episodes for p in e.paragraphs)


@pytest.mark.corpus
def test_people_folder_gives_full_names(corpus_dir: Path) -> None:
    if not PEOPLE.is_dir():
        pytest.skip("no people folder in the corpus")
    assert People.beside(corpus_dir).name("mihaileric") == "Mihail Eric"
