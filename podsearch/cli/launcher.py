"""The ``podsearch`` console script, and the search command shared with the typer app.

Loading typer (and the pydantic it builds its parameter types with) takes longer
than a whole search on a warm disk. So :func:`main` reads the common
``podsearch "some words" [--limit 5 --json …]`` itself and runs it directly;
anything else (another command, ``--help``, shell completion, a value it does
not accept, an option it does not know) goes to the typer app in
:mod:`podsearch.cli`, which parses it again and reports usage errors as usual.
The two paths call the same :func:`run_search`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from podsearch.cli.deferred import defer_unused_imports
from podsearch.errors import (
    EpisodeError,
    EpisodeNotFound,
    IndexLockedError,
    IndexMissingError,
    IndexVersionError,
    PodsearchError,
    QueryError,
)
from podsearch.sanitize import flat, visible

if TYPE_CHECKING:
    from podsearch.api import Index
    from podsearch.model import Results

EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_INCOMPATIBLE = 65
EXIT_NOT_FOUND = 66
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130

#: The exit codes as shown by ``podsearch --help`` (``\b`` keeps the lines as they are).
EXIT_CODES_HELP = """\b
Exit codes:
  0   success, also when nothing matched ("no moments matched" on stderr)
  1   some episode files failed to index (the rest were indexed)
  2   usage error or bad query
  65  the index was written by an incompatible version: podsearch index --rebuild
  66  no index, no episodes folder, or no such episode
  75  the index is locked by another 'podsearch index': try again, or --wait
  130 interrupted (Ctrl-C)"""

#: The commands of the typer app; any other first argument is a query.
COMMANDS = frozenset({"search", "index", "show", "episodes", "stats"})

#: Bounds shared by the typer options and the fast path.
MAX_LIMIT = 1000
MAX_CONTEXT = 20
SORTS = ("relevance", "date")


# --- errors -------------------------------------------------------------------------------


def exit_code(error: PodsearchError) -> int:
    """The documented exit code for one of podsearch's errors."""
    if isinstance(error, IndexLockedError):
        return EXIT_LOCKED
    if isinstance(error, IndexVersionError):
        return EXIT_INCOMPATIBLE
    if isinstance(error, (IndexMissingError, EpisodeNotFound, EpisodeError)):
        return EXIT_NOT_FOUND
    return EXIT_USAGE


def error_message(error: PodsearchError) -> str:
    """The one line shown for an error (after ``Error: ``)."""
    if isinstance(error, QueryError):
        return f"bad query: {error}"
    return str(error)


def print_error(message: str, stream: TextIO | None = None) -> None:
    """``Error: …`` on one line of stderr; red only on a terminal without ``NO_COLOR``."""
    stream = stream or sys.stderr
    line = "Error: " + " ".join(visible(message).splitlines())
    if _colour(stream):
        line = f"\x1b[31m{line}\x1b[0m"
    stream.write(line + "\n")
    stream.flush()


def note(message: str, stream: TextIO | None = None) -> None:
    """A plain line for the user on stderr (progress, "no moments matched")."""
    stream = stream or sys.stderr
    stream.write(visible(message) + "\n")
    stream.flush()


def _colour(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


# --- the search command -------------------------------------------------------------------


@dataclass(frozen=True)
class SearchOptions:
    """What ``podsearch search`` was asked to do."""

    query: str
    limit: int = 10
    speaker: str | None = None
    guest: str | None = None
    season: int | None = None
    episode: int | None = None
    after: date | None = None
    before: date | None = None
    by_episode: bool = False
    sort: str = "relevance"
    context: int = 0
    as_json: bool = False
    as_jsonl: bool = False
    index: Path | None = None
    episodes: Path | None = None


def run_search(options: SearchOptions) -> None:
    """Search (building a missing index first) and print the results.

    Raises :class:`~podsearch.errors.PodsearchError`; the caller maps it to an exit code.
    """
    from podsearch.api import Index

    with Index(options.index) as ix:
        if _missing(ix):
            _build(ix, options.episodes)
        results = ix.search(
            options.query,
            limit=options.limit,
            speaker=options.speaker,
            guest=options.guest,
            season=options.season,
            episode=options.episode,
            after=options.after,
            before=options.before,
            group_by="episode" if options.by_episode else None,
            sort=options.sort,
            context=options.context,
        )
    _print(results, options)


def _missing(ix: Index) -> bool:
    """Whether there is no index at all (an index of another version is an error)."""
    try:
        ix.check()
    except IndexMissingError:
        return True
    return False


def _build(ix: Index, episodes: Path | None) -> None:
    """Build the missing index from the episodes folder, saying so on stderr."""
    from podsearch.reading.folders import default_episodes_path

    folder = episodes or default_episodes_path()
    if not folder.is_dir():
        raise IndexMissingError(
            f"no index at {ix.path} yet, and no episodes folder at {folder.absolute()} to build it from; "
            f"pass --episodes FOLDER, or run: podsearch index FOLDER --index {ix.path}"
        )
    note(f"No index at {ix.path} yet: building it from {folder} …")
    report = ix.update(folder)
    note(f"Indexed {len(report.added)} episode(s), {report.paragraphs:,} paragraphs in {report.seconds:.1f} s.")
    for failure in report.failed:
        note(f"{failure.path}: {failure.message}")


def _print(results: Results, options: SearchOptions) -> None:
    if options.as_json or options.as_jsonl:
        from podsearch.records import results_json, results_jsonl

        lines = [results_json(results)] if options.as_json else list(results_jsonl(results))
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
        if not results.hits:
            note(f"No moments matched {flat(results.query)!r}.")
            if results.suggestion:
                note(f"Did you mean: {results.suggestion}?")
        return
    from podsearch.output.terminal import console, print_results

    print_results(results, console(), console(stderr=True))


# --- the fast path ------------------------------------------------------------------------

_VALUE_OPTIONS: dict[str, str] = {
    "--limit": "limit",
    "-n": "limit",
    "--speaker": "speaker",
    "--guest": "guest",
    "--season": "season",
    "--episode": "episode",
    "--after": "after",
    "--before": "before",
    "--sort": "sort",
    "--context": "context",
    "-C": "context",
    "--index": "index",
    "--episodes": "episodes",
}
_FLAG_OPTIONS: dict[str, str] = {"--by-episode": "by_episode", "--json": "as_json", "--jsonl": "as_jsonl"}
_BOUNDS: dict[str, tuple[int, int | None]] = {
    "limit": (1, MAX_LIMIT),
    "season": (0, None),
    "episode": (0, None),
    "context": (0, MAX_CONTEXT),
}


def _integer(name: str) -> Callable[[str], int]:
    low, high = _BOUNDS[name]

    def convert(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError(text)
        return value

    return convert


def _sort(text: str) -> str:
    if text not in SORTS:
        raise ValueError(text)
    return text


_CONVERT: dict[str, Callable[[str], object]] = {
    "limit": _integer("limit"),
    "season": _integer("season"),
    "episode": _integer("episode"),
    "context": _integer("context"),
    "after": date.fromisoformat,
    "before": date.fromisoformat,
    "sort": _sort,
    "index": Path,
    "episodes": Path,
    "speaker": str,
    "guest": str,
}


def parse_search(argv: Sequence[str]) -> SearchOptions | None:
    """The options of a plain search command line, or ``None`` to let typer parse it.

    Accepts exactly what the typer ``search`` command accepts in its usual
    spellings (``--limit 5``, ``--limit=5``, ``-n 5``); returns ``None`` for
    anything else, including values typer would reject, so that typer reports them.
    """
    args = list(argv)
    if args and args[0] == "search":
        args = args[1:]
    elif not args or args[0] in COMMANDS:
        return None
    values: dict[str, object] = {}
    query: str | None = None
    position = 0
    while position < len(args):
        token = args[position]
        position += 1
        if not token.startswith("-") or token == "-":
            if query is not None or token == "-":
                return None
            query = token
            continue
        name, equals, inline = token.partition("=")
        if name in _FLAG_OPTIONS and not equals:
            values[_FLAG_OPTIONS[name]] = True
            continue
        if name not in _VALUE_OPTIONS:
            return None
        if equals:
            raw = inline
        elif position < len(args):
            raw = args[position]
            position += 1
        else:
            return None
        field = _VALUE_OPTIONS[name]
        try:
            values[field] = _CONVERT[field](raw)
        except ValueError:
            return None
    if query is None or (values.get("as_json") and values.get("as_jsonl")):
        return None
    return SearchOptions(query=query, **values)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: a plain search directly, anything else through typer."""
    args = sys.argv[1:] if argv is None else list(argv)
    options = None if os.environ.get("_PODSEARCH_COMPLETE") else parse_search(args)
    if options is None:
        if args[:1] == ["index"] and not os.environ.get("_PODSEARCH_COMPLETE"):
            from podsearch.cli.reindex import run_command

            run_command(args)  # exits, unless the arguments are typer's to parse
        from podsearch.cli.app import app

        app(args=args, prog_name="podsearch")
        return
    defer_unused_imports()
    try:
        run_search(options)
    except PodsearchError as error:
        print_error(error_message(error))
        sys.exit(exit_code(error))
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> NoReturn:
    """The reader of our output went away (``| head``): stop without a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)  # what typer does on a broken pipe
