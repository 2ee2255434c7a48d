"""The search options of a page or API request, read from its query string and written back.

Every state of the search page is a URL: :meth:`SearchParams.url` rebuilds the
query string of a state (with changes) for links such as "more", the suggestion
and the grouping toggle. Bad values raise :class:`~podsearch.errors.QueryError`,
which the app answers with status 400 and the one-line reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from podsearch.errors import QueryError

#: Page size of the search page; "more" adds as many again.
PAGE = 20
#: The most moments one request may ask for (as ``podsearch --limit``).
MAX_LIMIT = 1000
#: The most context paragraphs one API request may ask for (as ``podsearch --context``).
MAX_CONTEXT = 20
#: Longest accepted value of any one parameter; the query parser refuses queries over 2,000 characters.
MAX_VALUE_CHARS = 4000
SORTS = ("relevance", "date")


def _text(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name, "").strip()
    if len(value) > MAX_VALUE_CHARS:
        raise QueryError(f"{name} is {len(value):,} characters long; the limit is {MAX_VALUE_CHARS:,}")
    return value or None


def _number(values: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    value = values.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not low <= int(value[:12]) <= high:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, not {value[:40]!r}")
    return int(value)


def _date(values: Mapping[str, str], name: str) -> date | None:
    value = values.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:40])
    except ValueError:
        raise QueryError(f"{name} must be a date like 2023-01-31, not {value[:40]!r}") from None


@dataclass(frozen=True)
class SearchParams:
    """One search as the page and the API take it (``/?q=…&guest=…&season=…&by=episode``)."""

    q: str = ""
    speaker: str | None = None
    guest: str | None = None
    season: int | None = None
    episode: int | None = None
    after: date | None = None
    before: date | None = None
    sort: str = "relevance"
    by_episode: bool = False
    limit: int = PAGE
    context: int = 0
    #: words, meaning or hybrid; None: the library's default (hybrid when the index has vectors)
    mode: str | None = None

    @classmethod
    def parse(cls, values: Mapping[str, str], *, default_limit: int = PAGE) -> SearchParams:
        """Read and check a request's query string; raises :class:`QueryError` on a bad value."""
        sort = values.get("sort", "").strip() or "relevance"
        if sort not in SORTS:
            raise QueryError(f"sort must be relevance or date, not {sort[:40]!r}")
        by = values.get("by", values.get("group_by", "")).strip()
        if by not in ("", "episode", "moment"):
            raise QueryError(f"by must be episode or moment, not {by[:40]!r}")
        limit = _number(values, "limit", 1, MAX_LIMIT)
        mode = values.get("mode", "").strip() or None
        if mode not in (None, "words", "meaning", "hybrid"):
            raise QueryError(f"mode must be words, meaning or hybrid, not {mode[:40]!r}")
        return cls(
            q=_text(values, "q") or "",
            speaker=_text(values, "speaker"),
            guest=_text(values, "guest"),
            season=_number(values, "season", 0, 2**31 - 1),
            episode=_number(values, "episode", 0, 2**31 - 1),
            after=_date(values, "after"),
            before=_date(values, "before"),
            sort=sort,
            by_episode=by == "episode",
            limit=default_limit if limit is None else limit,
            context=_number(values, "context", 0, MAX_CONTEXT) or 0,
            mode=mode,
        )

    def search_options(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`podsearch.Index.search`."""
        return {
            "limit": self.limit,
            "speaker": self.speaker,
            "guest": self.guest,
            "season": self.season,
            "episode": self.episode,
            "after": self.after,
            "before": self.before,
            "group_by": "episode" if self.by_episode else None,
            "sort": self.sort,
            "context": self.context,
            "mode": self.mode,
        }

    @property
    def filtered(self) -> bool:
        """Whether any filter besides the query is set (the page opens its filters then)."""
        return (
            any(
                value is not None
                for value in (self.speaker, self.guest, self.season, self.episode, self.after, self.before)
            )
            or self.sort != "relevance"
        )

    def query_string(self, **changes: Any) -> str:
        """The URL query string of this state (with ``changes``); default values are left out."""
        state = dataclasses.replace(self, **changes)
        pairs: list[tuple[str, str]] = [("q", state.q)]
        for name in ("speaker", "guest", "season", "episode", "after", "before"):
            value = getattr(state, name)
            if value is not None:
                pairs.append((name, value.isoformat() if isinstance(value, date) else str(value)))
        if state.sort != "relevance":
            pairs.append(("sort", state.sort))
        if state.by_episode:
            pairs.append(("by", "episode"))
        if state.limit != PAGE:
            pairs.append(("limit", str(state.limit)))
        if state.mode is not None:
            pairs.append(("mode", state.mode))
        return urlencode(pairs)

    def url(self, **changes: Any) -> str:
        """``/?…``: the search page in this state (with ``changes``)."""
        return "/?" + self.query_string(**changes)
