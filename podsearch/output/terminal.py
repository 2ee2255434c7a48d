"""The terminal renderer: results, transcripts, episode lists and stats, with rich.

rich is imported by this module and, for the progress bar only, by
:mod:`podsearch.output.indexing`; nothing outside :mod:`podsearch.output` imports it.
All transcript-derived text goes into rich ``Text`` objects (never markup
strings) after :func:`~podsearch.sanitize.visible`, so brackets, escape
sequences and control characters in a file are shown, not interpreted. Links
are attached only to URLs built from validated YouTube ids
(:func:`~podsearch.timecode.moment_url`). Off a terminal, or with ``NO_COLOR``
set, the console writes plain text: no colour, no hyperlink escapes.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from podsearch.model import (
    Episode,
    EpisodeInfo,
    Hit,
    Paragraph,
    Results,
    plural,
)
from podsearch.output.streams import wants_colour
from podsearch.sanitize import flat, visible

MATCH_STYLE = "bold yellow"
TIME_STYLE = "bold cyan"
DIM = "dim"
#: Line width off a terminal: wide enough that tables never wrap a title.
PLAIN_WIDTH = 10_000
#: The mark after an estimated time (``43:28~``).
ESTIMATED = "~"


class _Console(Console):
    """A rich console that reports a closed pipe (``podsearch … | head -1``) like any other write."""

    def on_broken_pipe(self) -> None:
        # rich's own exits with 1; the command line decides (it exits 0, quietly)
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def console(stream: TextIO | None = None, *, stderr: bool = False) -> Console:
    """A console that colours and links only on a terminal and honours ``NO_COLOR``.

    Off a terminal lines are never wrapped, so a long link stays whole.
    """
    target = stream or (sys.stderr if stderr else sys.stdout)
    terminal = wants_colour(target)
    return _Console(
        file=target,
        force_terminal=terminal,
        no_color=not terminal,
        color_system="auto" if terminal else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=not terminal,
        width=None if terminal else PLAIN_WIDTH,
    )


def episode_label(info: EpisodeInfo) -> str:
    """``"S05E05 · What Researchers and Engineers Can Learn from Each Other"``."""
    return f"{info.code} · {info.title}" if info.code != info.id else info.title


# --- pieces -----------------------------------------------------------------------------------


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> Text:
    """The text on one line, with the matched words in :data:`MATCH_STYLE`."""
    shown = Text(flat(text))
    for begin, end in spans:
        shown.stylize(MATCH_STYLE, begin, end)
    return shown


def link(url: str | None) -> Text:
    """The full URL, clickable where the terminal supports hyperlinks."""
    if not url:
        return Text("(no video link)", style=DIM)
    return Text(url, style=f"link {url}")


def clock(seconds_text: str, estimated: bool, url: str | None, style: str = TIME_STYLE) -> Text:
    """A time such as ``55:56`` (``43:28~`` when estimated), itself a link to the moment."""
    shown = Text(seconds_text + (ESTIMATED if estimated else ""), style=style)
    if url:
        shown.stylize(f"link {url}")
    return shown


def _moment(hit: Hit) -> Text:
    line = Text("    ")
    line.append_text(clock(hit.time, hit.estimated, hit.url))
    if hit.estimated:
        line.append(" (estimated)", style=DIM)
    if hit.who:
        line.append(" · ")
        line.append(flat(hit.who), style="green")
    if hit.section:
        line.append(" · ")
        line.append(flat(hit.section), style="italic")
    if hit.chapter and hit.chapter != hit.section:
        line.append(" · chapter: ", style=DIM)
        line.append(flat(hit.chapter), style="italic")
    return line


def _context_line(paragraph: Paragraph, url: str | None) -> Text:
    line = Text("      ")
    line.append_text(clock(paragraph.time, paragraph.estimated, url, style=DIM))
    line.append("  ")
    line.append(flat(paragraph.text), style=DIM)
    return line


def hit_lines(hit: Hit, rank: int | None = None) -> list[Text]:
    """One hit as a few lines: episode, moment, snippet (or text with context), link.

    Without ``rank`` the episode line is left out (for hits grouped by episode).
    """
    lines: list[Text] = []
    if rank is not None:
        head = Text(f"{rank:>2}. ", style="bold")
        head.append(flat(episode_label(hit.episode)), style="bold")
        lines.append(head)
    lines.append(_moment(hit))
    lines.extend(_context_line(p, hit.episode.url(p.start)) for p in hit.before)
    body = Text("    ")
    if hit.before or hit.after or hit.snippet is None:
        body.append_text(highlighted(hit.text, hit.spans))
    else:
        body.append_text(highlighted(hit.snippet.text, hit.snippet.spans))
    lines.append(body)
    if hit.matched == "meaning":  # found by its meaning: no word of the query to highlight
        lines.append(Text("    (matched by meaning, not by words)", style="dim"))
    lines.extend(_context_line(p, hit.episode.url(p.start)) for p in hit.after)
    url = Text("    ")
    url.append_text(link(hit.url))
    lines.append(url)
    return lines


def header(results: Results) -> Text:
    """``33 moments matched, showing 10 (16 ms)``."""
    return Text(results.summary(), style=DIM)


def emit(out: Console, line: Text) -> None:
    """Print one line; on a terminal, a line that wraps keeps its indentation."""
    if out.is_terminal and line.cell_len > out.width:
        indent = len(line.plain) - len(line.plain.lstrip(" "))
        out.print(Padding(line[indent:], (0, 0, 0, indent), expand=False))
    else:
        out.print(line)


# --- commands ---------------------------------------------------------------------------------


def print_results(results: Results, out: Console, err: Console) -> None:
    """Hits (or episode groups) under a header line; "no moments matched" goes to stderr."""
    suggestion = None
    if results.suggestion:
        suggestion = Text("Did you mean: ", style="bold")
        suggestion.append(flat(results.suggestion), style="bold magenta")
        suggestion.append("?", style="bold")
    if not results.hits:
        err.print(Text(f"No moments matched {flat(results.query)!r}."))
        if suggestion is not None:
            err.print(suggestion)
        return
    out.print(header(results))
    if suggestion is not None:
        out.print(suggestion)
    if results.groups:
        for rank, group in enumerate(results.groups, 1):
            head = Text(f"{rank:>2}. ", style="bold")
            head.append(flat(episode_label(group.episode)), style="bold")
            head.append(f"  ({plural(group.count, 'moment')})", style=DIM)
            out.print()
            out.print(head)
            for number, hit in enumerate(group.hits):
                if number:
                    out.print()
                for line in hit_lines(hit):
                    emit(out, line)
        return
    for rank, hit in enumerate(results, 1):
        out.print()
        for line in hit_lines(hit, rank):
            emit(out, line)


def closest_paragraph(paragraphs: Sequence[Paragraph], seconds: int) -> int:
    """The index of the paragraph nearest that moment (the earlier one on a tie)."""
    return min(range(len(paragraphs)), key=lambda i: (abs(paragraphs[i].start - seconds), i))


def print_episode(episode: Episode, out: Console, at: int | None = None, around: int = 0) -> None:
    """The transcript (or the paragraphs around ``at`` seconds) with times and links.

    Each speaker turn starts with its time, speaker and full link; the other
    paragraphs' times are links on terminals that support them. The paragraph
    closest to ``at`` is marked with ``▶`` and always carries its full link.
    """
    out.print(Text(flat(episode_label(episode)), style="bold"))
    paragraphs = episode.paragraphs
    if not paragraphs:
        return
    if at is not None:
        focus = closest_paragraph(paragraphs, at)
        first, last = max(0, focus - around), min(len(paragraphs), focus + around + 1)
    else:
        focus, first, last = -1, 0, len(paragraphs)
    section: str | None = None
    for turn in episode.turns:
        for place, paragraph in enumerate(turn.paragraphs):
            position = paragraph.number
            if not first <= position < last:
                continue
            if turn.section and turn.section != section:
                section = turn.section
                out.print()
                out.print(Text(flat(section), style="bold underline"))
            url = episode.url(paragraph.start)
            starts_turn = place == 0 or position == first
            line = Text("▶ " if position == focus else "", style="bold")
            line.append_text(clock(paragraph.time, paragraph.estimated, url))
            who = turn.speaker_name or turn.speaker
            if starts_turn and who:
                line.append("  ")
                line.append(flat(who), style="green")
            if url and (starts_turn or position == focus):
                line.append("  ")
                line.append_text(link(url))
            out.print()
            out.print(line)
            out.print(Text(flat(paragraph.text), style="bold" if position == focus else ""))


def print_episodes(episodes: Sequence[EpisodeInfo], counts: dict[str, int], out: Console) -> None:
    """A table of indexed episodes: code, date added, paragraphs, title and guests."""
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("episode", no_wrap=True)
    table.add_column("added", no_wrap=True)
    table.add_column("paragraphs", justify="right", no_wrap=True)
    table.add_column("title", ratio=3)
    table.add_column("guests", ratio=1)
    for info in episodes:
        table.add_row(
            Text(flat(info.code)),
            Text(info.date_added.isoformat() + ("~" if info.date_estimated else "") if info.date_added else "-"),
            Text(f"{counts[info.id]:,}" if info.id in counts else "-"),
            Text(flat(info.title)),
            Text(flat(", ".join(info.guest_names or info.guests)) or "-"),
        )
    if out.is_terminal:
        out.print(table)
    else:  # plain text: no padding after the last column
        with out.capture() as captured:
            out.print(table)
        for line in captured.get().splitlines():
            out.print(line.rstrip())
    out.print(Text(plural(len(episodes), "episode"), style=DIM))


def print_stats(stats: Mapping[str, Any], out: Console) -> None:
    """The lines of ``podsearch stats``, from the fields of :class:`podsearch.IndexStats` (as its JSON has them)."""
    rows = [
        ("index", stats["path"]),
        ("episodes", f"{stats['episodes']:,}"),
        ("speaker turns", f"{stats['turns']:,}"),
        ("paragraphs", f"{stats['paragraphs']:,}"),
        ("size on disk", f"{stats['size_bytes'] / 1e6:.1f} MB in {stats['segments']} segment(s)"),
        ("folders", ", ".join(stats["folders"]) or "-"),
        ("last update", stats["updated"] or "-"),
        ("written by", f"podsearch {stats['podsearch_version']} (schema {stats['schema_version']})"),
    ]
    report = stats["last_report"]
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
