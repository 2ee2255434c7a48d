"""Exit codes: the one table, the one mapping from errors to codes, and how each is shown.

Codes follow ``sysexits.h`` where one fits, so cron and systemd can tell a
crash (70) from a normal night with failed files (1). :func:`finish` is the
only place an exception becomes an exit code, for every command and both the
fast path and typer:

* a :class:`~podsearch.errors.PodsearchError`: one line on stderr, its code;
* ``KeyboardInterrupt`` (Ctrl-C): 130; :class:`Terminated` (SIGTERM): 143;
* a closed stdout (``podsearch mlops | head -1``): 0, quietly;
* anything else is a crash: one line saying where the traceback was saved, 70.
  With ``--debug`` the traceback is shown instead.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from types import FrameType
from typing import NoReturn, TextIO

from podsearch.errors import (
    DiskFullError,
    EpisodeError,
    EpisodeNotFound,
    IndexBuildingError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    IndexVersionError,
    MissingExtraError,
    NoVideoError,
    PodsearchError,
    QueryError,
    RemovalRefusedError,
    StorageError,
    StoragePermissionError,
    UsageError,
)
from podsearch.output.streams import one_line, print_error


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that cleanup (``finally``) runs, as for Ctrl-C.

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that no
    ``except Exception`` on the way swallows it.
    """


class ExitCode:
    """One row of the table: the code, what it means, the errors that give it."""

    __slots__ = ("code", "errors", "meaning")

    def __init__(self, code: int, meaning: str, errors: tuple[type[BaseException], ...] = ()) -> None:
        self.code = code
        self.meaning = meaning
        self.errors = errors


EXIT_OK = 0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_INCOMPATIBLE = 65
EXIT_NOT_FOUND = 66
EXIT_DAMAGED = 69
EXIT_CRASH = 70
EXIT_DISK_FULL = 73
EXIT_IO = 74
EXIT_TRY_LATER = 75
EXIT_PERMISSION = 77
EXIT_REFUSED = 78
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: Every exit code of ``podsearch``, as ``--help`` and the README list them.
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, 'success, also a search that matched nothing ("no moments matched" on stderr)'),
    ExitCode(EXIT_FILES_FAILED, "podsearch index: some episode files failed (the rest were indexed)"),
    ExitCode(
        EXIT_USAGE,
        "usage error, bad query, or a missing optional extra (the message says what to install)",
        (QueryError, UsageError, MissingExtraError),
    ),
    ExitCode(
        EXIT_INCOMPATIBLE,
        "the index was written by an incompatible version: podsearch index --rebuild",
        (IndexVersionError,),
    ),
    ExitCode(
        EXIT_NOT_FOUND,
        "no index, no episodes folder, or no such episode",
        (IndexMissingError, EpisodeNotFound, EpisodeError, NoVideoError),
    ),
    ExitCode(EXIT_DAMAGED, "the index is damaged: podsearch index --rebuild repairs it", (IndexDamagedError,)),
    ExitCode(
        EXIT_CRASH,
        "internal error: the traceback is saved to a file (--debug shows it)",
        (PodsearchError,),  # a failure without a class of its own (a worker process died …)
    ),
    ExitCode(EXIT_DISK_FULL, "no space left where the index is written", (DiskFullError,)),
    ExitCode(EXIT_IO, "input/output error reading or writing the index", (StorageError,)),
    ExitCode(
        EXIT_TRY_LATER,
        "another 'podsearch index' holds the lock, or the first build is running: try again, or --wait",
        (IndexLockedError, IndexBuildingError),
    ),
    ExitCode(EXIT_PERMISSION, "permission denied or read-only file system", (StoragePermissionError,)),
    ExitCode(
        EXIT_REFUSED,
        "podsearch index refused to empty or halve the index: check the folders, or --allow-removals",
        (RemovalRefusedError,),
    ),
    ExitCode(EXIT_INTERRUPTED, "interrupted (Ctrl-C)", (KeyboardInterrupt,)),
    ExitCode(EXIT_TERMINATED, "terminated (SIGTERM); cleaned up like Ctrl-C", (Terminated,)),
)

_BY_ERROR: dict[type[BaseException], int] = {error: row.code for row in EXIT_CODES for error in row.errors}
_MEANING = {row.code: row.meaning for row in EXIT_CODES}


def exit_code(error: BaseException) -> int:
    """The documented exit code of an error: that of its nearest class in the table (70 when none)."""
    for cls in type(error).__mro__:
        if cls in _BY_ERROR:
            return _BY_ERROR[cls]
    return EXIT_CRASH


def codes_help(codes: tuple[int, ...] | None = None) -> str:
    """The exit codes as ``--help`` shows them (all of them, or these and 0, 70, 130, 143)."""
    shown = sorted(_MEANING if codes is None else {EXIT_OK, *codes, EXIT_CRASH, EXIT_INTERRUPTED, EXIT_TERMINATED})
    lines = [f"  {code:<3} {_MEANING[code]}" for code in shown]
    return "\b\nExit codes:\n" + "\n".join(lines)  # \b: click keeps the lines as they are


def error_message(error: PodsearchError) -> str:
    """The one line shown for one of podsearch's errors (after ``Error: ``)."""
    if isinstance(error, QueryError):
        return f"bad query: {error}"
    return str(error)


# --- turning an exception into an exit code -------------------------------------------------------


def finish(error: BaseException, debug: bool = False, err: TextIO | None = None) -> int:
    """Show ``error`` as the user should see it and return its exit code.

    ``SystemExit`` (and typer's own exits) are not errors: they are raised again.
    """
    err = err or sys.stderr
    if isinstance(error, (SystemExit, GeneratorExit)):
        raise error
    if isinstance(error, KeyboardInterrupt | Terminated):
        return exit_code(error)
    if _closed_stdout(error):
        silence_stdout()
        return EXIT_OK
    if debug:
        import traceback

        err.write("".join(traceback.format_exception(error)))
        err.flush()
    if isinstance(error, PodsearchError):
        code = exit_code(error)
        if code == EXIT_CRASH and not debug:
            print_error(f"{error_message(error)} ({_saved(error)})", err)
        else:
            print_error(error_message(error), err)
        return code
    what = f"unexpected {type(error).__name__}: {_short(error)}"
    print_error(what if debug else f"{what}; {_saved(error)}", err)
    return EXIT_CRASH


def _short(error: BaseException, limit: int = 300) -> str:
    text = one_line(str(error))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _saved(error: BaseException) -> str:
    """Write the traceback to a new file; the words that say where it is."""
    import platform
    import tempfile
    import traceback

    from podsearch import __version__

    try:
        handle, name = tempfile.mkstemp(prefix="podsearch-crash-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as file:
            file.write(f"podsearch {__version__}, Python {platform.python_version()}, {platform.platform()}\n")
            file.write(f"command line: {sys.argv!r}\n\n")
            file.write("".join(traceback.format_exception(error)))
    except OSError as failure:
        return f"the traceback could not be saved ({failure.strerror}); run again with --debug to see it"
    return f"the full traceback is in {name}, or run again with --debug"


def _closed_stdout(error: BaseException) -> bool:
    """Whether ``error`` is a write to a stdout whose reader went away (``| head``).

    A broken pipe elsewhere (to a worker process) is a real failure, so the
    standard output itself is asked whether its reader is gone.
    """
    if not isinstance(error, OSError) or error.errno != errno.EPIPE:
        return False
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # POLLERR and POLLHUP are always reported
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real file behind stdout: assume it was stdout
        return True


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


def exit_with(code: int) -> NoReturn:
    """End the process with ``code``, without another traceback if stdout is already closed."""
    try:
        sys.stdout.flush()
    except OSError as error:
        if not _closed_stdout(error):
            raise
        silence_stdout()
    sys.exit(code)


# --- SIGTERM ---------------------------------------------------------------------------------------


def _terminate(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def catch_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread (console script only).

    systemd and ``kill`` stop a command with SIGTERM; by default Python dies at
    once, leaving temporary files and worker processes behind. Raised as an
    exception, it unwinds like Ctrl-C: the library's ``finally`` blocks clean up.
    """
    signal.signal(signal.SIGTERM, _terminate)
