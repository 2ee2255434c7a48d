"""An episode's identity: the id it keeps however its file is renamed.

The site renames episode files (their slugs follow the titles) but keeps what
names the episode: its season and number, and its YouTube video. So an
episode's id is its code in lower case (``s05e05``); without one, its YouTube
id (``yt-d9xVXqKq3sU``); without either, its file name (a leading ``_`` of a
draft dropped, so that publishing the draft keeps the id). When two files
claim the same id (two episodes coded S03E04), the indexer gives the later
ones a longer id from :meth:`Identity.candidates`.

:func:`read_identity` finds the identity of a file without parsing its
transcript (a few kilobytes of YAML instead of the whole file), so an update
can give every file its id before any of them is indexed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podsearch.errors import EpisodeError
from podsearch.timecode import valid_youtube_id, youtube_id_from_url


@dataclass(frozen=True)
class Identity:
    """What names an episode: its code, its YouTube id, its file name (without ``.md``)."""

    stem: str
    season: int | None = None
    number: int | None = None
    youtube_id: str | None = None

    @property
    def key(self) -> str:
        """The id the episode gets unless another episode has it already."""
        if self.season is not None and self.number is not None:
            return f"s{self.season:02d}e{self.number:02d}"
        if self.youtube_id is not None:
            return f"yt-{self.youtube_id}"
        return self.stem.lstrip("_") or self.stem

    def candidates(self) -> Iterator[str]:
        """Ids to try in turn: the key, then longer ones that tell apart two files with the same key."""
        key = self.key
        yield key
        if self.youtube_id is not None and not key.startswith("yt-"):
            yield f"{key}-{self.youtube_id}"
        stem = self.stem.lstrip("_") or self.stem
        if stem != key:
            yield f"{key}-{stem}"
        for suffix in range(2, 1_000_000):
            yield f"{key}-{suffix}"

    @property
    def named_by_file(self) -> bool:
        """Whether only the file name names the episode (no code, no video; or the file did not read)."""
        return (self.season is None or self.number is None) and self.youtube_id is None

    def owns(self, eid: str) -> bool:
        """Whether an edited file may keep the id ``eid``: one of its candidates, or any id
        when nothing in the file names the episode (an edit that broke its front matter)."""
        key = self.key
        return self.named_by_file or eid == key or eid.startswith(f"{key}-")


def file_stem(path: Path) -> str:
    """A file name without ``.md``."""
    return path.name[:-3] if path.name.endswith(".md") else path.name


def identity_of(path: Path, data: dict[str, Any]) -> Identity:
    """The identity of an episode file from its front matter."""
    ids, links = data.get("ids"), data.get("links")
    ids = ids if isinstance(ids, dict) else {}
    links = links if isinstance(links, dict) else {}
    return Identity(
        stem=file_stem(path),
        season=whole_number(data.get("season")),
        number=whole_number(data.get("episode")),
        youtube_id=valid_youtube_id(ids.get("youtube")) or youtube_id_from_url(links.get("youtube")),
    )


def read_identity(path: Path | str) -> Identity:
    """The identity of an episode file, reading its front matter but not its transcript.

    A file that cannot be read gets the identity of its file name alone
    (reading it for indexing will say what is wrong with it).
    """
    from podsearch.reading.frontmatter import front_matter_head, read_text

    path = Path(path)
    try:
        return identity_of(path, front_matter_head(path, read_text(path)))
    except EpisodeError:
        return Identity(stem=file_stem(path))


def whole_number(value: Any) -> int | None:
    """A season or episode number: a whole number from 0 to 1,000,000, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 1_000_000:
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    return None
