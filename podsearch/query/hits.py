"""Building :class:`~podsearch.model.Hit` objects from stored paragraph documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podsearch.index.documents import paragraph_from_stored
from podsearch.index.schema import PARAGRAPH
from podsearch.model import EpisodeInfo, Hit, Paragraph, Snippet
from podsearch.text import WORD, fold, stem

#: Characters around the matched words in a snippet.
SNIPPET_CHARS = 240


def make_hit(
    searcher: Any,
    docnum: int,
    stored: dict[str, Any],
    score: float,
    info: EpisodeInfo,
    wanted: Sequence[str],
    context: int,
) -> Hit:
    """The hit for one paragraph document (its stored fields given), with highlights."""
    number, start, estimated, speaker, speaker_name, _ = stored["hit"]
    text = stored["text"]
    known = stored["terms"].split() if "terms" in stored else None
    spans = match_spans(text, wanted, known)
    chapter = info.chapter_at(start)
    before, after = neighbours(searcher, docnum, stored, context) if context else ((), ())
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


def match_spans(
    text: str, wanted: Sequence[str], known_terms: list[str] | None = None
) -> tuple[tuple[int, int], ...]:
    """Character ranges of the words whose terms the query asked for (``prefix*`` included)."""
    exact = {w for w in wanted if "*" not in w and "?" not in w}
    prefixes = tuple(w.split("*")[0].split("?")[0] for w in wanted if "*" in w or "?" in w)
    words = list(WORD.finditer(text))
    if known_terms is None or len(known_terms) != len(words):
        known_terms = [stem(fold(word.group())) for word in words]
    return tuple(
        (word.start(), word.end())
        for word, term in zip(words, known_terms)
        if term in exact or (prefixes and fold(word.group()).startswith(prefixes))
    )


def snippet(text: str, spans: Sequence[tuple[int, int]], width: int = SNIPPET_CHARS) -> Snippet:
    """A window of about ``width`` characters around the densest group of matches."""
    if len(text) <= width:
        return Snippet(text, tuple(spans))
    begin = 0
    if spans:
        begin = max(0, spans[_densest(spans, width)][0] - width // 4)
    end = min(len(text), begin + width)
    begin = max(0, end - width)
    while begin > 0 and not text[begin - 1].isspace():  # widen to whole words
        begin -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - begin
    inside = tuple((a + shift, b + shift) for a, b in spans if a >= begin and b <= end)
    return Snippet(prefix + text[begin:end] + suffix, inside)


def _densest(spans: Sequence[tuple[int, int]], width: int) -> int:
    """The index of the span that starts the window of ``width`` characters holding the most spans.

    Spans are in text order and do not overlap, so their ends increase too and
    one sliding pass finds it.
    """
    best = best_count = 0
    end = 0
    for first, (start, _) in enumerate(spans):
        end = max(end, first)
        while end < len(spans) and spans[end][1] - start <= width:
            end += 1
        if end - first > best_count:
            best, best_count = first, end - first
    return best


def neighbours(
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
    found: dict[int, Paragraph] = {}
    for offset in range(-count, count + 1):
        candidate = docnum + offset
        if offset == 0 or not 0 <= candidate < reader.doc_count_all() or reader.is_deleted(candidate):
            continue
        fields = reader.stored_fields(candidate)
        if fields.get("eid") == eid and "hit" in fields and fields["hit"][0] == number + offset:
            found[number + offset] = paragraph_from_stored(fields)
    expected = [n for n in range(number - count, number + count + 1) if n != number and n >= 0]
    if any(n not in found for n in expected):
        for fields in searcher.documents(kind=PARAGRAPH, eid=eid):
            if abs(fields["hit"][0] - number) <= count and fields["hit"][0] != number:
                found[fields["hit"][0]] = paragraph_from_stored(fields)
    before = tuple(found[n] for n in sorted(found) if n < number)
    after = tuple(found[n] for n in sorted(found) if n > number)
    return before, after
