"""The commands of ``podsearch`` and their options, as plain data: the one definition.

Each command is a class whose fields are its options and arguments; each
field holds a :class:`Param` (spellings, kind of value, bounds, help) and a
default. An instance is what the command was asked to do. Two readers use these
classes, and nothing else declares an option:

* :mod:`podsearch.cli.app` generates the typer app from them: ``--help``, shell
  completion and the explanation of every mistake;
* :mod:`podsearch.cli.fastparse` reads the usual command lines with them
  without importing typer, which takes longer than a whole search.

Why data rather than the typer app's own parameters: the fast path must not
import typer (nor click), and plain data costs nothing to load. A converter
here (:func:`convert`) is the one place a value's text becomes a value; typer
calls it too, so both paths accept exactly the same values.

This module imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

Kind = Literal["text", "int", "path", "date", "time", "choice", "flag"]

#: Bounds of the search options.
MAX_LIMIT = 1000
MAX_CONTEXT = 20
#: ``--sort`` values (the library checks them again: podsearch.query.pipeline.SORTS).
SORTS = ("relevance", "date")
#: ``--mode`` values (the library checks them again: podsearch.query.hybrid.MODES); ``auto`` is the library's default.
MODES = ("auto", "words", "meaning", "hybrid")


class Param:
    """One option (``flags`` set) or positional argument (``flags`` empty).

    Plain classes, not dataclasses, here: every dataclass compiles its methods
    when its module loads, and this module loads on every run of the command.
    """

    __slots__ = ("choices", "flags", "help", "high", "kind", "low", "many", "metavar", "show_default")

    def __init__(
        self,
        flags: tuple[str, ...],
        help: str,
        kind: Kind = "text",
        low: int | None = None,
        high: int | None = None,
        choices: tuple[str, ...] = (),
        metavar: str | None = None,
        show_default: bool = True,
        many: bool = False,
    ) -> None:
        self.flags = flags
        self.help = help
        self.kind = kind
        self.low = low
        self.high = high
        self.choices = choices
        self.metavar = metavar
        #: whether ``--help`` shows the default (``False`` when the help says it in words)
        self.show_default = show_default
        #: an argument that takes any number of values
        self.many = many

    @property
    def is_option(self) -> bool:
        """An option (``--name``), not a positional argument."""
        return bool(self.flags)


class Missing:
    """The default of a required argument."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = Missing()


class Field:
    """A class attribute of an :class:`Options` class: the parameter and its default."""

    __slots__ = ("default", "param")

    def __init__(self, param: Param, default: Any) -> None:
        self.param = param
        self.default = default


class Options:
    """Base of the commands' options classes: a frozen record of the fields they declare.

    A subclass declares its fields as annotated class attributes made by
    :func:`option`, :func:`flag` or :func:`argument`, in the order ``--help``
    lists them. Instances take the fields by keyword (arguments also by
    position), compare by value and cannot be changed.
    """

    #: ``(name, Param, default)`` of each field, in order
    fields: ClassVar[tuple[tuple[str, Param, Any], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.fields = tuple(
            (name, value.param, value.default) for name, value in vars(cls).items() if isinstance(value, Field)
        )

    def __init__(self, *args: Any, **values: Any) -> None:
        arguments = [name for name, param, _ in self.fields if not param.is_option]
        if len(args) > len(arguments):
            raise TypeError(f"{type(self).__name__} takes at most {len(arguments)} positional arguments")
        for name, value in zip(arguments, args, strict=False):
            if name in values:
                raise TypeError(f"{type(self).__name__} got {name!r} twice")
            values[name] = value
        for name, _, default in self.fields:
            value = values.pop(name, default)
            if value is MISSING:
                raise TypeError(f"{type(self).__name__} needs {name!r}")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(values))!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), *vars(self).values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({shown})"


def option(*flags: str, default: Any, help: str, **details: Any) -> Any:
    """A field that is a command-line option."""
    return Field(Param(flags, help, **details), default)


def flag(*flags: str, help: str) -> Any:
    """A field that is an on/off option (off by default)."""
    return option(*flags, default=False, help=help, kind="flag")


def argument(help: str, metavar: str, **details: Any) -> Any:
    """A field that is a positional argument; required unless it takes many values."""
    param = Param((), help, metavar=metavar, show_default=False, **details)
    return Field(param, () if param.many else MISSING)


def index_option() -> Any:
    """``--index PATH``, which every command reads the same way."""
    return option(
        "--index",
        default=None,
        help="Index directory [default: $PODSEARCH_INDEX or ./index].",
        kind="path",
        show_default=False,
    )


def debug_option() -> Any:
    """``--debug``: accepted by every command, and before the command name."""
    return flag("--debug", help="On an unexpected error, show the full traceback instead of saving it to a file.")


# --- the commands -----------------------------------------------------------------------------


class Search(Options):
    """Search for moments (the default command).

    podsearch "some words" is short for podsearch search "some words". Each
    moment shows its episode, time (~ when estimated), speaker, section, the
    matched words highlighted and the YouTube link to that second. If there is
    no index yet, it is first built from the episodes folder.
    """

    query: str = argument(
        'Words to find; supports "phrases", -exclude, OR, AND, NOT, (groups), prefix*, '
        "speaker:, guest:, season:, episode:.",
        metavar="QUERY",
    )
    limit: int = option(
        "--limit",
        "-n",
        default=10,
        kind="int",
        low=1,
        high=MAX_LIMIT,
        help="How many moments (or episodes, with --by-episode) to show.",
    )
    speaker: str | None = option(
        "--speaker", default=None, help="Only moments said by this speaker (name as in the transcript)."
    )
    guest: str | None = option("--guest", default=None, help="Only episodes with this guest (id or name).")
    season: int | None = option("--season", default=None, kind="int", low=0, help="Only this season.")
    episode: int | None = option(
        "--episode", default=None, kind="int", low=0, help="Only this episode number (with --season: one episode)."
    )
    after: date | None = option(
        "--after",
        default=None,
        kind="date",
        metavar="<date>",
        help="Only episodes added on or after this date (YYYY-MM-DD).",
    )
    before: date | None = option(
        "--before",
        default=None,
        kind="date",
        metavar="<date>",
        help="Only episodes added on or before this date (YYYY-MM-DD).",
    )
    by_episode: bool = flag("--by-episode", help="Group moments by episode: episodes ranked, with their best moments.")
    mode: str = option(
        "--mode",
        default="auto",
        kind="choice",
        choices=MODES,
        show_default=False,
        help="Match by words, by meaning, or both fused [default: auto: hybrid when the index has vectors "
        "(podsearch index --semantic), else words].",
    )
    sort: str = option(
        "--sort",
        default="relevance",
        kind="choice",
        choices=SORTS,
        help="Order by relevance or by date (newest first).",
    )
    context: int = option(
        "--context",
        "-C",
        default=0,
        kind="int",
        low=0,
        high=MAX_CONTEXT,
        metavar="<n>",
        help="Show n paragraphs before and after each moment.",
    )
    as_json: bool = flag("--json", help="Print one JSON document with every field of every hit.")
    as_jsonl: bool = flag("--jsonl", help="Print one JSON object per hit, one per line.")
    index: Path | None = index_option()
    episodes: Path | None = option(
        "--episodes",
        default=None,
        kind="path",
        show_default=False,
        help="Episodes folder used to build a missing index [default: $PODSEARCH_EPISODES or ./episodes].",
    )
    debug: bool = debug_option()


class Reindex(Options):
    """Index new, changed and removed episode files (incremental; safe while others search)."""

    folders: tuple[Path, ...] = argument(
        "Episode folders [default: those of the last run].", metavar="FOLDER", kind="path", many=True
    )
    index: Path | None = index_option()
    rebuild: bool = flag("--rebuild", help="Rebuild from scratch; searches keep working meanwhile.")
    semantic: bool = flag(
        "--semantic",
        help="Also compute paragraph vectors for search by meaning (needs podsearch[semantic] and a model); "
        "remembered: later runs embed only new and changed episodes.",
    )
    no_semantic: bool = flag("--no-semantic", help="Drop the paragraph vectors: search by words only.")
    wait: bool = flag("--wait", help="Wait for another running 'podsearch index' instead of exiting with 75.")
    quiet: bool = flag("--quiet", "-q", help="Print nothing on success; failures only, on stderr.")
    allow_removals: bool = flag(
        "--allow-removals",
        help="Go ahead when a folder is missing or empty, or the run would remove more than half "
        "of the indexed episodes (otherwise refused with 78).",
    )
    debug: bool = debug_option()


class Show(Options):
    """Show an episode's transcript, or the part around a moment, with times and links.

    Each speaker turn starts with its time, speaker and YouTube link; the
    paragraph closest to --at is marked with ▶.
    """

    episode: str = argument("Episode code like S05E05, or id (file name without .md).", metavar="EPISODE")
    at: int | None = option(
        "--at",
        default=None,
        kind="time",
        metavar="<time>",
        help="Show the paragraphs around this time (55:56, 1:02:57 or seconds).",
    )
    around: int = option(
        "--around",
        default=3,
        kind="int",
        low=0,
        metavar="<n>",
        help="With --at: paragraphs to show before and after the moment.",
    )
    index: Path | None = index_option()
    debug: bool = debug_option()


class Episodes(Options):
    """List the indexed episodes: season and number, date added, paragraphs, title, guests."""

    index: Path | None = index_option()
    as_json: bool = flag("--json", help="Print one JSON list with every field of every episode.")
    debug: bool = debug_option()


class Stats(Options):
    """Show what the index holds: episodes, turns, paragraphs, size, folders, last update."""

    index: Path | None = index_option()
    as_json: bool = flag("--json", help="Print JSON.")
    debug: bool = debug_option()


class Check(Options):
    """Verify every index file against the checksums of its last commit (reads the whole index).

    Prints what is damaged, if anything. For cron: exit 0 when the index is
    sound, 69 when it is damaged (repair it with: podsearch index --rebuild).
    """

    index: Path | None = index_option()
    debug: bool = debug_option()


class Serve(Options):
    """Serve the search page on this machine (needs the web extra: pip install 'podsearch[web]').

    Stop it with Ctrl-C.
    """

    index: Path | None = index_option()
    host: str = option("--host", default="127.0.0.1", help="Address to listen on (127.0.0.1: this machine only).")
    port: int = option(
        "--port", default=8000, kind="int", low=0, high=65535, help="Port to listen on (0: any free port)."
    )
    debug: bool = debug_option()


class Command:
    """One command: its name, its options class, the help after the options, the exit codes it uses."""

    __slots__ = ("epilog", "exit_codes", "name", "options")

    def __init__(self, name: str, options: type[Options], epilog: str = "", exit_codes: tuple[int, ...] = ()) -> None:
        self.name = name
        self.options = options
        self.epilog = epilog
        #: the exit codes ``COMMAND --help`` lists, besides 0 and the crash codes
        self.exit_codes = exit_codes

    @property
    def help(self) -> str:
        """The command's help text: its options class's docstring."""
        import inspect  # only --help needs it; the fast path does not load it

        return inspect.cleandoc(self.options.__doc__ or "")


SEARCH_EXAMPLES = """\b
Examples:
  podsearch "full-stack data scientist"
  podsearch "feature store" --season 5 --limit 3
  podsearch '"model monitoring" -drift' --by-episode
  podsearch mlops --speaker alexey --after 2022-01-01 --context 1
  podsearch search index --json | jq '.hits[0].url'
  podsearch "data quality" --jsonl | jq -r .url"""

SHOW_EXAMPLES = """\b
Examples:
  podsearch show S05E05 --at 55:56
  podsearch show S05E05 --at 3356 --around 1
  podsearch show s05e05-researchers-vs-engineers | less -R"""

EPISODES_EXAMPLES = """\b
Examples:
  podsearch episodes
  podsearch episodes --json | jq -r '.[] | "\\(.code) \\(.title)"'"""

INDEX_EXAMPLES = """\b
Examples:
  podsearch index episodes/        first build (later runs remember the folders)
  podsearch index --quiet --wait   nightly (cron, systemd): prints only the files that failed
  podsearch index --rebuild        from scratch, also to repair a damaged index"""

CHECK_EXAMPLES = """\b
Examples:
  podsearch check || podsearch index --rebuild"""

SERVE_EXAMPLES = """\b
Examples:
  podsearch serve                  http://127.0.0.1:8000
  podsearch serve --port 8080 --index /srv/podsearch/index"""

#: Every command, in the order ``--help`` lists them; any other first argument is a query.
COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("search", Search, SEARCH_EXAMPLES, (2, 65, 66, 69, 75)),
        Command("index", Reindex, INDEX_EXAMPLES, (1, 2, 65, 66, 73, 74, 75, 77, 78)),
        Command("show", Show, SHOW_EXAMPLES, (2, 65, 66, 69, 75)),
        Command("episodes", Episodes, EPISODES_EXAMPLES, (65, 66, 69, 75)),
        Command("stats", Stats, "", (65, 66, 69, 75)),
        Command("check", Check, CHECK_EXAMPLES, (65, 66, 69, 75)),
        Command("serve", Serve, SERVE_EXAMPLES, (2, 65, 66, 69)),
    )
}

#: Options of ``podsearch`` itself, before any command (``podsearch --debug index``).
GLOBAL_FLAGS = ("--debug",)
#: Options that only ``podsearch`` itself has: with one of these first there is no command.
TOP_ONLY = ("--help", "-h", "--version", "--install-completion", "--show-completion")


def params(options: type[Options]) -> tuple[tuple[str, Param, Any], ...]:
    """``(name, Param, default)`` of each field of a command's options class, in order
    (the default is :data:`MISSING` for a required argument)."""
    return options.fields


def route(args: Sequence[str]) -> tuple[int, str] | None:
    """Where the command is in ``args`` and which it is: ``(position, name)``.

    Global flags may come first; then a command name, or else anything is a query
    for ``search`` (``podsearch "some words"``; then ``position`` is where the
    query's arguments start). ``None`` when there is no command: nothing given, or an
    option of ``podsearch`` itself (``--help``, ``--version``, completion).
    """
    position = 0
    while position < len(args) and args[position] in GLOBAL_FLAGS:
        position += 1
    if position == len(args) or args[position] in TOP_ONLY:
        return None
    if args[position] in COMMANDS:
        return position, args[position]
    return position, ""


def convert(param: Param, text: str) -> Any:
    """The value of an option or argument given as ``text``.

    Raises :class:`ValueError` with a message that says what was expected.
    """
    if param.kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if (param.low is not None and value < param.low) or (param.high is not None and value > param.high):
            bounds = f"{param.low if param.low is not None else ''}..{param.high if param.high is not None else ''}"
            raise ValueError(f"{value} is not in the range {bounds}")
        return value
    if param.kind == "path":
        return Path(text)
    if param.kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected a date like 2023-01-31, not {text!r}") from None
    if param.kind == "time":
        from podsearch.timecode import parse_time

        seconds = parse_time(text)
        if seconds is None:
            raise ValueError(f"expected a time like 55:56 or 1:02:57, not {text!r}")
        return seconds
    if param.kind == "choice" and text not in param.choices:
        raise ValueError(f"{text!r} is not one of: {', '.join(param.choices)}")
    return text
