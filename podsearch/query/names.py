"""Guests, speakers and titles by name: what a filter or a query names, matched without case or accents.

The ``speaker`` and ``guest`` fields of the index hold lower-cased words as
written (``könig``); a filter or a ``speaker:``/``guest:`` clause is matched
against them folded (``Ellen Konig`` finds ``Ellen König``), and one that
matches nobody is a :class:`QueryError` naming the closest names. A query
that names a guest in full (``Willem Pienaar``), or that is (close to) an
episode's title, points at episodes the re-ranker puts first
(:mod:`podsearch.query.rerank`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from podsearch.errors import QueryError
from podsearch.index import querytree as qt
from podsearch.index.catalog import EpisodeCatalog
from podsearch.index.engine import Generation
from podsearch.query.tuning import TITLE_COVERAGE, TITLE_MATCH_SHARE
from podsearch.text import WORD, fold, terms

#: Fields whose words are names.
NAME_FIELDS = ("speaker", "guest")
#: Names suggested when a filter matches nobody.
SUGGESTIONS = 3


def fold_name(text: str) -> str:
    """``"Ellen König"`` → ``"ellen konig"``: lower case, accents and apostrophes dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return fold("".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@dataclass(frozen=True)
class Guest:
    """A guest as the catalog knows them."""

    name: str
    id: str
    #: The folded words of the name (``("ellen", "konig")``).
    words: tuple[str, ...]
    #: Ordinals of the guest's episodes.
    episodes: frozenset[int]


class Names:
    """The names of one generation (made on first use, kept in the search context)."""

    def __init__(self, generation: Generation) -> None:
        self._generation = generation
        catalog = generation.catalog
        self._field_words: dict[str, dict[str, list[str]]] = {}
        episodes: dict[tuple[str, str], set[int]] = {}
        for ordinal, info in enumerate(catalog.all()):
            names = info.guest_names if len(info.guest_names) == len(info.guests) else info.guests
            for guest_id, name in zip(info.guests, names, strict=False):
                episodes.setdefault((guest_id, name), set()).add(ordinal)
        #: Every guest, by id.
        self.guests = [
            Guest(name, guest_id, tuple(WORD.findall(fold_name(name))), frozenset(found))
            for (guest_id, name), found in sorted(episodes.items())
        ]
        self._titles: list[tuple[int, frozenset[str]]] | None = None
        self._by_first_word: dict[str, list[Guest]] | None = None
        #: Title word → positions in ``_titles`` of the titles holding it.
        self._titles_with: dict[str, list[int]] = {}
        self._catalog = catalog

    # --- filters ----------------------------------------------------------------------

    def field_words(self, field: str) -> dict[str, list[str]]:
        """The indexed terms of a name field, by folded form."""
        found = self._field_words.get(field)
        if found is None:
            found = self._field_words[field] = {}
            for term in self._generation.field_terms(field):
                found.setdefault(fold_name(term), []).append(term)
        return found

    def clause(self, field: str, value: str) -> qt.Node:
        """The query tree matching a name filter: each of its words, case and accents aside.

        A guest id (``ellenkonig``) given to ``speaker`` means the guest's name. Raises
        :class:`QueryError` with the closest names when a word matches nobody.
        """
        folded = fold_name(value)
        words = WORD.findall(folded)
        if field == "speaker":
            by_id = {guest.id: guest.words for guest in self.guests}
            if "".join(words) in by_id and "".join(words) not in self.field_words(field):
                words = list(by_id["".join(words)])
        known = self.field_words(field)
        parts: list[qt.Node] = []
        for word in words:
            found = known.get(word)
            if not found:
                raise QueryError(self._no_match(field, value))
            spelled = tuple(qt.Term(field, term) for term in found)
            parts.append(spelled[0] if len(spelled) == 1 else qt.Or(spelled))
        if not parts:
            raise QueryError(f"the {field} filter {value!r} has no name to look for")
        return parts[0] if len(parts) == 1 else qt.And(tuple(parts))

    def resolve(self, node: qt.Node) -> qt.Node:
        """A query tree whose ``speaker:``/``guest:`` words match their folded forms."""
        if isinstance(node, qt.Term) and node.field in NAME_FIELDS and isinstance(node.text, str):
            return self.clause(node.field, node.text)
        return qt.rebuild(node, self.resolve)

    def _no_match(self, field: str, value: str) -> str:
        """``no guest is named 'X'; closest: A, B`` (or how to list them)."""
        kind = "guest" if field == "guest" else "speaker"
        folded = fold_name(value)
        candidates: dict[str, str] = {}
        for guest in self.guests:
            candidates.setdefault(fold_name(guest.name), guest.name)
            candidates.setdefault(guest.id, guest.id)
        if field == "speaker":
            for word in self.field_words(field):
                if word.isalpha():
                    candidates.setdefault(word, word.title())
        import difflib  # only for the error message: not every search process pays for it

        close = difflib.get_close_matches(folded, list(candidates), n=SUGGESTIONS, cutoff=0.6)
        if not close:  # a word of a name: "konig" for "Ellen König"
            words = folded.split()
            close = [c for c in candidates if any(difflib.get_close_matches(w, c.split(), 1, 0.75) for w in words)]
            close = sorted(close, key=lambda c: -difflib.SequenceMatcher(None, folded, c).ratio())[:SUGGESTIONS]
        if close:
            return f"no {kind} matches {value!r}; closest: " + ", ".join(candidates[c] for c in close)
        return f"no {kind} matches {value!r} (podsearch episodes lists the guests)"

    # --- what a query names -----------------------------------------------------------

    def guests_named(self, text: str) -> dict[int, tuple[str, ...]]:
        """The episodes of the guests a query names in full (two words or more), with their names.

        Only when the name is at least half of the query's words: a longer query
        that mentions a guest ("How Ellen König got into MLOps") is about
        something else, which the words find.
        """
        words = WORD.findall(fold_name(text))
        typed = set(words)
        found: dict[int, tuple[str, ...]] = {}
        if self._by_first_word is None:
            by_first: dict[str, list[Guest]] = {}
            for guest in self.guests:
                if len(guest.words) >= 2:
                    by_first.setdefault(guest.words[0], []).append(guest)
            self._by_first_word = by_first
        # only the guests whose first name the query holds: not every guest for every query
        named = [guest for word in typed for guest in self._by_first_word.get(word, ())]
        for guest in sorted(named, key=lambda guest: (guest.id, guest.name)):
            if typed.issuperset(guest.words) and 2 * len(guest.words) >= len(words):
                for episode in guest.episodes:
                    found[episode] = (*found.get(episode, ()), guest.name)
        return found

    def titles_matched(self, content: Iterable[str]) -> frozenset[int]:
        """The episodes whose title or short title is (close to) the query's content words."""
        query = frozenset(content)
        if len(query) < 2:
            return frozenset()
        if self._titles is None:
            self._titles = _title_terms(self._catalog)
            self._titles_with = {}
            for position, (_, title) in enumerate(self._titles):
                for word in title:
                    self._titles_with.setdefault(word, []).append(position)
        # a close title shares most of the query's words: look only at the titles sharing one
        sharing = {position for word in query for position in self._titles_with.get(word, ())}
        return frozenset(
            self._titles[position][0] for position in sharing if _close_title(query, self._titles[position][1])
        )


def _close_title(query: frozenset[str], title: frozenset[str]) -> bool:
    """Whether a query is a title: the same words, or (three words or more) nearly all of them
    in the title, which they cover for the most part ("beyond the kaggle leaderboard" is
    "Competitions: Beyond the Kaggle Leaderboard")."""
    shared = len(query & title)
    if shared == len(query) == len(title):
        return True
    return len(query) >= 3 and shared >= TITLE_MATCH_SHARE * len(query) and shared >= TITLE_COVERAGE * len(title)


def _title_terms(catalog: EpisodeCatalog) -> list[tuple[int, frozenset[str]]]:
    """The content terms of every episode's title and short title."""
    from podsearch.query.parsing import STOP_WORDS

    found = []
    for episode, info in enumerate(catalog.all()):
        for title in {info.title, info.short_title} - {""}:
            words = frozenset(terms(title)) - STOP_WORDS
            if len(words) >= 2:
                found.append((episode, words))
    return found
