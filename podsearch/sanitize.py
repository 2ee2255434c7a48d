"""Making untrusted transcript text safe to show.

Transcript files come from a public repository: their text may carry terminal
escape sequences, control characters or bidirectional overrides. Every
renderer passes text through :func:`visible` first, so such characters are
shown as harmless symbols instead of being interpreted by a terminal.
"""

from __future__ import annotations

import re

# C0 and C1 control characters (tab and newline are kept), and the Unicode
# characters that reorder, break or hide text: soft hyphen, zero-width and
# bidirectional marks, line and paragraph separators, invisible operators, tags.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]"
)


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␀ for NUL, …
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def visible(text: str) -> str:
    """The text with every control or reordering character replaced by a visible symbol."""
    return _UNSAFE.sub(_picture, text)


def flat(text: str) -> str:
    """:func:`visible`, with tabs and line breaks as spaces (offsets are preserved)."""
    return visible(text).replace("\n", " ").replace("\t", " ")
