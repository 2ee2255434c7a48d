"""What the searches of one open generation share, computed once and kept with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from podsearch.index.catalog import EpisodeCatalog
from podsearch.index.engine import Generation
from podsearch.query.names import Names
from podsearch.query.spelling import Lexicon
from podsearch.query.tuning import K1, SURFACE_PARAGRAPHS, B
from podsearch.text import WORD, fold, stem

#: The field the words of a query search.
TEXT = "text"
#: The episode documents' field saying what an episode is about.
ABOUT = "about"


@dataclass
class SearchContext:
    """Per-generation state of the query layer (make one per open generation, see :meth:`for_generation`).

    Everything here is a pure function of the generation, filled on first use:
    keeping it between searches changes no result, only the time they take.
    """

    generation: Generation
    #: Live documents in the index (for idf).
    documents: int
    #: Average length of the text field (1 when empty).
    average_length: float
    #: The episode documents: never hits.
    heads: set[int]
    #: Paragraphs holding each term (the text field's document frequency).
    frequencies: dict[str, int] = field(default_factory=dict)
    #: Each word's ``(episode ordinal, score)`` pairs from the episodes' ``about`` field.
    about: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    #: The terms of each section header.
    section_terms: dict[str, list[str]] = field(default_factory=dict)
    #: The terms of each episode's title, by episode ordinal.
    title_terms: dict[int, set[str]] = field(default_factory=dict)
    #: The first long answers of a named guest in an episode, by (episode ordinal, guest name).
    guest_openings: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    _norms: tuple[list[float], bytes] | None = None
    _names: Names | None = None
    _lexicon: Lexicon | None = None

    @classmethod
    def for_generation(cls, generation: Generation) -> SearchContext:
        """A fresh context for an open generation."""
        catalog = generation.catalog
        return cls(
            generation=generation,
            documents=generation.document_count,
            average_length=generation.average_length(TEXT) or 1.0,
            # A set, not a frozenset: the only container type the engine's matchers take as a mask.
            heads=set(catalog.heads),
        )

    @property
    def catalog(self) -> EpisodeCatalog:
        """The episodes and every document's key."""
        return self.generation.catalog

    def paragraphs_with(self, term: str) -> int:
        """In how many paragraphs a term occurs."""
        known = self.frequencies.get(term)
        if known is None:
            known = self.frequencies[term] = self.generation.doc_frequency(TEXT, term)
        return known

    def norms(self) -> tuple[list[float], bytes]:
        """BM25's length normalisation of each length class of the text field, and each document's class."""
        if self._norms is None:
            lengths = self.generation.field_lengths(TEXT)
            norms = [K1 * (1 - B + B * value / self.average_length) for value in lengths.values]
            self._norms = (norms, lengths.classes)
        return self._norms

    @property
    def names(self) -> Names:
        """The guests and speakers, and the titles (made on first use)."""
        if self._names is None:
            self._names = Names(self.generation)
        return self._names

    @property
    def lexicon(self) -> Lexicon:
        """The text field's terms, for spelling correction two edits away (made on first use).

        Only for an index written before indexes kept a spelling dictionary
        (:attr:`Generation.spellings <podsearch.index.engine.Generation.spellings>`).
        """
        if self._lexicon is None:
            self._lexicon = Lexicon(self.generation.field_terms(TEXT))
        return self._lexicon

    def surfaces(self, term: str) -> list[str]:
        """Words the corpus writes for a term (``recommend`` → ``recommendation``), from a few paragraphs.

        Only for an index without a spelling dictionary, like :attr:`lexicon`.
        """
        found: list[str] = []
        read = 0
        for ids, _ in self.generation.postings(TEXT, term):
            for doc in ids:
                if doc in self.generation.deleted:
                    continue
                text = self.generation.paragraph(doc).text
                found.extend(word for word in map(fold, WORD.findall(text)) if stem(word) == term)
                read += 1
                if read >= SURFACE_PARAGRAPHS:
                    return found
        return found
