"""Spelling correction against the index's own vocabulary.

A query word that the index has never seen is most often a typo. It is
replaced by the most frequent indexed term one edit away (a deletion,
insertion, substitution or swap of neighbours), found with a deletion
dictionary: every term is filed under itself and each of its one-letter
deletions, so a lookup costs a few dictionary probes instead of a scan of the
vocabulary. The dictionary is built once per searcher, on the first typo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one deletion, insertion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


class Speller:
    """Corrections for unknown terms, from the index's terms and their frequencies."""

    #: Words shorter than this are never corrected (too many neighbours).
    MIN_LENGTH = 4

    def __init__(self, terms: Iterable[str], frequency: Callable[[str], int]) -> None:
        self._frequency = frequency
        self._known: set[str] = set()
        self._by_deletion: dict[str, list[str]] = {}
        for term in terms:
            if len(term) < self.MIN_LENGTH - 1 or not term.isalpha():
                continue
            self._known.add(term)
            for key in _deletions(term) | {term}:
                self._by_deletion.setdefault(key, []).append(term)

    def correct(self, term: str) -> str | None:
        """The most frequent known term within one edit, or ``None``."""
        if len(term) < self.MIN_LENGTH or term in self._known:
            return None
        candidates: set[str] = set()
        for key in _deletions(term) | {term}:
            candidates.update(self._by_deletion.get(key, ()))
        matches = [c for c in candidates if within_one_edit(term, c)]
        if not matches:
            return None
        return max(matches, key=lambda c: (self._frequency(c), c))
