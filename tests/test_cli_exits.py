"""Exit codes: every row of the table, crashes (70, the saved traceback, ``--debug``), Ctrl-C, SIGTERM
(143, cleaned up) and a closed pipe (0, quietly), through typer's ``CliRunner``, the console
script's fast path, and real processes (``python -m podsearch``).
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import podsearch
import podsearch.errors
from podsearch.cli import deferred, exits, launcher
from podsearch.errors import (
    DiskFullError,
    EpisodeError,
    EpisodeNotFound,
    IndexBuildingError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    IndexUnavailableError,
    IndexVersionError,
    MissingExtraError,
    NoVideoError,
    PodsearchError,
    QueryError,
    RemovalRefusedError,
    StorageError,
    StoragePermissionError,
    UsageError,
)

from .cli_support import invoke
from .conftest import BUNDLED

QUERY = "full-stack data scientist"
CRASH_LINE = re.compile(
    r"^Error: unexpected RuntimeError: boom on two lines; the full traceback is in "
    r"(\S+podsearch-crash-\S+\.txt), or run again with --debug$"
)


@pytest.fixture(autouse=True)
def _private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crash files go to this test's folder; no module swapping in this process."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(deferred, "defer_unused_imports", lambda: None)


@pytest.fixture(scope="module")
def bundled(bundled_index: podsearch.Index) -> str:
    return str(bundled_index.path)


def console_script(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console script's ``main`` in this process (its fast path); (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as stopped:
        launcher.main(args)
    captured = capsys.readouterr()
    return stopped.value.code or 0, captured.out, captured.err


def fail_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Every library call the commands make raises ``error``."""

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    for name in ("search", "episodes", "episode", "stats", "update", "verify"):
        monkeypatch.setattr(podsearch.api.Index, name, fail, raising=False)


# --- the table -------------------------------------------------------------------------------------------

CASES = [
    (QueryError("the query is empty"), 2, "Error: bad query: the query is empty"),
    (UsageError("no folders to index"), 2, "Error: no folders to index"),
    (MissingExtraError("install the web extra"), 2, "Error: install the web extra"),
    (IndexVersionError("old; rebuild"), 65, "Error: old; rebuild"),
    (IndexMissingError("gone"), 66, "Error: gone"),
    (EpisodeNotFound("no such\nepisode \x1b[31m"), 66, "Error: no such episode ␛[31m"),
    (EpisodeError("x.md", "no transcript"), 66, "Error: x.md: no transcript"),
    (NoVideoError("S05E05 has no video"), 66, "Error: S05E05 has no video"),
    (IndexDamagedError("the index at ix is damaged (a.seg)"), 69, "Error: the index at ix is damaged (a.seg)"),
    (
        DiskFullError("no space in ix; about 5 MB more needed", "ix", 5_000_000),
        73,
        "Error: no space in ix; about 5 MB more needed",
    ),
    (StorageError("cannot read ix/a.seg: I/O error", "ix"), 74, "Error: cannot read ix/a.seg: I/O error"),
    (IndexLockedError("locked; try again"), 75, "Error: locked; try again"),
    (IndexBuildingError("being built; try again"), 75, "Error: being built; try again"),
    (StoragePermissionError("ix is read-only", "ix"), 77, "Error: ix is read-only"),
    (
        RemovalRefusedError("would remove 199 of 200; pass --allow-removals"),
        78,
        "Error: would remove 199 of 200; pass --allow-removals",
    ),
    (KeyboardInterrupt(), 130, ""),
    (exits.Terminated(), 143, ""),
]


@pytest.mark.parametrize(("error", "code", "line"), CASES, ids=[type(case[0]).__name__ for case in CASES])
def test_each_error_is_one_line_and_its_exit_code(
    bundled: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    line: str,
) -> None:
    fail_with(monkeypatch, error)
    expected = (code, "", line + "\n" if line else "")
    for command in ([QUERY], ["episodes"], ["show", "S05E05"], ["stats"], ["check"], ["index", str(BUNDLED)]):
        assert invoke(*command, "--index", bundled) == expected, command
        assert console_script([*command, "--index", bundled], capsys) == expected, command


def test_the_table_covers_every_error_class() -> None:
    tested = {type(error) for error, _, _ in CASES}
    in_table = {error for row in exits.EXIT_CODES for error in row.errors}
    assert in_table - {PodsearchError} <= tested
    classes = [
        cls for _, cls in inspect.getmembers(podsearch.errors, inspect.isclass) if issubclass(cls, PodsearchError)
    ]
    bases = {PodsearchError, IndexUnavailableError}  # never raised themselves
    for cls in set(classes) - bases:  # every error podsearch raises on purpose has a code of its own (or its parent's)
        assert exits.exit_code(cls.__new__(cls)) != exits.EXIT_CRASH, cls


def test_codes_follow_the_shared_contract() -> None:
    assert {row.code for row in exits.EXIT_CODES} == {0, 1, 2, 65, 66, 69, 70, 73, 74, 75, 77, 78, 130, 143}
    assert len({row.code for row in exits.EXIT_CODES}) == len(exits.EXIT_CODES)


# --- crashes ---------------------------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_70_with_the_traceback_saved(
    bundled: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fail_with(monkeypatch, RuntimeError("boom on\ntwo lines"))
    for run in (lambda: invoke(QUERY, "--index", bundled), lambda: console_script([QUERY, "--index", bundled], capsys)):
        code, out, err = run()
        assert (code, out, err.count("\n")) == (70, "", 1)
        saved = Path(CRASH_LINE.match(err.rstrip("\n")).group(1))
        assert saved.parent == tmp_path
        text = saved.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" in text and "RuntimeError: boom on\ntwo lines" in text
        assert f"podsearch {podsearch.__version__}" in text


@pytest.mark.parametrize("where", ["first", "last"])
def test_debug_shows_the_traceback_instead(
    bundled: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    fail_with(monkeypatch, RuntimeError("boom on\ntwo lines"))
    args = ["--debug", QUERY, "--index", bundled] if where == "first" else [QUERY, "--index", bundled, "--debug"]
    for code, out, err in (invoke(*args), console_script(args, capsys)):
        assert (code, out) == (70, "")
        assert err.startswith("Traceback (most recent call last)") and "in run_search" in err
        assert err.splitlines()[-1] == "Error: unexpected RuntimeError: boom on two lines"
    assert not list(tmp_path.glob("podsearch-crash-*"))


def test_debug_also_shows_where_a_known_error_came_from(bundled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_with(monkeypatch, IndexLockedError("locked"))
    code, _, err = invoke("--debug", "episodes", "--index", bundled)
    assert code == 75 and "Traceback" in err and err.splitlines()[-1] == "Error: locked"


def test_an_unclassified_library_error_is_70_with_its_own_message(
    bundled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_with(monkeypatch, PodsearchError("an indexing worker process died"))
    code, _, err = invoke("index", "--index", bundled)
    assert code == 70
    assert re.fullmatch(
        r"Error: an indexing worker process died \(the full traceback is in \S+, or run again with --debug\)\n", err
    )


def test_a_crash_in_a_real_process(bundled: str, tmp_path: Path) -> None:
    script = (
        "import podsearch.api\n"
        "def boom(*args, **kwargs):\n"
        "    raise RuntimeError('boom on\\ntwo lines')\n"
        "podsearch.api.Index.search = boom\n"
        "from podsearch.cli.launcher import main\n"
        f"main([{QUERY!r}, '--index', {bundled!r}])\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert (result.returncode, result.stdout) == (70, "")
    assert Path(CRASH_LINE.match(result.stderr.rstrip("\n")).group(1)).parent == tmp_path


# --- closed pipes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--jsonl"]], ids=["terminal-renderer", "jsonl"])
def test_a_closed_pipe_ends_quietly_with_0(bundled: str, extra: list[str]) -> None:
    """``podsearch data | head -1``: the output is larger than a pipe holds, so writing fails."""
    command = [sys.executable, "-m", "podsearch", "data", "-n", "200", "--context", "5", "--index", bundled, *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    error = process.stderr.read()
    assert process.wait() == 0 and first and error == b""


def test_the_output_is_bigger_than_a_pipe(bundled: str) -> None:
    """What makes the test above meaningful."""
    result = subprocess.run(
        [sys.executable, "-m", "podsearch", "data", "-n", "200", "--context", "5", "--index", bundled],
        capture_output=True,
    )
    assert result.returncode == 0 and len(result.stdout) > 2 * 65536


# --- SIGTERM ---------------------------------------------------------------------------------------------


def _listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_sigterm_during_index_cleans_up_and_exits_143(tmp_path: Path) -> None:
    folder, index = tmp_path / "episodes", tmp_path / "index"
    folder.mkdir()
    episode = next(BUNDLED.glob("*.md"))
    shutil.copy(episode, folder / "first.md")
    first = subprocess.run([sys.executable, "-m", "podsearch", "index", str(folder), "--index", str(index), "-q"])
    assert first.returncode == 0
    before = _listing(index)
    searched = subprocess.run(
        [sys.executable, "-m", "podsearch", QUERY, "--index", str(index), "--jsonl"], capture_output=True
    ).stdout
    for number in range(120):  # long enough to be stopped while it reads
        shutil.copy(episode, folder / f"copy{number:03d}.md")
    process = subprocess.Popen(
        [sys.executable, "-m", "podsearch", "index", "--index", str(index)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("read ")  # the update is under way
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 143
    assert _listing(index) == before
    again = subprocess.run(
        [sys.executable, "-m", "podsearch", QUERY, "--index", str(index), "--jsonl"], capture_output=True
    )
    assert again.returncode == 0 and again.stdout == searched
    with podsearch.Index(index) as ix:
        assert [info.id for info in ix.episodes()] == ["s05e05"]


def test_sigterm_is_raised_as_an_exception_in_the_main_thread() -> None:
    script = (
        "import os, signal, time\n"
        "from podsearch.cli.exits import Terminated, catch_sigterm\n"
        "catch_sigterm()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "except Terminated:\n"
        "    print('cleaned up')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # a second one does not interrupt the cleanup\n"
        "    print('still here')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "cleaned up\nstill here\n")
