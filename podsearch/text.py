"""The one text analysis, used at index and query time.

Text is folded the same way everywhere: lower case, apostrophes dropped
(``don't`` = ``dont``), any other punctuation a word break (``full-stack`` =
``full stack``), then Porter-stemmed. Stop words are *kept*, so a quoted phrase
matches exactly what was said.
"""

from __future__ import annotations

import re

from whoosh.lang.porter import stem as _porter_stem

#: A word: letters and digits, with inner apostrophes (``don't``, ``Alexey’s``).
WORD = re.compile(r"\w+(?:['’]\w+)*")
_APOSTROPHES = str.maketrans("", "", "'’")
_STEMS: dict[str, str] = {}
_MAX_STEM_CACHE = 200_000
#: Longer "words" (a URL, a hash) are not stemmed: the stemmer is slow on them.
_MAX_STEMMED_LENGTH = 40


def fold(word: str) -> str:
    """``"Don’t"`` → ``"dont"``: the unstemmed form of a word."""
    return word.lower().translate(_APOSTROPHES)


def stem(word: str) -> str:
    """The Porter stem of a folded word (cached: the corpus has ~40k distinct words)."""
    cached = _STEMS.get(word)
    if cached is None:
        cached = _porter_stem(word) if len(word) <= _MAX_STEMMED_LENGTH else word
        if len(_STEMS) < _MAX_STEM_CACHE:
            _STEMS[word] = cached
    return cached


def terms(text: str) -> list[str]:
    """The index terms of a text, in order (one per word, stop words included)."""
    # stem(fold(word)) for each word, about 40% faster (most of a rebuild is here):
    # replace() deletes the two apostrophes faster than translate(), and known
    # stems are looked up without a function call per word.
    words = WORD.findall(text.lower().replace("'", "").replace("’", ""))
    known: list[str | None] = list(map(_STEMS.get, words))
    if None in known:
        return [found if found is not None else stem(word) for found, word in zip(known, words, strict=True)]
    return known  # type: ignore[return-value]  # no None left: every word's stem was known


def positions_of(words: list[str]) -> dict[str, list[int]]:
    """Each distinct term of an analysed text with the positions where it occurs."""
    positions: dict[str, list[int]] = {}
    for position, term in enumerate(words):
        found = positions.get(term)
        if found is None:
            positions[term] = [position]
        else:
            found.append(position)
    return positions
