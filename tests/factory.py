"""Writing small episode files for tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

#: A transcript item: ``("header", text)`` or ``(who, seconds, text)`` (who/seconds may be None).
Item = tuple[str, str] | tuple[str | None, int | None, str]


#: Front matter of the crafted episodes that the search and command-line tests both
#: index (each test module gives them its own transcript).
VECTORS: dict[str, Any] = dict(
    title="Vector Search in Practice", season=3, number=7, guests=["janedoe"], dateadded="2024-05-01"
)
CONTRACTS: dict[str, Any] = dict(
    title="Data Contracts", season=4, number=2, guests=["bobsmith"], dateadded="2025-01-15", youtube="bbbbbbbbbbb"
)
CAREERS: dict[str, Any] = dict(
    title="From Academia to Industry",
    season=4,
    number=5,
    guests=["carolwhite"],
    dateadded="2023-03-03",
    youtube="ccccccccccc",
)


def write_person(people: Path, guest_id: str, name: str) -> Path:
    """Write ``people/<guest_id>.md`` giving a guest's full name, creating the folder."""
    people.mkdir(parents=True, exist_ok=True)
    path = people / f"{guest_id}.md"
    path.write_text(f'---\ntitle: "{name}"\n---\n', encoding="utf-8")
    return path


def write_episode(
    folder: Path,
    name: str,
    items: Sequence[Item],
    *,
    title: str | None = None,
    season: int = 1,
    number: int = 1,
    guests: Sequence[str] = (),
    youtube: str = "abcdefghijk",
    dateadded: str | None = None,
    chapters: Sequence[tuple[str, int, int]] = (),
    topics: Sequence[str] = (),
) -> Path:
    """Write ``folder/name.md`` as an episode file and return its path."""
    transcript: list[dict[str, object]] = []
    for item in items:
        if item[0] == "header":
            transcript.append({"header": item[1]})
            continue
        who, seconds, text = item  # type: ignore[misc]
        line: dict[str, object] = {"line": text}
        if seconds is not None:
            line["sec"] = seconds
        if who is not None:
            line["who"] = who
        transcript.append(line)
    data: dict[str, object] = {
        "title": title or name.replace("-", " ").title(),
        "season": season,
        "episode": number,
        "guests": list(guests),
        "ids": {"youtube": youtube},
        "transcript": transcript,
    }
    if dateadded:
        data["dateadded"] = dateadded
    if topics:
        data["topics"] = list(topics)
    if chapters:
        data["quotableClips"] = [
            {"name": chapter, "startOffset": start, "endOffset": end} for chapter, start, end in chapters
        ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n", encoding="utf-8")
    return path
