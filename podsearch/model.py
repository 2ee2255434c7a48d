"""The data podsearch reads and returns: plain frozen dataclasses.

Nothing here knows about files, Whoosh or terminals. Episodes come from
:mod:`podsearch.reading.episodes`; hits and results from :mod:`podsearch.query`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, overload

from podsearch.timecode import format_time, moment_url


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One transcript line: what was said, and when (whole seconds)."""

    text: str
    start: int
    #: True when the file gave no time and ``start`` was interpolated.
    estimated: bool = False
    #: Position of the paragraph in its episode, from 0.
    number: int = 0

    @property
    def time(self) -> str:
        """The start as a clock time, ``"55:56"``."""
        return format_time(self.start)


@dataclass(frozen=True, slots=True)
class Turn:
    """Consecutive paragraphs by one speaker within one section."""

    speaker: str | None
    paragraphs: tuple[Paragraph, ...]
    #: The latest section header before the turn, if any.
    section: str | None = None
    #: The speaker's full name when the speaker is one of the episode's known guests.
    speaker_name: str | None = None
    #: Position of the turn in its episode, from 0.
    number: int = 0

    @property
    def start(self) -> int:
        """When the turn begins, in seconds."""
        return self.paragraphs[0].start

    @property
    def text(self) -> str:
        """The turn's paragraphs joined by blank lines."""
        return "\n\n".join(p.text for p in self.paragraphs)


@dataclass(frozen=True, slots=True)
class Chapter:
    """A named stretch of an episode (the files' ``quotableClips``)."""

    name: str
    start: int
    end: int | None = None

    def covers(self, seconds: int) -> bool:
        """Whether the moment lies in this chapter."""
        return self.start <= seconds and (self.end is None or seconds < self.end)


@dataclass(frozen=True)
class EpisodeInfo:
    """What describes an episode, without its transcript."""

    id: str
    title: str
    short_title: str = ""
    season: int | None = None
    number: int | None = None
    #: Guest ids as in the file (``mihaileric``).
    guests: tuple[str, ...] = ()
    #: Guest full names, from the people folder where there is one (else the ids).
    guest_names: tuple[str, ...] = ()
    #: A validated 11-character YouTube id, or ``None``.
    youtube_id: str | None = None
    date_added: date | None = None
    #: True when the file gives no date and ``date_added`` was estimated from the neighbouring
    #: episodes (see :mod:`podsearch.index.dating`).
    date_estimated: bool = False
    #: Length in seconds, when the file says.
    duration: int | None = None
    topics: tuple[str, ...] = ()
    description: str = ""
    chapters: tuple[Chapter, ...] = ()
    #: The file the episode was read from.
    path: str | None = None
    #: A draft: the site does not publish it (its file name starts with ``_``).
    draft: bool = False
    #: False for an episode page without a transcript: its paragraphs are its title,
    #: description and chapters.
    transcript: bool = True
    #: Earlier file names of the episode (without ``.md``): ``show`` accepts them.
    aliases: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """``"S05E05"``, or the id when season or number is unknown."""
        if self.season is None or self.number is None:
            return self.id
        return f"S{self.season:02d}E{self.number:02d}"

    def url(self, seconds: int = 0) -> str | None:
        """The YouTube link at that second, or ``None`` when the id is unknown."""
        return moment_url(self.youtube_id, seconds)

    def chapter_at(self, seconds: int) -> Chapter | None:
        """The chapter covering the moment, if the episode has chapters."""
        covering = [c for c in self.chapters if c.covers(seconds)]
        return covering[-1] if covering else None

    def info(self) -> EpisodeInfo:
        """This episode's description alone (drops the transcript of an :class:`Episode`)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(EpisodeInfo)}
        return EpisodeInfo(**values)


@dataclass(frozen=True)
class Episode(EpisodeInfo):
    """An episode with its transcript as speaker turns."""

    turns: tuple[Turn, ...] = ()

    @property
    def paragraphs(self) -> tuple[Paragraph, ...]:
        """Every paragraph in order."""
        return tuple(p for turn in self.turns for p in turn.paragraphs)


@dataclass(frozen=True, slots=True)
class Snippet:
    """A short excerpt of a hit's text, with the matched words as ``(start, end)`` offsets."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Hit:
    """One ranked moment: where in which episode someone said the matching words."""

    episode: EpisodeInfo
    text: str
    start: int
    estimated: bool = False
    speaker: str | None = None
    speaker_name: str | None = None
    section: str | None = None
    chapter: str | None = None
    score: float = 0.0
    #: Matched words as ``(start, end)`` character offsets into :attr:`text`.
    spans: tuple[tuple[int, int], ...] = ()
    #: A window of :attr:`text` around the best match.
    snippet: Snippet | None = None
    #: Position of the paragraph in its episode.
    paragraph: int = 0
    #: Paragraphs just before and after (see ``context=``).
    before: tuple[Paragraph, ...] = ()
    after: tuple[Paragraph, ...] = ()
    #: How the hit matched the query: ``"words"``, ``"meaning"`` (no word highlighted) or ``"both"``.
    matched: str = "words"

    @property
    def youtube_id(self) -> str | None:
        """The episode's validated YouTube id."""
        return self.episode.youtube_id

    @property
    def url(self) -> str | None:
        """``https://www.youtube.com/watch?v=<id>&t=<start>s``, or ``None`` without an id."""
        return self.episode.url(self.start)

    @property
    def time(self) -> str:
        """The start as a clock time, ``"55:56"``."""
        return format_time(self.start)

    @property
    def who(self) -> str | None:
        """The speaker's full name when known, else the name in the transcript."""
        return self.speaker_name or self.speaker

    def to_record(self) -> dict[str, Any]:
        """The hit as plain JSON-ready values (the fields of ``--json``)."""
        from podsearch.records import hit_record

        return hit_record(self)

    def play(self) -> Any:
        """An embeddable YouTube player starting at this moment (needs IPython)."""
        from podsearch.output.notebook import player

        return player(self)

    def _repr_html_(self) -> str:
        from podsearch.output.notebook import hits_html

        return hits_html([self])

    def __repr__(self) -> str:
        """``Hit(S05E05 40:33 Alexey: 'Full-stack data scientists are…')``: one short line."""
        text = " ".join(self.text.split())
        if len(text) > REPR_TEXT:
            text = text[: REPR_TEXT - 1] + "…"
        time = self.time + ("~" if self.estimated else "")
        return f"Hit({self.episode.code} {time} {self.who or '?'}: {text!r})"


@dataclass(frozen=True)
class EpisodeGroup:
    """An episode's hits when results are grouped by episode."""

    episode: EpisodeInfo
    hits: tuple[Hit, ...]
    #: How many moments of the episode matched (may exceed ``len(hits)``).
    count: int
    score: float


#: Characters of a hit's text in its ``repr``, and hits listed in a ``Results`` ``repr``.
REPR_TEXT = 60
REPR_HITS = 10


def plural(count: int, word: str) -> str:
    """``"1 moment"``, ``"33 moments"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Results(Sequence[Hit]):
    """The ranked hits of one query; a sequence of :class:`Hit`."""

    query: str
    hits: tuple[Hit, ...] = ()
    #: How many moments matched in all (``len(self)`` is at most the limit).
    total: int = 0
    #: A corrected query when some words were not found as typed, else ``None``.
    suggestion: str | None = None
    #: Seconds the search took.
    elapsed: float = 0.0
    #: With ``group_by="episode"``: the episodes in rank order.
    groups: tuple[EpisodeGroup, ...] = ()
    #: Episodes among the hits whose date a date filter or ``sort="date"`` used was estimated
    #: (their files give none).
    estimated_dates: tuple[str, ...] = ()

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Hit, ...]: ...
    def __getitem__(self, index: int | slice) -> Hit | tuple[Hit, ...]:
        return self.hits[index]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def summary(self, quote_query: bool = False) -> str:
        """``33 moments matched, showing 10 (16 ms)``, with the query after "matched" if asked."""
        text = plural(self.total, "moment") + " matched"
        if quote_query:
            text += f" {self.query!r}"
        if self.groups:
            text += f", showing {plural(len(self.groups), 'episode')}"
        elif self.total > len(self):
            text += f", showing {len(self)}"
        text += f" ({self.elapsed * 1000:.0f} ms)"
        if self.estimated_dates:
            text += f"; dates estimated (~) for {plural(len(self.estimated_dates), 'episode')}"
        return text

    def __repr__(self) -> str:
        """``Results('mlops', 33 matched, showing 10)`` and one short line per hit."""
        lines = [f"Results({self.query!r}, {self.total:,} matched, showing {len(self)})"]
        lines.extend(f"  {position}. {hit!r}" for position, hit in enumerate(self.hits[:REPR_HITS], 1))
        if len(self) > REPR_HITS:
            lines.append(f"  … {len(self) - REPR_HITS} more")
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """Each hit as a plain dict, with the same fields as ``podsearch --json``."""
        from podsearch.records import hit_record

        return [hit_record(hit) for hit in self.hits]

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per hit (needs ``pip install 'podsearch[pandas]'``)."""
        from podsearch.output.notebook import to_pandas

        return to_pandas(self)

    def _repr_html_(self) -> str:
        from podsearch.output.notebook import results_html

        return results_html(self)


@dataclass(frozen=True, slots=True)
class Failure:
    """A file that could not be indexed, and why."""

    path: str
    message: str


@dataclass(frozen=True)
class UpdateReport:
    """What an index update did, episode ids by outcome."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[Failure, ...] = ()
    #: Episodes whose file was renamed (same id; read again only when its content changed too).
    renamed: tuple[str, ...] = ()
    #: Files that are not episodes (a template, a draft that does not read), and why; not failures.
    skipped: tuple[Failure, ...] = ()
    #: Paragraphs written (those of added and updated episodes).
    paragraphs: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    folders: tuple[str, ...] = field(default=())
    #: Why the automatic compaction (a full rebuild) was put off, when it was ('' otherwise).
    postponed: str = ""

    @property
    def changed(self) -> bool:
        """Whether the index content changed."""
        return bool(self.added or self.updated or self.removed or self.renamed)

    @property
    def ok(self) -> bool:
        """Whether every file was read."""
        return not self.failed

    def summary(self) -> str:
        """``"2 added, 1 updated, 0 removed, 197 unchanged, 1 failed"`` (with renamed and skipped when any)."""
        renamed = f"{len(self.renamed)} renamed, " if self.renamed else ""
        skipped = f"{len(self.skipped)} skipped, " if self.skipped else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {renamed}{len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {skipped}{len(self.failed)} failed"
        )


@dataclass(frozen=True)
class VerifyReport:
    """What a full verification of the index found (``podsearch check``)."""

    path: str
    #: the generation verified (``None`` when there is no index)
    generation: int | None
    files: int = 0
    bytes: int = 0
    #: ``"FILE: what is wrong"``, one per damaged file
    damaged: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every file is as its commit recorded it."""
        return not self.damaged

    def summary(self) -> str:
        """``"the index at PATH is sound (9 files, 56.1 MB checked)"`` or what is damaged."""
        checked = f"{self.files} files, {self.bytes / 1e6:.1f} MB checked"
        if self.ok:
            return f"the index at {self.path} is sound ({checked})"
        return (
            f"the index at {self.path} is damaged ({'; '.join(self.damaged)}; {checked}); "
            "repair it with: podsearch index --rebuild"
        )
