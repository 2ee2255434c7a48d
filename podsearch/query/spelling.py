"""Spelling correction of query words the index has never seen.

Corrections are made on the word as typed, not on its stem: "probaly" and
"probably" stem to "probali" and "probabl", two edits apart, but the typed
words are one edit apart. Every word one edit away from the typo (a letter
deleted, inserted, replaced, or two neighbours swapped: a few hundred
candidates) is stemmed, and the candidate whose stem occurs in the most
paragraphs wins. Only words of 4 to 24 letters are corrected: shorter ones
have too many neighbours to guess from, and longer ones are not words.
"""

from __future__ import annotations

from collections.abc import Callable

from podsearch.query.tuning import SPELLING_MAX_LENGTH, SPELLING_MIN_LENGTH
from podsearch.text import fold, stem

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_edit_away(word: str) -> set[str]:
    """Every string one deletion, swap, replacement or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    swaps = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    replaces = {left + letter + right[1:] for left, right in splits if right for letter in _LETTERS}
    inserts = {left + letter + right for left, right in splits for letter in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


def correct(word: str, frequency: Callable[[str], int]) -> tuple[str, str] | None:
    """``(corrected word, its stem)`` for a typed word, or ``None`` when nothing fits.

    ``frequency(stem)`` says in how many paragraphs a stem occurs.
    """
    word = fold(word)
    if not SPELLING_MIN_LENGTH <= len(word) <= SPELLING_MAX_LENGTH or not word.isalpha():
        return None
    best: tuple[int, str, str] | None = None
    for candidate in one_edit_away(word):
        term = stem(candidate)
        count = frequency(term)
        if count and (best is None or (count, candidate) > best[:2]):
            best = (count, candidate, term)
    return (best[1], best[2]) if best else None
