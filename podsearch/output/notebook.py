"""Results in Jupyter: HTML tables, a pandas DataFrame, and a video player at the moment.

``Results._repr_html_`` and ``Hit._repr_html_`` call :func:`results_html` and
:func:`hits_html`; ``Results.to_pandas()`` calls :func:`to_pandas`;
``Hit.play()`` calls :func:`player`. pandas and IPython are optional extras,
imported only when asked for.

Every piece of transcript text (paragraphs, titles, speakers, sections) is
HTML-escaped after :func:`~podsearch.sanitize.visible`, so markup or script in
an episode file is shown as text. The only links are YouTube moment URLs that
match :data:`SAFE_URL` exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from podsearch.errors import MissingExtraError, NoVideoError
from podsearch.model import EpisodeGroup, Hit, Results, plural
from podsearch.records import HIT_FIELDS
from podsearch.sanitize import flat

#: The only URLs this module ever puts in an ``href``.
SAFE_URL = re.compile(r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}&t=[0-9]+s")

_CELL = "text-align:left;vertical-align:top;padding:2px 8px"
_NOWRAP = _CELL + ";white-space:nowrap"


def text_html(text: str) -> str:
    """Transcript text as safe HTML: control characters made visible, then escaped."""
    return escape(flat(text), quote=True)


def marked_html(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text escaped, with the matched ``(start, end)`` spans inside ``<mark>``."""
    shown = flat(text)
    pieces: list[str] = []
    last = 0
    for begin, end in sorted(spans):
        begin, end = max(begin, last), min(end, len(shown))
        if begin >= end:
            continue
        pieces.append(escape(shown[last:begin], quote=True))
        pieces.append(f"<mark>{escape(shown[begin:end], quote=True)}</mark>")
        last = end
    pieces.append(escape(shown[last:], quote=True))
    return "".join(pieces)


def moment_link(hit: Hit) -> str:
    """The hit's time (``55:56``, ``43:28~`` when estimated) linked to the moment when possible."""
    label = escape(hit.time + ("~" if hit.estimated else ""))
    title = ' title="estimated time"' if hit.estimated else ""
    url = hit.url
    if url is None or not SAFE_URL.fullmatch(url):
        return f"<span{title}>{label}</span>"
    return f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer"{title}>{label}</a>'


def _row(hit: Hit) -> str:
    episode = hit.episode
    where = hit.section or hit.chapter or ""
    snippet = marked_html(hit.snippet.text, hit.snippet.spans) if hit.snippet else marked_html(hit.text, hit.spans)
    if hit.matched == "meaning":  # found by its meaning: no word of the query to highlight
        snippet += "<br><small><i>matched by meaning</i></small>"
    cells = [
        f'<td style="{_NOWRAP}">{moment_link(hit)}</td>',
        f'<td style="{_NOWRAP}">{text_html(hit.who or "")}</td>',
        f'<td style="{_CELL}"><b>{text_html(episode.code)}</b> {text_html(episode.short_title or episode.title)}'
        f"<br><small>{text_html(where)}</small></td>",
        f'<td style="{_CELL}">{snippet}</td>',
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _table(rows: Iterable[str], caption: str | None) -> str:
    head = "".join(f'<th style="{_CELL}">{name}</th>' for name in ("time", "speaker", "episode", "snippet"))
    parts = ['<table class="podsearch">']
    if caption:
        parts.append(f'<caption style="text-align:left">{text_html(caption)}</caption>')
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>")
    parts.extend(rows)
    parts.append("</tbody></table>")
    return "".join(parts)


def hits_html(hits: Iterable[Hit], caption: str | None = None) -> str:
    """A compact table: time (a link to the moment), speaker, episode and section, snippet.

    ``caption`` is plain text; it is escaped like everything else.
    """
    return _table((_row(hit) for hit in hits), caption)


def groups_html(groups: Iterable[EpisodeGroup], caption: str | None = None) -> str:
    """Results grouped by episode: a heading row per episode with its count, then its best moments."""
    rows = []
    for rank, group in enumerate(groups, 1):
        episode = group.episode
        rows.append(
            f'<tr><th colspan="4" style="{_CELL};border-top:1px solid #ccc">{rank}. '
            f"{text_html(episode.code)} {text_html(episode.title)} · {plural(group.count, 'moment')}</th></tr>"
        )
        rows.extend(_row(hit) for hit in group.hits)
    return _table(rows, caption)


def results_html(results: Results) -> str:
    """The results as a table (by episode when grouped), with a caption saying what matched."""
    suggestion = f" Did you mean: {results.suggestion}?" if results.suggestion else ""
    if not results.hits:
        return f"<p>No moments matched {text_html(repr(results.query))}.{text_html(suggestion)}</p>"
    caption = f"{results.summary(quote_query=True)}.{suggestion}"
    if results.groups:
        return groups_html(results.groups, caption=caption)
    return hits_html(results.hits, caption=caption)


def to_pandas(results: Results) -> Any:
    """A ``pandas.DataFrame`` with one row per hit and the columns of ``--json``."""
    try:
        import pandas
    except ImportError:
        raise MissingExtraError(
            "to_pandas() needs pandas, which is not installed; install it with: pip install 'podsearch[pandas]'"
        ) from None
    return pandas.DataFrame.from_records(results.to_records(), columns=list(HIT_FIELDS))


def player(hit: Hit) -> Any:
    """``IPython.display.YouTubeVideo`` of the hit's episode, starting at the hit's second."""
    if hit.youtube_id is None:
        raise NoVideoError(
            f"episode {hit.episode.code} has no valid YouTube id in its file (ids.youtube), "
            "so there is no video to play"
        )
    try:
        from IPython.display import YouTubeVideo
    except ImportError:
        raise MissingExtraError(
            "play() needs IPython, which is not installed; install it with: pip install 'podsearch[notebook]'"
        ) from None
    return YouTubeVideo(hit.youtube_id, start=hit.start)
