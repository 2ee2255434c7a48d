"""SQLite FTS5 BM25 baseline over the same paragraphs podsearch indexes: the query side.

The relevance and latency benchmarks compare podsearch with this baseline. The
table is the one of the indexing benchmark (``benchmarks/index_fts5.py``,
reused here, not duplicated): stdlib :mod:`sqlite3`, an FTS5 table with
``tokenize='porter'`` (Porter stemming over the ``unicode61`` tokenizer), one
row per paragraph of the episodes parsed by podsearch's own reader (so
paragraph numbers agree), beside a plain table of where each row comes from.
Hits are ranked by ``bm25()``.

Making a user's query safe for FTS5
-----------------------------------
FTS5's query language gives meaning to ``AND``/``OR``/``NOT``/``NEAR``, ``-``,
``:`` (column filters), ``*``, ``^``, parentheses and quotes, and rejects many
plain strings (``don't`` is a syntax error). So the query is split into the
tokens FTS5's tokenizer would see (runs of letters and digits) and each token
is written as a quoted string (``"don" "t"``): a quoted token is always a
literal, whatever its text.

The tokens are then combined in one of two ways:

``or``
    ``"a" OR "b" OR "c"``: any paragraph with at least one word, ranked by
    BM25 (more and rarer words score higher). FTS5's own default, implicit
    AND, returns nothing as soon as one word is missing or misspelled, which
    is hopeless for half-remembered or mistyped queries, so OR is the fair
    baseline for natural-language queries.
``and_or``
    AND first (every word), then OR results appended for the remaining
    places when AND found fewer than ``limit`` paragraphs. Paragraphs with
    all the words are ranked first even if BM25 would put a paragraph that
    repeats one rare word higher.

Both are reported; the benchmarks name the better one per query set.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import index_fts5

#: How the query is combined: see the module docstring.
MODES = ("or", "and_or")
#: FTS5's ``unicode61`` tokenizer splits on everything but letters and digits.
_TOKEN = re.compile(r"[^\W_]+")
#: At most this many distinct tokens of a query are used (a long quote is ~300 words).
MAX_TOKENS = 64


def query_tokens(query: str) -> list[str]:
    """The distinct tokens of a query as FTS5 would split them, in order."""
    return list(dict.fromkeys(token.lower() for token in _TOKEN.findall(query)))[:MAX_TOKENS]


def match_expression(query: str, operator: str) -> str | None:
    """A safe FTS5 MATCH expression: each token quoted, joined by ``operator``.

    ``operator`` is ``"OR"`` or ``"AND"``. ``None`` when the query has no tokens.
    """
    tokens = query_tokens(query)
    if not tokens:
        return None
    # Tokens hold only letters and digits, so they never contain a quote; the
    # doubling is what FTS5 would need if they did.
    quoted = ['"' + token.replace('"', '""') + '"' for token in tokens]
    return f" {operator} ".join(quoted)


class Fts5Index:
    """An FTS5 table of paragraphs (``index_fts5``'s layout), in memory unless a path is given."""

    def __init__(self, episodes: Iterable[Any], path: Path | str = ":memory:") -> None:
        began = time.perf_counter()
        self.db = sqlite3.connect(str(path))
        self.db.executescript(index_fts5.SCHEMA)
        with self.db:
            self.count = index_fts5.insert(self.db, episodes)
            self.db.execute("INSERT INTO paragraphs(paragraphs) VALUES ('optimize')")
        #: rowid → (episode id, paragraph number), read once: a join per query would cost more.
        self.places: dict[int, tuple[str, int]] = {
            rowid: (eid, number) for rowid, eid, number in self.db.execute("SELECT rowid, eid, number FROM places")
        }
        self.build_seconds = time.perf_counter() - began

    def _run(self, expression: str, limit: int, snippets: bool) -> list[tuple[str, int, str | None]]:
        snippet = "snippet(paragraphs, 0, '[', ']', '…', 32)" if snippets else "NULL"
        sql = f"SELECT rowid, {snippet} FROM paragraphs WHERE paragraphs MATCH ? ORDER BY bm25(paragraphs) LIMIT ?"
        return [(*self.places[rowid], text) for rowid, text in self.db.execute(sql, (expression, limit))]

    def search(self, query: str, *, limit: int = 10, mode: str = "or", snippets: bool = False) -> list[tuple[str, int]]:
        """The ranked ``(episode id, paragraph number)`` pairs for a query.

        ``mode`` is ``"or"`` or ``"and_or"`` (see the module docstring). With
        ``snippets`` FTS5 also builds a highlighted snippet of each hit, as a
        search engine showing results would (the latency benchmark's setting).
        """
        return [(eid, number) for eid, number, _ in self.search_rows(query, limit=limit, mode=mode, snippets=snippets)]

    def search_rows(
        self, query: str, *, limit: int = 10, mode: str = "or", snippets: bool = False
    ) -> list[tuple[str, int, str | None]]:
        """Like :meth:`search`, with the snippet (or ``None``) as a third item."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        if mode == "or":
            expression = match_expression(query, "OR")
            return self._run(expression, limit, snippets) if expression else []
        expression = match_expression(query, "AND")
        if not expression:
            return []
        found = self._run(expression, limit, snippets)
        if len(found) < limit:
            seen = {(eid, number) for eid, number, _ in found}
            # the AND hits are among the OR hits: ask for enough to fill the gap
            for row in self._run(match_expression(query, "OR") or "", limit + len(found), snippets):
                if (row[0], row[1]) not in seen:
                    found.append(row)
                    if len(found) == limit:
                        break
        return found

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Fts5Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build(episodes: Sequence[Any]) -> Fts5Index:
    """An in-memory FTS5 index of the paragraphs of parsed episodes."""
    return Fts5Index(episodes)
