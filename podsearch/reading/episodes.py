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
from dataclasses import dataclass, field
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
from podsearch.timecode import (
    MAX_SECONDS,
    parse_duration,
    parse_time,
    valid_youtube_id,
    youtube_id_from_url,
)

#: Characters per second, used to place untimed paragraphs after the last timed one
#: (about 150 words a minute).
SPEAKING_RATE = 15.0
#: Guest ids longer than this are not looked up in the people folder.
_MAX_GUEST_ID = 100

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SPACES = re.compile(r"\s+")

__all__ = ["MAX_FILE_BYTES", "People", "episode_files", "episode_id", "read_episode", "read_folder"]


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

    Raises :class:`NotAnEpisode` for a file without a transcript and
    :class:`EpisodeError` for anything unreadable; never anything else.
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
    """Each file of a folder as an :class:`Episode`, or the error that stopped it."""
    folder = Path(folder)
    people = people if people is not None else People.beside(folder)
    for path in episode_files(folder):
        try:
            yield read_episode(path, people)
        except EpisodeError as error:
            yield error


def episode_id(path: Path) -> str:
    """An episode's id: its file name without ``.md``."""
    return path.name[:-3] if path.name.endswith(".md") else path.name


# --- the file and its front matter ---------------------------------------------------------


# --- from YAML values to the model ---------------------------------------------------------


def _build_episode(path: Path, data: dict[str, Any], people: People) -> Episode:
    transcript = data.get("transcript")
    if transcript is None:
        raise NotAnEpisode(path, "no transcript")
    if not isinstance(transcript, list):
        raise NotAnEpisode(path, f"the transcript is a {kind_of(transcript)}, not a list")

    guests = _strings(data.get("guests"))
    guest_names = tuple(people.name(guest) or guest for guest in guests)
    turns = _turns(transcript, _full_names(guest_names))
    if not turns:
        raise NotAnEpisode(path, "the transcript has no lines")

    ids = data.get("ids") if isinstance(data.get("ids"), dict) else {}
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    title = _text(data.get("title")) or episode_id(path)
    return Episode(
        id=episode_id(path),
        title=title,
        short_title=_text(data.get("short")) or title,
        season=_whole_number(data.get("season")),
        number=_whole_number(data.get("episode")),
        guests=guests,
        guest_names=guest_names,
        youtube_id=valid_youtube_id(ids.get("youtube")) or youtube_id_from_url(links.get("youtube")),
        date_added=_date(data.get("dateadded")),
        duration=parse_duration(data.get("duration")),
        topics=_strings(data.get("topics")),
        description=_text(data.get("description")),
        chapters=_chapters(data.get("quotableClips")),
        path=str(path),
        turns=turns,
    )


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
    for item in items:
        if not isinstance(item, dict):
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
    """``"Alexey:"`` and ``" Alexey"`` are both ``"Alexey"``; non-text is no speaker."""
    if not isinstance(value, str):
        return None
    name = _tidy(value).rstrip(":").strip()
    return name or None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(text for text in (_text(item) for item in value) if text)


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 1_000_000:
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    return None


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
