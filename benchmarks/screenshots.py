"""Screenshots of the search page for the README, taken in headless Chromium.

Serves an index on a free loopback port, searches, plays the first moment and
saves the page at 1440 and 375 pixels wide. Needs the ``web`` and ``test`` extras
and Debian's chromium (``.ci/install-browser``); the YouTube embed cannot load
without a network, so the player shows the browser's placeholder.

    python benchmarks/screenshots.py --index /tmp/podsearch-corpus-index --query "feature stores"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.web_support import CHROMIUM, CHROMIUM_ARGS, running_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index built with podsearch index")
    parser.add_argument("--query", default="feature stores")
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with running_server(args.index) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width, height, name in ((1440, 900, "search-page.png"), (375, 812, "search-page-375.png")):
            page = browser.new_page(viewport={"width": width, "height": height})
            # nothing leaves the machine: the embed is aborted, the page shows its frame
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
            page.goto(f"{base}?q={args.query.replace(' ', '+')}")
            page.locator("a.time.play").first.click()
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / name))
            print(f"wrote {args.out / name}")
            page.close()
        browser.close()
    print(f"# python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
