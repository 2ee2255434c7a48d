"""Screenshots of the search page for the README, taken in headless Chromium.

Serves an index on a free loopback port, searches, plays the first moment and
saves the page at 1440 and 375 pixels wide. Needs the ``web`` and ``test`` extras
and Debian's chromium (``.ci/install-browser``); the YouTube embed cannot load
without a network, so the player shows the browser's placeholder.

    python benchmarks/screenshots.py --index /tmp/podsearch-corpus-index --query "feature stores"
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import threading
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from podsearch.web.app import create_app

HERE = Path(__file__).resolve().parent
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index built with podsearch index")
    parser.add_argument("--query", default="feature stores")
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    args.out.mkdir(parents=True, exist_ok=True)

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(args.index), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for width, height, name in ((1440, 900, "search-page.png"), (375, 812, "search-page-375.png")):
                page = browser.new_page(viewport={"width": width, "height": height})
                # nothing leaves the machine: the embed is aborted, the page shows its frame
                page.route(
                    "**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort()
                )
                page.goto(f"{base}/?q={args.query.replace(' ', '+')}")
                page.locator("a.time.play").first.click()
                page.wait_for_timeout(300)
                page.screenshot(path=str(args.out / name))
                print(f"wrote {args.out / name}")
                page.close()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    print(f"# python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
