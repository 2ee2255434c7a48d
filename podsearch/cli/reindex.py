"""The ``podsearch index`` command: run an update and show it, without typer.

``podsearch index`` is a nightly cron job, and its run with nothing to do should
cost little more than starting Python; typer and the pydantic it loads take
about a tenth of a second before any work starts. So :func:`run_command` reads
the command's usual spellings itself, as :mod:`podsearch.launcher` does for a
search, and anything else (``--help``, a mistake) goes to the typer app, whose
``index`` command calls the same :func:`run`. Output is plain text except on a
terminal: there a rich progress bar, and failures in red.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from podsearch.model import UpdateReport
from podsearch.sanitize import visible

EXIT_OK = 0
EXIT_FILES_FAILED = 1

_FLAGS = {"--rebuild": "rebuild", "--wait": "wait", "--quiet": "quiet", "-q": "quiet"}


@dataclass(frozen=True)
class IndexOptions:
    """What ``podsearch index`` was asked to do."""

    folders: tuple[Path, ...] = ()
    index: Path | None = None
    rebuild: bool = False
    wait: bool = False
    quiet: bool = False


def parse(argv: Sequence[str]) -> IndexOptions | None:
    """The options of ``index [FOLDER…] [--index PATH] [--rebuild] [--wait] [--quiet]``,
    or ``None`` for anything else (typer then parses it, and explains mistakes)."""
    if not argv or argv[0] != "index":
        return None
    folders: list[Path] = []
    values: dict[str, Any] = {}
    args = list(argv[1:])
    while args:
        token = args.pop(0)
        name, equals, inline = token.partition("=")
        if token in _FLAGS:
            values[_FLAGS[token]] = True
        elif name == "--index" and (equals or args):
            values["index"] = Path(inline if equals else args.pop(0))
        elif token.startswith("-") or not token:
            return None  # --help, an unknown option, "--" …: typer's job
        else:
            folders.append(Path(token))
    return IndexOptions(folders=tuple(folders), **values)


def run(options: IndexOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Update the index, showing progress and the report; the exit code (0, or 1 when
    some files failed). Raises :class:`~podsearch.errors.PodsearchError`."""
    from podsearch.api import Index

    out, err = out or sys.stdout, err or sys.stderr
    with progress_display(out, options.quiet) as progress:
        report = Index(options.index).update(
            list(options.folders) or None, rebuild=options.rebuild, wait=options.wait, progress=progress
        )
    show_report(report, out, err, quiet=options.quiet)
    return EXIT_FILES_FAILED if report.failed else EXIT_OK


def run_command(argv: Sequence[str]) -> None:
    """Run ``podsearch index …`` and exit, if :func:`parse` accepts ``argv``; else return."""
    options = parse(argv)
    if options is None:
        return
    from podsearch.cli.deferred import defer_unused_imports
    from podsearch.cli.launcher import (
        EXIT_INTERRUPTED,
        error_message,
        exit_code,
        print_error,
    )
    from podsearch.errors import PodsearchError

    defer_unused_imports()  # as for a search: two modules Whoosh imports and never uses here
    try:
        code = run(options)
    except PodsearchError as error:
        print_error(error_message(error))
        code = exit_code(error)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


def show_report(report: UpdateReport, out: TextIO, err: TextIO, quiet: bool = False) -> None:
    """The failures on ``err`` (red on a terminal), then, unless quiet, the summary line."""
    red = _terminal(err) and not os.environ.get("NO_COLOR")
    for failure in report.failed:
        line = f"{visible(failure.path)}: {visible(failure.message)}"
        err.write(f"\x1b[31m{line}\x1b[0m\n" if red else line + "\n")
    err.flush()
    if not quiet:
        summary = f"{report.summary()}; {report.paragraphs:,} paragraphs indexed in {report.seconds:.2f} s"
        out.write(summary + (" (full rebuild)\n" if report.rebuilt else "\n"))
        out.flush()


@contextlib.contextmanager
def progress_display(out: TextIO, quiet: bool) -> Iterator[Callable[[Any], None] | None]:
    """A progress callback: a rich bar on a terminal, a line per tenth of the files otherwise."""
    if quiet:
        yield None
    elif _terminal(out):
        with _bar(out) as update:
            yield update
    else:
        yield _plain_lines(out)


def _plain_lines(out: TextIO) -> Callable[[Any], None]:
    shown = [0]

    def plain(state: Any) -> None:
        step = max(1, state.total // 10)
        if state.files == state.total or state.files - shown[0] >= step:
            shown[0] = state.files
            out.write(f"read {state.files}/{state.total} files, {state.paragraphs:,} paragraphs\n")
            out.flush()

    return plain


@contextlib.contextmanager
def _bar(out: TextIO) -> Iterator[Callable[[Any], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[paragraphs]:,} paragraphs · {task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    console = Console(file=out, force_terminal=True, highlight=False)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("index", total=None, paragraphs=0, rate="")

        def update(state: Any) -> None:
            elapsed = bar.tasks[0].elapsed or 0
            rate = (
                f"{state.files / elapsed:.0f} files/s, {state.paragraphs / elapsed:,.0f} paragraphs/s"
                if elapsed
                else ""
            )
            bar.update(task, total=state.total, completed=state.files, paragraphs=state.paragraphs, rate=rate)

        yield update


def _terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
