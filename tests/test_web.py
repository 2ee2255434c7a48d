"""The web app over HTTP: every route, status code and header, the JSON API, and escaping.

The app is driven in-process (Starlette's test client) on crafted episodes; the
live-index, concurrency and ``serve`` tests run a real uvicorn on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import podsearch
from podsearch.errors import IndexMissingError, UsageError
from podsearch.output.notebook import SAFE_URL
from podsearch.records import results_record
from podsearch.web.app import CONTENT_SECURITY_POLICY, create_app
from podsearch.web.server import serve

from .factory import write_episode
from .web_support import HOSTILE_TITLE, VIDEO, free_socket, running_server, write_corpus

PAGES = ["/", "/?q=vector+search", "/?q=vector&by=episode", "/results?q=zebra", "/episodes/s03e07-vector-search"]
API = ["/api/search?q=embeddings", "/api/episodes", "/api/episodes/s04e02-data-contracts"]


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web")
    path = root / "index"
    podsearch.Index(path).update(write_corpus(root))
    return path


@pytest.fixture(scope="module")
def client(index_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_path)) as test_client:
        yield test_client


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(wanted[k] in (a.get(k) or "").split() for k in wanted)]


# --- the search page -----------------------------------------------------------------------


def test_search_page_shows_moments_with_episode_speaker_time_section_and_marked_words(client: TestClient) -> None:
    response = client.get("/", params={"q": "monitoring recall"})
    assert response.status_code == 200
    page = Tags(response.text)
    first = page.all("li", **{"class": "hit"})
    assert first, "no hits shown"
    plays = page.all("a", **{"class": "play"})
    assert plays[0]["href"] == f"https://www.youtube.com/watch?v={VIDEO}&t=640s"
    assert plays[0]["data-video"] == VIDEO and plays[0]["data-start"] == "640"
    html = response.text
    top = html[html.index('class="hit"') : html.index("</li>")]
    assert "10:40" in top and "Jane Doe" in top and "Vector databases in production" in top
    assert "S03E07" in top and "Vector Search in Practice" in top
    assert "<mark>Monitoring</mark> <mark>recall</mark>" in top
    assert "moments matched" in html


def test_the_page_keeps_its_state_in_the_url_and_links_to_each_other_state(client: TestClient) -> None:
    html = client.get("/", params={"q": "embeddings", "season": "3", "sort": "date"}).text
    page = Tags(html)
    assert page.all("input", id="q")[0]["value"] == "embeddings"
    assert "selected" in page.all("option", value="3")[0]
    assert "selected" in page.all("option", value="date")[0]
    switch = page.all("a", **{"class": "switch"})[0]["href"]
    assert switch == "/?q=embeddings&season=3&sort=date&by=episode"
    assert "S04E02" not in html  # the season filter applied


def test_more_extends_the_page(client: TestClient) -> None:
    first = Tags(client.get("/", params={"q": "embeddings recall"}).text)
    assert len(first.all("li", **{"class": "hit"})) == 20
    more = [a["href"] for a in first.all("a") if (a.get("href") or "").endswith("limit=40")]
    assert more == ["/?q=embeddings+recall&limit=40"]
    second = Tags(client.get(more[0]).text)
    assert len(second.all("li", **{"class": "hit"})) == 40


def test_grouped_view_lists_episodes_with_counts_and_their_moments(client: TestClient) -> None:
    html = client.get("/", params={"q": "feature stores", "by": "episode"}).text
    page = Tags(html)
    groups = page.all("li", **{"class": "group"})
    assert len(groups) == 2
    assert "S03E07" in html and "S04E02" in html and "2 moments" in html and "1 moment" in html
    assert page.all("a", **{"class": "switch"})[0]["href"] == "/?q=feature+stores"


def test_a_misspelled_query_links_to_the_suggestion(client: TestClient) -> None:
    page = Tags(client.get("/", params={"q": "embedings"}).text)
    suggestion = [a["href"] for a in page.all("a") if a.get("href") == "/?q=embeddings"]
    assert suggestion, "no 'Did you mean' link"


def test_a_bad_query_or_filter_is_a_400_page_with_the_reason(client: TestClient) -> None:
    for params, reason in [
        ({"q": "*"}, ""),
        ({"q": "x", "season": "five"}, "season must be a whole number"),
        ({"q": "x", "after": "yesterday"}, "after must be a date"),
        ({"q": "x " * 1100}, "the limit is 2,000"),
        ({"q": "x", "limit": "5000"}, "limit must be a whole number from 1 to 1000"),
    ]:
        response = client.get("/", params=params)
        assert response.status_code == 400, params
        assert 'role="alert"' in response.text and reason in response.text


def test_without_a_query_the_page_lists_the_episodes_and_focuses_the_search_box(client: TestClient) -> None:
    page = Tags(client.get("/").text)
    assert "autofocus" in page.all("input", id="q")[0]
    assert page.all("label", **{"for": "q"}) and page.all("label", **{"for": "guest"})
    assert {"/episodes/s03e07", "/episodes/s04e02"} <= {a["href"] for a in page.all("a")}


def test_results_fragment_is_the_results_part_alone(client: TestClient) -> None:
    html = client.get("/results", params={"q": "contract"}).text
    assert "<html" not in html and "<form" not in html
    assert 'class="hit"' in html and "S04E02" in html


# --- the episode page ----------------------------------------------------------------------


def test_episode_page_shows_transcript_chapters_and_marks_the_moment(client: TestClient) -> None:
    response = client.get("/episodes/s03e07-vector-search", params={"t": "640", "q": "recall -weekly"})
    assert response.status_code == 200
    page = Tags(response.text)
    assert page.all("p", **{"class": "target"})[0]["id"] == "p4"
    html = response.text
    assert "Jane Doe" in html and "2024-05-01" in html
    assert "<mark>recall</mark>" in html and "<mark>weekly</mark>" not in html
    chapters = [a for a in page.all("a", **{"class": "play"}) if a.get("data-start") in ("600", "1800")]
    assert {a["href"] for a in chapters} >= {
        f"https://www.youtube.com/watch?v={VIDEO}&t=600s",
        f"https://www.youtube.com/watch?v={VIDEO}&t=1800s",
    }
    assert "Introductions" in html and "Vector databases in production" in html


def test_episode_page_by_code_and_unknown_episode(client: TestClient) -> None:
    assert client.get("/episodes/S04E02").status_code == 200
    missing = client.get("/episodes/s99e99-nothing")
    assert missing.status_code == 404 and "no indexed episode" in missing.text


def test_hits_link_to_the_episode_page_at_their_paragraph(client: TestClient) -> None:
    page = Tags(client.get("/", params={"q": "academia"}).text)
    links = [a["href"] for a in page.all("a", **{"class": "context"})]
    assert "/episodes/s03e07?t=1800&q=academia#p5" in links


# --- JSON API ------------------------------------------------------------------------------


def test_api_search_has_the_fields_and_options_of_podsearch_json(client: TestClient, index_path: Path) -> None:
    response = client.get("/api/search", params={"q": "feature stores", "by": "episode", "limit": "2", "context": "1"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    with podsearch.Index(index_path) as index:
        expected = results_record(index.search("feature stores", group_by="episode", limit=2, context=1))
    document.pop("elapsed_ms"), expected.pop("elapsed_ms")
    assert document == json.loads(json.dumps(expected))
    assert document["hits"][0]["before"]  # context=1 was passed on


def test_api_search_filters(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "embeddings", "guest": "bobsmith"}).json()["hits"]
    assert {h["episode_code"] for h in hits} == {"S04E02"}
    hits = client.get("/api/search", params={"q": "embeddings", "after": "2025-01-01"}).json()["hits"]
    assert {h["episode_code"] for h in hits} == {"S04E02"}
    hits = client.get("/api/search", params={"q": "embeddings", "speaker": "alexey"}).json()["hits"]
    assert {h["speaker"] for h in hits} == {"Alexey"}


def test_api_errors_are_json_with_a_status(client: TestClient) -> None:
    for url, status, reason in [
        ("/api/search?q=*", 400, ""),
        ("/api/search", 400, "the query is empty"),
        ("/api/search?q=x&limit=0", 400, "limit must be"),
        ("/api/search?q=x&sort=random", 400, "sort must be"),
        ("/api/search?q=x&context=99", 400, "context must be"),
        ("/api/episodes/nothing", 404, "no indexed episode"),
        ("/api/nothing", 404, "Not Found"),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        body = response.json()
        assert body["status"] == status and reason in body["error"]


def test_api_episodes_lists_every_episode_with_its_paragraph_count(client: TestClient) -> None:
    episodes = client.get("/api/episodes").json()
    assert {e["id"]: e["paragraphs"] for e in episodes}["s04e02"] == 3
    assert {e["code"] for e in episodes} == {"S03E07", "S04E02", "S09E09"}
    one = client.get("/api/episodes/S04E02").json()
    assert one["title"] == "Data Contracts"
    assert next(p["text"] for t in one["turns"] for p in t["paragraphs"]) == "Today: data contracts and data quality."


# --- headers, methods, escaping ------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES + API + ["/static/search.js", "/static/style.css", "/nothing", "/?q=*"])
def test_every_response_carries_the_security_headers(client: TestClient, url: str) -> None:
    headers = client.get(url).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_static_files_have_their_types() -> None:
    with TestClient(create_app()) as fresh:
        assert fresh.get("/static/search.js").headers["content-type"].startswith("text/javascript")
        assert fresh.get("/static/style.css").headers["content-type"].startswith("text/css")
        assert fresh.get("/static/../app.py").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_no_route_accepts_writes(client: TestClient, method: str) -> None:
    for url in ["/", "/api/search?q=x", "/api/episodes", "/episodes/S04E02"]:
        assert client.request(method, url).status_code == 405


def test_reading_every_route_changes_nothing_in_the_index(client: TestClient, index_path: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in index_path.rglob("*")}
    for url in PAGES + API:
        client.get(url)
    assert {p: p.stat().st_mtime_ns for p in index_path.rglob("*")} == before


def test_no_page_or_api_lets_hostile_transcript_markup_through(client: TestClient) -> None:
    urls = ["/?q=zebra", "/?q=zebra&by=episode", "/results?q=zebra", "/episodes/s09e09-hostile?q=zebra&t=20", "/"]
    for url in urls:
        html = client.get(url).text
        page = Tags(html)
        scripts = [a.get("src") for t, a in page.tags if t == "script"]
        assert scripts == ([] if url.startswith("/results") else ["/static/search.js?v=" + podsearch.__version__])
        assert not [t for t, _ in page.tags if t in ("img", "svg", "iframe", "object", "embed", "b", "textarea")], url
        assert not [k for _, a in page.tags for k in a if k.startswith("on")], url
        for _, attrs in page.tags:
            href = attrs.get("href")
            if href is not None:
                assert href.startswith(("/", "#", "data:,")) or SAFE_URL.fullmatch(href), (url, href)
        assert "javascript:" not in " ".join(str(v) for _, a in page.tags for v in a.values())
    episode = client.get("/episodes/s09e09-hostile").text
    assert "Evil &lt;/script&gt;&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Episode" in episode
    assert HOSTILE_TITLE in "".join(Tags(episode).text)  # shown literally
    api = client.get("/api/search?q=zebra").text
    assert "<" not in api and all(ord(c) < 128 for c in api)  # ASCII JSON (the < is escaped by the text)


def test_the_hostile_title_reaches_json_intact(client: TestClient) -> None:
    hits = client.get("/api/search?q=zebra").json()["hits"]
    assert hits[0]["episode_title"] == HOSTILE_TITLE


# --- live index, threads, serve ------------------------------------------------------------


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_reindex_in_another_process_is_seen_by_the_next_request(tmp_path: Path) -> None:
    episodes = write_corpus(tmp_path)
    index = tmp_path / "index"
    podsearch.Index(index).update(episodes)
    with running_server(index) as url:
        assert json.loads(_get(url + "api/search?q=platypus")[1])["total"] == 0
        write_episode(episodes, "s05e01-platypus", [("Ann", 5, "The platypus lays eggs.")], season=5, number=1)
        subprocess.run(
            [sys.executable, "-m", "podsearch", "index", "--index", str(index)], check=True, capture_output=True
        )
        status, body = _get(url + "api/search?q=platypus")
        assert status == 200 and json.loads(body)["hits"][0]["episode_code"] == "S05E01"
        assert b"S05E01" in _get(url + "?q=platypus")[1]


def test_concurrent_requests_while_another_process_rebuilds_the_index(tmp_path: Path) -> None:
    """Threads share the app's one Index while ``podsearch index --rebuild`` commits twice."""
    episodes = write_corpus(tmp_path)
    index = tmp_path / "index"
    podsearch.Index(index).update(episodes)
    queries = ["vector+search", "embeddings", "feature+stores", "zebra", "recall", '"data+contract"', "academia"]
    failures: list[str] = []
    counts = {"done": 0}
    stop = threading.Event()

    def client_loop(worker: int) -> None:
        n = worker
        while not stop.is_set():
            path = ("api/search?q=" if n % 2 else "?q=") + queries[n % len(queries)]
            status, body = _get(url + path)
            if status != 200:
                failures.append(f"{path}: {status} {body[:200]!r}")
            counts["done"] += 1
            n += 1

    with running_server(index) as url:
        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(2):
                subprocess.run(
                    [sys.executable, "-m", "podsearch", "index", "--rebuild", "--index", str(index)],
                    check=True,
                    capture_output=True,
                )
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
    assert failures == []
    assert counts["done"] > 8


def test_without_an_index_pages_answer_503_and_serve_refuses_to_start(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "none")) as fresh:
        response = fresh.get("/?q=x")
        assert response.status_code == 503 and "no index" in response.text.lower()
        assert fresh.get("/api/search?q=x").json()["status"] == 503
    with pytest.raises(IndexMissingError):
        serve(tmp_path / "none", "127.0.0.1", 0)


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    podsearch.Index(tmp_path / "index").update(write_corpus(tmp_path))
    with free_socket() as taken:
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is in use"):
            serve(tmp_path / "index", "127.0.0.1", port)


SERVE = """
import sys
from pathlib import Path
from podsearch.web.server import serve
try:
    serve(Path(sys.argv[1]), "127.0.0.1", 0)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_serve_prints_its_url_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    podsearch.Index(tmp_path / "index").update(write_corpus(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path / "index")], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "serving" in line and "(Ctrl-C to stop)" in line
        url = line.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert _get(url + "?q=vector")[0] == 200
        os.kill(process.pid, signal.SIGINT)
        assert process.wait(20) == 130
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()


# --- the real corpus -----------------------------------------------------------------------


def test_the_corpus_through_the_page_and_the_api(corpus_index: podsearch.Index) -> None:
    with TestClient(create_app(corpus_index.path)) as corpus:
        page = corpus.get("/", params={"q": "full-stack data scientist"})
        assert page.status_code == 200
        first = page.text[page.text.index('class="hit"') :]
        assert "S05E05" in first[: first.index("</li>")]
        api = corpus.get("/api/search", params={"q": "feature stores", "by": "episode", "limit": "3"}).json()
        assert len(api["groups"]) == 3 and api["hits"]
        episodes = corpus.get("/api/episodes").json()
        assert len(episodes) >= 150
        for episode in episodes[:: max(1, len(episodes) // 20)]:
            response = corpus.get(f"/episodes/{episode['id']}", params={"t": "600", "q": "data"})
            assert response.status_code == 200, episode["id"]
            assert 'class="para target"' in response.text or 'class="para"' not in response.text
