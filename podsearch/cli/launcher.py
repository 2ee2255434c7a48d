"""The ``podsearch`` console script (and ``python -m podsearch``).

:func:`main` makes SIGTERM unwind like Ctrl-C, then reads the command line
with :mod:`podsearch.cli.fastparse` (no typer: typer and click take longer to
load than a whole search) and runs the command. Anything the fast parser
declines (``--help``, completion, a mistake) goes to the typer app generated
from the same definition (:mod:`podsearch.cli.app`), which ends in the same
:func:`~podsearch.cli.commands.execute`. Exceptions outside a command (SIGTERM
while typer loads, say) go through the same mapping
(:func:`~podsearch.cli.exits.finish`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from podsearch.cli import spec
from podsearch.cli.exits import catch_sigterm, exit_with, finish
from podsearch.cli.fastparse import parse


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the command and exit with its code."""
    args = sys.argv[1:] if argv is None else list(argv)
    catch_sigterm()
    try:
        code = _run(args)
    except BaseException as error:
        code = finish(error, debug="--debug" in args)
    exit_with(code)


def _run(args: list[str]) -> int:
    options = None if os.environ.get("_PODSEARCH_COMPLETE") else parse(args)
    if options is None:
        from podsearch.cli.app import app

        app(args=args, prog_name="podsearch")  # always exits
        return 0
    from podsearch.cli.commands import execute
    from podsearch.cli.deferred import defer_unused_imports

    if type(options) is not spec.Serve:  # a server may need what Whoosh never uses
        defer_unused_imports()
    return execute(options)
