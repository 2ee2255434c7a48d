"""Reading episode files into :class:`~podsearch.model.Episode` objects.

An episode file is markdown with YAML front matter. The files are written by
people, so the reader is forgiving about layout (a stray line before the opening
``---``, CRLF line endings, a byte-order mark, a closing ``---`` without a final
newline) and strict about trust: YAML is loaded with a safe loader only, every
value is type-checked, and anything unreadable becomes an :class:`EpisodeError`
naming the file and, where known, the line.

Reading the file and its YAML safely (size caps, the hardened loader, alias
bombs) is :mod:`podsearch.frontmatter`'s job; this module turns the checked
values into the model.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from podsearch.errors import EpisodeError, NotAnEpisode
from podsearch.model import Chapter, Episode, Paragraph, Turn
from podsearch.reading.folders import people_folder
from podsearch.reading.frontmatter import (
    MAX_FILE_BYTES,
    check_file_name,
    decode_text,
    front_matter,
    kind_of,
    read_text,
)
from podsearch.reading.identity import Identity, file_stem, identity_of
from podsearch.timecode import (
    MAX_SECONDS,
    parse_duration,
    parse_time,
)

#: Characters per second, used to place untimed paragraphs after the last timed one
#: (about 150 words a minute).
SPEAKING_RATE = 15.0
#: Guest ids longer than this are not looked up in the people folder.
_MAX_GUEST_ID = 100
#: A ``who`` longer than this is a misplaced line, not a name (one corpus file has one).
MAX_SPEAKER = 100
#: A line repeated within this many lines of its other copy is one moment said once.
REPEAT_WINDOW = 2

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SPACES = re.compile(r"\s+")

__all__ = ["MAX_FILE_BYTES", "People", "episode_files", "read_episode", "read_folder"]


@dataclass
class People:
    """Guest ids → full names, read lazily from a people folder (``people/mihaileric.md``)."""

    folder: Path | None
    _names: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def beside(cls, episodes_folder: Path) -> People:
        """The guests of an episodes folder (see :func:`~podsearch.reading.folders.people_folder`)."""
        return cls(people_folder(episodes_folder))

    def name(self, guest_id: str) -> str | None:
        """The guest's full name, or ``None`` when unknown."""
        if self.folder is None or len(guest_id) > _MAX_GUEST_ID or not _SAFE_NAME.fullmatch(guest_id):
            return None
        if guest_id not in self._names:
            self._names[guest_id] = self._read_name(self.folder / f"{guest_id}.md")
        return self._names[guest_id]

    @staticmethod
    def _read_name(path: Path) -> str | None:
        try:
            data = front_matter(path, read_text(path))
        except EpisodeError:
            return None
        title = data.get("title")
        return _tidy(title) if isinstance(title, str) else None


def read_episode(path: Path | str, people: People | None = None, raw: bytes | None = None) -> Episode:
    """Read one episode file, or parse ``raw``, the bytes already read from it.

    The episode's id is its identity's key (:mod:`podsearch.reading.identity`);
    the indexer may give it a longer one when another file claims the same.
    A page without a transcript is read by its metadata (see
    :func:`_metadata_turns`). Raises :class:`NotAnEpisode` for a file that is
    not an episode page and :class:`EpisodeError` for anything unreadable;
    never anything else.
    """
    path = Path(path)
    check_file_name(path)
    if people is None:
        people = People.beside(path.parent)
    text = read_text(path) if raw is None else decode_text(path, raw)
    data = front_matter(path, text)
    return _build_episode(path, data, people)


def episode_files(folder: Path | str) -> list[Path]:
    """The ``*.md`` files directly inside a folder, sorted by name.

    Only the folder itself is listed (no recursion, so symlink loops cannot trap
    the walk). Raises :class:`EpisodeError` when the folder cannot be listed.
    """
    folder = Path(folder)
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".md"))
    except OSError as error:
        raise EpisodeError(folder, f"cannot list the folder: {error.strerror or error}") from None
    return [folder / name for name in names]


def read_folder(folder: Path | str, people: People | None = None) -> Iterator[Episode | EpisodeError]:
    """Each file of a folder as an :class:`Episode`, or the error that stopped it.

    Two files that claim one id (two episodes coded S03E04) get the ids a fresh
    index of the folder gives them: the first file keeps it, a later one takes
    the next of its :meth:`~podsearch.reading.identity.Identity.candidates`.
    """
    folder = Path(folder)
    people = people if people is not None else People.beside(folder)
    taken: set[str] = set()
    for path in episode_files(folder):
        try:
            episode = read_episode(path, people)
        except EpisodeError as error:
            yield error
            continue
        if episode.id in taken:
            identity = Identity(file_stem(path), episode.season, episode.number, episode.youtube_id)
            episode = replace(episode, id=next(eid for eid in identity.candidates() if eid not in taken))
        taken.add(episode.id)
        yield episode


# --- the file and its front matter ---------------------------------------------------------


# --- from YAML values to the model ---------------------------------------------------------


def _build_episode(path: Path, data: dict[str, Any], people: People) -> Episode:
    transcript = data.get("transcript")
    if transcript is not None and not isinstance(transcript, list):
        raise EpisodeError(path, f"the transcript is a {kind_of(transcript)}, not a list")

    identity = identity_of(path, data)
    guests = _strings(data.get("guests"))
    guest_names = tuple(people.name(guest) or guest for guest in guests)
    title = _text(data.get("title"))
    description = _text(data.get("description"))
    chapters = _chapters(data.get("quotableClips"))
    turns = _turns(transcript or [], _full_names(guest_names))
    spoken = bool(turns)
    if not spoken:
        # an episode page without a transcript (yet): found by what it says about itself
        known = identity.key != identity.stem.lstrip("_") or guests or description or chapters
        if not (title and known):
            raise NotAnEpisode(path, "no transcript" if not transcript else "the transcript has no lines")
        turns = _metadata_turns(title, _text(data.get("intro")) or description, chapters)
    return Episode(
        id=identity.key,
        title=title or file_stem(path),
        short_title=_text(data.get("short")) or title or file_stem(path),
        season=identity.season,
        number=identity.number,
        guests=guests,
        guest_names=guest_names,
        youtube_id=identity.youtube_id,
        date_added=_date(data.get("dateadded")),
        duration=parse_duration(data.get("duration")),
        topics=_strings(data.get("topics")),
        description=description,
        chapters=chapters,
        path=str(path),
        draft=path.name.startswith("_"),
        transcript=spoken,
        turns=turns,
    )


_MARKUP = re.compile(r"<br\s*/?>|</?p>", re.IGNORECASE)


def _metadata_turns(title: str, about: str, chapters: tuple[Chapter, ...]) -> tuple[Turn, ...]:
    """The paragraphs of a page without a transcript: its title and description at the start,
    then each chapter's name at the chapter's start. Nobody speaks them."""
    about = _tidy(_MARKUP.sub(" ", about))
    paragraphs = [Paragraph(text=f"{title}\n\n{about}" if about else title, start=0, number=0)]
    for chapter in chapters:
        paragraphs.append(Paragraph(text=chapter.name, start=chapter.start, number=len(paragraphs)))
    return (Turn(speaker=None, paragraphs=tuple(paragraphs)),)


def _turns(items: list[Any], full_names: dict[str, str]) -> tuple[Turn, ...]:
    """Group ``line`` items into speaker turns; ``header`` items start sections."""
    # First pass: the paragraphs with their raw times, speakers and sections.
    texts: list[str] = []
    times: list[int | None] = []
    speakers: list[str | None] = []
    sections: list[str | None] = []
    breaks: list[bool] = []  # a header came right before this paragraph
    speaker: str | None = None
    section: str | None = None
    after_header = False
    repeated = _repeated_lines(items)
    for position, item in enumerate(items):
        if not isinstance(item, dict) or position in repeated:
            continue
        if "header" in item:
            header = _text(item.get("header"))
            section = header or section
            after_header = True
            continue
        text = _text(item.get("line"))
        if not text:
            continue
        speaker = _speaker(item.get("who")) or speaker
        texts.append(text)
        times.append(_seconds(item.get("sec")) if "sec" in item else None)
        if times[-1] is None and "time" in item:
            times[-1] = _seconds(item.get("time"))
        speakers.append(speaker)
        sections.append(section)
        breaks.append(after_header)
        after_header = False

    # Second pass: times for the untimed paragraphs, then the turns.
    starts = _estimate_times(texts, times)
    turns: list[Turn] = []
    current: list[Paragraph] = []
    for number, text in enumerate(texts):
        if current and (breaks[number] or speakers[number] != speakers[number - 1]):
            turns.append(_turn(current, speakers, sections, full_names, len(turns)))
            current = []
        start, estimated = starts[number]
        current.append(Paragraph(text=text, start=start, estimated=estimated, number=number))
    if current:
        turns.append(_turn(current, speakers, sections, full_names, len(turns)))
    return tuple(turns)


def _repeated_lines(items: list[Any]) -> set[int]:
    """The positions of lines that repeat a nearby line: one moment said once.

    Some files give a line twice, a bare copy (no speaker, no time) next to the
    same text with them, consecutive or interleaved with other repeats. Two
    lines are copies when their text is the same, they are at most
    :data:`REPEAT_WINDOW` lines apart, and neither contradicts the other's
    speaker or time (two people saying "Bye." are two moments). Of a set of
    copies the most complete one is kept (a time first, then a speaker), the
    first of equals.
    """
    lines: list[tuple[int, str, str | None, int | None]] = []  # position, text, speaker, time
    for position, item in enumerate(items):
        if isinstance(item, dict) and "header" not in item:
            text = _tidy(_text(item.get("line")))
            if text:
                time = _seconds(item.get("sec")) if "sec" in item else None
                if time is None and "time" in item:
                    time = _seconds(item.get("time"))
                lines.append((position, text, _speaker(item.get("who")), time))
    repeated: set[int] = set()
    for index, (position, text, speaker, time) in enumerate(lines):
        rank = (time is not None, speaker is not None)
        for other in range(max(0, index - REPEAT_WINDOW), min(len(lines), index + REPEAT_WINDOW + 1)):
            _, other_text, other_speaker, other_time = lines[other]
            if other == index or other_text != text:
                continue
            if None not in (speaker, other_speaker) and speaker != other_speaker:
                continue
            if None not in (time, other_time) and time != other_time:
                continue
            other_rank = (other_time is not None, other_speaker is not None)
            if other_rank > rank or (other_rank == rank and other < index):
                repeated.add(position)
                break
    return repeated


def _turn(
    paragraphs: list[Paragraph],
    speakers: list[str | None],
    sections: list[str | None],
    full_names: dict[str, str],
    number: int,
) -> Turn:
    first = paragraphs[0].number
    speaker = speakers[first]
    return Turn(
        speaker=speaker,
        paragraphs=tuple(paragraphs),
        section=sections[first],
        speaker_name=full_names.get(speaker.casefold()) if speaker else None,
        number=number,
    )


def _estimate_times(texts: list[str], times: list[int | None]) -> list[tuple[int, bool]]:
    """Give every paragraph a start; untimed ones are interpolated by text length.

    An untimed paragraph lies between the previous timed paragraph and the next
    one, in proportion to the characters spoken in between (the previous timed
    paragraph's own text included). After the last timed paragraph, or where the
    next time goes backwards, the speaking rate places it instead. Times that go
    backwards are kept as the file gives them.
    """
    # Prefix sums of text lengths and the next timed paragraph, so that long
    # untimed runs cost linear time.
    offsets = [0]
    for text in texts:
        offsets.append(offsets[-1] + len(text))
    next_timed: list[int | None] = [None] * len(times)
    upcoming: int | None = None
    for index in range(len(times) - 1, -1, -1):
        next_timed[index] = upcoming
        if times[index] is not None:
            upcoming = index

    starts: list[tuple[int, bool]] = []
    anchor_time, anchor_offset = 0, 0  # last known time, and where its paragraph starts
    for index, given in enumerate(times):
        if given is not None:
            starts.append((given, False))
            anchor_time, anchor_offset = given, offsets[index]
            continue
        spoken = offsets[index] - anchor_offset
        later = next_timed[index]
        next_time = times[later] if later is not None else None
        if later is not None and next_time is not None and next_time >= anchor_time:
            span = offsets[later] - anchor_offset
            estimate = anchor_time + (next_time - anchor_time) * (spoken / span if span else 0.0)
        else:
            estimate = anchor_time + spoken / SPEAKING_RATE
        starts.append((min(MAX_SECONDS, int(estimate)), True))
    return starts


def _chapters(value: Any) -> tuple[Chapter, ...]:
    chapters = []
    for item in value if isinstance(value, list) else ():
        if not isinstance(item, dict):
            continue
        name = _text(item.get("name"))
        start = _seconds(item.get("startOffset"))
        if name and start is not None:
            chapters.append(Chapter(name=name, start=start, end=_seconds(item.get("endOffset"))))
    return tuple(sorted(chapters, key=lambda c: c.start))


def _full_names(guest_names: Iterable[str]) -> dict[str, str]:
    """Map how a guest may appear as speaker (full or first name) to the full name."""
    names: dict[str, str] = {}
    first_names: dict[str, list[str]] = {}
    for name in guest_names:
        names[name.casefold()] = name
        first_names.setdefault(name.split()[0].casefold(), []).append(name)
    for first, full in first_names.items():
        if len(full) == 1 and full[0].casefold() != first:  # ambiguous first names stay as said
            names.setdefault(first, full[0])
    return names


# --- checked scalar values -----------------------------------------------------------------


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _text(value: Any) -> str:
    """A scalar as tidy text; lists, mappings and missing values become ``""``."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _speaker(value: Any) -> str | None:
    """``"Alexey:"`` and ``" Alexey"`` are both ``"Alexey"``; non-text is no speaker, nor is
    a paragraph put where the name belongs (longer than :data:`MAX_SPEAKER`)."""
    if not isinstance(value, str):
        return None
    name = _tidy(value).rstrip(":").strip()
    return name if name and len(name) <= MAX_SPEAKER else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(text for text in (_text(item) for item in value) if text)


def _seconds(value: Any) -> int | None:
    """A time in whole seconds from an int, float or clock string; garbage is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        value = parse_time(value)
    if isinstance(value, int) and 0 <= value <= MAX_SECONDS:
        return value
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None
