"""``podsearch serve``: the web app under uvicorn on one address, until Ctrl-C.

The socket is bound here, before uvicorn starts, so a port in use is a one-line
:class:`~podsearch.errors.UsageError` and ``--port 0`` prints the port it got.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import uvicorn

from podsearch.api import Index
from podsearch.errors import UsageError
from podsearch.web.app import create_app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use; choose another with --port") from None
        if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(error, socket.gaierror):
            raise UsageError(f"cannot listen on {host}: {error.strerror or error}") from None
        if error.errno == errno.EACCES:
            raise UsageError(f"not allowed to listen on port {port}; choose one above 1023 with --port") from None
        raise


def url_of(sock: socket.socket) -> str:
    """``http://host:port/`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(index: Path | None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the search page on ``host:port`` until Ctrl-C (or SIGTERM), then stop cleanly.

    Raises the index's error (:class:`~podsearch.errors.IndexMissingError`, …) before
    listening when it is not usable, and :class:`~podsearch.errors.UsageError` when
    the address cannot be used. After a clean shutdown on Ctrl-C uvicorn raises the
    signal again, so ``KeyboardInterrupt`` reaches the caller (exit code 130).
    """
    Index(index).check()
    sock = bind(host, port)
    with sock:
        config = uvicorn.Config(create_app(index), log_level="warning", access_log=False, timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        print(f"podsearch: serving {Index(index).path} on {url_of(sock)} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        with _interrupt_raises():
            server.run(sockets=[sock])


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _interrupt_raises() -> Iterator[None]:
    """Ctrl-C raises ``KeyboardInterrupt`` in the main thread, also when uvicorn raises it again.

    uvicorn handles SIGINT while it serves, then raises it again through the handler it
    found. Python's own handler would be replaced by asyncio's, which only cancels the
    main task: depending on where the task was, the caller saw a normal return (exit 0)
    instead of an interrupt (exit 130). A handler of our own always raises.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
