"""Jupyter: HTML tables that escape everything, pandas export, and the video player."""

from __future__ import annotations

import json
import sys
import types
from html.parser import HTMLParser

import pytest

import podsearch
from podsearch.errors import MissingExtraError, NoVideoError, PodsearchError
from podsearch.model import EpisodeGroup, EpisodeInfo, Hit, Results, Snippet
from podsearch.output.notebook import (
    SAFE_URL,
    hits_html,
    marked_html,
    player,
    to_pandas,
)
from podsearch.records import HIT_FIELDS, hit_record, results_json

from .samples import (
    HOSTILE_SPEAKER,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    TEXT,
    URL,
    make_hit,
)


class Collector(HTMLParser):
    """Every tag, attribute and piece of text of a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector


def results_of(*hits: Hit, total: int | None = None, suggestion: str | None = None) -> Results:
    return Results(
        query="full-stack data scientist",
        hits=hits,
        total=len(hits) if total is None else total,
        suggestion=suggestion,
        elapsed=0.016,
    )


# --- HTML -------------------------------------------------------------------------------------------


def test_results_html_is_a_table_of_time_link_speaker_episode_and_snippet() -> None:
    html = results_of(make_hit(), total=33)._repr_html_()
    parsed = parse(html)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("tr") == 2 and "caption" in tags
    headers = [text for text in parsed.text if text in ("time", "speaker", "episode", "snippet")]
    assert headers == ["time", "speaker", "episode", "snippet"]
    links = [attrs for tag, attrs in parsed.tags if tag == "a"]
    assert links == [{"href": URL, "target": "_blank", "rel": "noopener noreferrer"}]
    text = "".join(parsed.text)
    assert "55:56" in text and "Mihail Eric" in text and "S05E05" in text
    assert "33 moments matched 'full-stack data scientist', showing 1 (16 ms)." in text
    assert "<mark>full-stack</mark> <mark>data</mark> <mark>scientist</mark>" in html


def test_grouped_results_show_each_episode_with_its_count_and_best_moments() -> None:
    hostile = EpisodeInfo(id="evil", title=HOSTILE_TITLE, season=1, number=2, youtube_id="bbbbbbbbbbb")
    first = (make_hit(), make_hit(start=100, text="second moment", snippet=None, spans=()))
    groups = (
        EpisodeGroup(episode=first[0].episode, hits=first, count=12, score=3.5),
        EpisodeGroup(episode=hostile, hits=(make_hit(info=hostile),), count=1, score=1.0),
    )
    results = Results(query="data", hits=(first[0], groups[1].hits[0]), total=13, elapsed=0.002, groups=groups)
    html = results._repr_html_()
    parsed = parse(html)
    text = "".join(parsed.text)
    assert "13 moments matched 'data', showing 2 episodes (2 ms)." in text
    assert "1. S05E05 What Researchers and Engineers Can Learn from Each Other · 12 moments" in text
    assert "2. S01E02 " in text and "· 1 moment" in text
    assert [tag for tag, _ in parsed.tags].count("tr") == 1 + 2 + 3  # header, two episodes, three moments
    assert "second moment" in text and "<script>" not in html


def test_hit_repr_html_is_a_single_row() -> None:
    html = make_hit()._repr_html_()
    assert html.count("<tr>") == 2  # header and the hit
    assert 'href="https://www.youtube.com/watch?v=d9xVXqKq3sU&amp;t=3356s"' in html


def test_estimated_time_is_marked() -> None:
    html = hits_html([make_hit(estimated=True)])
    assert 'title="estimated time">55:56~</a>' in html


def test_empty_results_say_nothing_matched_and_suggest() -> None:
    html = Results(query="<b>x</b>", suggestion="<i>y</i>")._repr_html_()
    assert html == "<p>No moments matched &#x27;&lt;b&gt;x&lt;/b&gt;&#x27;. Did you mean: &lt;i&gt;y&lt;/i&gt;?</p>"


def test_hostile_transcript_text_is_escaped_everywhere() -> None:
    info = EpisodeInfo(id="evil", title=HOSTILE_TITLE, season=1, number=1, youtube_id="abcdefghijk")
    hostile = make_hit(
        info,
        text=HOSTILE_TEXT + ' <img src=x onerror="alert(1)"> &amp; "quoted"',
        speaker=HOSTILE_SPEAKER + "<script>alert(2)</script>",
        speaker_name=None,
        section='"><script>alert(3)</script>',
        snippet=None,
        spans=((0, 6),),
    )
    html = Results(query="<script>alert(4)</script>", hits=(hostile,), total=1)._repr_html_()
    parsed = parse(html)
    tags = {tag for tag, _ in parsed.tags}
    assert tags <= {"table", "caption", "thead", "tbody", "tr", "th", "td", "a", "b", "br", "small", "mark"}
    for _, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs)
    text = "".join(parsed.text)
    for literal in (
        "<script>alert(2)</script>",
        '<img src=x onerror="alert(1)">',
        "&amp;",
        '"><script>alert(3)</script>',
        "[link=https://evil.example/]Bob[/link]",
        "<script>alert(4)</script>",
    ):
        assert literal in text
    assert "\x1b" not in html and "\x00" not in html and "\u202e" not in html and "␛" in text
    assert "[bold red]Pwned[/bold red] ␛]8;;https://evil.example/␇click␛]8;;␇ <script>x</script>" in text


@pytest.mark.parametrize(
    "youtube_id",
    ['"><script>alert(1)</script>', "javascript:alert(1)", "abc", "abcdefghijk&t=1s&x=", "abcdefghij\n", None],
)
def test_links_only_to_valid_youtube_ids(youtube_id: str | None) -> None:
    info = EpisodeInfo(id="x", title="t", season=1, number=1, youtube_id=youtube_id)
    html = hits_html([make_hit(info)])
    assert "<a " not in html and "href" not in html
    assert "55:56" in html
    if youtube_id and "script" in youtube_id:
        assert "<script>" not in html


def test_every_href_is_a_moment_url() -> None:
    hits = [make_hit(start=seconds, estimated=bool(seconds % 2)) for seconds in (0, 59, 3356, 7 * 3600)]
    parsed = parse(hits_html(hits))
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert len(hrefs) == 4
    assert all(SAFE_URL.fullmatch(href or "") for href in hrefs)
    assert hrefs[2] == URL


def test_marked_html_clips_overlapping_and_out_of_range_spans() -> None:
    assert marked_html("a <b> c", ((2, 5), (3, 4), (6, 99))) == "a <mark>&lt;b&gt;</mark> <mark>c</mark>"


# --- records and pandas --------------------------------------------------------------------------------


def test_to_records_has_the_fields_of_json() -> None:
    result = results_of(make_hit(), make_hit(start=2433))
    records = result.to_records()
    assert [list(record) for record in records] == [list(HIT_FIELDS)] * 2
    assert records == json.loads(results_json(result))["hits"]
    assert records[0]["url"] == URL and records[0]["who"] == "Mihail Eric" and records[0]["chapter"] == "Career advice"


def test_hit_record_covers_every_field_of_a_hit() -> None:
    import dataclasses

    record = hit_record(make_hit())
    for field in dataclasses.fields(Hit):
        if field.name == "episode":
            continue
        assert field.name in record, field.name
    for derived in ("url", "time", "youtube_id", "who", "episode_code", "episode_title", "season", "guests"):
        assert derived in record


def test_to_pandas_has_one_row_per_hit_and_the_json_columns() -> None:
    pandas = pytest.importorskip("pandas")
    frame = results_of(make_hit(), make_hit(start=2433, estimated=True)).to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(HIT_FIELDS)
    assert len(frame) == 2
    assert list(frame["url"]) == [URL, "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s"]
    assert list(frame["estimated"]) == [False, True]


def test_to_pandas_of_no_hits_still_has_the_columns() -> None:
    pytest.importorskip("pandas")
    frame = to_pandas(Results(query="nothing"))
    assert list(frame.columns) == list(HIT_FIELDS) and len(frame) == 0


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes "import pandas" fail
    with pytest.raises(MissingExtraError, match=r"pip install 'podsearch\[pandas\]'") as caught:
        results_of(make_hit()).to_pandas()
    assert isinstance(caught.value, PodsearchError) and isinstance(caught.value, ImportError)


# --- play() ----------------------------------------------------------------------------------------


def fake_ipython(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[object, ...], dict[str, object]]]:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    class YouTubeVideo:
        def __init__(self, *args: object, **kwargs: object) -> None:
            calls.append((args, kwargs))

    display = types.ModuleType("IPython.display")
    display.YouTubeVideo = YouTubeVideo  # type: ignore[attr-defined]
    package = types.ModuleType("IPython")
    package.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", package)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return calls


def test_play_embeds_the_video_at_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_ipython(monkeypatch)
    make_hit().play()
    assert calls == [(("d9xVXqKq3sU",), {"start": 3356})]


def test_play_with_real_ipython() -> None:
    pytest.importorskip("IPython")
    from IPython.display import YouTubeVideo

    video = make_hit(start=2433).play()
    assert isinstance(video, YouTubeVideo)
    assert video.id == "d9xVXqKq3sU" and video.params["start"] == 2433
    assert "https://www.youtube.com/embed/d9xVXqKq3sU?start=2433" in video._repr_html_()


def test_play_without_ipython_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'podsearch\[notebook\]'"):
        make_hit().play()


def test_play_without_a_valid_video_id(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_ipython(monkeypatch)
    info = EpisodeInfo(id="x", title="t", season=2, number=3, youtube_id=None)
    with pytest.raises(NoVideoError, match="S02E03 has no valid YouTube id"):
        player(make_hit(info))
    assert calls == []


# --- end to end on the bundled episode ------------------------------------------------------------------


def test_notebook_view_of_a_real_search(bundled_index: podsearch.Index, monkeypatch: pytest.MonkeyPatch) -> None:
    result = bundled_index.search("full-stack data scientist", limit=10)
    html = result._repr_html_()
    hrefs = [attrs["href"] for tag, attrs in parse(html).tags if tag == "a"]
    assert "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s" in hrefs
    assert "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s" in hrefs
    assert all(SAFE_URL.fullmatch(href or "") for href in hrefs)
    assert "<mark>" in html
    calls = fake_ipython(monkeypatch)
    moment = next(hit for hit in result if hit.start == 3356)
    moment.play()
    assert calls == [(("d9xVXqKq3sU",), {"start": 3356})]
    assert [record["start"] for record in result.to_records()] == [hit.start for hit in result]


def test_snippet_spans_drive_the_marks() -> None:
    hit = make_hit(snippet=Snippet("…a data point…", ((3, 7),)))
    assert "…a <mark>data</mark> point…" in hits_html([hit])
    assert TEXT not in hits_html([hit])
