"""From a query string to ranked :class:`~podsearch.model.Hit` objects.

Two stages keep long natural queries fast: Whoosh's BM25F finds candidates
with the content words of the query (stop words only cost time there), then a
re-ranker looks at each candidate's own words: how many of the query's words
it has, whether they appear as the phrase or close together, and whether the
section or episode is about them. No Whoosh object leaves this module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from whoosh import qparser
from whoosh import query as wq
from whoosh.fields import Schema

from .documents import paragraph_from_stored
from .errors import QueryError
from .model import EpisodeGroup, EpisodeInfo, Hit, Paragraph, Results, Snippet
from .records import episode_from_json
from .schema import EPISODE, PARAGRAPH, fold, make_schema, stem, terms, word_spans

#: Queries longer than this are refused (a long quote is ~1,800 characters).
MAX_QUERY_CHARS = 2_000
#: At most this many words of a query are searched.
MAX_QUERY_TERMS = 64
#: Candidates the first stage hands to the re-ranker.
CANDIDATES = 64
#: Fields a query may name (``speaker:alexey``); the rest of the schema is internal.
QUERY_FIELDS = ("text", "speaker", "guest", "season", "episode")
#: Characters around the matched words in a snippet.
SNIPPET_CHARS = 240
SORTS = ("relevance", "date")

# Function words: dropped from the candidate stage of a query that has other
# words (they match most paragraphs), kept for phrases and re-ranking.
STOP_WORDS = frozenset(
    stem(fold(word))
    for word in """a an and are as at be but by can could did do does for from had has have he
    her him his how i if in into is it its just me my not of on or our she so some such than that
    the their them then there these they this to too us very was we were what when where which
    who why will with would you your yours""".split()
)


@dataclass(frozen=True)
class Filters:
    """Restrictions on which moments may match (``None`` means any)."""

    speaker: str | None = None
    guest: str | None = None
    season: int | None = None
    episode: int | None = None
    after: date | None = None
    before: date | None = None


# --- parsing ------------------------------------------------------------------------------


def _parser() -> qparser.QueryParser:
    schema = make_schema()
    visible = Schema(**{name: schema[name] for name in QUERY_FIELDS})
    parser = qparser.QueryParser("text", visible, group=qparser.OrGroup)
    # "+word" / "-word" only at the start of a word: "full-stack" is two words, not "full -stack".
    parser.add_plugin(
        qparser.PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+(?=\S)", minusexpr=r"(?:^|(?<=[\s(]))-(?=\S)")
    )
    parser.add_plugin(qparser.GtLtPlugin())
    parser.remove_plugin_class(qparser.EveryPlugin)  # "*:*" would rank every paragraph
    return parser


_PARSER = _parser()
_SYNTAX = re.compile(r"""["()*:+\-^~\[\]{}<>=]|\b(?:AND|OR|NOT|TO)\b""")


def parse(text: str) -> wq.Query:
    """The Whoosh query for a query string; raises :class:`QueryError` with a reason.

    Syntax that Whoosh cannot make sense of is read literally (as plain words).
    """
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if not text:
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    try:
        parsed = _PARSER.parse(text)
        _check(parsed)
    except QueryError:
        raise
    except (qparser.QueryParserError, ValueError, TypeError, IndexError, RecursionError):
        parsed = None
    if parsed is None or parsed is wq.NullQuery or not _has_positive(parsed):
        literal = _SYNTAX.sub(" ", text)
        words = terms(literal)
        if not words:
            raise QueryError("the query has no words to search for")
        parsed = wq.Or([wq.Term("text", word) for word in dict.fromkeys(words)])
    return parsed


def _check(node: wq.Query) -> None:
    """Refuse what would be slow: bare or one-letter wildcards, too many words."""
    count = 0
    for leaf in (item for item in _walk(node) if item.is_leaf()):
        count += 1
        if isinstance(leaf, (wq.Wildcard, wq.Prefix)):
            stem_text = re.split(r"[*?]", leaf.text, maxsplit=1)[0]
            if len(stem_text) < 2:
                raise QueryError(f"'{leaf.text}' is too broad; give at least two letters before '*'")
        if isinstance(leaf, (wq.Regex, wq.FuzzyTerm)):
            raise QueryError("regular expressions and fuzzy terms are not supported")
    if count > MAX_QUERY_TERMS:
        raise QueryError(f"the query has {count} terms; the limit is {MAX_QUERY_TERMS}")


def _has_positive(node: wq.Query) -> bool:
    if isinstance(node, wq.Not):
        return False
    if isinstance(node, wq.AndNot):
        return _has_positive(node.a)
    if node.is_leaf():
        return node is not wq.NullQuery
    return any(_has_positive(child) for child in node.children())


def positive_terms(node: wq.Query) -> list[str]:
    """The text-field terms the user wants to see (in query order, no negations)."""
    found: list[str] = []

    def walk(item: wq.Query) -> None:
        if isinstance(item, wq.Not):
            return
        if isinstance(item, wq.AndNot):
            walk(item.a)
            return
        if isinstance(item, wq.Phrase) and item.fieldname == "text":
            found.extend(item.words)
        elif isinstance(item, (wq.Term, wq.Prefix, wq.Wildcard)) and item.fieldname == "text":
            found.append(item.text)
        elif not item.is_leaf():
            for child in item.children():
                walk(child)

    walk(node)
    return found


def phrases(node: wq.Query) -> list[list[str]]:
    """The quoted phrases of the query, as lists of terms."""
    return [list(leaf.words) for leaf in _walk(node) if isinstance(leaf, wq.Phrase)]


def _walk(node: wq.Query) -> Iterable[wq.Query]:
    yield node
    if not node.is_leaf():
        for child in node.children():
            yield from _walk(child)


def _candidate_query(node: wq.Query) -> wq.Query:
    """Drop stop words from a top-level OR of words, unless nothing else is left."""
    if isinstance(node, wq.Or):
        content = [
            child
            for child in node.subqueries
            if not (isinstance(child, wq.Term) and child.fieldname == "text" and child.text in STOP_WORDS)
        ]
        if content and len(content) < len(node.subqueries):
            return wq.Or(content) if len(content) > 1 else content[0]
    return node


# --- filters --------------------------------------------------------------------------------


def _filter_query(filters: Filters, episodes: EpisodeCatalog) -> wq.Query:
    """Whoosh filter restricting matches to paragraphs that pass the filters."""
    parts: list[wq.Query] = [wq.Term("kind", PARAGRAPH)]
    if filters.speaker:
        parts.extend(wq.Term("speaker", word) for word in filters.speaker.lower().split())
    if filters.guest:
        parts.extend(wq.Term("guest", word) for word in filters.guest.lower().split())
    if filters.season is not None:
        parts.append(wq.NumericRange("season", filters.season, filters.season))
    if filters.episode is not None:
        parts.append(wq.NumericRange("episode", filters.episode, filters.episode))
    if filters.after or filters.before:
        ids = [
            info.id
            for info in episodes.all()
            if info.date_added
            and (filters.after is None or info.date_added >= filters.after)
            and (filters.before is None or info.date_added <= filters.before)
        ]
        parts.append(wq.Or([wq.Term("eid", eid) for eid in ids]) if ids else wq.NullQuery)
    return wq.And(parts)


# --- the episode catalogue ---------------------------------------------------------------------


class EpisodeCatalog:
    """Episode descriptions read from one searcher, on demand."""

    def __init__(self, searcher: Any) -> None:
        self._searcher = searcher
        self._infos: dict[str, EpisodeInfo] = {}
        self._complete = False

    def get(self, eid: str) -> EpisodeInfo:
        """The description of one indexed episode."""
        info = self._infos.get(eid)
        if info is None:
            stored = self._searcher.document(kind=EPISODE, eid=eid)
            info = self._infos[eid] = episode_from_json(stored["meta"])
        return info

    def all(self) -> list[EpisodeInfo]:
        """Every indexed episode."""
        if not self._complete:
            for stored in self._searcher.documents(kind=EPISODE):
                if stored["eid"] not in self._infos:
                    self._infos[stored["eid"]] = episode_from_json(stored["meta"])
            self._complete = True
        return list(self._infos.values())


# --- searching ------------------------------------------------------------------------------


def search(
    searcher: Any,
    text: str,
    *,
    limit: int = 10,
    filters: Filters = Filters(),
    group_by: str | None = None,
    sort: str = "relevance",
    context: int = 0,
) -> Results:
    """Run a query on an open searcher and return our own :class:`Results`."""
    began = time.perf_counter()
    if limit < 1:
        raise QueryError("the limit must be at least 1")
    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
    if group_by not in (None, "episode"):
        raise QueryError(f"unknown grouping {group_by!r}; use 'episode'")
    if context < 0:
        raise QueryError("context must be 0 or more paragraphs")
    parsed = parse(text)
    episodes = EpisodeCatalog(searcher)
    wanted = positive_terms(parsed)
    matcher = _Ranker(wanted, phrases(parsed))

    first = searcher.search(
        _candidate_query(parsed),
        limit=max(CANDIDATES, limit) if sort == "relevance" and not group_by else None,
        filter=_filter_query(filters, episodes),
        terms=False,
    )
    total = len(first) if first.has_exact_length() else first.estimated_length()
    scored = [(matcher.score(hit.score, searcher.stored_fields(hit.docnum)), hit.docnum) for hit in first]
    scored.sort(key=lambda pair: -pair[0])

    def make(score: float, docnum: int) -> Hit:
        return _hit(searcher, docnum, score, episodes, wanted, context)

    if group_by == "episode":
        groups = _group(scored, make, searcher, limit)
        hits = tuple(hit for group in groups for hit in group.hits[:1])
    else:
        if sort == "date":
            scored = _by_date(scored, searcher, episodes)
        hits = tuple(make(score, docnum) for score, docnum in scored[:limit])
        groups = ()
    return Results(
        query=text,
        hits=hits,
        total=total,
        suggestion=None,
        elapsed=time.perf_counter() - began,
        groups=groups,
    )


def _by_date(scored: list[tuple[float, int]], searcher: Any, episodes: EpisodeCatalog) -> list[tuple[float, int]]:
    eids = searcher.reader().column_reader("eid")

    def key(pair: tuple[float, int]) -> tuple[date, float]:
        info = episodes.get(eids[pair[1]])
        return (info.date_added or date.min, -searcher.stored_fields(pair[1])["hit"][1])

    return sorted(scored, key=key, reverse=True)


def _group(scored: list[tuple[float, int]], make: Any, searcher: Any, limit: int) -> tuple[EpisodeGroup, ...]:
    eids = searcher.reader().column_reader("eid")
    by_episode: dict[str, list[tuple[float, int]]] = {}
    for score, docnum in scored:
        by_episode.setdefault(eids[docnum], []).append((score, docnum))
    ranked = sorted(by_episode.values(), key=lambda pairs: -(pairs[0][0] + 0.1 * sum(s for s, _ in pairs[1:4])))
    groups = []
    for pairs in ranked[:limit]:
        hits = tuple(make(score, docnum) for score, docnum in pairs[:3])
        groups.append(EpisodeGroup(episode=hits[0].episode, hits=hits, count=len(pairs), score=pairs[0][0]))
    return tuple(groups)


class _Ranker:
    """Second-stage score of one candidate from its own words."""

    def __init__(self, wanted: Sequence[str], quoted: Sequence[Sequence[str]]) -> None:
        self.wanted = [w for w in dict.fromkeys(wanted) if "*" not in w and "?" not in w]
        self.content = [w for w in self.wanted if w not in STOP_WORDS] or self.wanted
        self.ordered = [w for w in wanted if "*" not in w]
        self.quoted = [list(p) for p in quoted]

    def score(self, base: float, stored: dict[str, Any]) -> float:
        if not self.content:
            return base
        words = terms(stored["text"])
        present = set(words)
        coverage = sum(1 for w in self.content if w in present) / len(self.content)
        section = set(terms(stored.get("section") or ""))
        about = sum(1 for w in self.content if w in section) / len(self.content)
        run = _longest_run(words, self.ordered) if len(self.ordered) > 1 else 0
        phrase = run / len(self.ordered) if len(self.ordered) > 1 else 0.0
        return base * (0.3 + coverage**2) * (1 + 0.5 * phrase) * (1 + 0.2 * about)


def _longest_run(words: list[str], wanted: list[str]) -> int:
    """The longest stretch of the query's word sequence found in order in the text."""
    if not words or not wanted:
        return 0
    positions: dict[str, list[int]] = {}
    for index, word in enumerate(words):
        positions.setdefault(word, []).append(index)
    best = 0
    for start in range(len(wanted)):
        for position in positions.get(wanted[start], ()):
            length = 1
            while (
                start + length < len(wanted)
                and position + length < len(words)
                and words[position + length] == wanted[start + length]
            ):
                length += 1
            best = max(best, length)
    return best


def _hit(
    searcher: Any,
    docnum: int,
    score: float,
    episodes: EpisodeCatalog,
    wanted: Sequence[str],
    context: int,
) -> Hit:
    stored = searcher.stored_fields(docnum)
    number, start, estimated, speaker, speaker_name, _ = stored["hit"]
    info = episodes.get(stored["eid"])
    text = stored["text"]
    spans = _spans(text, wanted)
    chapter = info.chapter_at(start)
    before, after = _context(searcher, docnum, stored, context) if context else ((), ())
    return Hit(
        episode=info,
        text=text,
        start=start,
        estimated=estimated,
        speaker=speaker,
        speaker_name=speaker_name,
        section=stored.get("section"),
        chapter=chapter.name if chapter else None,
        score=score,
        spans=spans,
        snippet=snippet(text, spans),
        paragraph=number,
        before=before,
        after=after,
    )


def _spans(text: str, wanted: Sequence[str]) -> tuple[tuple[int, int], ...]:
    exact = {w for w in wanted if "*" not in w and "?" not in w}
    prefixes = tuple(w.split("*")[0] for w in wanted if "*" in w)
    return tuple(
        (begin, end)
        for begin, end, term in word_spans(text)
        if term in exact or (prefixes and fold(text[begin:end]).startswith(prefixes))
    )


def snippet(text: str, spans: Sequence[tuple[int, int]], width: int = SNIPPET_CHARS) -> Snippet:
    """A window of about ``width`` characters around the densest group of matches."""
    if len(text) <= width:
        return Snippet(text, tuple(spans))
    begin = 0
    if spans:
        best = max(range(len(spans)), key=lambda i: sum(1 for s in spans[i:] if s[1] - spans[i][0] <= width))
        begin = max(0, spans[best][0] - width // 4)
    end = min(len(text), begin + width)
    begin = max(0, end - width)
    # widen to word boundaries
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - begin
    inside = tuple((a + shift, b + shift) for a, b in spans if a >= begin and b <= end)
    return Snippet(prefix + text[begin:end] + suffix, inside)


def _context(
    searcher: Any, docnum: int, stored: dict[str, Any], count: int
) -> tuple[tuple[Paragraph, ...], tuple[Paragraph, ...]]:
    """The paragraphs just before and after a hit, in order.

    An episode's paragraphs are written as consecutive documents, so the
    neighbours are usually ``docnum ± i``; each one is checked, and the slow
    path reads the whole episode when the layout is not as expected.
    """
    number = stored["hit"][0]
    eid = stored["eid"]
    reader = searcher.reader()
    neighbours: dict[int, Paragraph] = {}
    for offset in range(-count, count + 1):
        candidate = docnum + offset
        if offset == 0 or not 0 <= candidate < reader.doc_count_all() or reader.is_deleted(candidate):
            continue
        fields = reader.stored_fields(candidate)
        if fields.get("eid") == eid and "hit" in fields and fields["hit"][0] == number + offset:
            neighbours[number + offset] = paragraph_from_stored(fields)
    expected = [n for n in range(number - count, number + count + 1) if n != number and n >= 0]
    if any(n not in neighbours for n in expected):
        for fields in searcher.documents(kind=PARAGRAPH, eid=eid):
            if abs(fields["hit"][0] - number) <= count and fields["hit"][0] != number:
                neighbours[fields["hit"][0]] = paragraph_from_stored(fields)
    before = tuple(neighbours[n] for n in sorted(neighbours) if n < number)
    after = tuple(neighbours[n] for n in sorted(neighbours) if n > number)
    return before, after

