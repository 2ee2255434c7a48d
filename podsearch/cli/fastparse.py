"""Reading a usual command line without typer, from the same definition typer's app is made of.

typer (with click) takes longer to import than a whole search on a warm disk,
and ``podsearch index`` from cron should cost little more than starting Python.
:func:`parse` reads the common spellings of every command in
:mod:`podsearch.cli.spec` (``--limit 5``, ``--limit=5``, ``-n 5``, options
before or after the arguments) and returns the command's options, or ``None``
for anything else: ``--help``, completion, an unknown option, a value the
option does not accept, ``--``. typer then parses the same line, and explains
the mistake as usual. So the fast path never accepts what typer would refuse,
and never reports errors of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podsearch.cli import spec


def parse(argv: Sequence[str]) -> Any | None:
    """The options (an instance of a :mod:`~podsearch.cli.spec` class) of ``argv``, or ``None``."""
    routed = spec.route(argv)
    if routed is None:
        return None
    position, name = routed
    command = spec.COMMANDS[name or "search"]
    fields = spec.params(command.options)
    by_flag = {flag: (field, param) for field, param, _ in fields for flag in param.flags}
    values: dict[str, Any] = {}
    for token in argv[:position]:  # global flags: every command has them too
        values[by_flag[token][0]] = True
    tokens = list(argv[position + 1 if name else position :])
    positionals: list[str] = []
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            positionals.append(token)
            continue
        flag, equals, inline = token.partition("=")
        if flag not in by_flag:
            return None  # --help, an unknown option, a short cluster, "--", "-" …: typer's
        field, param = by_flag[flag]
        if param.kind == "flag":
            if equals:
                return None
            values[field] = True
            continue
        if equals:
            raw = inline
        elif tokens and not tokens[0].startswith("-"):
            raw = tokens.pop(0)
        else:
            return None
        try:
            values[field] = spec.convert(param, raw)
        except ValueError:
            return None
    arguments = [(field, param) for field, param, _ in fields if not param.is_option]
    for field, param in arguments:
        if param.many:
            values[field] = tuple(spec.convert(param, text) for text in positionals)
            positionals = []
        elif positionals:
            values[field] = spec.convert(param, positionals.pop(0))
        else:
            return None  # a required argument is missing
    if positionals:
        return None  # more arguments than the command takes
    return command.options(**values)
