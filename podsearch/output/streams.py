"""Plain lines for people on the standard streams, and the one terminal check.

No rich here: the command line's fast paths write their notes and errors with
this module alone. Colour and hyperlinks are for terminals only, and never
when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from podsearch.sanitize import visible

RED = "\x1b[31m"
RESET = "\x1b[0m"


def is_terminal(stream: TextIO) -> bool:
    """Whether the stream is a terminal (a test double without ``isatty`` is not)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def wants_colour(stream: TextIO) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, and ``NO_COLOR`` unset."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def one_line(text: str) -> str:
    """The text made visible (:func:`~podsearch.sanitize.visible`) on one line."""
    return " ".join(visible(text).splitlines())


def red_line(text: str, stream: TextIO) -> str:
    """The line, in red where :func:`wants_colour`."""
    return f"{RED}{text}{RESET}" if wants_colour(stream) else text


def print_error(message: str, stream: TextIO | None = None) -> None:
    """``Error: …`` on one line of stderr; red on a terminal."""
    stream = stream or sys.stderr
    stream.write(red_line("Error: " + one_line(message), stream) + "\n")
    stream.flush()


def note(message: str, stream: TextIO | None = None) -> None:
    """A plain line for the user on stderr (progress, "no moments matched")."""
    stream = stream or sys.stderr
    stream.write(visible(message) + "\n")
    stream.flush()
