"""The Whoosh schema, with Whoosh's view of the one text analysis (:mod:`podsearch.text`).

Text is folded the same way everywhere: lower case, apostrophes dropped
(``don't`` = ``dont``), any other punctuation a word break (``full-stack`` =
``full stack``), then Porter-stemmed. Stop words are *kept*, so a quoted phrase
matches exactly what was said; the query layer leaves them out where they would
only cost time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh import columns, fields
from whoosh.analysis import Analyzer, Token
from whoosh.system import pack_uint

from podsearch.text import WORD, fold, positions_of, stem, terms

#: Bumped whenever the schema or the analysis changes: an index written with
#: another value is rebuilt, never misread.
SCHEMA_VERSION = 5


class PodcastAnalyzer(Analyzer):
    """Whoosh's view of :func:`terms`, used by the query parser and highlighter."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PodcastAnalyzer)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Whoosh's parser does this only for the text of a wildcard or a range:
            # fold it but do not stem it ("embedding*" must not become "emb*").
            token.original = token.text = fold(value)
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for position, match in enumerate(WORD.finditer(value)):
            token.text = stem(fold(match.group()))
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = match.group()
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


class FastText(fields.TEXT):
    """A TEXT field whose indexing skips Whoosh's token-object pipeline.

    Produces exactly what ``TEXT(analyzer=PodcastAnalyzer())`` would, about
    five times faster, which is most of a full rebuild's time.
    """

    def __init__(
        self,
        *,
        stored: bool = False,
        phrase: bool = True,
        field_boost: float = 1.0,
        terms_field: str | None = None,
    ):
        super().__init__(analyzer=PodcastAnalyzer(), phrase=phrase, stored=stored, field_boost=field_boost)
        #: A STORED field that receives the value's terms, space-separated, so the
        #: re-ranker reads them instead of analysing the text again at query time.
        self.terms_field = terms_field

    def term_positions(self, value: str) -> dict[str, list[int]]:
        """Each distinct term of the value with the positions where it occurs."""
        return positions_of(terms(value))

    def encode(self, positions: list[int]) -> bytes:
        """The posting value Whoosh's format would store for these positions."""
        if not self.format.supports("positions"):
            return pack_uint(len(positions))
        if len(positions) == 1:  # most postings: cache the encoding of a lone position
            encoded = _LONE_POSITIONS.get(positions[0])
            if encoded is None:
                encoded = _LONE_POSITIONS[positions[0]] = self.format.encode(positions)
            return encoded
        return self.format.encode(positions)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        """``(term bytes, frequency, weight, encoded value)`` for each distinct term."""
        if not isinstance(value, str):  # lists bypass analysis, as in Whoosh
            yield from super().index(value, **kwargs)
            return
        boost = self.format.field_boost
        for term, found in self.term_positions(value).items():
            yield term.encode("utf-8"), len(found), len(found) * boost, self.encode(found)


_LONE_POSITIONS: dict[int, bytes] = {}


#: ``kind`` values: one document per paragraph, one per episode.
PARAGRAPH, EPISODE = "p", "e"


def _number() -> fields.NUMERIC:
    # One term per value (no trie tiers): these fields hold small numbers that
    # are searched for exactly, and tiers would triple the postings.
    return fields.NUMERIC(int, bits=32, signed=False, shift_step=32)


def make_schema() -> fields.Schema:
    """The index schema (one document per paragraph, plus one per episode).

    Paragraph documents carry their turn's speaker and section; episode
    documents carry the episode's description (JSON) and the file's hash, so a
    single atomic commit updates both the text and the manifest.
    """
    return fields.Schema(
        kind=fields.ID(),
        # the episode's id (its file name), also as a column: with ``paragraph`` it is every
        # document's explicit key (read for all documents at once when an index is opened)
        eid=fields.ID(stored=True, sortable=columns.RefBytesColumn()),
        paragraph=fields.COLUMN(columns.NumericColumn("I")),
        # episode-level fields for the query language
        season=_number(),
        episode=_number(),
        guest=fields.KEYWORD(lowercase=True, scorable=False),
        # the paragraph
        text=FastText(stored=True, terms_field="terms"),
        terms=fields.STORED(),
        section=FastText(stored=True, phrase=False),
        speaker=fields.KEYWORD(lowercase=True, scorable=False),
        # what a hit shows (:class:`podsearch.index.documents.HitFields`)
        hit=fields.STORED(),
        # the episode document: what the episode is about, its description, its source
        about=FastText(phrase=False),
        meta=fields.STORED(),
        path=fields.ID(stored=True),
        sha=fields.STORED(),
        counts=fields.STORED(),  # (turns, paragraphs)
    )
