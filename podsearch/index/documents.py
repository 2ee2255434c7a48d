"""How an episode is laid out as index documents, and how it is read back.

Each paragraph is one document carrying its turn (speaker, section) and the
episode fields that queries filter on; each episode adds one document holding
its description, its source path and the file's hash. Everything needed to
rebuild the :class:`~podsearch.model.Episode` is stored, so ``show`` and a
rebuild that meets a broken file can use the indexed copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from podsearch.index.schema import EPISODE, PARAGRAPH
from podsearch.model import Episode, EpisodeInfo, Paragraph, Turn
from podsearch.records import episode_from_json, episode_json


class HitFields(NamedTuple):
    """What a paragraph document stores for its hit, in its ``hit`` field.

    Stored as a plain tuple (a pickle that names no podsearch class) and read
    back through this type, so every reader uses the names.
    """

    #: Position of the paragraph in its episode, from 0.
    number: int
    #: Start, in whole seconds.
    start: int
    #: Whether the start was interpolated.
    estimated: bool
    speaker: str | None
    #: The speaker's full name, when a known guest.
    speaker_name: str | None
    #: Position of the turn in its episode, from 0.
    turn: int


def hit_fields(stored: dict[str, Any]) -> HitFields:
    """The named hit fields of a paragraph document's stored fields."""
    return HitFields(*stored["hit"])


def _guest_terms(info: EpisodeInfo) -> str:
    return " ".join((*info.guests, *info.guest_names))


def _about(episode: Episode) -> str:
    """What the episode is about: title, topics, description and section headers."""
    headers = dict.fromkeys(turn.section for turn in episode.turns if turn.section)
    return "\n".join((episode.title, *episode.topics, episode.description, *headers))


def episode_documents(episode: Episode, path: str, sha: str) -> Iterator[dict[str, Any]]:
    """The documents to index for one episode: its own, then one per paragraph."""
    shared = {
        "eid": episode.id,
        "season": episode.season,
        "episode": episode.number,
        "guest": _guest_terms(episode),
    }
    yield {
        "kind": EPISODE,
        "about": _about(episode),
        "meta": episode_json(episode.info()),
        "path": path,
        "sha": sha,
        "counts": (len(episode.turns), sum(len(turn.paragraphs) for turn in episode.turns)),
        **shared,
    }
    for turn in episode.turns:
        speaker = " ".join(filter(None, (turn.speaker, turn.speaker_name)))
        for paragraph in turn.paragraphs:
            yield {
                "kind": PARAGRAPH,
                "text": paragraph.text,
                "section": turn.section,
                "speaker": speaker or None,
                "paragraph": paragraph.number,
                "hit": tuple(
                    HitFields(
                        number=paragraph.number,
                        start=paragraph.start,
                        estimated=paragraph.estimated,
                        speaker=turn.speaker,
                        speaker_name=turn.speaker_name,
                        turn=turn.number,
                    )
                ),
                **shared,
            }


def paragraph_from_stored(stored: dict[str, Any]) -> Paragraph:
    """A paragraph document's stored fields as a :class:`Paragraph`."""
    hit = hit_fields(stored)
    return Paragraph(text=stored["text"], start=hit.start, estimated=hit.estimated, number=hit.number)


def episode_from_stored(meta: str, paragraphs: Iterable[dict[str, Any]]) -> Episode:
    """Rebuild an :class:`Episode` from its stored description and paragraph documents."""
    info = episode_from_json(meta)
    turns: list[Turn] = []
    current: list[Paragraph] = []
    current_key: tuple[Any, ...] | None = None
    for stored in sorted(paragraphs, key=lambda s: hit_fields(s).number):
        hit = hit_fields(stored)
        key = (hit.turn, hit.speaker, hit.speaker_name, stored.get("section"))
        if current and key != current_key:
            turns.append(_turn(current, current_key))
            current = []
        current.append(paragraph_from_stored(stored))
        current_key = key
    if current:
        turns.append(_turn(current, current_key))
    values = {name: getattr(info, name) for name in info.__dataclass_fields__}
    return Episode(**values, turns=tuple(turns))


def _turn(paragraphs: list[Paragraph], key: tuple[Any, ...] | None) -> Turn:
    number, speaker, speaker_name, section = key  # type: ignore[misc]
    return Turn(
        speaker=speaker,
        paragraphs=tuple(paragraphs),
        section=section,
        speaker_name=speaker_name,
        number=number,
    )
