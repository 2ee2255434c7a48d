"""``podsearch check``, ``podsearch serve`` and ``podsearch index --allow-removals``, and the README's
account of every command and exit code.

The library calls are replaced where the point is what the command line passes
and shows; the end-to-end cases run the real library on crafted indexes.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import podsearch
import podsearch.api
from podsearch.cli import exits, spec
from podsearch.model import UpdateReport, VerifyReport

from .cli_support import invoke
from .conftest import ROOT
from .test_indexer import make_folder

# --- check -------------------------------------------------------------------------------------------------


def test_check_of_a_sound_index_says_so_and_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    report = VerifyReport(path="ix", generation=3, files=9, bytes=56_100_000)
    monkeypatch.setattr(podsearch.api.Index, "verify", lambda self: report)
    assert invoke("check", "--index", "ix") == (0, "the index at ix is sound (9 files, 56.1 MB checked)\n", "")


def test_check_of_a_damaged_index_lists_the_damage_and_exits_69(monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = ("_podsearch_s4_1.seg: 120 bytes, expected 4,096", "podsearch_s4_x.trm: checksum differs")
    report = VerifyReport(path="ix", generation=3, files=9, bytes=4096, damaged=damaged)
    monkeypatch.setattr(podsearch.api.Index, "verify", lambda self: report)
    code, out, err = invoke("check", "--index", "ix")
    assert (code, out) == (exits.EXIT_DAMAGED, "")
    assert err.splitlines() == [
        "damaged: _podsearch_s4_1.seg: 120 bytes, expected 4,096",
        "damaged: podsearch_s4_x.trm: checksum differs",
        "9 files checked; repair the index with: podsearch index --rebuild --index ix",
    ]


def test_check_end_to_end(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", tmp_path / "ix"
    make_folder(folder, 3)
    assert invoke("index", str(folder), "--index", str(index), "-q") == (0, "", "")
    code, out, _ = invoke("check", "--index", str(index))
    assert code == 0 and out.startswith(f"the index at {index} is sound")
    biggest = max((path for path in index.iterdir() if path.is_file()), key=lambda path: path.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content: only the checksums can tell
    biggest.write_bytes(bytes(data))
    code, out, err = invoke("check", "--index", str(index))
    assert (code, out) == (69, "") and biggest.name in err
    assert err.splitlines()[-1].endswith("repair the index with: podsearch index --rebuild --index " + str(index))
    assert invoke("check", "--index", str(tmp_path / "none"))[0] == exits.EXIT_NOT_FOUND


# --- index --allow-removals ---------------------------------------------------------------------------------


def test_allow_removals_is_passed_to_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def update(self: podsearch.Index, folders: Any = None, **options: Any) -> UpdateReport:
        calls.append({"folders": folders, **options})
        return UpdateReport()

    monkeypatch.setattr(podsearch.api.Index, "update", update)
    assert invoke("index", "a", "--index", "ix", "-q", "--allow-removals")[0] == 0
    assert invoke("index", "--index", "ix", "-q")[0] == 0
    assert [(call["folders"], call["allow_removals"]) for call in calls] == [([Path("a")], True), (None, False)]


def test_a_run_that_would_empty_the_index_is_refused_with_78_unless_allowed(tmp_path: Path) -> None:
    folder, index = tmp_path / "eps", str(tmp_path / "ix")
    make_folder(folder, 4)
    assert invoke("index", str(folder), "--index", index, "-q") == (0, "", "")
    for path in list(folder.glob("*.md"))[1:]:
        path.unlink()
    code, out, err = invoke("index", "--index", index, "-q")
    assert (code, out) == (exits.EXIT_REFUSED, "") and "--allow-removals" in err and err.count("\n") == 1
    with podsearch.Index(index) as ix:
        assert len(ix.episodes()) == 4
    assert invoke("index", "--index", index, "-q", "--allow-removals") == (0, "", "")
    with podsearch.Index(index) as ix:
        assert len(ix.episodes()) == 1


# --- serve --------------------------------------------------------------------------------------------------


def test_serve_passes_its_options_to_the_web_server(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvicorn")
    import podsearch.web.server

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(podsearch.web.server, "serve", lambda *args: calls.append(args))
    assert invoke("serve")[0] == 0
    assert invoke("serve", "--index", "ix", "--host", "::1", "--port", "0")[0] == 0
    assert calls == [(None, "127.0.0.1", 8000), (Path("ix"), "::1", 0)]
    code, _, err = invoke("serve", "--port", "70000")
    assert code == 2 and "--port" in err


def test_serve_end_to_end_stops_on_sigterm_with_143(bundled_index: podsearch.Index) -> None:
    pytest.importorskip("uvicorn")
    command = [sys.executable, "-m", "podsearch", "serve", "--port", "0", "--index", str(bundled_index.path)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = re.search(r"on (http://127\.0\.0\.1:\d+/) ", line)
        assert url, line
        with urllib.request.urlopen(url.group(1) + "api/search?q=data+scientist", timeout=30) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == exits.EXIT_TERMINATED
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_without_the_web_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "podsearch.web.server", raising=False)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    code, out, err = invoke("serve")
    assert (code, out) == (exits.EXIT_USAGE, "")
    assert err == (
        "Error: podsearch serve needs the web extra (uvicorn is not installed); "
        "install it with: pip install 'podsearch[web]'\n"
    )


# --- the README ---------------------------------------------------------------------------------------------


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(title)
    following = re.search(r"^#{1,3} ", text[start + len(title) :], re.MULTILINE)
    return text[start : start + len(title) + (following.start() if following else len(text))]


@pytest.mark.parametrize("name", list(spec.COMMANDS))
def test_every_command_is_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"podsearch {name}\b", readme), f"README.md shows no 'podsearch {name}' command line"


def test_every_exit_code_is_in_the_readme() -> None:
    table = _section("### Exit codes")
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert documented == {row.code for row in exits.EXIT_CODES}
