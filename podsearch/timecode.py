"""Times and links: seconds ⇄ ``1:02:57``, YouTube ids, and moment URLs.

Every link podsearch shows is built here, and only from an id that passed
:func:`valid_youtube_id`; nothing from a transcript is ever pasted into a URL.
"""

from __future__ import annotations

import re

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_CLOCK = re.compile(r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)")
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.IGNORECASE)
_YOUTUBE_URL = re.compile(
    r"https?://(?:www\.|m\.)?(?:youtube\.com/watch\?(?:[^#]*&)?v=|youtu\.be/)([A-Za-z0-9_-]{11})(?![A-Za-z0-9_-])"
)

#: The longest moment we accept (a week); larger values are treated as garbage.
MAX_SECONDS = 7 * 24 * 3600
_MAX_DIGITS = len(str(MAX_SECONDS))


def format_time(seconds: int) -> str:
    """``3356`` → ``"55:56"``, ``3777`` → ``"1:02:57"``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def parse_time(text: str) -> int | None:
    """``"55:56"`` → ``3356``, ``"1:02:57"`` → ``3777``, ``"75"`` → ``75``.

    Returns ``None`` for anything that is not a clock time or whole seconds.
    """
    text = text.strip()
    if text.isdigit() and text.isascii():
        if len(text) > _MAX_DIGITS:  # garbage, and int() refuses more than 4,300 digits
            return None
        value = int(text)
        return value if value <= MAX_SECONDS else None
    match = _CLOCK.fullmatch(text)
    if not match:
        return None
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def parse_duration(text: object) -> int | None:
    """ISO 8601 durations as used by the corpus: ``"PT01H03M37S"`` → ``3817``."""
    if not isinstance(text, str):
        return None
    match = _ISO_DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + secs  # may be inf for absurd values
    return int(total) if total <= MAX_SECONDS else None


def valid_youtube_id(value: object) -> str | None:
    """The value itself if it is an 11-character YouTube id, else ``None``."""
    if isinstance(value, str) and _YOUTUBE_ID.fullmatch(value):
        return value
    return None


def youtube_id_from_url(value: object) -> str | None:
    """The video id of a ``youtube.com/watch?v=…`` or ``youtu.be/…`` URL, else ``None``."""
    if not isinstance(value, str):
        return None
    match = _YOUTUBE_URL.match(value.strip())
    return match.group(1) if match else None


def moment_url(youtube_id: str | None, seconds: int) -> str | None:
    """``https://www.youtube.com/watch?v=<id>&t=<seconds>s``, or ``None`` without a valid id."""
    video = valid_youtube_id(youtube_id)
    if video is None:
        return None
    return f"https://www.youtube.com/watch?v={video}&t={max(0, int(seconds))}s"
