"""The search page in a real browser: headless Chromium (Debian's) driven by Playwright.

A uvicorn server on a free loopback port serves crafted episodes. Requests to
anywhere but that server are recorded and aborted (the YouTube embed cannot load
here), so the player is checked through its iframe's ``src`` and the data the
page's script keeps on it. ``.ci/install-browser`` installs Chromium in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import podsearch

from .web_support import CHROMIUM, CHROMIUM_ARGS, HOSTILE_TITLE, IMG, SCRIPT, VIDEO, running_server, write_corpus

sync_api = pytest.importorskip("playwright.sync_api")

EMBED = "https://www.youtube-nocookie.com/embed/"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium (run .ci/install-browser)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    podsearch.Index(root / "index").update(write_corpus(root))
    with running_server(root / "index") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose dialogs, outside requests and CSP violations are recorded."""

    def __init__(self, browser: Any, site: str, **options: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.page.on("dialog", self._dialog)
        self.context.route("**/*", self._route)
        self.site = site
        self.page.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.site):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__csp")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any, site: str) -> Iterator[Watched]:
    page = Watched(browser, site)
    yield page
    assert page.csp_violations() == []  # nothing inline on any page
    page.close()


def _until(page: Any, expression: str, seconds: float = 10.0) -> None:
    """Wait until a JavaScript expression is true (``wait_for_function`` evaluates a string,
    which the page's CSP rightly refuses)."""
    for _ in range(int(seconds * 20)):
        if page.evaluate(f"() => Boolean({expression})"):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {seconds} s: {expression}")


def _player(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const p = document.getElementById('player'); const f = p.querySelector('iframe');
        return {hidden: p.hidden, src: f ? f.src : null, start: p.dataset.start || null, seeks: p.dataset.seeks || null}; }"""
    )


def test_typing_a_query_updates_the_results_in_place_and_the_url(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site)
    assert page.evaluate("document.activeElement.id") == "q"  # focused on load
    page.evaluate("window.__samePage = true")
    page.keyboard.type("monitoring recall", delay=20)
    page.wait_for_selector("li.hit")
    assert page.evaluate("window.__samePage") is True  # no full reload
    _until(page, "location.search.includes('q=monitoring+recall')")
    first = page.locator("li.hit").first
    assert "10:40" in first.inner_text() and "Jane Doe" in first.inner_text()
    assert first.locator("mark").all_inner_texts() == ["Monitoring", "recall"]
    assert "moments matched" in page.inner_text("#summary")


def test_slash_focuses_the_search_box_and_arrows_move_through_moments(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "?q=embeddings")
    page.locator("h1, .summary").first.click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("ArrowDown")
    times = page.locator("main a.time")
    assert page.evaluate("document.activeElement === document.querySelectorAll('main a.time')[0]")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement === document.querySelectorAll('main a.time')[1]")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement === document.querySelectorAll('main a.time')[0]")
    start = times.first.get_attribute("data-start")
    page.keyboard.press("Enter")
    assert _player(page)["start"] == start and not _player(page)["hidden"]
    outline = page.evaluate("getComputedStyle(document.querySelectorAll('main a.time')[0]).outlineStyle")
    assert outline != "none"  # visible focus


def test_clicking_a_time_plays_there_and_a_second_moment_of_the_episode_seeks(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "?q=feature+stores")
    assert _player(page)["hidden"]
    moments = page.locator(f"a.play[data-video='{VIDEO}']")
    moments.nth(0).click()
    first = _player(page)
    start = moments.nth(0).get_attribute("data-start")
    assert not first["hidden"]
    assert first["src"].startswith(f"{EMBED}{VIDEO}?start={start}&")
    assert first["seeks"] == "0"
    assert page.url.startswith(site)  # stayed on the page
    moments.nth(1).click()
    second = _player(page)
    assert second["src"] == first["src"]  # not reloaded: the open player is told to seek
    assert second["start"] == moments.nth(1).get_attribute("data-start") != start
    assert second["seeks"] == "1"
    other = page.locator("a.play[data-video='bbbbbbbbbbb']").first
    other.click()
    assert _player(page)["src"].startswith(f"{EMBED}bbbbbbbbbbb?start=")
    page.keyboard.press("Escape")
    assert _player(page)["hidden"] and _player(page)["src"] is None
    assert all(url.startswith("https://www.youtube-nocookie.com/") for url in watched.outside)


def test_a_hit_opens_the_episode_page_scrolled_to_its_paragraph(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "?q=academia+ship")
    page.locator("li.hit a.context").first.click()
    page.wait_for_url("**/episodes/s03e07?t=1830&q=academia+ship#p6")
    target = page.locator("p.para.target")
    assert target.get_attribute("id") == "p6"
    box = target.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900  # in view
    assert page.evaluate("window.scrollY") > 0
    assert target.locator("mark").all_inner_texts() == ["academia", "ship"]
    page.locator("nav.chapters a.play", has_text="30:00").click()  # a chapter plays in place
    assert _player(page)["src"].startswith(f"{EMBED}{VIDEO}?start=1800&")
    target.locator("a.time").click()
    assert _player(page)["start"] == "1830" and _player(page)["seeks"] == "1"


def test_grouping_by_episode_from_the_checkbox(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "?q=feature+stores")
    page.wait_for_selector("li.hit")
    page.check("#by")
    page.wait_for_selector("li.group")
    groups = page.locator("li.group")
    assert groups.count() == 2
    assert "2 moments" in groups.nth(0).inner_text()
    _until(page, "location.search.includes('by=episode')")
    page.reload()
    assert page.locator("li.group").count() == 2 and page.is_checked("#by")  # the URL holds the state


def test_filters_apply_as_they_change(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "?q=feature+stores")
    page.wait_for_selector("li.hit")
    assert page.locator("li.hit", has_text="S04E02").count() == 1
    page.click("summary")
    page.select_option("#season", "3")
    _until(page, "location.search.includes('season=3')")
    _until(page, "!document.querySelector('#results').innerText.includes('S04E02')")
    assert page.locator("li.hit").count() > 0


def test_without_javascript_the_form_submits_and_times_link_to_youtube(browser: Any, site: str) -> None:
    watched = Watched(browser, site, java_script_enabled=False)
    try:
        page = watched.page
        page.goto(site)
        page.fill("#q", "monitoring recall")
        page.press("#q", "Enter")
        page.wait_for_url("**/?q=monitoring+recall*")
        time = page.locator("li.hit a.time").first
        assert time.get_attribute("href") == f"https://www.youtube.com/watch?v={VIDEO}&t=640s"
        page.locator("a.switch").click()  # grouping is a link too
        page.wait_for_selector("li.group")
        page.locator("li.group h2 a").first.click()
        page.wait_for_selector("div.transcript")
        assert watched.outside == [] and watched.dialogs == []
    finally:
        watched.close()


def test_a_hostile_transcript_stays_inert(watched: Watched, site: str) -> None:
    page = watched.page
    for url in [
        "?q=zebra",
        "?q=zebra&by=episode",
        "episodes/s09e09-hostile?q=zebra&t=30",
        "episodes/S09E09",
        "?q=" + SCRIPT,
        "",
    ]:
        page.goto(site + url)
        for element in page.locator("li.hit .who, li.hit .snippet, .para .text").all()[:6]:
            element.hover()
        assert page.locator("img, svg, iframe, object, embed, textarea, b").count() == 0, url
        assert page.evaluate("document.scripts.length") == 1, url
    page.goto(site)
    page.keyboard.type(IMG, delay=5)
    _until(page, "location.search.length > 3")
    page.goto(site + "episodes/s09e09-hostile?q=zebra")
    assert HOSTILE_TITLE in page.inner_text("h1")
    assert SCRIPT in page.inner_text(".transcript")
    assert IMG in page.inner_text(".transcript")
    assert watched.dialogs == []
    assert watched.outside == []


@pytest.mark.parametrize("width", [375, 1440])
def test_readable_at_phone_and_desktop_widths(browser: Any, site: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site) else route.abort())
        for url in ["?q=embeddings+recall", "episodes/s03e07-vector-search?t=640"]:
            page.goto(site + url)
            page.locator("a.time.play").first.click()
            assert page.evaluate("document.documentElement.scrollWidth") <= width, url  # no sideways scrolling
            frame = page.locator("#player-frame").bounding_box()
            assert frame is not None and frame["width"] <= width and frame["height"] > 150
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, button')].filter(
                e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.innerText.trim()
            ).map(e => e.outerHTML)"""
        )
        assert unlabelled == []
    finally:
        context.close()
