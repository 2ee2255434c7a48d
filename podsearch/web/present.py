"""What the templates show: hits and transcript text as safe HTML, links, and the player's data.

Escaping is done once, by the helpers notebook HTML already uses
(:func:`~podsearch.output.notebook.marked_html`, :data:`~podsearch.output.notebook.SAFE_URL`):
every transcript string is made visible and HTML-escaped before any ``<mark>``
is added, and the only outside links are YouTube moment URLs that match
``SAFE_URL`` exactly. Everything else reaches the page through Jinja2's autoescaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from podsearch.model import Episode, Hit, Paragraph
from podsearch.output.notebook import SAFE_URL, marked_html
from podsearch.text import WORD, fold, stem

#: Query words never marked on the episode page: they are on every line.
_UNMARKED = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "from", "have", "i", "in", "is", "it",
    "of", "on", "or", "so", "that", "the", "this", "to", "was", "we", "what", "with", "you",
})  # fmt: skip
_OPERATORS = frozenset(("AND", "OR", "NOT"))
_TOKEN = re.compile(r'"[^"]*"?|[^\s()"]+')


def snippet_html(hit: Hit) -> str:
    """The hit's snippet (or whole text) escaped, with the matched words in ``<mark>``."""
    if hit.snippet is not None:
        return marked_html(hit.snippet.text, hit.snippet.spans)
    return marked_html(hit.text, hit.spans)


def moment_url(url: str | None) -> str | None:
    """The YouTube moment link when it is exactly one podsearch builds, else ``None``."""
    return url if url is not None and SAFE_URL.fullmatch(url) else None


def episode_href(episode_id: str, start: int | None = None, query: str = "", paragraph: int | None = None) -> str:
    """``/episodes/<id>?t=<start>&q=<query>#p<paragraph>``: the episode page at a moment."""
    pairs = []
    if start is not None:
        pairs.append(("t", str(start)))
    if query:
        pairs.append(("q", query))
    href = "/episodes/" + quote(episode_id, safe="")
    if pairs:
        href += "?" + urlencode(pairs)
    if paragraph is not None:
        href += f"#p{paragraph}"
    return href


class QueryMarker:
    """Marks a query's words in any text (the episode page), by the index's own analysis.

    Words after ``-`` or ``NOT``, field restrictions (``speaker:…``) and operators
    are left out; ``word*`` marks the words that start with ``word``.
    """

    def __init__(self, query: str) -> None:
        self.stems: set[str] = set()
        self.prefixes: list[str] = []
        negate = False
        for token in _TOKEN.findall(query):
            if token in _OPERATORS:
                negate = token == "NOT"
                continue
            if negate or token.startswith("-") or (":" in token and not token.startswith('"')):
                negate = False
                continue
            for word in WORD.findall(token):
                folded = fold(word)
                if token.endswith("*") and word == WORD.findall(token)[-1]:
                    if len(folded) >= 3:
                        self.prefixes.append(folded)
                elif folded not in _UNMARKED:
                    self.stems.add(stem(folded))

    def __bool__(self) -> bool:
        return bool(self.stems or self.prefixes)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of each query word in the text."""
        found = []
        for match in WORD.finditer(text):
            folded = fold(match.group())
            if stem(folded) in self.stems or any(folded.startswith(p) for p in self.prefixes):
                found.append(match.span())
        return found

    def html(self, text: str) -> str:
        """The text escaped, with the query's words in ``<mark>``."""
        return marked_html(text, self.spans(text) if self else [])


def target_paragraph(paragraphs: Sequence[Paragraph], seconds: int | None) -> int | None:
    """The number of the paragraph playing at ``seconds``: the first of those starting latest at or before it."""
    if seconds is None or not paragraphs:
        return None
    before = [p for p in paragraphs if p.start <= seconds]
    if not before:
        return paragraphs[0].number
    latest = max(p.start for p in before)
    return next(p.number for p in before if p.start == latest)


def guests_line(episode: Episode) -> str:
    """The guests' names, comma-separated (plain text; the template escapes it)."""
    return ", ".join(episode.guest_names or episode.guests)
