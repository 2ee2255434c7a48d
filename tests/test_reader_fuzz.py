"""Property tests of the episode reader on mutated real files and generated YAML (issue 6).

Whatever the bytes, :func:`podsearch.read_episode` returns an Episode whose
values are all sane, or raises :class:`podsearch.EpisodeError` naming the file;
never anything else, and never slowly. ``benchmarks/fuzz.py`` runs the same
idea for minutes over the whole corpus.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import podsearch
from podsearch.reading import frontmatter
from podsearch.records import episode_record
from podsearch.timecode import MAX_SECONDS

from .conftest import BUNDLED_EPISODE, CORPUS, DATA
from .hostile_yaml import FRAGMENTS

#: Seconds one read may take (they take milliseconds; the margin is for loaded CI machines).
TIME_LIMIT = 3.0
MOMENT = re.compile(r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}&t=\d+s")
#: Digits and quoted details vary from file to file: left out of the statistics.
_GIST = re.compile(r"[0-9,]+|['\"].*")
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _seed_files() -> dict[str, bytes]:
    """Real files to mutate: the bundled episode, the quirk files, a few corpus files."""
    seeds = {BUNDLED_EPISODE.name: BUNDLED_EPISODE.read_bytes()}
    seeds.update({p.name: p.read_bytes() for p in sorted((DATA / "quirks").glob("*.md"))})
    if CORPUS.is_dir():
        by_size = sorted(CORPUS.glob("*.md"), key=lambda p: p.stat().st_size)
        chosen = by_size[:4] + [p for p in by_size if p.name.startswith("_")][:3]
        seeds.update({p.name: p.read_bytes() for p in chosen})
    return seeds


SEEDS = _seed_files()


#: Mutation kinds, repeated to weight them: line edits keep more files parseable than cuts.
MUTATIONS = ["inject"] * 3 + ["duplicate"] * 2 + ["delete"] * 2 + ["flip"] * 2 + ["swap", "splice", "truncate"]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A real file with one to four mutations: byte flips, cuts, line edits, injected YAML."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(MUTATIONS))
        size = max(1, len(data))
        if kind == "flip":
            for _ in range(draw(st.integers(1, 8))):
                position = draw(st.integers(0, size - 1))
                if position < len(data):  # mostly text, so that the YAML parser gets to work
                    data[position] = draw(
                        st.one_of(st.integers(32, 126), st.sampled_from(b"\n:-[]{}&*!'\"#|>"), st.integers(0, 255))
                    )
        elif kind == "truncate":
            del data[draw(st.integers(0, size)) :]
        else:
            lines = _lines(bytes(data))
            at = draw(st.integers(0, len(lines) - 1))
            if kind == "delete":
                del lines[at : at + draw(st.integers(1, 20))]
            elif kind == "duplicate":
                lines[at:at] = lines[at : at + draw(st.integers(1, 20))] * draw(st.integers(1, 50))
            elif kind == "swap":
                other = draw(st.integers(0, len(lines) - 1))
                lines[at], lines[other] = lines[other], lines[at]
            elif kind == "inject":
                lines.insert(at, draw(st.sampled_from(FRAGMENTS)))
            else:  # splice random bytes into a line
                lines.insert(at, draw(st.binary(max_size=64)))
            data = bytearray(b"".join(lines))
    return bytes(data)


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.sampled_from(["55:56", "1:02:57", "PT01H03M37S", "abcdefghijk", "Alexey:", " ", "²", "0x_"]),
        st.dates(),
    )


KEYS = [
    "title",
    "short",
    "guests",
    "season",
    "episode",
    "ids",
    "links",
    "youtube",
    "dateadded",
    "duration",
    "topics",
    "description",
    "quotableClips",
    "name",
    "startOffset",
    "endOffset",
    "transcript",
    "line",
    "sec",
    "time",
    "who",
    "header",
]


def structures() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=6),
            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6),
        ),
        max_leaves=16,
    )


@st.composite
def generated_episodes(draw: st.DrawFn) -> bytes:
    """A front matter shaped like an episode, with values of any type and shape."""

    def odd_or(usual: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(usual, usual, usual, structures())  # mostly usual

    item = st.fixed_dictionaries(
        {"line": odd_or(st.from_regex(r"\w[\w ,.'?!-]{0,60}", fullmatch=True))},
        optional={
            "sec": odd_or(st.integers(0, 10_000)),
            "time": odd_or(st.sampled_from(["0:05", "55:56", "1:02:57"])),
            "who": odd_or(st.sampled_from(["Alexey", "Alexey:", "Jane"])),
        },
    )
    header = st.fixed_dictionaries({"header": odd_or(st.text(min_size=1, max_size=30))})
    document = draw(
        st.fixed_dictionaries(
            {
                "transcript": odd_or(
                    st.lists(st.one_of(item, item, item, header, structures()), min_size=1, max_size=12)
                )
            },
            optional={key: structures() for key in KEYS[:14]},
        )
    )
    text = yaml.safe_dump(document, allow_unicode=draw(st.booleans()), default_flow_style=draw(st.booleans()))
    return ("---\n" + text + "---\n").encode("utf-8", "surrogatepass")


TOKENS = [
    "- ",
    ": ",
    "\n",
    "  ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!str ",
    "!!int ",
    "!!map ",
    "!!python/object/apply:os.system ",
    "<<: ",
    "? ",
    "|\n",
    ">\n",
    "# ",
    '"',
    "'",
    "\\",
    "line",
    "sec",
    "who",
    "header",
    "transcript",
    "title",
    "1:02:57",
    "-1",
    ".nan",
    "\t",
    "---\n",
    "...\n",
    "%TAG ! x\n",
]


@st.composite
def token_soups(draw: st.DrawFn) -> bytes:
    """A front matter of YAML punctuation, keys and junk in any order: the parser's edge cases."""
    words = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=6)
    pieces = draw(st.lists(st.one_of(st.sampled_from(TOKENS), words, words, st.text(max_size=3)), max_size=60))
    return ("---\ntranscript:\n" + "".join(pieces) + "\n---\n").encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzzed.md"


def check_any_file(path: Path, content: bytes) -> None:
    """The property: an Episode with sane values, or an EpisodeError naming the file."""
    path.write_bytes(content)
    began = time.perf_counter()
    try:
        episode = podsearch.read_episode(path)
    except podsearch.EpisodeError as error:
        event("refused: " + _GIST.sub("#", error.reason)[:60])
        assert error.path == path and str(path) in str(error)
        assert error.line is None or 1 <= error.line <= content.count(b"\n") + content.count(b"\r") + 2
        assert str(error).isprintable()
    else:
        event("read as an episode")
        check_episode(episode, path)
    assert time.perf_counter() - began < TIME_LIMIT


def check_episode(episode: podsearch.Episode, path: Path) -> None:
    assert episode.id and isinstance(episode.id, str) and episode.title and isinstance(episode.title, str)
    assert episode.turns and all(turn.paragraphs for turn in episode.turns)
    paragraphs = episode.paragraphs
    assert [p.number for p in paragraphs] == list(range(len(paragraphs)))
    for paragraph in paragraphs:
        assert isinstance(paragraph.text, str) and paragraph.text
        assert type(paragraph.start) is int and 0 <= paragraph.start <= MAX_SECONDS
    for turn in episode.turns:
        assert turn.speaker is None or (isinstance(turn.speaker, str) and turn.speaker.strip() == turn.speaker)
        assert turn.section is None or isinstance(turn.section, str)
    for value in (episode.season, episode.number):
        assert value is None or (type(value) is int and 0 <= value <= 1_000_000)
    assert episode.duration is None or 0 <= episode.duration <= MAX_SECONDS
    assert episode.date_added is None or isinstance(episode.date_added, date)
    assert all(isinstance(text, str) and text for text in episode.guests + episode.guest_names + episode.topics)
    assert all(isinstance(c.name, str) and 0 <= c.start <= MAX_SECONDS for c in episode.chapters)
    assert episode.youtube_id is None or re.fullmatch(r"[A-Za-z0-9_-]{11}", episode.youtube_id)
    url = episode.url(paragraphs[-1].start)
    assert url is None or MOMENT.fullmatch(url)
    record = episode_record(episode)
    assert json.loads(json.dumps(record)) == record


@FUZZ
@given(content=mutated_files())
def test_mutated_real_files(target: Path, content: bytes) -> None:
    check_any_file(target, content)


@settings(FUZZ, max_examples=150)
@given(content=generated_episodes())
def test_generated_episode_structures(target: Path, content: bytes) -> None:
    check_any_file(target, content)


@FUZZ
@given(content=token_soups())
def test_yaml_token_soup(target: Path, content: bytes) -> None:
    check_any_file(target, content)


@settings(FUZZ, max_examples=100)
@given(content=st.one_of(token_soups(), generated_episodes(), st.binary(max_size=300)))
def test_with_the_pure_python_loader(target: Path, content: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frontmatter, "_Loader", frontmatter._hardened(yaml.SafeLoader))
    check_any_file(target, content)


@FUZZ
@given(content=st.binary(max_size=2000))
def test_arbitrary_bytes(target: Path, content: bytes) -> None:
    check_any_file(target, content)


@FUZZ
@given(text=st.text())
def test_youtube_ids_and_links_from_any_text(text: str) -> None:
    from podsearch.timecode import moment_url, valid_youtube_id, youtube_id_from_url

    for found in (valid_youtube_id(text), youtube_id_from_url(text), youtube_id_from_url(f"https://youtu.be/{text}")):
        assert found is None or re.fullmatch(r"[A-Za-z0-9_-]{11}", found)
    url = moment_url(text, len(text))
    assert url is None or MOMENT.fullmatch(url)


@FUZZ
@given(text=st.text())
def test_times_and_durations_from_any_text(text: str) -> None:
    from podsearch.timecode import parse_duration, parse_time

    for parse in (parse_time, parse_duration):
        value = parse(text)
        assert value is None or (type(value) is int and 0 <= value <= MAX_SECONDS)
