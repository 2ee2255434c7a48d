"""The typer app, generated from :mod:`podsearch.cli.spec`: ``--help``, completion, usage errors.

Each command of the spec becomes a typer command whose parameters are made
from the fields of its options class (spellings, types, bounds, help,
defaults), so typer's help and the fast path (:mod:`podsearch.cli.fastparse`)
cannot disagree. Every command ends in :func:`podsearch.cli.commands.execute`,
as the fast path does. ``podsearch "some words"`` searches: a first argument
(after global options) that is not a command name is a query.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from typer.core import TyperGroup

from podsearch import __version__
from podsearch.cli import spec
from podsearch.cli.commands import execute
from podsearch.cli.exits import codes_help


class _QueryByDefault(TyperGroup):
    """A group whose first argument (after global options) is a query unless it names a command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: the click Context typer bundles
        routed = spec.route(args)
        if routed is not None and not routed[1]:
            position = routed[0]
            args = [*args[:position], "search", *args[position:]]
        return super().parse_args(ctx, args)


HELP = (
    "Find the moment someone said something in a podcast.\n\n"
    "\b\nExamples:\n"
    "  podsearch index episodes/                    index (or update) the episodes\n"
    '  podsearch "full-stack data scientist"        search (same as: podsearch search ...)\n'
    '  podsearch "feature store" --season 5 --json  search, as JSON\n'
    "  podsearch show S05E05 --at 55:56             read the transcript around a moment\n"
    "  podsearch episodes                           list what is indexed\n"
    "  podsearch check                              verify the index (for cron)\n"
    "  podsearch serve                              the search page on http://127.0.0.1:8000\n\n"
    "Each command has its own --help.\n\n"
    "\b\nShell completion (bash, zsh, fish, PowerShell):\n  podsearch --install-completion\n\n" + codes_help()
)

app = typer.Typer(
    cls=_QueryByDefault,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podsearch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="On an unexpected error, show the full traceback (also after the command's options)."
        ),
    ] = False,
) -> None:
    """Find the moment someone said something in a podcast."""


# --- commands from the spec --------------------------------------------------------------------------


def _parser(param: spec.Param) -> Callable[[Any], Any]:
    """typer's converter for a value: the spec's, with its message as a usage error."""

    def parse(text: Any) -> Any:
        if not isinstance(text, str):  # a default, already a value
            return text
        try:
            return spec.convert(param, text)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None

    return parse


def _choices(name: str, choices: tuple[str, ...]) -> type[Enum]:
    """An Enum of the values: typer shows and completes them."""
    # mypy reads Enum(...) as an instance; the functional API makes a class
    return cast("type[Enum]", Enum(name.title(), {choice: choice for choice in choices}, type=str))


def _annotation(name: str, param: spec.Param, default: Any) -> tuple[Any, Any]:
    """The typer annotation of one field, and the default typer should see."""
    details: dict[str, Any] = {"help": param.help, "show_default": param.show_default}
    if param.metavar:
        details["metavar"] = param.metavar
    python_type: Any = str
    if param.kind == "flag":
        python_type = bool
    elif param.kind == "int":
        python_type, details["min"], details["max"] = int, param.low, param.high
    elif param.kind == "path":
        python_type = Path
    elif param.kind == "date":
        python_type, details["parser"] = date, _parser(param)
    elif param.kind == "time":
        python_type, details["parser"] = int, _parser(param)
    elif param.kind == "choice":
        python_type = _choices(name, param.choices)
        default = python_type(default)
    if param.many:
        python_type, default = list[python_type] | None, None
    elif default is None:
        python_type = python_type | None
    info = typer.Option(*param.flags, **details) if param.is_option else typer.Argument(**details)
    return Annotated[python_type, info], default


def _value(param: spec.Param, value: Any) -> Any:
    """A value as typer gives it, as the options class holds it."""
    if param.many:
        return tuple(value or ())
    if isinstance(value, Enum):
        return value.value
    return value


def _register(command: spec.Command) -> None:
    fields = spec.params(command.options)

    def run(ctx: typer.Context, **given: Any) -> None:
        values = {name: _value(param, given[name]) for name, param, _ in fields}
        root = ctx.find_root().params
        values["debug"] = bool(values.get("debug") or root.get("debug"))
        code = execute(command.options(**values))
        if code:
            raise typer.Exit(code)

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    for name, param, default in fields:
        annotation, shown_default = _annotation(name, param, default)
        if shown_default is spec.MISSING:
            shown_default = inspect.Parameter.empty
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=shown_default, annotation=annotation)
        )
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    run.__name__ = command.name
    run.__doc__ = command.help + "\n\n" + codes_help(command.exit_codes)
    app.command(command.name, epilog=command.epilog or None)(run)


for _command in spec.COMMANDS.values():
    _register(_command)
