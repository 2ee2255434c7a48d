"""The ``podsearch`` command: output on the bundled episode, options, show/episodes, help, errors.

Most tests drive the typer app with ``CliRunner``; the fast path of the console
script (:mod:`podsearch.cli.fastparse`, run by :mod:`podsearch.cli.launcher`) is
checked to give the same output. Exit codes, crashes and signals: test_cli_exits.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

import podsearch
from podsearch.cli import deferred, exits, fastparse, launcher, spec
from podsearch.cli.app import app
from podsearch.index.storage import IndexDir
from podsearch.records import HIT_FIELDS

from .cli_support import invoke
from .conftest import BUNDLED
from .factory import CAREERS, CONTRACTS, VECTORS, write_episode, write_person

QUERY = "full-stack data scientist"
TITLE = "S05E05 · What Researchers and Engineers Can Learn from Each Other"
LINK_2433 = "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s"
LINK_3356 = "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s"
HEADER = re.compile(r"^\d+ moments matched, showing \d+ \(\d+ ms\)$")


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the fast path must not swap modules for stand-ins (tested in a subprocess)."""
    monkeypatch.setattr(deferred, "defer_unused_imports", lambda: None)


def blocks(stdout: str) -> list[list[str]]:
    """The hits of a plain search output, each as its lines (the header line dropped)."""
    return [chunk.splitlines() for chunk in stdout.split("\n\n")[1:]]


@pytest.fixture(scope="module")
def bundled(bundled_index: podsearch.Index) -> str:
    return str(bundled_index.path)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Three small episodes with dates, guests and a people folder."""
    root = tmp_path_factory.mktemp("cli")
    folder = root / "episodes"
    write_person(root / "people", "janedoe", "Jane Doe")
    write_episode(
        folder,
        "vectors",
        [
            ("header", "Embeddings in production"),
            ("Alexey", 10, "Welcome. Today we talk about vector databases and embeddings."),
            ("Jane", 60, "Keeping embeddings fresh is the hard part of vector search."),
            (None, None, "Embeddings drift when the documents change."),
            ("Jane", 200, "Rare product names still need sparse retrieval."),
        ],
        **VECTORS,
        chapters=[("Embeddings", 0, 400)],
    )
    write_episode(
        folder,
        "contracts",
        [
            ("Alexey", 5, "This week: data contracts and embeddings of schemas."),
            ("Bob", 40, "A data contract is an agreement on the schema a team publishes."),
        ],
        **CONTRACTS,
    )
    write_episode(
        folder,
        "careers",
        [("Carol", 45, "I left academia; embeddings were my first industry project.")],
        **CAREERS,
    )
    index = podsearch.Index(root / "index")
    assert not index.update(folder).failed
    index.close()
    return str(root / "index")


def search_json(index: str, *args: str) -> dict:
    code, out, err = invoke(*args, "--index", index, "--json")
    assert code == 0, err
    return json.loads(out)


# --- plain output on the bundled episode ---------------------------------------------------------------


def test_search_prints_each_moment_on_a_few_lines(bundled: str) -> None:
    code, out, err = invoke(QUERY, "--index", bundled)
    assert code == 0 and err == ""
    assert HEADER.match(out.splitlines()[0])
    hits = blocks(out)
    assert len(hits) == 10
    first = hits[0]
    assert first == [
        f" 1. {TITLE}",
        "    40:33 · Alexey · Full-stack data scientists",
        first[2],
        f"    {LINK_2433}",
    ]
    assert first[2].startswith("    We already have a question from Roa about full-stack data scientists.")
    mention = next(hit for hit in hits if hit[-1] == f"    {LINK_3356}")
    assert mention[1] == "    55:56 · Mihail Eric · Choosing between engineering or research if you’re just starting"
    assert "full-stack data scientist role" in mention[2]
    for rank, hit in enumerate(hits, 1):
        assert hit[0] == f"{rank:>2}. {TITLE}"
        assert re.match(r"^    \d+:\d\d(~ \(estimated\))? · (Alexey|Mihail Eric) · \S", hit[1])
        assert re.match(r"^    https://www\.youtube\.com/watch\?v=d9xVXqKq3sU&t=\d+s$", hit[-1])


def test_estimated_times_are_marked(bundled: str) -> None:
    record = next(hit for hit in search_json(bundled, QUERY, "--limit", "20")["hits"] if hit["estimated"])
    _, out, _ = invoke(QUERY, "--index", bundled, "--limit", "20")
    assert f"    {record['time']}~ (estimated) · " in out


def test_piped_output_has_no_escape_codes(bundled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich would colour a pipe with this; podsearch must not
    _, out, err = invoke(QUERY, "--index", bundled, "--context", "1")
    assert "\x1b" not in out + err
    assert LINK_2433 in out


def test_search_subcommand_and_a_query_named_like_a_command(bundled: str) -> None:
    code, out, _ = invoke("search", QUERY, "--index", bundled, "-n", "1")
    assert code == 0 and LINK_2433 in out
    code, _, err = invoke("search", "index", "--index", bundled)
    assert code == 0 and err in ("", "No moments matched 'index'.\n")


def test_did_you_mean(bundled: str) -> None:
    code, out, _ = invoke("data scientsts", "--index", bundled, "-n", "1")
    assert code == 0 and out.splitlines()[1] == "Did you mean: data scientists?"
    assert search_json(bundled, "data scientsts")["suggestion"] == "data scientists"


def test_nothing_matched_exits_zero_with_a_note(bundled: str) -> None:
    code, out, err = invoke("zeppelinxyz", "--index", bundled)
    assert (code, out) == (0, "")
    assert err.splitlines()[0] == "No moments matched 'zeppelinxyz'."
    code, out, err = invoke("zeppelinxyz", "--index", bundled, "--json")
    assert code == 0 and json.loads(out)["hits"] == [] and "No moments matched" in err


# --- JSON ------------------------------------------------------------------------------------------------


def test_json_is_one_document_with_every_field(bundled: str) -> None:
    code, out, _ = invoke(QUERY, "--index", bundled, "--json", "--context", "1")
    assert code == 0 and out.count("\n") == 1 and out.isascii()
    document = json.loads(out)
    assert list(document) == ["query", "total", "suggestion", "elapsed_ms", "hits"]
    assert document["query"] == QUERY and document["total"] >= 10 and len(document["hits"]) == 10
    first = document["hits"][0]
    assert list(first) == list(HIT_FIELDS)
    assert first["url"] == LINK_2433 and first["start"] == 2433 and first["time"] == "40:33"
    assert (first["episode_code"], first["season"], first["episode"]) == ("S05E05", 5, 5)
    assert first["speaker"] == "Alexey" and first["section"] == "Full-stack data scientists"
    assert first["youtube_id"] == "d9xVXqKq3sU" and first["guest_ids"] == ["mihaileric"]
    assert {"full", "stack", "data"} <= {first["text"][a:b].lower() for a, b in first["spans"]}
    assert first["snippet"] and first["snippet_spans"]
    assert len(first["before"]) == 1 and len(first["after"]) == 1
    assert set(first["before"][0]) == {"text", "start", "time", "estimated", "number"}
    assert any(hit["url"] == LINK_3356 for hit in document["hits"])


def test_jsonl_is_one_hit_per_line(bundled: str) -> None:
    code, out, _ = invoke(QUERY, "--index", bundled, "--jsonl", "--limit", "4")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    records = [json.loads(line) for line in lines]
    assert all(list(record) == list(HIT_FIELDS) for record in records)
    assert records[0]["url"] == LINK_2433


def test_json_and_jsonl_together_are_refused(bundled: str) -> None:
    code, out, err = invoke(QUERY, "--index", bundled, "--json", "--jsonl")
    assert code == exits.EXIT_USAGE and out == "" and "either --json or --jsonl" in err


# --- options end to end -----------------------------------------------------------------------------------


def test_limit(crafted: str) -> None:
    assert len(search_json(crafted, "embeddings", "--limit", "2")["hits"]) == 2
    assert len(search_json(crafted, "embeddings", "-n", "1")["hits"]) == 1


def test_speaker_and_guest(crafted: str) -> None:
    hits = search_json(crafted, "embeddings", "--speaker", "jane")["hits"]
    assert hits and {hit["speaker"] for hit in hits} == {"Jane"}
    assert {hit["speaker_name"] for hit in hits} == {"Jane Doe"}
    hits = search_json(crafted, "embeddings", "--guest", "carolwhite")["hits"]
    assert [hit["episode_title"] for hit in hits] == ["From Academia to Industry"]


def test_season_and_episode(crafted: str) -> None:
    assert {hit["season"] for hit in search_json(crafted, "embeddings", "--season", "4")["hits"]} == {4}
    hits = search_json(crafted, "embeddings", "--season", "4", "--episode", "5")["hits"]
    assert [hit["episode_code"] for hit in hits] == ["S04E05"]


def test_after_and_before(crafted: str) -> None:
    assert {hit["date_added"] for hit in search_json(crafted, "embeddings", "--after", "2024-01-01")["hits"]} == {
        "2024-05-01",
        "2025-01-15",
    }
    hits = search_json(crafted, "embeddings", "--before", "2024-01-01")["hits"]
    assert {hit["date_added"] for hit in hits} == {"2023-03-03"}
    code, _, err = invoke("embeddings", "--index", crafted, "--after", "last week")
    assert code == exits.EXIT_USAGE and "expected a date like 2023-01-31" in err


def test_by_episode_groups(crafted: str) -> None:
    document = search_json(crafted, "embeddings", "--by-episode")
    assert [group["episode"]["code"] for group in document["groups"]][:1] == ["S03E07"]
    assert {group["episode"]["code"] for group in document["groups"]} == {"S03E07", "S04E02", "S04E05"}
    _, out, _ = invoke("embeddings", "--index", crafted, "--by-episode")
    assert re.match(r"^\d+ moments matched, showing 3 episodes \(\d+ ms\)$", out.splitlines()[0])
    assert out.count("S03E07 · Vector Search in Practice") == 1


def test_context(crafted: str) -> None:
    hit = next(h for h in search_json(crafted, "drift documents", "--context", "1")["hits"] if h["start"] > 60)
    assert (
        hit["estimated"] and [p["start"] for p in hit["before"]] == [60] and [p["start"] for p in hit["after"]] == [200]
    )
    _, out, _ = invoke("drift documents", "--index", crafted, "--context", "1", "-n", "1")
    lines = out.splitlines()
    assert "      1:00  Keeping embeddings fresh is the hard part of vector search." in lines
    assert "      3:20  Rare product names still need sparse retrieval." in lines


def test_sort_by_date(crafted: str) -> None:
    dates = [hit["date_added"] for hit in search_json(crafted, "embeddings", "--sort", "date")["hits"]]
    assert dates == sorted(dates, reverse=True)


def test_chapter_and_section_on_the_moment_line(crafted: str) -> None:
    _, out, _ = invoke("sparse retrieval", "--index", crafted, "-n", "1")
    assert out.splitlines()[3] == "    3:20 · Jane Doe · Embeddings in production · chapter: Embeddings"


def test_missing_index_is_built_from_episodes_option(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(BUNDLED, folder)
    index = tmp_path / "fresh"
    code, out, err = invoke(QUERY, "--index", str(index), "--episodes", str(folder), "-n", "1")
    assert code == 0 and LINK_2433 in out
    assert err.splitlines()[0] == f"No index at {index} yet: building it from {folder} …"
    assert "Indexed 1 episode(s), 122 paragraphs" in err


def test_missing_index_is_built_from_the_default_episodes_folder(episodes_dir: Path) -> None:
    code, out, err = invoke(QUERY, "-n", "1")
    assert code == 0 and LINK_2433 in out and "building it from" in err


# --- show and episodes ----------------------------------------------------------------------------------------


def test_show_around_a_moment(bundled: str) -> None:
    code, out, err = invoke("show", "S05E05", "--at", "55:56", "--around", "1", "--index", bundled)
    assert code == 0 and err == ""
    lines = [line for line in out.splitlines() if line]
    assert lines[0] == TITLE
    assert lines[1] == "Choosing between engineering or research if you’re just starting"
    assert lines[2] == "55:31  Alexey  https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3331s"
    assert lines[4] == f"▶ 55:56  Mihail Eric  {LINK_3356}"
    assert lines[5].startswith("Yeah. I think that's where one of the most important things is to be introspective.")
    assert lines[6] == "56:29~"
    assert len(lines) == 8


def test_show_whole_episode_by_id(bundled: str) -> None:
    code, out, _ = invoke("show", "s05e05-researchers-vs-engineers", "--index", bundled)
    assert code == 0
    assert out.count("https://www.youtube.com/watch?v=d9xVXqKq3sU&t=") >= 20
    assert "Mihail’s background" in out and "\x1b" not in out


def test_show_accepts_seconds_and_rejects_bad_times(bundled: str) -> None:
    code, out, _ = invoke("show", "s05e05", "--at", "3356", "--around", "0", "--index", bundled)
    assert code == 0 and f"▶ 55:56  Mihail Eric  {LINK_3356}" in out
    code, _, err = invoke("show", "S05E05", "--at", "soon", "--index", bundled)
    assert code == exits.EXIT_USAGE and "expected a time like 55:56" in err


def test_episodes_lists_the_index(bundled: str, crafted: str) -> None:
    code, out, _ = invoke("episodes", "--index", bundled)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["episode", "added", "paragraphs", "title", "guests"]
    assert lines[1].split()[:3] == ["S05E05", "-", "122"]
    assert "What Researchers and Engineers Can Learn from Each Other" in lines[1] and lines[1].endswith("Mihail Eric")
    _, out, _ = invoke("episodes", "--index", crafted)
    assert [line.split()[:2] for line in out.splitlines()[1:4]] == [
        ["S03E07", "2024-05-01"],
        ["S04E02", "2025-01-15"],
        ["S04E05", "2023-03-03"],
    ]
    assert "Jane Doe" in out and out.splitlines()[-1] == "3 episodes"


def test_episodes_json(bundled: str) -> None:
    code, out, _ = invoke("episodes", "--index", bundled, "--json")
    (episode,) = json.loads(out)
    assert code == 0 and episode["code"] == "S05E05" and episode["paragraphs"] == 122
    assert (episode["season"], episode["number"], episode["youtube_id"]) == (5, 5, "d9xVXqKq3sU")


# --- help --------------------------------------------------------------------------------------------------


def _command(name: str) -> Any:  # typer's own Click command
    return get_command(app).commands[name]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(spec.COMMANDS))
def test_help_mentions_every_option(name: str) -> None:
    code, out, _ = invoke(name, "--help")
    assert code == 0
    for param in _command(name).params:
        for option in param.opts:
            if option.startswith("-"):
                assert option in out, f"{name} --help does not mention {option}"
        if param.help:
            assert param.help.split()[0] in out


@pytest.mark.parametrize("name", [name for name, command in spec.COMMANDS.items() if command.epilog])
def test_help_has_examples(name: str) -> None:
    _, out, _ = invoke(name, "--help")
    assert "Examples:" in out and f"podsearch {'' if name == 'search' else name}".strip() in out


def test_main_help_lists_commands_exit_codes_and_completion() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for word in (*spec.COMMANDS, "--install-completion", "--show-completion", "--debug", "--version"):
        assert word in out
    for row in exits.EXIT_CODES:
        assert re.search(rf"^\s+{row.code}\s+{re.escape(row.meaning[:40])}", out, re.MULTILINE)


def test_completion_script_is_available(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    # typer asks shellingham for the parent shell, which a cron or CI parent is not
    monkeypatch.setattr("shellingham.detect_shell", lambda: ("bash", "/bin/bash"))
    with pytest.raises(SystemExit) as stopped:
        launcher.main(["--show-completion", "bash"])
    assert stopped.value.code in (0, None)
    script = capsys.readouterr().out
    assert (
        "_PODSEARCH_COMPLETE=complete_bash" in script
        and "complete -o default -F _podsearch_completion podsearch" in script
    )


def test_completion_requests_go_to_typer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("_PODSEARCH_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "podsearch sh")
    monkeypatch.setenv("COMP_CWORD", "1")
    with pytest.raises(SystemExit):
        launcher.main(["sh"])
    assert capsys.readouterr().out.split() == ["show"]


# --- errors -------------------------------------------------------------------------------------------------


def test_no_index_is_one_line_with_what_to_do(tmp_path: Path) -> None:
    for command in (["show", "S05E05"], ["episodes"]):
        code, out, err = invoke(*command, "--index", str(tmp_path / "none"))
        assert (code, out) == (exits.EXIT_NOT_FOUND, "")
        assert (
            err
            == f"Error: no index at {tmp_path / 'none'}; build one with: podsearch index EPISODES_FOLDER --index {tmp_path / 'none'}\n"
        )


def test_no_index_and_no_episodes_folder(tmp_path: Path) -> None:
    code, out, err = invoke(QUERY, "--index", str(tmp_path / "none"), "--episodes", str(tmp_path / "nothing"))
    assert (code, out) == (exits.EXIT_NOT_FOUND, "")
    assert err.count("\n") == 1 and err.startswith("Error: no index at ")
    assert "pass --episodes FOLDER, or run: podsearch index FOLDER" in err
    assert not (tmp_path / "none").exists()


def test_no_such_episode(bundled: str) -> None:
    code, _, err = invoke("show", "S09E09", "--index", bundled)
    assert code == exits.EXIT_NOT_FOUND
    assert err == "Error: no indexed episode 'S09E09'; list them with: podsearch episodes\n"


@pytest.mark.parametrize("query", ['"', "a*", "()", "-", "NOT", " "])
def test_bad_query(bundled: str, query: str) -> None:
    code, out, err = invoke("search", query, "--index", bundled)
    assert code in (0, exits.EXIT_USAGE) and "Traceback" not in err
    if code == exits.EXIT_USAGE and not err.startswith("Usage:"):
        assert err.startswith("Error: bad query: ") and err.count("\n") == 1
    if code == 0:
        assert out or "No moments matched" in err


def test_index_locked_while_building_a_missing_index(tmp_path: Path, episodes_dir: Path) -> None:
    store = IndexDir(tmp_path / "locked")
    with store.lock():
        code, out, err = invoke(QUERY, "--index", str(store.path))
    assert (code, out) == (exits.EXIT_TRY_LATER, "")
    assert err.splitlines()[-1] == f"Error: the index at {store.path} is being built; try again in a moment"


# --- hostile episode files ---------------------------------------------------------------------------------------


def test_hostile_episode_text_is_shown_literally(tmp_path: Path) -> None:
    folder = tmp_path / "evil"
    write_episode(
        folder,
        "evil",
        [
            ("header", "[bold red]Section[/bold red]\x1b]0;owned\x07"),
            (
                "[link=https://evil.example/]Mallory[/link]",
                30,
                "zeppelin \x1b[2J\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 [blink]x[/blink] <script>alert(1)</script>",
            ),
        ],
        title="[italic]Evil[/italic] \x1b[31mTitle",
        youtube="abcdefghijk",
    )
    index = str(tmp_path / "index")
    assert not podsearch.Index(index).update(folder).failed
    code, out, err = invoke("zeppelin", "--index", index)
    assert code == 0 and "\x1b" not in out + err
    for literal in (
        "[italic]Evil[/italic] ␛[31mTitle",
        "[link=https://evil.example/]Mallory[/link]",
        "[bold red]Section[/bold red]␛]0;owned␇",
        "[blink]x[/blink] <script>alert(1)</script>",
        "␛]8;;https://evil.example/␇click",
    ):
        assert literal in out
    assert out.splitlines()[-1] == "    https://www.youtube.com/watch?v=abcdefghijk&t=30s"
    code, out, _ = invoke("zeppelin", "--index", index, "--json")
    assert out.isascii() and "\x1b" not in out
    hit = json.loads(out)["hits"][0]
    assert hit["text"].startswith("zeppelin \x1b[2J") and hit["speaker"] == "[link=https://evil.example/]Mallory[/link]"
    code, out, _ = invoke("show", "S01E01", "--index", index)
    assert code == 0 and "\x1b" not in out and "[bold red]Section[/bold red]" in out
    code, out, _ = invoke("episodes", "--index", index)
    assert code == 0 and "\x1b" not in out and "[italic]Evil[/italic] ␛[31mTitle" in out


# --- the fast path of the console script --------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r'"elapsed_ms": [\d.]+', '"elapsed_ms": N', re.sub(r"\(\d+ ms\)", "(N ms)", text))


def _fast(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console script in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as stopped:
        launcher.main(argv)
    captured = capsys.readouterr()
    return stopped.value.code or 0, captured.out, captured.err


@pytest.mark.parametrize(
    "args",
    [
        [QUERY],
        ["search", QUERY, "-n", "3"],
        [QUERY, "--limit=2", "--context", "1"],
        ["--limit", "2", QUERY, "--speaker", "mihail"],
        [QUERY, "--season", "5", "--episode", "5", "--by-episode"],
        [QUERY, "--jsonl", "-n", "2"],
        [QUERY, "--sort", "date", "-n", "2", "--after", "2000-01-01"],
        ["--debug", QUERY, "-n", "1", "--debug"],
        ["zeppelinxyz"],
        ["zeppelinxyz", "--json"],
        [QUERY, "--json", "--jsonl"],
        ["show", "S05E05", "--at", "55:56", "--around", "1"],
        ["show", "S05E05", "--at=3356"],
        ["show", "S09E09"],
        ["episodes"],
        ["episodes", "--json"],
        ["stats", "--json"],
    ],
)
def test_fast_path_prints_what_typer_prints(bundled: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*args, "--index", bundled]
    assert fastparse.parse(argv) is not None
    code, out, err = _fast(argv, capsys)
    assert (code, _normalise(out), err) == invoke_normalised(*argv)


def invoke_normalised(*args: str) -> tuple[int, str, str]:
    code, out, err = invoke(*args)
    return code, _normalise(out), err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        [QUERY, "--help"],
        ["show", "S05E05", "-h"],
        ["show"],
        ["show", "a", "b"],
        ["--version"],
        ["--debug"],
        ["--debug", "--help"],
        [QUERY, "--limit", "0"],
        [QUERY, "--limit", "x"],
        [QUERY, "-n5"],
        [QUERY, "--context", "21"],
        [QUERY, "--season", "-1"],
        [QUERY, "--after", "yesterday"],
        [QUERY, "--sort", "random"],
        [QUERY, "--json=yes"],
        [QUERY, "--unknown"],
        [QUERY, "another"],
        [QUERY, "--limit"],
        [QUERY, "--speaker", "--json"],
        ["--", QUERY],
        ["-"],
        ["--json"],
        ["index", "--bogus"],
        ["index", "--index"],
        ["show", "S05E05", "--at", "soon"],
        ["serve", "--port", "-1"],
        ["episodes", "extra"],
    ],
)
def test_fast_path_leaves_everything_else_to_typer(args: list[str]) -> None:
    assert fastparse.parse(args) is None


def _declared(name: str) -> set[str]:
    return {option for param in _command(name).params for option in param.opts if option.startswith("-")}


@pytest.mark.parametrize("name", list(spec.COMMANDS))
def test_typer_and_the_fast_path_read_the_same_options(name: str) -> None:
    fields = spec.params(spec.COMMANDS[name].options)
    assert _declared(name) - {"-h", "--help"} == {flag for _, param, _ in fields for flag in param.flags}
    arguments = [param.name for param in _command(name).params if not param.opts[0].startswith("-")]
    assert arguments == [field for field, param, _ in fields if not param.is_option]


def test_typer_has_the_commands_of_the_spec() -> None:
    assert list(get_command(app).commands) == list(spec.COMMANDS)  # type: ignore[attr-defined]


def test_fast_path_parses_values() -> None:
    options = fastparse.parse(
        ["q", "--after=2024-01-02", "--before", "2025-01-01", "-C", "2", "--sort", "date", "--index", "ix", "--jsonl"]
    )
    assert options == spec.Search(
        "q", after=date(2024, 1, 2), before=date(2025, 1, 1), context=2, sort="date", index=Path("ix"), as_jsonl=True
    )
    assert fastparse.parse(["--debug", "show", "s1", "--at", "1:02:57"]) == spec.Show("s1", at=3777, debug=True)
    assert fastparse.parse(["index", "a", "b", "--index=ix", "-q", "--wait", "--rebuild", "--allow-removals"]) == (
        spec.Reindex((Path("a"), Path("b")), index=Path("ix"), rebuild=True, wait=True, quiet=True, allow_removals=True)
    )
    assert fastparse.parse(["serve", "--port", "8080", "--host=0.0.0.0"]) == spec.Serve(host="0.0.0.0", port=8080)
    assert fastparse.parse(["check"]) == spec.Check()
    assert fastparse.parse(["search", "index"]) == spec.Search("index")


def test_typer_handles_a_command_the_fast_path_declined(bundled: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _fast(["episodes", "--index", bundled, "--help"], capsys)
    assert code == 0 and "List the indexed episodes" in out


def _probe(*lines: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    return subprocess.run(
        [sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, env=env, check=False
    )


HEAVY = (
    "['typer', 'pydantic', 'yaml', 'podsearch.index.indexer', 'podsearch.reading.episodes', "
    "'podsearch.cli.app', 'rich', 'asyncio', 'http.client', 'email']"
)


def test_a_plain_search_loads_only_what_it_needs(bundled: str) -> None:
    for extra, loaded in (([], ["rich"]), (["--json"], [])):
        run = _probe(
            "import sys",
            "from podsearch.cli.launcher import main",
            "try:",
            f"    main([{QUERY!r}, '--index', {bundled!r}, *{extra!r}])",
            "finally:",
            f"    print(' '.join(name for name in {HEAVY} if name in sys.modules), file=sys.stderr)",
        )
        assert run.returncode == 0 and LINK_2433 in run.stdout
        assert run.stderr.split() == loaded


def test_deferred_modules_load_when_really_used(bundled: str) -> None:
    run = _probe(
        "import sys",
        "from podsearch.cli.launcher import main",
        "try:",
        f"    main([{QUERY!r}, '--index', {bundled!r}, '--json'])",
        "except SystemExit:",
        "    pass",
        "assert 'http.client' not in sys.modules and 'asyncio' not in sys.modules",
        "import urllib.request",
        "assert urllib.request.Request('https://example.org').host == 'example.org'",
        "from urllib.request import urlopen",
        "assert type(sys.modules['urllib.request']).__name__ == 'module'",
        "from cached_property import threaded_cached_property",
        "import asyncio, whoosh.compat",
        "assert callable(whoosh.compat.urlretrieve)",
        "print('ok')",
    )
    assert run.stdout.splitlines()[-1] == "ok", run.stderr
