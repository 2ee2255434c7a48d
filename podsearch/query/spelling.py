"""Spelling correction of query words the index has never seen.

Corrections are made on the word as typed, not on its stem: "probaly" and
"probably" stem to "probali" and "probabl", two edits apart, but the typed
words are one edit apart. Every word one edit away from the typo (a letter
deleted, inserted, replaced, or two neighbours swapped: a few hundred
candidates) is stemmed, and the candidate whose stem occurs in the most
paragraphs wins. Only words of 4 to 24 letters are corrected: shorter ones
have too many neighbours to guess from, and longer ones are not words.

Words of eight letters or more are corrected up to two edits away
(:func:`correct_far`): their neighbours two edits away are too many to
generate (a few hundred thousand), so the index's terms are searched instead
(:class:`Lexicon`), and the candidates are checked on the words the corpus
really writes.

An index that keeps a spelling dictionary (:mod:`podsearch.index.spellings`,
written at commit time) is corrected with :func:`suggest` instead: the
dictionary's symmetric-delete table names the few corpus words that may be
within reach, an edit distance checks them, and only those are stemmed.
Same rules: one edit for words of 4 to 7 letters, up to two from 8, fewest
edits first, then the most paragraphs of the word's stem. The functions above
serve indexes written before there were dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from podsearch.index.spellings import Dictionary
from podsearch.query.tuning import SPELLING_MAX_LENGTH, SPELLING_MIN_LENGTH, TWO_EDITS_LENGTH
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


# --- two edits, for long words ---------------------------------------------------------------


def _letters(word: str) -> int:
    """A bit per distinct letter a to z of a word."""
    mask = 0
    for ch in word:
        if "a" <= ch <= "z":
            mask |= 1 << (ord(ch) - 97)
    return mask


class Lexicon:
    """The text field's terms (stems) with their letters, to find those near a long typo quickly.

    Made once per generation from the index's term list (about 11,000 terms on
    the corpus, a fraction of a second), on the first query with a long word
    the index does not know. Candidates are pruned by their first letters and
    their letter sets before any edit distance is computed.
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._terms = [(term, _letters(term)) for term in vocabulary if term.isalpha() and len(term) >= 3]

    def near(self, word: str, max_edits: int) -> list[tuple[int, str]]:
        """``(edits, term)`` for every term within ``max_edits`` of a start of ``word``.

        A typed word's stem cannot be trusted (a typo in the suffix changes
        what the stemmer strips), so a term is compared with the word's
        starts of about its length, leaving a suffix of at most
        :data:`MAX_SUFFIX` letters: ``colaboratve`` is near ``collabor``.
        """
        letters = _letters(word)
        heads = word[:2]
        shortest = len(word) - MAX_SUFFIX - max_edits
        pairs = _pairs(word)
        found = []
        for term, mask in self._terms:
            if (
                len(term) >= shortest
                and len(term) <= len(word) + max_edits
                and (term[0] in heads or word[0] in term[:2])
                and (mask & ~letters).bit_count() <= max_edits
                # an edit breaks at most three of the term's letter pairs (a swap: "abcd" → "acbd")
                and len(_pairs(term) & pairs) >= len(term) - 1 - 3 * max_edits
            ):
                edits = prefix_distance(term, word, len(word) - MAX_SUFFIX, max_edits)
                if edits <= max_edits:
                    found.append((edits, term))
        return found


def _pairs(word: str) -> set[str]:
    """The pairs of neighbouring letters of a word."""
    return {word[i : i + 2] for i in range(len(word) - 1)}


#: Letters a typed word may have after the start that matches a term (its suffix: ``-ations``).
MAX_SUFFIX = 6


def prefix_distance(term: str, word: str, shortest: int, bound: int) -> int:
    """The fewest edits (Damerau: swaps count one) from ``term`` to a start of ``word`` at least
    ``shortest`` letters long; ``bound + 1`` when over ``bound``."""
    over = bound + 1
    width = len(word)
    previous2: list[int] = []
    previous = [j if j < over else over for j in range(width + 1)]
    for i in range(1, len(term) + 1):
        current = [over] * (width + 1)
        current[0] = i if i < over else over
        low = current[0]
        letter = term[i - 1]
        before = term[i - 2] if i > 1 else ""
        # cells further than ``bound`` from the diagonal are over the bound: skip them
        for j in range(max(1, i - bound), min(width, i + bound) + 1):
            value = previous[j - 1] + (letter != word[j - 1])
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if before and j > 1 and letter == word[j - 2] and before == word[j - 1] and previous2[j - 2] + 1 < value:
                value = previous2[j - 2] + 1
            if value < over:
                current[j] = value
                if value < low:
                    low = value
        if low > bound:
            return over
        previous2, previous = previous, current
    return min(previous[max(0, shortest) :], default=over)


def distance(a: str, b: str, bound: int) -> int:
    """Damerau-Levenshtein distance (swaps count one) of two words, ``bound + 1`` when over ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    # a start and an end both words share cost nothing: only what lies between is compared
    start, shortest = 0, min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    return prefix_distance(a, b, len(b), bound)


def correct_far(
    word: str,
    frequency: Callable[[str], int],
    lexicon: Lexicon,
    surfaces: Callable[[str], Iterable[str]],
    max_edits: int = 2,
) -> tuple[str, str] | None:
    """``(corrected word, its stem)`` for a long typed word, up to ``max_edits`` edits away.

    Terms near the word (:meth:`Lexicon.near`) are tried with the words the
    corpus really writes for them (``surfaces(stem)``: ``recommend`` →
    ``recommendation``); the correction is the one fewest edits from the typed
    word, the most frequent among equals.
    """
    word = fold(word)
    best: tuple[int, int, str, str] | None = None  # (edits, -paragraphs, surface, term)
    for _, term in sorted(lexicon.near(word, max_edits), key=lambda pair: (pair[0], -frequency(pair[1]), pair[1]))[
        :FAR_CANDIDATES
    ]:
        count = frequency(term)
        if not count:
            continue
        for surface in set(surfaces(term)):
            edits = distance(word, surface, max_edits)
            if edits <= max_edits and (best is None or (edits, -count, surface) < best[:3]):
                best = (edits, -count, surface, term)
    return (best[2], best[3]) if best else None


#: Near terms whose written forms are looked up (each costs a few stored paragraphs).
FAR_CANDIDATES = 8


# --- with the index's dictionary ------------------------------------------------------------


def suggest(word: str, frequency: Callable[[str], int], dictionary: Dictionary) -> tuple[str, str] | None:
    """``(corrected word, its stem)`` for a typed word the index does not know, from the index's dictionary.

    A correction is a word the corpus writes, one edit from a word of 4 to 7
    letters, up to two from a longer one; the fewest edits win, then the
    most paragraphs of its stem (``frequency(stem)``: one that no longer
    occurs is never chosen), then the most paragraphs of the word itself.
    """
    word = fold(word)
    if not SPELLING_MIN_LENGTH <= len(word) <= SPELLING_MAX_LENGTH or not word.isalpha():
        return None
    bound = 2 if len(word) >= TWO_EDITS_LENGTH else 1
    best: tuple[int, int, int, str, str] | None = None  # (edits, -stem's paragraphs, -word's, word, stem)
    for candidate, seen in dictionary.candidates(word, bound):
        edits = distance(word, candidate, bound)
        if not 0 < edits <= bound or (best is not None and edits > best[0]):
            continue
        term = stem(candidate)
        count = frequency(term)
        if count and (best is None or (edits, -count, -seen, candidate) < best[:4]):
            best = (edits, -count, -seen, candidate, term)
    return (best[3], best[4]) if best else None
