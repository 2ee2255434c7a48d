"""Model objects as plain JSON-ready values, and back.

One place decides the field names of ``--json``, ``--jsonl``, ``to_records()``,
``to_pandas()`` and the episode descriptions stored in the index. JSON output is
ASCII-only (``ensure_ascii``), so no raw control character from a transcript
can reach a terminal through ``podsearch --json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from podsearch.model import Chapter, EpisodeInfo, Hit, Paragraph, Results


def episode_record(info: EpisodeInfo) -> dict[str, Any]:
    """An episode's description as plain values."""
    return {
        "id": info.id,
        "code": info.code,
        "title": info.title,
        "short_title": info.short_title,
        "season": info.season,
        "number": info.number,
        "guests": list(info.guests),
        "guest_names": list(info.guest_names),
        "youtube_id": info.youtube_id,
        "date_added": info.date_added.isoformat() if info.date_added else None,
        "date_estimated": info.date_estimated,
        "duration": info.duration,
        "topics": list(info.topics),
        "description": info.description,
        "chapters": [[c.name, c.start, c.end] for c in info.chapters],
        "path": info.path,
        "draft": info.draft,
        "transcript": info.transcript,
        "aliases": list(info.aliases),
    }


def episode_from_record(record: dict[str, Any]) -> EpisodeInfo:
    """The inverse of :func:`episode_record`."""
    added = record.get("date_added")
    return EpisodeInfo(
        id=record["id"],
        title=record["title"],
        short_title=record.get("short_title", ""),
        season=record.get("season"),
        number=record.get("number"),
        guests=tuple(record.get("guests", ())),
        guest_names=tuple(record.get("guest_names", ())),
        youtube_id=record.get("youtube_id"),
        date_added=date.fromisoformat(added) if added else None,
        date_estimated=bool(record.get("date_estimated", False)),
        duration=record.get("duration"),
        topics=tuple(record.get("topics", ())),
        description=record.get("description", ""),
        chapters=tuple(Chapter(name, start, end) for name, start, end in record.get("chapters", ())),
        path=record.get("path"),
        draft=bool(record.get("draft", False)),
        transcript=bool(record.get("transcript", True)),
        aliases=tuple(record.get("aliases", ())),
    )


def episode_json(info: EpisodeInfo) -> str:
    """An episode's description as a JSON string (stored in the index)."""
    return json.dumps(episode_record(info), ensure_ascii=False)


def episode_from_json(text: str) -> EpisodeInfo:
    """The inverse of :func:`episode_json`."""
    return episode_from_record(json.loads(text))


def paragraph_record(paragraph: Paragraph) -> dict[str, Any]:
    """A context paragraph as plain values."""
    return {
        "text": paragraph.text,
        "start": paragraph.start,
        "time": paragraph.time,
        "estimated": paragraph.estimated,
        "number": paragraph.number,
    }


def hit_record(hit: Hit) -> dict[str, Any]:
    """Every field of a hit as plain values (``--json``, ``to_records()``)."""
    episode = hit.episode
    return {
        "episode_id": episode.id,
        "episode_code": episode.code,
        "episode_title": episode.title,
        "season": episode.season,
        "episode": episode.number,
        "guests": list(episode.guest_names or episode.guests),
        "guest_ids": list(episode.guests),
        "date_added": episode.date_added.isoformat() if episode.date_added else None,
        "date_estimated": episode.date_estimated,
        "youtube_id": hit.youtube_id,
        "url": hit.url,
        "start": hit.start,
        "time": hit.time,
        "estimated": hit.estimated,
        "speaker": hit.speaker,
        "speaker_name": hit.speaker_name,
        "who": hit.who,
        "section": hit.section,
        "chapter": hit.chapter,
        "score": round(hit.score, 4),
        "text": hit.text,
        "spans": [list(span) for span in hit.spans],
        "snippet": hit.snippet.text if hit.snippet else None,
        "snippet_spans": [list(span) for span in hit.snippet.spans] if hit.snippet else [],
        "paragraph": hit.paragraph,
        "before": [paragraph_record(p) for p in hit.before],
        "after": [paragraph_record(p) for p in hit.after],
        "matched": hit.matched,
    }


#: The keys of :func:`hit_record`, in order: the columns of ``to_pandas()``.
HIT_FIELDS = (
    "episode_id", "episode_code", "episode_title", "season", "episode", "guests", "guest_ids",
    "date_added", "date_estimated", "youtube_id", "url", "start", "time", "estimated", "speaker", "speaker_name",
    "who", "section", "chapter", "score", "text", "spans", "snippet", "snippet_spans",
    "paragraph", "before", "after", "matched",
)  # fmt: skip


def results_record(results: Results) -> dict[str, Any]:
    """The document of ``podsearch --json``: the query, counts, suggestion and every hit."""
    document: dict[str, Any] = {
        "query": results.query,
        "total": results.total,
        "suggestion": results.suggestion,
        "elapsed_ms": round(results.elapsed * 1000, 2),
        "hits": [hit_record(hit) for hit in results.hits],
    }
    if results.groups:
        document["groups"] = [
            {
                "episode": episode_record(group.episode),
                "count": group.count,
                "score": round(group.score, 4),
                "hits": [hit_record(hit) for hit in group.hits],
            }
            for group in results.groups
        ]
    return document


def results_json(results: Results) -> str:
    """:func:`results_record` as one line of ASCII-only JSON."""
    return json.dumps(results_record(results), ensure_ascii=True)


def results_jsonl(results: Results) -> Iterator[str]:
    """One line of ASCII-only JSON per hit (``podsearch --jsonl``)."""
    for hit in results.hits:
        yield json.dumps(hit_record(hit), ensure_ascii=True)


def episodes_json(infos: Sequence[EpisodeInfo], counts: Mapping[str, int]) -> str:
    """``podsearch episodes --json``: every episode's description and paragraph count."""
    return json.dumps([dict(episode_record(info), paragraphs=counts.get(info.id)) for info in infos], ensure_ascii=True)
