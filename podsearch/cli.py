"""The ``podsearch`` command: parses arguments, calls the library, maps errors to exit codes.

``podsearch "some words"`` searches; any first argument that is not a command
name is a query (``podsearch search index`` searches for the word "index").
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import (
    EpisodeError,
    EpisodeNotFound,
    IndexLockedError,
    IndexMissingError,
    IndexVersionError,
    PodsearchError,
    QueryError,
)

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_INCOMPATIBLE = 65
EXIT_NOT_FOUND = 66
EXIT_LOCKED = 75

EXIT_CODES_HELP = (
    "Exit codes: 0 success (also when nothing matched); 1 some episode files failed to "
    "index (the rest were indexed); 2 usage error or bad query; 65 index written by an "
    "incompatible version; 66 no index, episodes folder or episode; 75 the index is locked "
    "by another 'podsearch index'."
)

_OPTIONS_WITHOUT_COMMAND = {"--help", "-h", "--version", "--install-completion", "--show-completion"}


class _QueryByDefault(TyperGroup):
    """A group whose first argument is a query unless it names a command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _OPTIONS_WITHOUT_COMMAND:
            args = ["search", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_QueryByDefault,
    help=(
        "Find the moment someone said something in a podcast.\n\n"
        'Search: podsearch "full-stack data scientist"\n\n'
        "Index: podsearch index episodes/\n\n" + EXIT_CODES_HELP
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Sort(str, Enum):
    relevance = "relevance"
    date = "date"


IndexOption = Annotated[
    Optional[Path],
    typer.Option("--index", help="Index directory [default: $PODSEARCH_INDEX or ./index].", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podsearch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Find the moment someone said something in a podcast."""


# --- errors -------------------------------------------------------------------------------


def _error(message: str, code: int) -> typer.Exit:
    from .render import console
    from .sanitize import visible

    err = console(stderr=True)
    err.print(f"Error: {visible(message)}", style="red", markup=False, highlight=False)
    return typer.Exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn podsearch's own errors into one line on stderr and an exit code."""
    try:
        yield
    except QueryError as error:
        raise _error(f"bad query: {error}", EXIT_USAGE) from None
    except IndexLockedError as error:
        raise _error(str(error), EXIT_LOCKED) from None
    except IndexVersionError as error:
        raise _error(str(error), EXIT_INCOMPATIBLE) from None
    except (IndexMissingError, EpisodeNotFound, EpisodeError) as error:
        raise _error(str(error), EXIT_NOT_FOUND) from None
    except PodsearchError as error:
        raise _error(str(error), EXIT_USAGE) from None


def _parse_date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date like 2023-01-31, not {value!r}", param_hint=option) from None


# --- search ---------------------------------------------------------------------------------


@app.command(epilog='Examples: podsearch "feature store" --season 5   |   podsearch search index --json | jq .hits[0].url')
def search(
    query: Annotated[str, typer.Argument(help="Words to find; supports \"phrases\", -exclude, OR, NOT, prefix*, speaker:, guest:, season:, episode:.", show_default=False)],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many moments to show.")] = 10,
    speaker: Annotated[Optional[str], typer.Option(help="Only moments said by this speaker (name as in the transcript).")] = None,
    guest: Annotated[Optional[str], typer.Option(help="Only episodes with this guest (id or name).")] = None,
    season: Annotated[Optional[int], typer.Option(min=0, help="Only this season.")] = None,
    episode: Annotated[Optional[int], typer.Option(min=0, help="Only this episode number.")] = None,
    after: Annotated[Optional[str], typer.Option(help="Only episodes added on or after this date (YYYY-MM-DD).")] = None,
    before: Annotated[Optional[str], typer.Option(help="Only episodes added on or before this date (YYYY-MM-DD).")] = None,
    by_episode: Annotated[bool, typer.Option("--by-episode", help="Group moments by episode.")] = False,
    sort: Annotated[Sort, typer.Option(help="Order by relevance or by date (newest first).")] = Sort.relevance,
    context: Annotated[int, typer.Option("--context", "-C", min=0, max=20, help="Paragraphs to show before and after each moment.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document with every field.")] = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one JSON object per moment.")] = False,
    index: IndexOption = None,
    episodes: Annotated[
        Optional[Path],
        typer.Option("--episodes", help="Episodes folder used to build a missing index [default: $PODSEARCH_EPISODES or ./episodes].", show_default=False),
    ] = None,
) -> None:
    """Search the index for moments (the default command)."""
    from .api import Index
    from .render import console, print_results, results_json, results_jsonl
    from .storage import default_episodes_path

    after_date, before_date = _parse_date(after, "--after"), _parse_date(before, "--before")
    err = console(stderr=True)
    with _errors(), Index(index) as ix:
        if _missing(ix):
            folder = episodes or default_episodes_path()
            err.print(f"No index at {ix.path} yet: building it from {folder} …", markup=False, highlight=False)
            report = ix.update(folder)
            err.print(
                f"Indexed {len(report.added)} episode(s), {report.paragraphs:,} paragraphs in {report.seconds:.1f} s.",
                markup=False,
                highlight=False,
            )
            for failure in report.failed:
                err.print(f"{failure.path}: {failure.message}", markup=False, highlight=False)
        results = ix.search(
            query,
            limit=limit,
            speaker=speaker,
            guest=guest,
            season=season,
            episode=episode,
            after=after_date,
            before=before_date,
            group_by="episode" if by_episode else None,
            sort=sort.value,
            context=context,
        )
    if as_json:
        sys.stdout.write(results_json(results) + "\n")
    elif as_jsonl:
        for line in results_jsonl(results):
            sys.stdout.write(line + "\n")
    else:
        print_results(results, console(), err)
    if not results.hits and (as_json or as_jsonl):
        err.print("No moments matched.", markup=False, highlight=False)


def _missing(ix: Any) -> bool:
    """Whether there is no index at all (an index of another version is an error)."""
    try:
        ix.check()
    except IndexMissingError:
        return True
    return False


# --- index ----------------------------------------------------------------------------------


@app.command("index", epilog="Cron: 15 3 * * * cd /srv/podsearch && podsearch index --quiet")
def index_command(
    folders: Annotated[Optional[list[Path]], typer.Argument(help="Episode folders [default: those of the last run, else $PODSEARCH_EPISODES or ./episodes].", show_default=False)] = None,
    index: IndexOption = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild from scratch; searches keep working meanwhile.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for another running 'podsearch index' instead of exiting with 75.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success; failures only, on stderr.")] = False,
) -> None:
    """Index new, changed and removed episode files (incremental; safe while others search).

    Exit codes: 0 all indexed; 1 some files failed (the rest were indexed); 2 usage
    error; 75 another indexer holds the lock.
    """
    from .api import Index
    from .render import console, print_report

    out, err = console(), console(stderr=True)
    with _errors(), _progress(out, quiet) as progress:
        report = Index(index).update(folders or None, rebuild=rebuild, wait=wait, progress=progress)
    print_report(report, out, err, quiet=quiet)
    if report.failed:
        raise typer.Exit(EXIT_FILES_FAILED)


@contextlib.contextmanager
def _progress(out: Any, quiet: bool) -> Iterator[Any]:
    """A progress callback: a rich bar on a terminal, a few plain lines otherwise."""
    if quiet:
        yield None
        return
    if not out.is_terminal:
        shown = [0]

        def plain(state: Any) -> None:
            step = max(1, state.total // 10)
            if state.files == state.total or state.files - shown[0] >= step:
                shown[0] = state.files
                out.print(f"read {state.files}/{state.total} files, {state.paragraphs:,} paragraphs")

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[paragraphs]:,} paragraphs · {task.fields[rate]}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("index", total=None, paragraphs=0, rate="")

        def update(state: Any) -> None:
            elapsed = bar.tasks[0].elapsed or 0
            rate = f"{state.files / elapsed:.0f} files/s, {state.paragraphs / elapsed:,.0f} paragraphs/s" if elapsed else ""
            bar.update(task, total=state.total, completed=state.files, paragraphs=state.paragraphs, rate=rate)

        yield update


# --- show, episodes, stats -------------------------------------------------------------------


@app.command(epilog="Example: podsearch show S05E05 --at 55:56")
def show(
    episode: Annotated[str, typer.Argument(help="Episode id (file name without .md) or code like S05E05.", show_default=False)],
    at: Annotated[Optional[str], typer.Option(help="Show the transcript around this time (55:56, 1:02:57 or seconds).")] = None,
    around: Annotated[int, typer.Option(min=0, help="Paragraphs before and after --at.")] = 3,
    index: IndexOption = None,
) -> None:
    """Show an episode's transcript, or the part around a moment, with times and links."""
    from .api import Index
    from .render import console, print_episode
    from .timecode import parse_time

    seconds = None
    if at is not None:
        seconds = parse_time(at)
        if seconds is None:
            raise typer.BadParameter(f"expected a time like 55:56 or 1:02:57, not {at!r}", param_hint="--at")
    with _errors(), Index(index) as ix:
        found = ix.episode(episode)
    print_episode(found, console(), at=seconds, around=around)


@app.command(epilog="Example: podsearch episodes --json | jq '.[].title'")
def episodes(
    index: IndexOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indexed episodes: season, number, title, guests, date, paragraphs."""
    import json

    from .api import Index
    from .records import episode_record
    from .render import console, print_episodes

    with _errors(), Index(index) as ix:
        infos = ix.episodes()
        counts = ix.paragraph_counts()
    if as_json:
        records = [dict(episode_record(info), paragraphs=counts.get(info.id)) for info in infos]
        sys.stdout.write(json.dumps(records, ensure_ascii=True) + "\n")
    else:
        print_episodes(infos, counts, console())


@app.command()
def stats(
    index: IndexOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what the index holds: episodes, turns, paragraphs, size, folders, last update."""
    import dataclasses
    import json

    from .api import Index
    from .render import console, print_stats

    with _errors(), Index(index) as ix:
        found = ix.stats()
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(found), ensure_ascii=True) + "\n")
    else:
        print_stats(found, console())


def main() -> None:
    """Console-script entry point."""
    app()
