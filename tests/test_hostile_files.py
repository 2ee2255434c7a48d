"""Hostile and broken episode files (issue 6, part 1 and 4).

For any file content the reader returns an :class:`~podsearch.Episode` or raises
:class:`~podsearch.EpisodeError` naming the file (and the line where YAML says
so), quickly and in bounded memory; it never raises anything else. An index
update over a folder of such files completes and reports each one.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import podsearch
from podsearch.reading import frontmatter
from podsearch.reading.episodes import People, read_episode, read_folder
from podsearch.reading.frontmatter import MAX_FILE_BYTES
from podsearch.records import episode_record
from podsearch.timecode import MAX_SECONDS

from .conftest import BUNDLED_EPISODE

#: Every hostile file must be answered within this (they take milliseconds; the
#: margin is for a loaded CI machine).
TIME_LIMIT = 3.0
#: ...and without allocating more than this.
MEMORY_LIMIT = 64 * 2**20

HEAD = "---\ntitle: Hostile\nseason: 1\nepisode: 2\nids:\n  youtube: abcdefghijk\n"
ONE_LINE = "transcript:\n- line: hello there\n  sec: 5\n  who: Alexey\n"
GOOD = HEAD + ONE_LINE + "---\n"
MARKER = "podsearch-was-here"


@pytest.fixture(params=["C", "Python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's loader and again with PyYAML's pure-Python one."""
    if request.param == "C" and not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML is built without libyaml")
    if request.param == "Python":
        monkeypatch.setattr(frontmatter, "_Loader", frontmatter._hardened(yaml.SafeLoader))
    return request.param


def write(folder: Path, content: str | bytes, name: str = "x.md") -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def outcome(path: Path, memory: bool = False) -> podsearch.Episode | podsearch.EpisodeError:
    """Read a file, checking its time (and memory); any exception but EpisodeError fails the test.

    Memory is traced only where asked: tracing makes deep recursion 30 times slower.
    """
    if memory:
        tracemalloc.start()
    began = time.perf_counter()
    try:
        result: podsearch.Episode | podsearch.EpisodeError = read_episode(path)
    except podsearch.EpisodeError as error:
        result = error
    finally:
        elapsed = time.perf_counter() - began
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < MEMORY_LIMIT, f"{path.name} allocated {peak / 2**20:.0f} MB"
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.2f} s"
    if isinstance(result, podsearch.EpisodeError):
        assert result.path == path and str(path) in str(result)
        assert isinstance(result, podsearch.PodsearchError)
    return result


def refused(path: Path, reason: str = "", memory: bool = False) -> podsearch.EpisodeError:
    result = outcome(path, memory)
    assert isinstance(result, podsearch.EpisodeError), f"{path.name} was read as an episode"
    assert re.search(reason, result.reason), result.reason
    return result


def read(path: Path, memory: bool = False) -> podsearch.Episode:
    result = outcome(path, memory)
    assert isinstance(result, podsearch.Episode), str(result)
    return result


def laughs(levels: int = 9, leaf: str = '"lol"') -> str:
    """The "billion laughs" anchors: level n is nine aliases of level n-1."""
    lines = [f"l0: &l0 [{', '.join([leaf] * 9)}]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


# --- YAML bombs -------------------------------------------------------------------------------

BOMBS = {
    "laughs-unused": laughs() + ONE_LINE,
    "laughs-in-topics": laughs() + "topics: *l9\nguests: *l9\n" + ONE_LINE,
    "laughs-in-chapters": laughs(leaf="{name: n, startOffset: 1}") + "quotableClips: *l9\n" + ONE_LINE,
    "laughs-as-transcript": laughs(leaf="{line: lol, who: A, sec: 1}") + "transcript: *l9\n",
    "laughs-of-lines": laughs(leaf="{line: lol}", levels=5) + "transcript: [" + ", ".join(["*l5"] * 9) + "]\n",
    "one-text-many-times": "x: &x " + "a" * 100_000 + "\ntranscript:\n" + "- {line: *x, who: *x}\n" * 400,
    "merged-mappings": (
        "m0: &m0 {"
        + ", ".join(f"k{i}: {i}" for i in range(9))
        + "}\n"
        + "".join(f"m{level}: &m{level} {{<<: [{', '.join([f'*m{level - 1}'] * 9)}]}}\n" for level in range(1, 9))
        + ONE_LINE
    ),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_alias_bombs_are_refused_quickly(tmp_path: Path, loader: str, name: str) -> None:
    refused(write(tmp_path, HEAD + BOMBS[name] + "---\n"), r"aliases expand|merge keys|too large", memory=True)


@pytest.mark.parametrize(
    "yaml_text",
    ["x: &x [*x]\n" + ONE_LINE, "x: &x {a: *x}\n" + ONE_LINE, "transcript: &t [{line: a}, *t]\n"],
    ids=["list", "mapping", "transcript"],
)
def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, loader: str, yaml_text: str) -> None:
    refused(write(tmp_path, HEAD + yaml_text + "---\n"), "contains itself")


def test_modest_alias_use_still_reads(tmp_path: Path, loader: str) -> None:
    text = (
        HEAD
        + "transcript:\n- {line: one, who: &a Alexey, sec: 1}\n- {line: two, who: Jane}\n- {line: three, who: *a}\n---\n"
    )
    episode = read(write(tmp_path, text))
    assert [t.speaker for t in episode.turns] == ["Alexey", "Jane", "Alexey"]


def test_too_many_yaml_nodes_are_refused_unparsed(tmp_path: Path) -> None:
    # 250,000 tiny items: parsing them would cost seconds and hundreds of MB
    path = write(tmp_path, HEAD + "transcript: [" + "{line: a}," * 250_000 + "]\n---\n")
    refused(path, "too large to read safely", memory=True)


def test_many_short_lines_within_the_limits_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEAD + "transcript:\n" + "".join(f"- line: hi\n  sec: {n}\n" for n in range(5_000)) + "---\n"
    )
    assert len(read(path).paragraphs) == 5_000


@pytest.mark.parametrize(
    "yaml_text",
    [
        "transcript: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "transcript: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
        "".join(" " * depth + "a:\n" for depth in range(3_000)),
        "transcript:\n" + "".join(" " * (2 * depth) + "- \n" for depth in range(3_000)),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "block-lists"],
)
def test_deep_nesting_is_refused(tmp_path: Path, loader: str, yaml_text: str) -> None:
    error = refused(write(tmp_path, HEAD + yaml_text + "---\n"))
    assert "nested too deeply" in error.reason or error.line is not None


# --- tags that try to build Python objects ------------------------------------------------------


@pytest.mark.parametrize(
    "tagged",
    [
        f"!!python/object/apply:os.system ['touch {MARKER}']",
        f"!!python/object/apply:subprocess.check_output [['touch', '{MARKER}']]",
        "!!python/object/new:os.system [echo]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.object {}",
        "!!python/tuple [1, 2]",
        "!<tag:yaml.org,2002:python/object/apply:os.system> ['true']",
        "!custom thing",
    ],
)
@pytest.mark.parametrize("where", ["title", "line"])
def test_python_object_tags_are_rejected_never_run(tmp_path: Path, loader: str, tagged: str, where: str) -> None:
    if where == "title":
        text = f"---\ntitle: {tagged}\n{ONE_LINE}---\n"
        line = 2
    else:
        text = f"---\ntitle: T\ntranscript:\n- line: {tagged}\n---\n"
        line = 4
    error = refused(write(tmp_path, text), "invalid YAML")
    assert error.line == line
    assert not (tmp_path / MARKER).exists() and not Path(MARKER).exists()


# --- the wrong shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transcript", "kind"),
    [
        ("hello there", "string"),
        ("{line: hello, sec: 5}", "mapping"),
        ("42", "int"),
        ("!!set {a, b}", "set"),
        ("2024-01-01", "date"),
    ],
)
def test_a_transcript_that_is_not_a_list(tmp_path: Path, transcript: str, kind: str) -> None:
    error = refused(write(tmp_path, f"{HEAD}transcript: {transcript}\n---\n"), f"transcript is a {kind}")
    assert not isinstance(error, podsearch.NotAnEpisode)  # a broken episode: a real failure


def test_items_that_are_not_mappings_are_skipped(tmp_path: Path) -> None:
    items = "- 42\n- just text\n- [a, list]\n- null\n- true\n- !!omap [{line: x}]\n"
    error = refused(write(tmp_path, f"---\ntitle: Hostile\ntranscript:\n{items}---\n"), "no lines")
    assert isinstance(error, podsearch.NotAnEpisode)
    # an episode page (it has a code) whose transcript has no lines is read by its metadata
    assert not read(write(tmp_path, f"{HEAD}transcript:\n{items}---\n", "z.md")).transcript
    episode = read(write(tmp_path, f"{HEAD}transcript:\n{items}- line: kept\n  sec: 3\n- 7\n---\n", "y.md"))
    assert [(p.text, p.start) for p in episode.paragraphs] == [("kept", 3)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'12'", 12),
        ("'1:02:57'", 3777),
        ("1:02:57", 3777),  # YAML 1.1 reads this as a base-60 integer
        ("12.9", 12),
        ("-5", None),
        ("99999999999999999999999", None),
        ("9" * 5000, None),
        ("'" + "9" * 5000 + "'", None),
        ("1e308", None),
        ("1" + "0" * 400 + ".0", None),
        ("true", None),
        ("no", None),
        (".nan", None),
        (".inf", None),
        ("-.inf", None),
        ("[1, 2]", None),
        ("{a: 1}", None),
        ("null", None),
        ("''", None),
        ("'٣'", None),
        ("'²'", None),
        ("'99:99:99'", None),
        ("2024-01-01", None),
        ("0x_", None),
        ("!!int foo", None),
        ("!!float bar", None),
        ("!!bool baz", None),
        ("!!timestamp qux", None),
    ],
)
def test_sec_of_any_type(tmp_path: Path, loader: str, value: str, expected: int | None) -> None:
    text = f"{HEAD}transcript:\n- line: before\n  sec: 2\n- line: odd\n  sec: {value}\n  time: {value}\n---\n"
    odd = read(write(tmp_path, text)).paragraphs[1]
    assert isinstance(odd.start, int) and 0 <= odd.start <= MAX_SECONDS
    if expected is None:
        assert odd.estimated and odd.start >= 2  # placed after the previous line
    else:
        assert (odd.start, odd.estimated) == (expected, False)


@pytest.mark.parametrize("who", ["[Alexey, Jane]", "{name: Alexey}", "42", "''", "null", "true", "'   :'"])
def test_who_that_is_not_a_name_continues_the_speaker(tmp_path: Path, who: str) -> None:
    text = f"{HEAD}transcript:\n- line: one\n  who: Alexey\n- line: two\n  who: {who}\n---\n"
    turns = read(write(tmp_path, text)).turns
    assert [(t.speaker, len(t.paragraphs)) for t in turns] == [("Alexey", 2)]


@pytest.mark.parametrize(
    "field",
    [
        "title: [a, b]",
        "title: {a: b}",
        "season: '²'",
        "season: -3",
        "season: 99999999999999999999",
        "episode: 0x_",
        "guests: {a: b}",
        "guests: [[nested], {a: b}, 42, null]",
        "topics: 42",
        "dateadded: 9999-99-99",
        "dateadded: 0000-01-01",
        "dateadded: 2001-12-14t21:59:43.10-99:00",
        "dateadded: [2024]",
        "duration: P" + "9" * 5000 + "D",
        "duration: PT99999999999999999999H",
        "duration: 42",
        "quotableClips: [1, {name: [x]}, {name: ok, startOffset: -1}, {name: ok, startOffset: 1e999}]",
        "quotableClips: text",
        "ids: [youtube]",
        "ids: {youtube: [abcdefghijk]}",
        "links: 'https://youtu.be/abcdefghijk'",
        "description: {a: 1}",
    ],
)
def test_odd_front_matter_values_are_ignored(tmp_path: Path, loader: str, field: str) -> None:
    episode = read(write(tmp_path, f"---\n{field}\n{ONE_LINE}---\n"))
    assert episode.paragraphs[0].text == "hello there"
    assert episode.season is None or 0 <= episode.season <= 1_000_000
    assert episode.duration is None or 0 <= episode.duration <= MAX_SECONDS
    assert all(isinstance(name, str) and name for name in episode.guests + episode.topics)
    json.dumps(episode_record(episode))  # what the index stores


# --- sizes --------------------------------------------------------------------------------------


def test_a_line_of_one_megabyte(tmp_path: Path) -> None:
    text = "word " * 200_000
    episode = read(write(tmp_path, f"{HEAD}transcript:\n- line: {text}\n  who: {'A' * 2**20}\n---\n"), memory=True)
    assert len(episode.paragraphs[0].text) == len(text.strip())


def test_a_file_of_one_line_of_one_megabyte_without_breaks(tmp_path: Path) -> None:
    refused(write(tmp_path, "x" * 2**20), "no YAML front matter")
    refused(write(tmp_path, "---\n" + "x" * 2**20, "y.md"), "never closed")


def test_a_50_megabyte_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as stream:  # sparse: costs no disk
        stream.write(GOOD.encode())
        stream.truncate(50 * 2**20)
    reads: list[int] = []
    real_read = os.read

    def counting_read(descriptor: int, size: int) -> bytes:
        data = real_read(descriptor, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    began = time.perf_counter()
    refused(path, "larger than 16 MB")
    assert time.perf_counter() - began < 0.5
    assert sum(reads) == 0


def test_a_file_just_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.encode() + b"\n" * (MAX_FILE_BYTES + 1 - len(GOOD)))
    refused(path, "larger than 16 MB")


# --- bytes and encodings ------------------------------------------------------------------------


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, b"---\ntitle: ok\ntranscript:\n- line: caf\xe9\n---\n"), "not valid UTF-8")
    assert error.line == 4


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf"], ids=["one", "two"])
def test_utf8_byte_order_mark(tmp_path: Path, bom: bytes) -> None:
    path = write(tmp_path, bom + GOOD.replace("\n", "\r\n").encode())
    if bom.count(b"\xef\xbb\xbf") == 1:
        assert read(path).title == "Hostile"
    else:
        outcome(path)  # a second mark is text before the front matter: either outcome is fine


def test_utf16_is_not_utf8(tmp_path: Path) -> None:
    refused(write(tmp_path, GOOD.encode("utf-16")), "not valid UTF-8")


def test_a_nul_byte_names_its_line(tmp_path: Path, loader: str) -> None:
    error = refused(write(tmp_path, b"---\ntitle: ok\ntranscript:\n- line: a\x00b\n---\n"), "U\\+0000")
    assert (error.line, error.column) == (4, 10)


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_other_characters_yaml_forbids_name_their_line(tmp_path: Path, char: str) -> None:
    error = refused(write(tmp_path, f"---\ntitle: ok\ntranscript:\n- line: a{char}b\n---\n"), "is not allowed")
    assert error.line == 4


def test_escaped_control_characters_are_text(tmp_path: Path) -> None:
    episode = read(write(tmp_path, HEAD + 'transcript:\n- line: "a\\0b\\e[31mc\\x9b"\n---\n'))
    assert episode.paragraphs[0].text == "a\x00b\x1b[31mc\x9b"  # the renderers make these visible


def test_an_escaped_surrogate_is_refused(tmp_path: Path, loader: str) -> None:
    refused(write(tmp_path, HEAD + 'transcript:\n- line: "\\ud800"\n---\n'), "surrogate|invalid YAML")


# --- the front matter fence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no YAML front matter"),
        (b"   \n\n\t\n", "no YAML front matter"),
        (b"---", "never closed"),
        (b"---\n", "never closed"),
        (b"---\n---", "front matter is empty"),
        (b"---\n---\n", "front matter is empty"),
        (b"---\n\n\n---\n", "front matter is empty"),
        (b"---\n- a list\n---\n", "is a list"),
        (b"---\njust text\n---\n", "is a string"),
        (b"# only markdown\n\nsome text\n", "no YAML front matter"),
        (b"1\n2\n3\n4\n5\n6\n7\n---\n" + ONE_LINE.encode() + b"---\n", "no YAML front matter"),
        (b"---\ntitle: no transcript\n---\n", "no transcript"),
    ],
)
def test_files_that_are_not_episodes(tmp_path: Path, content: bytes, reason: str) -> None:
    refused(write(tmp_path, content), reason)


# --- what is not a regular file -----------------------------------------------------------------


def test_a_directory_named_x_md(tmp_path: Path) -> None:
    (tmp_path / "x.md").mkdir()
    refused(tmp_path / "x.md", "is a directory")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_x_md_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.md")
    refused(tmp_path / "x.md", "not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_named_x_md_is_not_streamed(tmp_path: Path) -> None:
    (tmp_path / "x.md").symlink_to("/dev/zero")
    refused(tmp_path / "x.md", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0)
    try:
        refused(path, "cannot read the file: Permission denied")
    finally:
        path.chmod(0o644)


def test_an_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000 does not stop root (the CI user): make the open fail as it would."""
    path = write(tmp_path, GOOD)
    real_open = os.open

    def deny(target: object, *args: object, **kwargs: object) -> int:
        if Path(str(target)) == path:
            raise PermissionError(13, "Permission denied", str(target))
        return real_open(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    refused(path, "cannot read the file: Permission denied")


def test_a_read_error_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)

    def failing_read(descriptor: int, size: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "read", failing_read)
    refused(path, "Input/output error")


def test_a_path_with_a_nul(tmp_path: Path) -> None:
    refused(tmp_path / "a\x00b.md", "not a valid file name")


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    """An episodes folder with one good episode and every kind of entry that is not one."""
    folder = tmp_path / "episodes"
    folder.mkdir()
    write(folder, BUNDLED_EPISODE.read_bytes(), "good.md")
    (folder / "loop.md").symlink_to("loop.md")
    (folder / "ping.md").symlink_to("pong.md")
    (folder / "pong.md").symlink_to("ping.md")
    (folder / "dangling.md").symlink_to("nowhere.md")
    (folder / "self.md").symlink_to(".")
    (folder / "dir.md").mkdir()
    (folder / "sub").symlink_to(".")  # a directory loop: not an .md file, never entered
    write(folder, HEAD + BOMBS["laughs-in-topics"] + "---\n", "bomb.md")
    write(folder, b"---\ntranscript:\n- line: \xff\n---\n", "binary.md")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.md")
    if sys.platform != "darwin":  # macOS refuses file names that are not UTF-8
        write(folder, GOOD, os.fsdecode(b"bad-\xff-name.md"))
    return folder


def _entries(folder: Path) -> set[str]:
    return {name for name in os.listdir(folder) if name.endswith(".md")}


def test_read_folder_reports_every_bad_entry_and_goes_on(hostile_folder: Path) -> None:
    began = time.perf_counter()
    results = list(read_folder(hostile_folder))
    assert time.perf_counter() - began < TIME_LIMIT
    episodes = [r for r in results if isinstance(r, podsearch.Episode)]
    errors = [r for r in results if isinstance(r, podsearch.EpisodeError)]
    assert [e.path for e in episodes] == [str(hostile_folder / "good.md")]
    assert {e.path.name for e in errors} == _entries(hostile_folder) - {"good.md"}
    assert all(str(e).isprintable() for e in errors)  # even for a name that is not UTF-8


def test_index_update_over_a_hostile_folder_completes_and_reports(hostile_folder: Path, tmp_path: Path) -> None:
    index = podsearch.Index(tmp_path / "index")
    began = time.perf_counter()
    report = index.update(hostile_folder)
    assert time.perf_counter() - began < 30
    assert report.added == ("s05e05",)
    failed = {Path(f.path).name for f in report.failed}
    assert failed == _entries(hostile_folder) - {"good.md"}
    assert index.search("full-stack data scientist")
    again = index.update(hostile_folder)  # nothing lost on the second pass either
    assert again.unchanged == ("s05e05",) and not again.removed


def test_index_update_over_a_folder_that_is_a_symlink_loop(tmp_path: Path, episodes_dir: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    index = podsearch.Index(tmp_path / "index")
    report = index.update([episodes_dir, loop])
    assert report.added == ("s05e05",)
    assert [Path(f.path).name for f in report.failed] == ["loop"]


# --- paths: nothing in a file decides what is read or written -----------------------------------


def test_guest_ids_cannot_reach_outside_the_people_folder(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    write(tmp_path / "people", '---\ntitle: "Jane Doe"\n---\n', "janedoe.md")
    write(tmp_path, '---\ntitle: "SECRET"\n---\n', "secret.md")
    write(tmp_path / "people", '---\ntitle: "SECRET TOO"\n---\n', ".hidden.md")
    (tmp_path / "podcast").mkdir()
    hostile = ["../secret", "/etc/passwd", "..", ".hidden", "janedoe/../../secret", "c:\\secret", "a" * 5000, "janedoe"]
    path = write(tmp_path / "podcast", f"---\nguests: {json.dumps(hostile)}\n{ONE_LINE}---\n")
    episode = read(path)
    assert "SECRET" not in " ".join(episode.guest_names)
    assert episode.guest_names[-1] == "Jane Doe"
    people = People(tmp_path / "people")
    assert [people.name(g) for g in hostile] == [None] * 7 + ["Jane Doe"]


def test_an_update_writes_only_inside_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    folder.mkdir()
    nasty = "../../escaped"
    write(
        folder,
        f"---\ntitle: {nasty}\nshort: /tmp/{MARKER}\nguests: ['{nasty}']\nimage: ../../x\n"
        f"ids: {{youtube: '{nasty}'}}\nlinks: {{youtube: 'file:///etc/passwd'}}\n"
        f"transcript:\n- line: hi\n  who: '{nasty}'\n- header: '../{MARKER}'\n- line: there\n---\n",
        "ep.md",
    )
    before = _tree(tmp_path)
    report = podsearch.Index(tmp_path / "index").update(folder)
    assert report.added == ("ep",)
    created = _tree(tmp_path) - before
    assert created and all(path == "index" or path.startswith("index" + os.sep) for path in created)
    assert not (tmp_path.parent / "escaped").exists() and not Path(f"/tmp/{MARKER}").exists()


def _tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# --- the data level of output injection: records and links --------------------------------------

HOSTILE_TEXT = (
    "[bold red]red[/] [link=javascript:alert(1)]click[/link] \x1b]8;;javascript:alert(1)\x1b\\x\x1b]8;;\x1b\\ "
    '\x1b[2J</script><script>alert("x")</script> <img src=x onerror=alert(1)> \u2028\u202e "quotes" \\ '
)

BAD_IDS = [
    "javascript:alert(1)",
    "javascript:a1",  # 13 characters
    "https://evil.example/abcdefghijk",
    "abcdefghij",  # 10
    "abcdefghijkl",  # 12
    'abcdefghij"',
    "abcde ghijk",
    "abcde/ghijk",
    "abc<script>",
    "аbcdefghijk",  # Cyrillic а
    "abcdefghijk\u200b",
    "../../../..",
]
BAD_LINKS = [
    "javascript:alert('https://youtu.be/abcdefghijk')",
    "https://evil.example/watch?v=abcdefghijk",
    "https://www.youtube.com.evil.example/watch?v=abcdefghijk",
    "https://youtube.com@evil.example/watch?v=abcdefghijk",
    "https://www.youtube.com/watch?v=abcdefghij",
    "https://www.youtube.com/watch?v=abcdefghijkl",
    "https://youtu.be/abc<script>",
    "ftp://youtu.be/abcdefghijk",
    "data:text/html,<script>alert(1)</script>",
    " https://evil.example/?https://youtu.be/abcdefghijk",
]
MOMENT = re.compile(r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}&t=\d+s")


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_invalid_youtube_id_never_becomes_a_link(tmp_path: Path, bad: str) -> None:
    text = f"---\ntitle: T\nids:\n  youtube: {json.dumps(bad)}\n{ONE_LINE}---\n"
    episode = read(write(tmp_path, text))
    assert episode.youtube_id is None and episode.url(5) is None


@pytest.mark.parametrize("bad", BAD_LINKS)
def test_an_invalid_youtube_link_never_becomes_a_link(tmp_path: Path, bad: str) -> None:
    text = f"---\ntitle: T\nlinks:\n  youtube: {json.dumps(bad)}\n{ONE_LINE}---\n"
    episode = read(write(tmp_path, text))
    assert episode.youtube_id is None and episode.url(5) is None


def test_a_link_only_ever_carries_the_validated_id(tmp_path: Path) -> None:
    text = f"---\ntitle: T\nlinks:\n  youtube: 'https://youtu.be/abcdefghijk\"onmouseover=alert(1)'\n{ONE_LINE}---\n"
    episode = read(write(tmp_path, text))
    assert episode.youtube_id is None or episode.youtube_id == "abcdefghijk"
    assert episode.url(5) in (None, "https://www.youtube.com/watch?v=abcdefghijk&t=5s")


@pytest.fixture
def hostile_index(tmp_path: Path) -> Iterator[podsearch.Index]:
    """An index of one episode whose every text field is hostile."""
    folder = tmp_path / "episodes"
    folder.mkdir()
    value = json.dumps(HOSTILE_TEXT)  # JSON is YAML: a safe way to write any text
    write(
        folder,
        f"---\ntitle: {value}\nshort: {value}\nguests: [{value}]\ntopics: [{value}]\ndescription: {value}\n"
        f"season: 1\nepisode: 1\nids: {{youtube: {json.dumps(BAD_IDS[0])}}}\n"
        f"quotableClips: [{{name: {value}, startOffset: 0, endOffset: 99}}]\n"
        f"transcript:\n- header: {value}\n- line: {json.dumps('needle ' + HOSTILE_TEXT)}\n  who: {value}\n  sec: 7\n---\n",
        "hostile.md",
    )
    index = podsearch.Index(tmp_path / "index")
    index.update(folder)
    yield index
    index.close()


def test_records_carry_hostile_text_as_plain_json(hostile_index: podsearch.Index) -> None:
    results = hostile_index.search("needle")
    assert len(results) == 1
    records = results.to_records()
    encoded = json.dumps(records)  # the CLI's --json uses the same records
    assert json.loads(encoded) == records
    record = records[0]
    assert record["text"] == "needle " + HOSTILE_TEXT.strip()
    assert record["episode_title"] == HOSTILE_TEXT.strip()
    assert record["youtube_id"] is None and record["url"] is None
    assert "\x1b" not in encoded and "</script>" in json.loads(encoded)[0]["text"]  # escaped, kept
    episode = episode_record(results[0].episode)
    assert json.loads(json.dumps(episode)) == episode and episode["youtube_id"] is None


def test_urls_in_records_are_only_moment_links(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    folder.mkdir()
    for number, link in enumerate([*BAD_LINKS, "https://www.youtube.com/watch?v=d9xVXqKq3sU"]):
        write(
            folder,
            f"---\ntitle: T{number}\nlinks: {{youtube: {json.dumps(link)}}}\n"
            f"transcript:\n- line: needle {number}\n  sec: {number}\n---\n",
            f"e{number}.md",
        )
    with podsearch.Index(tmp_path / "index") as index:
        index.update(folder)
        records = index.search("needle", limit=50).to_records()
    assert len(records) == len(BAD_LINKS) + 1
    urls = [r["url"] for r in records if r["url"] is not None]
    assert urls and all(MOMENT.fullmatch(url) for url in urls)
    assert {r["youtube_id"] for r in records} == {None, "d9xVXqKq3sU"}
