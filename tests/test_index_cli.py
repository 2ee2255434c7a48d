"""``podsearch index`` and ``podsearch stats`` as cron and people see them."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import podsearch
from podsearch.cli import fastparse, spec
from podsearch.index.indexer import Progress
from podsearch.index.schema import SCHEMA_VERSION
from podsearch.index.storage import INDEX_NAME, IndexDir
from podsearch.output import indexing

from .cli_support import invoke
from .test_indexer import BROKEN, break_file, make_folder, write_show

SUMMARY = re.compile(
    r"^(\d+) added, (\d+) updated, (\d+) removed, (\d+) unchanged, (\d+) failed; "
    r"([\d,]+) paragraphs indexed in \d+\.\d\d s( \(full rebuild\))?$"
)


def counts(summary: str, fields: int = 5) -> tuple[str | None, ...]:
    """The first fields of a summary line: added, updated, removed, unchanged, failed, paragraphs, rebuild."""
    match = SUMMARY.match(summary)
    assert match, summary
    return match.groups()[:fields]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_folder(tmp_path / "eps", 3)
    return tmp_path / "eps"


def test_exit_0_when_every_file_is_indexed(folder: Path, tmp_path: Path) -> None:
    code, out, err = invoke("index", str(folder), "--index", str(tmp_path / "ix"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:-1] == [f"read {n}/3 files, {4 * n} paragraphs" for n in (1, 2, 3)]
    assert SUMMARY.match(lines[-1]).groups()[:7] == ("3", "0", "0", "0", "0", "12", " (full rebuild)")
    code, out, err = invoke("index", str(folder), "--index", str(tmp_path / "ix"))
    assert (code, err) == (0, "")
    assert SUMMARY.match(out).groups()[:7] == ("0", "0", "0", "3", "0", "0", None)


def test_exit_1_when_some_files_failed(folder: Path, tmp_path: Path) -> None:
    break_file(folder / "ep01.md")
    code, out, err = invoke("index", str(folder), "--index", str(tmp_path / "ix"))
    assert code == 1
    assert err == f"{folder / 'ep01.md'}: {BROKEN}\n"
    assert SUMMARY.match(out.splitlines()[-1]).groups()[:5] == ("2", "0", "0", "0", "1")


def test_exit_2_on_a_usage_error(folder: Path, tmp_path: Path) -> None:
    code, out, err = invoke("index", str(folder), "--index", str(tmp_path / "ix"), "--bogus")
    assert code == 2 and "No such option: --bogus" in err and out == ""
    assert not (tmp_path / "ix").exists()


def test_exit_75_when_locked(folder: Path, tmp_path: Path) -> None:
    with IndexDir(tmp_path / "ix").lock():
        code, out, err = invoke("index", str(folder), "--index", str(tmp_path / "ix"))
    assert (code, out) == (75, "")
    assert err == (
        f"Error: another 'podsearch index' is updating {tmp_path / 'ix'}; "
        "try again later, or pass --wait to queue behind it\n"
    )


def test_quiet_prints_nothing_on_success_and_only_failures(folder: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    assert invoke("index", str(folder), "--index", index, "--quiet") == (0, "", "")
    assert invoke("index", str(folder), "--index", index, "-q") == (0, "", "")
    break_file(folder / "ep02.md")
    write_show(folder, 9)
    assert invoke("index", str(folder), "--index", index, "--quiet") == (1, "", f"{folder / 'ep02.md'}: {BROKEN}\n")


def test_rebuild_and_no_folder_uses_the_last_runs(folder: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    invoke("index", str(folder), "--index", index)
    code, out, _ = invoke("index", "--index", index, "--rebuild")
    assert code == 0 and counts(out.splitlines()[-1], 7) == ("0", "0", "0", "3", "0", "12", " (full rebuild)")


def test_a_missing_folder_is_refused_with_78_and_deletes_nothing(folder: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    invoke("index", str(folder), "--index", index)
    code, out, err = invoke("index", str(tmp_path / "nowhere"), "--index", index, "-q")
    assert (code, out) == (78, "")
    assert err.startswith("Error: this run would remove 3 of the 3 episodes") and err.count("\n") == 1
    assert err.endswith("nothing was changed. If they were really removed, run again with --allow-removals\n")
    with podsearch.Index(index) as ix:
        assert len(ix.episodes()) == 3


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    code, out, _ = invoke("index", "--help")
    assert code == 0
    for text in ("--wait", "--quiet", "--rebuild", "--allow-removals", "75", "1   podsearch index: some episode files"):
        assert text in out, text


def test_an_index_of_another_version_refuses_searches_until_indexed(folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    invoke("index", str(folder), "--index", str(index))
    for name in os.listdir(index):
        if INDEX_NAME in name:
            os.rename(index / name, index / name.replace(INDEX_NAME, f"podsearch_s{SCHEMA_VERSION + 1}"))
    code, out, err = invoke("pipelines", "--index", str(index))
    assert code == 65 and out == ""
    assert err.startswith(f"Error: the index at {index} was written by podsearch ")
    assert err.rstrip().endswith(f"rebuild it with: podsearch index --rebuild --index {index}")
    code, out, _ = invoke("index", "--index", str(index))
    assert code == 0 and "(full rebuild)" in out
    code, out, _ = invoke("pipelines", "--index", str(index), "--json")
    assert code == 0 and json.loads(out)["hits"]


def test_plain_progress_lines_are_a_tenth_apart() -> None:
    out = io.StringIO()
    with indexing.progress_display(out, quiet=False) as progress:
        for files in range(1, 101):
            progress(Progress(files, 100, files * 10))
    lines = out.getvalue().splitlines()
    assert lines[0] == "read 10/100 files, 100 paragraphs" and lines[-1] == "read 100/100 files, 1,000 paragraphs"
    assert len(lines) == 10


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_with_rates_and_red_failures(tmp_path: Path) -> None:
    out = Terminal()
    with indexing.progress_display(out, quiet=False) as progress:
        progress(Progress(1, 2, 10))
        progress(Progress(2, 2, 25))
    assert "indexing" in out.getvalue() and "2/2" in out.getvalue() and "paragraphs" in out.getvalue()
    err = Terminal()
    indexing.show_report(podsearch.UpdateReport(failed=(podsearch.Failure("x.md", "no transcript"),)), out, err)
    assert err.getvalue() == "\x1b[31mx.md: no transcript\x1b[0m\n"


def test_quiet_has_no_progress() -> None:
    with indexing.progress_display(io.StringIO(), quiet=True) as progress:
        assert progress is None


def test_the_console_script_indexes_without_typer(folder: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    typer_way = invoke("index", str(folder), "--index", index)
    break_file(folder / "ep00.md")
    script = (
        "import sys\n"
        "from podsearch.cli.launcher import main\n"
        "try:\n"
        f"    main(['index', {str(folder)!r}, '--index={index}'])\n"
        "finally:\n"
        "    heavy = ('typer', 'pydantic', 'rich', 'yaml', 'whoosh.index', 'podsearch.index.writing')\n"
        "    print('imported:', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert first.returncode == 1 and counts(first.stdout.splitlines()[-1]) == ("0", "0", "0", "2", "1")
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert second.returncode == 1 and SUMMARY.match(second.stdout).groups()[:5] == ("0", "0", "0", "2", "1")
    assert second.stderr == f"{folder / 'ep00.md'}: {BROKEN}\nimported: []\n"  # an idle run
    assert typer_way[0] == 0 and typer_way[1].splitlines()[0] == "read 1/3 files, 4 paragraphs"


def test_the_console_script_leaves_help_and_mistakes_to_typer(tmp_path: Path) -> None:
    assert fastparse.parse(["index", "--help"]) is None
    assert fastparse.parse(["index", "--bogus"]) is None
    assert fastparse.parse(["index", "--index"]) is None
    assert fastparse.parse(["index", "a", "b", "--index=ix", "-q", "--wait", "--rebuild"]) == spec.Reindex(
        (Path("a"), Path("b")), index=Path("ix"), rebuild=True, wait=True, quiet=True
    )
    result = subprocess.run([sys.executable, "-m", "podsearch", "index", "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "No such option: --bogus" in result.stderr


def test_stats_shows_what_the_index_holds(folder: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    break_file(folder / "ep02.md")
    invoke("index", str(folder), "--index", index)
    code, out, err = invoke("stats", "--index", index)
    assert (code, err) == (0, "")
    rows = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.splitlines() if "  " in line.strip())
    assert rows["episodes"] == "2" and rows["speaker turns"] == "6" and rows["paragraphs"] == "8"
    assert re.fullmatch(r"\d+\.\d MB in 1 segment\(s\)", rows["size on disk"])
    assert rows["folders"] == str(folder.resolve())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows["last update"])
    assert rows["last report"] == "2 added, 0 updated, 0 removed, 0 unchanged, 1 failed"
    assert f"failed: {folder / 'ep02.md'}: {BROKEN}" in out
    code, out, _ = invoke("stats", "--index", index, "--json")
    stats = json.loads(out)
    assert (stats["episodes"], stats["turns"], stats["paragraphs"], stats["segments"]) == (2, 6, 8, 1)
    assert stats["size_bytes"] > 0 and stats["folders"] == [str(folder.resolve())]
    assert stats["last_report"]["added"] == ["s01e00", "s01e01"] and stats["schema_version"] == SCHEMA_VERSION


def test_stats_without_an_index(tmp_path: Path) -> None:
    code, out, err = invoke("stats", "--index", str(tmp_path / "none"))
    assert (code, out) == (66, "") and err.startswith(f"Error: no index at {tmp_path / 'none'}")
