"""Terminal rendering: lines of a hit, colours and links only on terminals, hostile text shown literally."""

from __future__ import annotations

import io
import re

import pytest

from podsearch.model import (
    Episode,
    EpisodeGroup,
    EpisodeInfo,
    Hit,
    Paragraph,
    Results,
    Snippet,
    Turn,
)
from podsearch.output.terminal import (
    console,
    hit_lines,
    print_episode,
    print_episodes,
    print_results,
)
from podsearch.sanitize import flat, visible

from .samples import (
    HOSTILE_SPEAKER,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    INFO,
    TEXT,
    URL,
    make_hit,
)

OSC8 = re.compile(r"\x1b\]8;[^;]*;([^\x1b\x07]*)(?:\x1b\\|\x07)")


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def results(
    *hits: Hit, total: int | None = None, suggestion: str | None = None, query: str = "full-stack data scientist"
) -> Results:
    count = len(hits) if total is None else total
    return Results(query=query, hits=hits, total=count, suggestion=suggestion, elapsed=0.016)


def render(result: Results, *, terminal: bool) -> tuple[str, str]:
    out = FakeTerminal() if terminal else io.StringIO()
    err = FakeTerminal() if terminal else io.StringIO()
    print_results(result, console(out), console(err))
    return out.getvalue(), err.getvalue()


# --- the lines of a hit -----------------------------------------------------------------------


def test_a_hit_is_episode_moment_snippet_and_link() -> None:
    lines = [line.plain for line in hit_lines(make_hit(), 1)]
    assert lines == [
        " 1. S05E05 · What Researchers and Engineers Can Learn from Each Other",
        "    55:56 · Mihail Eric · Choosing between engineering or research · chapter: Career advice",
        "    " + TEXT,
        "    " + URL,
    ]


def test_estimated_time_is_marked_and_speaker_falls_back_to_transcript_name() -> None:
    hit = make_hit(estimated=True, speaker_name=None, chapter=None)
    moment = hit_lines(hit, 2)[1].plain
    assert moment == "    55:56~ (estimated) · Mihail · Choosing between engineering or research"


def test_chapter_alone_is_shown_when_there_is_no_section() -> None:
    moment = hit_lines(make_hit(section=None), 1)[1].plain
    assert moment.endswith("· chapter: Career advice")


def test_without_a_video_id_the_link_line_says_so() -> None:
    info = EpisodeInfo(id="x", title="No video", season=1, number=2, youtube_id=None)
    lines = [line.plain for line in hit_lines(make_hit(info), 1)]
    assert lines[-1] == "    (no video link)"


def test_context_paragraphs_surround_the_whole_text() -> None:
    hit = make_hit(
        snippet=Snippet("…data scientist…", ((1, 5),)),
        before=(Paragraph("What about data?", 3331, False, 87),),
        after=(Paragraph("In one, you're going to be on deployment.", 3389, True, 89),),
    )
    lines = [line.plain for line in hit_lines(hit, 1)]
    assert lines[2] == "      55:31  What about data?"
    assert lines[3] == "    " + TEXT  # the full paragraph, not the snippet
    assert lines[4] == "      56:29~  In one, you're going to be on deployment."
    assert lines[5] == "    " + URL


# --- header, suggestion, nothing matched -------------------------------------------------------


def test_header_counts_moments_and_time() -> None:
    out, err = render(results(make_hit(), total=33), terminal=False)
    assert out.splitlines()[0] == "33 moments matched, showing 1 (16 ms)"
    assert err == ""


def test_header_of_a_single_moment() -> None:
    out, _ = render(results(make_hit()), terminal=False)
    assert out.splitlines()[0] == "1 moment matched (16 ms)"


def test_did_you_mean_follows_the_header() -> None:
    out, _ = render(results(make_hit(), suggestion="full-stack data scientist"), terminal=False)
    assert out.splitlines()[1] == "Did you mean: full-stack data scientist?"


def test_nothing_matched_goes_to_stderr_with_the_suggestion() -> None:
    out, err = render(results(query="data scientsit", suggestion="data scientist"), terminal=False)
    assert out == ""
    assert err.splitlines() == ["No moments matched 'data scientsit'.", "Did you mean: data scientist?"]


def test_groups_show_each_episode_once_with_its_count() -> None:
    first, second = make_hit(), make_hit(start=2433, estimated=False)
    grouped = Results(
        query="data",
        hits=(first,),
        total=27,
        elapsed=0.006,
        groups=(EpisodeGroup(episode=INFO, hits=(first, second), count=27, score=3.5),),
    )
    out, _ = render(grouped, terminal=False)
    lines = out.splitlines()
    assert lines[0] == "27 moments matched, showing 1 episode (6 ms)"
    assert lines[2] == " 1. S05E05 · What Researchers and Engineers Can Learn from Each Other  (27 moments)"
    assert out.count("S05E05") == 1
    assert URL in out and "&t=2433s" in out


# --- terminals, pipes and NO_COLOR ---------------------------------------------------------------


def test_on_a_terminal_the_link_is_clickable_and_printed_in_full() -> None:
    out, _ = render(results(make_hit()), terminal=True)
    assert "\x1b[" in out  # colours
    targets = OSC8.findall(out)
    assert targets and set(targets) <= {URL, ""}
    assert URL in re.sub(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-9;]*m", "", out)


def test_piped_output_has_no_escape_codes() -> None:
    out, err = render(results(make_hit()), terminal=False)
    assert "\x1b" not in out + err
    assert URL in out


def test_no_color_on_a_terminal_means_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out, _ = render(results(make_hit()), terminal=True)
    assert "\x1b" not in out
    assert URL in out


def test_long_lines_are_not_wrapped_off_a_terminal() -> None:
    long_text = " ".join(["data"] * 200)
    hit = make_hit(text=long_text, snippet=Snippet(long_text, ((0, 4),)))
    out, _ = render(results(hit), terminal=False)
    assert "    " + long_text in out.splitlines()


# --- hostile text ----------------------------------------------------------------------------------


def hostile_hit() -> Hit:
    info = EpisodeInfo(id="evil", title=HOSTILE_TITLE, season=1, number=1, youtube_id="abcdefghijk")
    return make_hit(
        info,
        text=HOSTILE_TEXT,
        speaker=HOSTILE_SPEAKER,
        speaker_name=None,
        section="[italic]Section[/italic]\x1b]0;title\x07",
        chapter=None,
        spans=((35, 39),),
        snippet=Snippet(HOSTILE_TEXT, ((35, 39),)),
    )


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_markup_and_escapes_in_transcripts_are_shown_literally(terminal: bool) -> None:
    out, _ = render(results(hostile_hit(), query="[bold]data\x1b[5m"), terminal=terminal)
    plain = re.sub(r"\x1b\[[0-9;]*m|\x1b\]8;[^;]*;[^\x07\x1b]*(?:\x07|\x1b\\)", "", out)
    for literal in (
        "[bold red]Pwned[/bold red]",
        "[link=https://evil.example/]Bob[/link]",
        "[bold]data[/bold]",
        ":smile:",
        "[italic]Section[/italic]",
        "<script>x</script>",
    ):
        assert literal in plain
    assert "␛" in plain and "␇" in plain and "\ufffd" in plain and "␍" in plain and "␀" in plain
    # the only escape sequences left are rich's own colours and links to the validated video
    assert "\x1b" not in plain
    assert "\x9b" not in out and "\u202e" not in out and "\r" not in out and "\x00" not in out
    assert set(OSC8.findall(out)) <= {"https://www.youtube.com/watch?v=abcdefghijk&t=3356s", ""}
    assert "evil.example" not in "".join(OSC8.findall(out))


def test_visible_replaces_every_control_character() -> None:
    text = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\x9b\u200b\u202a\u202e\u2066\ufeff ok"
    shown = visible(text)
    assert shown.endswith(" ok")
    assert "\t" in shown and "\n" in shown
    assert all(ch.isprintable() or ch in "\t\n" for ch in shown)
    assert len(shown) == len(text)
    assert flat("a\nb\tc") == "a b c"


# --- show and episodes -------------------------------------------------------------------------------


def _episode() -> Episode:
    return Episode(
        id="s05e05-researchers-vs-engineers",
        title=INFO.title,
        season=5,
        number=5,
        youtube_id="d9xVXqKq3sU",
        turns=(
            Turn("Alexey", (Paragraph("How should they choose?", 3331, False, 0),), section="Choosing", number=0),
            Turn(
                "Mihail",
                (Paragraph("Be introspective.", 3356, False, 1), Paragraph("Try both.", 3389, True, 2)),
                section="Choosing",
                speaker_name="Mihail Eric",
                number=1,
            ),
            Turn("Alexey", (Paragraph("[bold]Thanks[/bold]\x1b[2J", 3500, False, 3),), section="Wrap-up", number=2),
        ),
    )


def test_show_around_a_moment_marks_it_and_links_each_turn() -> None:
    out = io.StringIO()
    print_episode(_episode(), console(out), at=3360, around=1)
    lines = [line for line in out.getvalue().splitlines() if line]
    assert lines == [
        "S05E05 · What Researchers and Engineers Can Learn from Each Other",
        "Choosing",
        "55:31  Alexey  https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3331s",
        "How should they choose?",
        "▶ 55:56  Mihail Eric  https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s",
        "Be introspective.",
        "56:29~",
        "Try both.",
    ]


def test_show_whole_episode_shows_sections_and_escapes() -> None:
    out = io.StringIO()
    print_episode(_episode(), console(out))
    text = out.getvalue()
    assert "Wrap-up" in text and "[bold]Thanks[/bold]␛[2J" in text and "\x1b" not in text
    assert text.count("https://") == 3  # one per speaker turn


def test_episodes_table_off_a_terminal_has_no_padding() -> None:
    out = io.StringIO()
    print_episodes([INFO], {INFO.id: 122}, console(out))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["episode", "added", "paragraphs", "title", "guests"]
    assert lines[1].split()[:3] == ["S05E05", "-", "122"]
    assert lines[1].endswith("Mihail Eric")
    assert lines[-1] == "1 episode"
    assert all(line == line.rstrip() for line in lines)
