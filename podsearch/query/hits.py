"""The last stage: hits with snippets and context, grouped by episode or ordered by date."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date

from podsearch.index.catalog import EpisodeCatalog
from podsearch.index.engine import StoredParagraph
from podsearch.model import EpisodeGroup, Hit, Paragraph, Snippet
from podsearch.query.tuning import CANDIDATES, GROUP_HITS, GROUP_OTHERS_WEIGHT
from podsearch.text import WORD, fold, stem

#: Characters around the matched words in a snippet.
SNIPPET_CHARS = 240

#: Reads a stored paragraph by document number.
Reader = Callable[[int], StoredParagraph]


def make_hit(
    catalog: EpisodeCatalog,
    read: Reader,
    doc: int,
    score: float,
    wanted: Sequence[str],
    context: int,
) -> Hit:
    """The hit for one paragraph document, with highlights and ``context`` paragraphs each side."""
    paragraph = read(doc)
    info = catalog.info(catalog.episode_of(doc))
    hit = paragraph.hit
    spans = match_spans(paragraph.text, wanted, paragraph.terms)
    chapter = info.chapter_at(hit.start)
    before, after = neighbours(catalog, read, doc, context) if context else ((), ())
    return Hit(
        episode=info,
        text=paragraph.text,
        start=hit.start,
        estimated=hit.estimated,
        speaker=hit.speaker,
        speaker_name=hit.speaker_name,
        section=paragraph.section,
        chapter=chapter.name if chapter else None,
        score=score,
        spans=spans,
        snippet=snippet(paragraph.text, spans),
        paragraph=hit.number,
        before=before,
        after=after,
    )


class HitMaker:
    """The hits of one search, each made once: ahead of time (:meth:`ahead`) while the search waits
    for its vector search, then given their final score."""

    def __init__(self, catalog: EpisodeCatalog, read: Reader, wanted: Sequence[str], context: int) -> None:
        self._catalog, self._read, self._wanted, self._context = catalog, read, wanted, context
        self._made: dict[int, Hit] = {}

    def ahead(self, docs: Iterable[int], done: Callable[[], bool]) -> None:
        """Make the hits of ``docs`` in turn until ``done()`` says the search can go on."""
        for doc in docs:
            if done():
                return
            if doc not in self._made:
                self._made[doc] = make_hit(self._catalog, self._read, doc, 0.0, self._wanted, self._context)

    def __call__(self, score: float, doc: int) -> Hit:
        made = self._made.get(doc)
        if made is None:
            return make_hit(self._catalog, self._read, doc, score, self._wanted, self._context)
        return replace(made, score=score)


def match_spans(text: str, wanted: Sequence[str], known_terms: list[str] | None = None) -> tuple[tuple[int, int], ...]:
    """Character ranges of the words whose terms the query asked for (``prefix*`` included)."""
    exact = {w for w in wanted if "*" not in w and "?" not in w}
    prefixes = tuple(w.split("*")[0].split("?")[0] for w in wanted if "*" in w or "?" in w)
    words = list(WORD.finditer(text))
    if known_terms is None or len(known_terms) != len(words):
        known_terms = [stem(fold(word.group())) for word in words]
    return tuple(
        (word.start(), word.end())
        for word, term in zip(words, known_terms, strict=True)
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
    catalog: EpisodeCatalog, read: Reader, doc: int, count: int
) -> tuple[tuple[Paragraph, ...], tuple[Paragraph, ...]]:
    """The paragraphs just before and after a hit, in order, found by their (episode, paragraph) keys."""
    episode, number = catalog.episode_of(doc), catalog.number(doc)
    found: dict[int, Paragraph] = {}
    for other in range(number - count, number + count + 1):
        at = catalog.doc_at(episode, other, doc) if other != number else None
        if at is not None:
            stored = read(at)
            found[other] = Paragraph(
                text=stored.text, start=stored.hit.start, estimated=stored.hit.estimated, number=other
            )
    before = tuple(found[n] for n in sorted(found) if n < number)
    after = tuple(found[n] for n in sorted(found) if n > number)
    return before, after


def estimated_dates(hits: Sequence[Hit], dated: bool) -> tuple[str, ...]:
    """The ids of the hits' episodes whose estimated dates a date filter or order relied on."""
    if not dated:
        return ()
    return tuple(dict.fromkeys(hit.episode.id for hit in hits if hit.episode.date_estimated))


# --- ordering and grouping ------------------------------------------------------------------


def by_date(matches: list[tuple[float, int]], catalog: EpisodeCatalog) -> list[tuple[float, int]]:
    """Newest episodes first (by id on the same day); within an episode, in the order of the conversation."""

    def key(pair: tuple[float, int]) -> tuple[date, int, int]:
        episode = catalog.episode_of(pair[1])
        return (catalog.info(episode).date_added or date.min, episode, -catalog.number(pair[1]))

    return sorted(matches, key=key, reverse=True)


def one_per_episode(
    matches: list[tuple[float, int]], episode_of: Callable[[int], int], limit: int
) -> list[tuple[float, int]]:
    """The best candidates, plus each further episode's best match until ``limit`` episodes have one.

    Grouping ranks episodes by their re-ranked moments: the first candidates
    alone may come from one or two episodes when a few are all about the query.
    """
    chosen = list(matches[:CANDIDATES])
    seen = {episode_of(doc) for _, doc in chosen}
    for pair in matches[CANDIDATES:]:
        if len(seen) >= limit:
            break
        episode = episode_of(pair[1])
        if episode not in seen:
            seen.add(episode)
            chosen.append(pair)
    return chosen


def distinct(pairs: Iterable[tuple[float, int]], make: Callable[[float, int], Hit], limit: int) -> tuple[Hit, ...]:
    """The first ``limit`` hits of ``pairs``, each text of an episode once.

    A transcript may say the same line twice at different moments (a question asked
    again): one moment of it is enough, and the next result takes the other's place.
    """
    seen: set[tuple[str, str]] = set()
    hits: list[Hit] = []
    for score, doc in pairs:
        if len(hits) == limit:
            break
        hit = make(score, doc)
        key = (hit.episode.id, hit.text)
        if key not in seen:
            seen.add(key)
            hits.append(hit)
    return tuple(hits)


def group(
    ranked: list[tuple[float, int]],
    matches: list[tuple[float, int]],
    episode_of: Callable[[int], int],
    make: Callable[[float, int], Hit],
    limit: int,
) -> tuple[EpisodeGroup, ...]:
    """Episodes ranked by their best moments, with how many of their moments matched."""
    counts: dict[int, int] = {}
    for _, doc in matches:
        episode = episode_of(doc)
        counts[episode] = counts.get(episode, 0) + 1
    best: dict[int, list[tuple[float, int]]] = {}
    for score, doc in ranked:
        best.setdefault(episode_of(doc), []).append((score, doc))
    others = GROUP_HITS - 1
    order = sorted(
        best, key=lambda e: -(best[e][0][0] + GROUP_OTHERS_WEIGHT * sum(s for s, _ in best[e][1 : 1 + others]))
    )
    groups = []
    for episode in order[:limit]:
        hits = distinct(best[episode], make, GROUP_HITS)
        groups.append(
            EpisodeGroup(episode=hits[0].episode, hits=hits, count=counts[episode], score=best[episode][0][0])
        )
    return tuple(groups)
