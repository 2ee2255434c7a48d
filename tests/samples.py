"""Hits and episodes built by hand for the rendering and notebook tests (no index needed)."""

from __future__ import annotations

from podsearch.model import Chapter, EpisodeInfo, Hit, Snippet

INFO = EpisodeInfo(
    id="s05e05-researchers-vs-engineers",
    title="What Researchers and Engineers Can Learn from Each Other",
    season=5,
    number=5,
    guests=("mihaileric",),
    guest_names=("Mihail Eric",),
    youtube_id="d9xVXqKq3sU",
    chapters=(Chapter("Career advice", 3300, 3500),),
)
TEXT = "Or if you're doing a full-stack data scientist role, likely, it's gonna be a lot of engineering."
SPANS = ((21, 31), (32, 36), (37, 46))  # full-stack, data, scientist
URL = "https://www.youtube.com/watch?v=d9xVXqKq3sU&t=3356s"

#: Hostile text as it could come from a public episode file.
HOSTILE_TITLE = "[bold red]Pwned[/bold red] \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 <script>x</script>"
HOSTILE_SPEAKER = "[link=https://evil.example/]Bob[/link]\x1b[2J"
HOSTILE_TEXT = "before \x1b[31mred\x1b[0m [bold]data[/bold] :smile: \u202eevil\u202c \x9b31m after \r\x00 data"


def make_hit(info: EpisodeInfo = INFO, **changes: object) -> Hit:
    """Mihail's 55:56 moment of the bundled episode, with any field changed."""
    values: dict[str, object] = dict(
        episode=info,
        text=TEXT,
        start=3356,
        speaker="Mihail",
        speaker_name="Mihail Eric",
        section="Choosing between engineering or research",
        chapter="Career advice",
        score=3.5,
        spans=SPANS,
        snippet=Snippet(TEXT, SPANS),
        paragraph=88,
    )
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]
