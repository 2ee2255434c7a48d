"""What ``podsearch index`` and ``podsearch check`` show: progress, failures, the summary.

Plain lines off a terminal (a line per tenth of the files); on a terminal a
rich progress bar (rich is imported only then, so a nightly run from cron
loads none of it) and failures in red.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from podsearch.model import UpdateReport, VerifyReport
from podsearch.output.streams import is_terminal, red_line
from podsearch.sanitize import visible

#: A progress callback as :meth:`podsearch.Index.update` takes it (given ``files``, ``total``, ``paragraphs``).
ProgressCallback = Callable[[Any], None]


def show_report(report: UpdateReport, out: TextIO, err: TextIO, quiet: bool = False) -> None:
    """The failures on ``err`` (red on a terminal), then, unless quiet, the files skipped as not
    episodes (with why) and the summary line."""
    for failure in report.failed:
        err.write(red_line(f"{visible(failure.path)}: {visible(failure.message)}", err) + "\n")
    err.flush()
    if not quiet:
        for skipped in report.skipped:
            out.write(f"skipped {visible(skipped.path)}: {visible(skipped.message)}\n")
        summary = f"{report.summary()}; {report.paragraphs:,} paragraphs indexed in {report.seconds:.2f} s"
        out.write(summary + (" (full rebuild)\n" if report.rebuilt else "\n"))
        out.flush()


def show_verification(report: VerifyReport, out: TextIO, err: TextIO) -> None:
    """``podsearch check``: one line when the index is sound; else each damaged file on ``err``
    (red on a terminal) and how to repair it."""
    if report.ok:
        out.write(visible(report.summary()) + "\n")
        out.flush()
        return
    for problem in report.damaged:
        err.write(red_line(f"damaged: {visible(problem)}", err) + "\n")
    repair = f"podsearch index --rebuild --index {visible(report.path)}"
    err.write(f"{report.files} files checked; repair the index with: {repair}\n")
    err.flush()


@contextlib.contextmanager
def progress_display(out: TextIO, quiet: bool) -> Iterator[ProgressCallback | None]:
    """A progress callback: a rich bar on a terminal, a line per tenth of the files otherwise."""
    if quiet:
        yield None
    elif is_terminal(out):
        with _bar(out) as update:
            yield update
    else:
        yield _plain_lines(out)


def _plain_lines(out: TextIO) -> ProgressCallback:
    shown = [0]

    def plain(state: Any) -> None:
        step = max(1, state.total // 10)
        if state.files == state.total or state.files - shown[0] >= step:
            shown[0] = state.files
            out.write(f"read {state.files}/{state.total} files, {state.paragraphs:,} paragraphs\n")
            out.flush()

    return plain


@contextlib.contextmanager
def _bar(out: TextIO) -> Iterator[ProgressCallback]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
