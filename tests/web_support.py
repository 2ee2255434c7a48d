"""Crafted episodes and a real server on loopback for the web tests (``tests/test_web*.py``)."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from podsearch.web.app import create_app
from podsearch.web.server import url_of

from .factory import write_episode, write_person

#: Debian's Chromium and the flags it runs headless with here (no outside connections).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: The video id of the crafted episode with chapters.
VIDEO = "vvvvvvvvvv1"
#: Hostile strings as they could come from a public episode file.
SCRIPT = "<script>alert('script')</script>"
IMG = '"><img src=x onerror=alert(1)>'
JAVASCRIPT = "[click me](javascript:alert(1)) javascript:alert(2)"
HOSTILE_TITLE = "Evil </script><script>alert('title')</script> Episode"


def write_corpus(folder: Path) -> Path:
    """Three crafted episodes (one hostile) and a people folder; returns the episodes folder."""
    episodes = folder / "episodes"
    write_person(episodes / "people", "janedoe", "Jane Doe")
    write_episode(
        episodes,
        "s03e07-vector-search",
        [
            ("header", "Introductions"),
            ("Alexey", 0, "Welcome to the show. Today we talk about vector search and embeddings."),
            ("Jane", 65, "Thanks for having me. I started with feature stores before vector databases."),
            ("header", "Vector databases in production"),
            ("Alexey", 600, "How do you run a vector database in production?"),
            ("Jane", 612, "Mostly we tune recall. The embeddings change every week, so we reindex nightly."),
            ("Jane", 640, "Monitoring recall is the hard part of vector search in production."),
            ("Alexey", 1800, "Let's talk about careers. How did you move from academia?"),
            ("Jane", 1830, "I left academia because I wanted to ship things. Feature stores were my first project."),
        ]
        + [("Jane", 1900 + 30 * i, f"More about embeddings, part {i}, and recall.") for i in range(40)],
        title="Vector Search in Practice",
        season=3,
        number=7,
        guests=["janedoe"],
        youtube=VIDEO,
        dateadded="2024-05-01",
        chapters=[("Vector databases", 600, 1800), ("Careers", 1800, 3200)],
    )
    write_episode(
        episodes,
        "s04e02-data-contracts",
        [
            ("Alexey", 0, "Today: data contracts and data quality."),
            ("Bob", 30, "A data contract is an agreement about the schema. Feature stores need them too."),
            ("Bob", 90, "Embeddings drift when the data changes."),
        ],
        title="Data Contracts",
        season=4,
        number=2,
        guests=["bobsmith"],
        youtube="bbbbbbbbbbb",
        dateadded="2025-01-15",
    )
    write_episode(
        episodes,
        "s09e09-hostile",
        [
            ("header", f"Section {SCRIPT}"),
            (f"<b onmouseover=alert(1)>Mallory</b>{IMG}", 10, f"zebra crossing {SCRIPT} zebra"),
            ("Mallory", 20, f"zebra stripes {IMG} and more zebra"),
            ("Mallory", 30, f"zebra links {JAVASCRIPT} zebra"),
            ("Mallory", 40, "zebra </textarea></title><svg onload=alert(3)> {{7*7}} ${alert(4)} zebra"),
        ],
        title=HOSTILE_TITLE,
        season=9,
        number=9,
        guests=["mallory"],
        youtube="hhhhhhhhhhh",
        dateadded="2023-01-01",
        chapters=[(f"Chapter {IMG}", 10, 40)],
    )
    return episodes


def free_socket() -> socket.socket:
    """A listening socket on a free loopback port."""
    return socket.create_server(("127.0.0.1", 0))


@contextmanager
def running_server(index: Path) -> Iterator[str]:
    """The app on ``index`` under uvicorn in a thread on a free loopback port; yields its URL."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(index), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the test server did not start")
            thread.join(0.02)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
