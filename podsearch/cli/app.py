"""The ``podsearch`` command: parses arguments, calls the library, maps errors to exit codes.

``podsearch "some words"`` searches; any first argument that is not a command
name is a query (``podsearch search index`` searches for the word "index").
The console script starts in :mod:`podsearch.launcher`, which runs a plain
search without loading this module (typer is slow to import); both paths run
:func:`podsearch.launcher.run_search`.
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

from podsearch import __version__
from podsearch.cli.launcher import (  # noqa: F401  (the exit codes are part of this module's interface)
    EXIT_CODES_HELP,
    EXIT_FILES_FAILED,
    EXIT_INCOMPATIBLE,
    EXIT_LOCKED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    MAX_CONTEXT,
    MAX_LIMIT,
    SearchOptions,
    error_message,
    exit_code,
    print_error,
    run_search,
)
from podsearch.errors import PodsearchError

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
        "\b\nExamples:\n"
        "  podsearch index episodes/                    index (or update) the episodes\n"
        '  podsearch "full-stack data scientist"        search (same as: podsearch search ...)\n'
        '  podsearch "feature store" --season 5 --json  search, as JSON\n'
        "  podsearch show S05E05 --at 55:56             read the transcript around a moment\n"
        "  podsearch episodes                           list what is indexed\n\n"
        "Each command has its own --help.\n\n"
        "\b\nShell completion (bash, zsh, fish, PowerShell):\n  podsearch --install-completion\n\n"
        + EXIT_CODES_HELP
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


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn podsearch's own errors into one line on stderr and their exit code
    (see :func:`podsearch.launcher.exit_code`)."""
    try:
        yield
    except PodsearchError as error:
        print_error(error_message(error))
        raise typer.Exit(exit_code(error)) from None


def _parse_date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date like 2023-01-31, not {value!r}", param_hint=option) from None


# --- search ---------------------------------------------------------------------------------


_SEARCH_EXAMPLES = """\b
Examples:
  podsearch "full-stack data scientist"
  podsearch "feature store" --season 5 --limit 3
  podsearch '"model monitoring" -drift' --by-episode
  podsearch mlops --speaker alexey --after 2022-01-01 --context 1
  podsearch search index --json | jq '.hits[0].url'
  podsearch "data quality" --jsonl | jq -r .url"""


@app.command(epilog=_SEARCH_EXAMPLES)
def search(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help='Words to find; supports "phrases", -exclude, OR, AND, NOT, (groups), prefix*, '
            "speaker:, guest:, season:, episode:.",
            show_default=False,
        ),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="How many moments (or episodes, with --by-episode) to show.")] = 10,
    speaker: Annotated[Optional[str], typer.Option(help="Only moments said by this speaker (name as in the transcript).")] = None,
    guest: Annotated[Optional[str], typer.Option(help="Only episodes with this guest (id or name).")] = None,
    season: Annotated[Optional[int], typer.Option(min=0, help="Only this season.")] = None,
    episode: Annotated[Optional[int], typer.Option(min=0, help="Only this episode number (with --season: one episode).")] = None,
    after: Annotated[Optional[str], typer.Option(metavar="<date>", help="Only episodes added on or after this date (YYYY-MM-DD).")] = None,
    before: Annotated[Optional[str], typer.Option(metavar="<date>", help="Only episodes added on or before this date (YYYY-MM-DD).")] = None,
    by_episode: Annotated[bool, typer.Option("--by-episode", help="Group moments by episode: episodes ranked, with their best moments.")] = False,
    sort: Annotated[Sort, typer.Option(help="Order by relevance or by date (newest first).")] = Sort.relevance,
    context: Annotated[int, typer.Option("--context", "-C", min=0, max=MAX_CONTEXT, metavar="<n>", help="Show n paragraphs before and after each moment.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document with every field of every hit.")] = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one JSON object per hit, one per line.")] = False,
    index: IndexOption = None,
    episodes: Annotated[
        Optional[Path],
        typer.Option("--episodes", help="Episodes folder used to build a missing index [default: $PODSEARCH_EPISODES or ./episodes].", show_default=False),
    ] = None,
) -> None:
    """Search for moments (the default command).

    podsearch "some words" is short for podsearch search "some words". Each
    moment shows its episode, time (~ when estimated), speaker, section, the
    matched words highlighted and the YouTube link to that second. If there is
    no index yet, it is first built from the episodes folder.
    """
    if as_json and as_jsonl:
        raise typer.BadParameter("use either --json or --jsonl, not both", param_hint="--json/--jsonl")
    options = SearchOptions(
        query=query,
        limit=limit,
        speaker=speaker,
        guest=guest,
        season=season,
        episode=episode,
        after=_parse_date(after, "--after"),
        before=_parse_date(before, "--before"),
        by_episode=by_episode,
        sort=sort.value,
        context=context,
        as_json=as_json,
        as_jsonl=as_jsonl,
        index=index,
        episodes=episodes,
    )
    with _errors():
        run_search(options)


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
    # The console script runs this command without typer (see podsearch.reindex);
    # both ways end in the same run().
    from podsearch.cli.reindex import IndexOptions, run

    with _errors():
        code = run(IndexOptions(tuple(folders or ()), index, rebuild, wait, quiet))
    if code:
        raise typer.Exit(code)


# --- show, episodes, stats -------------------------------------------------------------------


_SHOW_EXAMPLES = """\b
Examples:
  podsearch show S05E05 --at 55:56
  podsearch show S05E05 --at 3356 --around 1
  podsearch show s05e05-researchers-vs-engineers | less -R"""


@app.command(epilog=_SHOW_EXAMPLES)
def show(
    episode: Annotated[
        str,
        typer.Argument(metavar="EPISODE", help="Episode code like S05E05, or id (file name without .md).", show_default=False),
    ],
    at: Annotated[Optional[str], typer.Option(metavar="<time>", help="Show the paragraphs around this time (55:56, 1:02:57 or seconds).")] = None,
    around: Annotated[int, typer.Option(min=0, metavar="<n>", help="With --at: paragraphs to show before and after the moment.")] = 3,
    index: IndexOption = None,
) -> None:
    """Show an episode's transcript, or the part around a moment, with times and links.

    Each speaker turn starts with its time, speaker and YouTube link; the
    paragraph closest to --at is marked with ▶.
    """
    from podsearch.api import Index
    from podsearch.output.terminal import console, print_episode
    from podsearch.timecode import parse_time

    seconds = None
    if at is not None:
        seconds = parse_time(at)
        if seconds is None:
            raise typer.BadParameter(f"expected a time like 55:56 or 1:02:57, not {at!r}", param_hint="--at")
    with _errors(), Index(index) as ix:
        found = ix.episode(episode)
    print_episode(found, console(), at=seconds, around=around)


_EPISODES_EXAMPLES = """\b
Examples:
  podsearch episodes
  podsearch episodes --json | jq -r '.[] | "\\(.code) \\(.title)"'"""


@app.command(epilog=_EPISODES_EXAMPLES)
def episodes(
    index: IndexOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list with every field of every episode.")] = False,
) -> None:
    """List the indexed episodes: season and number, date added, paragraphs, title, guests."""
    from podsearch.api import Index

    with _errors(), Index(index) as ix:
        infos = ix.episodes()
        counts = ix.paragraph_counts()
    if as_json:
        from podsearch.records import episodes_json

        sys.stdout.write(episodes_json(infos, counts) + "\n")
    else:
        from podsearch.output.terminal import console, print_episodes

        print_episodes(infos, counts, console())


@app.command()
def stats(
    index: IndexOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what the index holds: episodes, turns, paragraphs, size, folders, last update."""
    import dataclasses
    import json

    from podsearch.api import Index
    from podsearch.output.terminal import console, print_stats

    with _errors(), Index(index) as ix:
        found = ix.stats()
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(found), ensure_ascii=True) + "\n")
    else:
        print_stats(found, console())


def main() -> None:
    """Console-script entry point (see :func:`podsearch.launcher.main`)."""
    from podsearch.cli.launcher import main as launch

    launch()
