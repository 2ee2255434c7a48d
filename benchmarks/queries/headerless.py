"""A copy of the corpus without its section headers, for the ``topic`` query set.

Section headers become queries, so the index they are searched in must not
hold them: the copy drops every transcript ``- header:`` item, and also
``quotableClips``, whose chapter names repeat the headers almost word for
word in this corpus. Everything else (titles, descriptions, topics, the
``line`` items) is left as it is, and :func:`same_paragraphs` checks that the
paragraphs keep their texts and numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

import podsearch

_DELIMITER = re.compile(r"^---[ \t]*$", re.MULTILINE)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def strip_headers(text: str) -> str | None:
    """An episode file without its section headers, or ``None`` if it is no episode.

    A page without a transcript is copied as it is.

    The transcript's ``- header:`` items are removed, and so is
    ``quotableClips``, whose chapter names repeat the headers almost word for
    word in this corpus. The front matter is parsed with the safe C loader and
    dumped again; the ``line`` items are untouched, so paragraphs keep their
    texts and numbers (the caller checks that).
    """
    opening = _DELIMITER.search(text)
    closing = _DELIMITER.search(text, opening.end()) if opening else None
    if opening is None or closing is None:
        return None
    try:
        data = yaml.load(text[opening.end() : closing.start()], Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    if not isinstance(data.get("transcript"), list):
        return text  # a page without a transcript (indexed by its metadata) has no headers to drop
    data["transcript"] = [i for i in data["transcript"] if not (isinstance(i, dict) and "header" in i)]
    data.pop("quotableClips", None)
    front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return "---\n" + front + "---\n" + text[closing.end() :].lstrip("\n")


def write_stripped_corpus(source: Path, target: Path) -> int:
    """Write header-free copies of the episode files of ``source`` into ``target``.

    The guests' ``people`` folder beside ``source`` is linked (not copied) beside
    ``target`` so that speaker names resolve the same way. Returns the number of
    files written; files that are unchanged on disk are not rewritten (so an
    index kept between runs sees no change).
    """
    target.mkdir(parents=True, exist_ok=True)
    people = source.parent / "people"
    link = target.parent / "people"
    if people.is_dir() and not link.exists():
        link.symlink_to(people.resolve(), target_is_directory=True)
    written = 0
    for path in sorted(source.glob("*.md")):
        stripped = strip_headers(path.read_text(encoding="utf-8-sig").replace("\r\n", "\n"))
        if stripped is None:
            continue
        out = target / path.name
        if not out.exists() or out.read_text(encoding="utf-8") != stripped:
            out.write_text(stripped, encoding="utf-8")
        written += 1
    return written


def same_paragraphs(a: Sequence[podsearch.Episode], b: Sequence[podsearch.Episode]) -> list[str]:
    """Episode ids whose paragraphs (numbers and texts) differ between two parses."""

    def paragraphs(episodes: Sequence[podsearch.Episode]) -> dict[str, list[tuple[int, str]]]:
        return {e.id: [(p.number, p.text) for t in e.turns for p in t.paragraphs] for e in episodes}

    left, right = paragraphs(a), paragraphs(b)
    return sorted(eid for eid in set(left) | set(right) if left.get(eid) != right.get(eid))
