"""Terminal and JSON output: the only module that imports rich.

All transcript-derived text goes into rich ``Text`` objects (never markup
strings) after :func:`~podsearch.sanitize.visible`, so brackets, escape
sequences and control characters in a file are shown, not interpreted. Links
are attached only from validated YouTube ids.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .api import IndexStats
from .model import Episode, EpisodeInfo, Hit, Paragraph, Results, UpdateReport
from .records import episode_record, hit_record
from .sanitize import flat, visible

MATCH_STYLE = "bold yellow"
DIM = "dim"


def console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A console that colours and links only on a terminal and honours ``NO_COLOR``.

    Off a terminal lines are never wrapped, so a long link stays whole.
    """
    target = stream or (sys.stderr if stderr else sys.stdout)
    terminal = target.isatty() and not os.environ.get("NO_COLOR")
    return Console(
        file=target,
        force_terminal=terminal,
        no_color=not terminal,
        color_system="auto" if terminal else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=not terminal,
    )


def episode_label(info: EpisodeInfo) -> str:
    """``"S05E05 · What Researchers and Engineers Can Learn from Each Other"``."""
    return f"{info.code} · {info.title}" if info.code != info.id else info.title


def _highlighted(text: str, spans: Sequence[tuple[int, int]]) -> Text:
    shown = Text(flat(text))
    for begin, end in spans:
        shown.stylize(MATCH_STYLE, begin, end)
    return shown


def _link(url: str | None) -> Text:
    if not url:
        return Text("(no video link)", style=DIM)
    return Text(url, style=f"link {url}")


def _moment(hit: Hit) -> Text:
    line = Text("    ")
    line.append(hit.time + ("~" if hit.estimated else ""), style="bold cyan")
    if hit.estimated:
        line.append(" (estimated)", style=DIM)
    if hit.who:
        line.append(" · ")
        line.append(visible(hit.who), style="green")
    where = hit.chapter or hit.section
    if where:
        line.append(" · ")
        line.append(flat(where), style="italic")
    return line


def _paragraph_line(paragraph: Paragraph) -> Text:
    line = Text("      ")
    line.append(paragraph.time + ("~" if paragraph.estimated else ""), style=DIM)
    line.append("  ")
    line.append(flat(paragraph.text), style=DIM)
    return line


def hit_lines(hit: Hit, rank: int) -> list[Text]:
    """One hit as a few lines: episode, moment, snippet, context and link."""
    head = Text(f"{rank:>2}. ", style="bold")
    head.append(visible(episode_label(hit.episode)), style="bold")
    lines = [head, _moment(hit)]
    lines.extend(_paragraph_line(p) for p in hit.before)
    snippet = hit.snippet
    body = Text("    ")
    body.append_text(_highlighted(snippet.text, snippet.spans) if snippet else Text(flat(hit.text)))
    lines.append(body)
    lines.extend(_paragraph_line(p) for p in hit.after)
    link = Text("    ")
    link.append_text(_link(hit.url))
    lines.append(link)
    return lines


def print_results(results: Results, out: Console, err: Console) -> None:
    """Hits (or episode groups) with a header line; "no moments matched" on stderr."""
    if results.suggestion:
        note = Text("Did you mean: ", style="bold")
        note.append(visible(results.suggestion), style="bold magenta")
        err.print(note)
    if not results.hits:
        err.print("No moments matched " + repr(visible(results.query)) + ".")
        return
    count = f"{results.total} moment{'s' if results.total != 1 else ''} matched"
    shown = f", showing {len(results)}" if results.total > len(results) else ""
    out.print(Text(f"{count}{shown} ({results.elapsed * 1000:.0f} ms)", style=DIM))
    if results.groups:
        for rank, group in enumerate(results.groups, 1):
            head = Text(f"{rank:>2}. ", style="bold")
            head.append(visible(episode_label(group.episode)), style="bold")
            head.append(f"  {group.count} moment{'s' if group.count != 1 else ''}", style=DIM)
            out.print()
            out.print(head)
            for hit in group.hits:
                for line in hit_lines(hit, rank)[1:]:
                    out.print(line)
        return
    for rank, hit in enumerate(results, 1):
        out.print()
        for line in hit_lines(hit, rank):
            out.print(line)


def results_json(results: Results) -> str:
    """One JSON document: the query, counts, suggestion and every hit's fields."""
    document: dict[str, Any] = {
        "query": results.query,
        "total": results.total,
        "suggestion": results.suggestion,
        "elapsed_ms": round(results.elapsed * 1000, 2),
        "hits": results.to_records(),
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
    # ASCII-only output: no raw control or C1 characters can reach a terminal.
    return json.dumps(document, ensure_ascii=True)


def results_jsonl(results: Results) -> Iterable[str]:
    """One JSON object per hit."""
    for record in results.to_records():
        yield json.dumps(record, ensure_ascii=True)


def print_episode(episode: Episode, out: Console, at: int | None = None, around: int = 0) -> None:
    """The transcript (or the part around ``at`` seconds) with times and links."""
    head = Text(visible(episode_label(episode)), style="bold")
    out.print(head)
    paragraphs = episode.paragraphs
    if at is not None and paragraphs:
        closest = min(range(len(paragraphs)), key=lambda i: (abs(paragraphs[i].start - at), i))
        first, last = max(0, closest - around), min(len(paragraphs), closest + around + 1)
    else:
        closest, first, last = -1, 0, len(paragraphs)
    section = None
    speaker = None
    for turn in episode.turns:
        for paragraph in turn.paragraphs:
            index = paragraph.number
            if not first <= index < last:
                continue
            if turn.section != section and turn.section:
                section = turn.section
                out.print()
                out.print(Text(flat(section), style="bold underline"))
            line = Text()
            line.append(paragraph.time + ("~" if paragraph.estimated else ""), style="bold cyan")
            who = turn.speaker_name or turn.speaker
            if who and who != speaker:
                line.append("  ")
                line.append(visible(who), style="green")
            speaker = who
            url = episode.url(paragraph.start)
            if url:
                line.append("  ")
                line.append_text(_link(url) if index == closest else Text("▶", style=f"link {url}"))
            out.print()
            out.print(line)
            out.print(Text(visible(paragraph.text), style="bold" if index == closest else ""))


def print_episodes(episodes: Sequence[EpisodeInfo], counts: dict[str, int], out: Console) -> None:
    """A table of indexed episodes."""
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("episode", "title", "guests", "added", "paragraphs"):
        table.add_column(column, justify="right" if column == "paragraphs" else "left")
    for info in episodes:
        table.add_row(
            Text(visible(info.code)),
            Text(visible(info.title)),
            Text(visible(", ".join(info.guest_names or info.guests))),
            Text(info.date_added.isoformat() if info.date_added else ""),
            Text(str(counts.get(info.id, ""))),
        )
    out.print(table)


def print_report(report: UpdateReport, out: Console, err: Console, quiet: bool = False) -> None:
    """An update's outcome; failures always go to stderr."""
    for failure in report.failed:
        err.print(Text(f"{visible(failure.path)}: {visible(failure.message)}", style="red"))
    if quiet:
        return
    summary = report.summary() + f"; {report.paragraphs:,} paragraphs indexed in {report.seconds:.2f} s"
    if report.rebuilt:
        summary += " (full rebuild)"
    out.print(summary)


def print_stats(stats: IndexStats, out: Console) -> None:
    """The lines of ``podsearch stats``."""
    rows = [
        ("index", stats.path),
        ("episodes", f"{stats.episodes:,}"),
        ("speaker turns", f"{stats.turns:,}"),
        ("paragraphs", f"{stats.paragraphs:,}"),
        ("size on disk", f"{stats.size_bytes / 1e6:.1f} MB in {stats.segments} segment(s)"),
        ("folders", ", ".join(stats.folders) or "-"),
        ("last update", stats.updated or "-"),
        ("written by", f"podsearch {stats.podsearch_version} (schema {stats.schema_version})"),
    ]
    report = stats.last_report
    if report:
        rows.append(
            (
                "last report",
                f"{len(report.get('added', []))} added, {len(report.get('updated', []))} updated, "
                f"{len(report.get('removed', []))} removed, {report.get('unchanged', 0)} unchanged, "
                f"{len(report.get('failed', []))} failed",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        line = Text(f"{name:<{width}}  ", style="bold")
        line.append(visible(value))
        out.print(line)
    for failure in report.get("failed", []):
        out.print(Text(f"{'':<{width}}  failed: {visible(failure['path'])}: {visible(failure['message'])}"))
