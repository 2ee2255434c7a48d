"""The read interface of the index: one open generation, as the query layer sees it.

A :class:`Generation` is a consistent, read-only view of one commit. It offers
what ranking needs and nothing of Whoosh: document frequencies, a term's
posting blocks (global document numbers and frequencies), field lengths,
stored fields as podsearch types, every document's explicit
``(episode, paragraph)`` key (:class:`~podsearch.index.catalog.EpisodeCatalog`),
term expansion for wildcards, and running a query tree
(:mod:`podsearch.index.querytree`). Document numbers are only valid within
their generation. No Whoosh object leaves this module.

A second engine (OpenSearch, say) would implement the same class: the posting
blocks and field lengths for the first stage, the keyed stored fields for the
re-ranker and hits, ``run`` for operator queries, and
:func:`podsearch.index.language.parse_operators` for the query language.

A generation is not thread-safe: one thread uses it at a time
(:class:`podsearch.api.Index` holds a lock around it).
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from whoosh import query as wq
from whoosh.util.numeric import byte_to_length

from podsearch.errors import IndexMissingError
from podsearch.index import segments
from podsearch.index.catalog import EpisodeCatalog
from podsearch.index.documents import HitFields, episode_from_stored, hit_fields
from podsearch.index.language import to_whoosh
from podsearch.index.querytree import Node
from podsearch.index.schema import EPISODE, PARAGRAPH
from podsearch.index.spellings import Dictionary, open_dictionary
from podsearch.index.storage import IndexDir
from podsearch.model import Episode
from podsearch.text import terms

#: How often a read is retried when a concurrent commit removed files under it.
READ_ATTEMPTS = 8

T = TypeVar("T")


class StoredParagraph(NamedTuple):
    """What a paragraph document stores (a named tuple: a search reads dozens, and a frozen
    dataclass took 2.6 µs of each read to make)."""

    #: The id of its episode.
    episode: str
    hit: HitFields
    text: str
    section: str | None
    #: The text's index terms, in order.
    terms: list[str]


@dataclass(frozen=True)
class FieldLengths:
    """Field lengths as the engine keeps them: one of 256 length classes per document."""

    #: The length each class stands for.
    values: tuple[float, ...]
    #: Each document's class, by document number.
    classes: bytes


@dataclass(frozen=True)
class EpisodeHead:
    """What an episode document stores besides the description."""

    id: str
    meta: str
    path: str
    #: (turns, paragraphs)
    counts: tuple[int, int]


class Generation:
    """One open generation of an index (see the module docstring). Close it when done."""

    def __init__(self, searcher: Any) -> None:
        self._searcher = searcher
        self._reader = searcher.reader()
        self._leaves: list[tuple[Any, int]] = list(self._reader.leaf_readers())
        #: What a document stores, by document number (a function holding no reference to this
        #: generation, which the catalog keeps: a cycle would keep its mapped files until a collection).
        self.stored = segments.stored_fields_reader(self._leaves)
        deleted: set[int] = set()
        for leaf, offset in self._leaves:
            if leaf.has_deletions():
                deleted.update(offset + doc for doc in leaf.deleted_docs_set)
        #: Deleted documents: posting blocks may still name them.
        self.deleted = frozenset(deleted)
        #: Live documents (episode documents included).
        self.document_count: int = searcher.doc_count()
        self._catalog: EpisodeCatalog | None = None
        #: The generation's paragraph vectors (:class:`~podsearch.index.vectors.VectorTable`), ``None`` without.
        self.vectors: Any = None
        #: The generation's spelling dictionary (:class:`~podsearch.index.spellings.Dictionary`), ``None`` without.
        self.spellings: Dictionary | None = None

    # --- life ---------------------------------------------------------------------------

    def is_current(self) -> bool:
        """Whether this is still the latest generation on disk."""
        return bool(self._searcher.up_to_date())

    def close(self) -> None:
        """Release the files."""
        self._searcher.close()

    # --- statistics and postings --------------------------------------------------------

    def doc_frequency(self, field: str, term: str) -> int:
        """In how many documents a term of a field occurs."""
        return int(self._searcher.doc_frequency(field, term))

    def average_length(self, field: str) -> float:
        """The average length of a field, in terms (0 when empty)."""
        return float(self._searcher.avg_field_length(field))

    def field_lengths(self, field: str) -> FieldLengths:
        """Every document's length of a field."""
        classes = b"".join(segments.length_codes(leaf, field) for leaf, _ in self._leaves)
        return FieldLengths(tuple(byte_to_length(code) for code in range(256)), classes)

    def postings(self, field: str, term: str) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
        """A term's postings, a block at a time: document numbers (ascending within a block) and frequencies.

        Blocks may name deleted documents (see :attr:`deleted`).
        """
        for leaf, offset in self._leaves:
            for ids, frequencies in segments.posting_blocks(leaf, field, term):
                yield (list(ids) if not offset else [doc + offset for doc in ids]), frequencies

    def expand(self, field: str, prefix: str) -> Iterator[str]:
        """The indexed terms of a field that start with ``prefix``, in order."""
        for term in self._reader.expand_prefix(field, prefix):
            yield term.decode("utf-8")

    # --- running queries ----------------------------------------------------------------

    def matching(self, node: Node) -> set[int]:
        """The live documents a query tree matches."""
        return set(self._searcher.docs_for_query(to_whoosh(node)))

    def run(
        self,
        node: Node,
        limit: int | None,
        restrict: Node | None,
        exclude: set[int],
        allowed: set[int] | None = None,
    ) -> tuple[list[tuple[float, int]], int]:
        """The best ``limit`` (all with ``None``) ``(score, document)`` pairs of a query tree, and the match count.

        ``restrict`` keeps only the documents it matches, ``allowed`` only those
        documents (either or neither, not both); ``exclude`` leaves documents out.
        Pairs come best first; equal scores in key order
        (:meth:`EpisodeCatalog.key`), so every match is scored: Whoosh's own
        cut keeps the lower document numbers among equal scores, and counting
        the matches of a cut search costs a second pass anyway.
        """
        query = to_whoosh(node)
        kept: Any = to_whoosh(restrict) if restrict is not None else allowed
        found = self._searcher.search(query, limit=None, filter=kept, mask=exclude, terms=False)
        pairs = list(found.top_n)
        if limit is not None and len(pairs) > limit:
            threshold = heapq.nlargest(limit, (score for score, _ in pairs))[-1]
            pairs = [pair for pair in pairs if pair[0] >= threshold]
        key = self.catalog.key
        pairs.sort(key=lambda pair: (-pair[0], key(pair[1])))
        return (pairs[:limit] if limit is not None else pairs), len(found)

    # --- documents ----------------------------------------------------------------------

    @property
    def catalog(self) -> EpisodeCatalog:
        """The indexed episodes and every document's key."""
        if self._catalog is None:
            columns = []
            numbers: list[int] = []
            for leaf, _ in self._leaves:
                distinct, references = segments.column_references(leaf, "eid")
                columns.append(([value.decode("utf-8") for value in distinct], references))
                numbers.extend(segments.column_numbers(leaf, "paragraph"))
            heads = self._searcher.docs_for_query(wq.Term("kind", EPISODE))
            self._catalog = EpisodeCatalog(columns, numbers, list(heads), self.deleted, self.stored)
        return self._catalog

    def paragraph(self, doc: int) -> StoredParagraph:
        """The stored fields of a paragraph document."""
        stored = self.stored(doc)
        known = stored.get("terms")
        return StoredParagraph(
            episode=stored["eid"],
            hit=hit_fields(stored),
            text=stored["text"],
            section=stored.get("section"),
            terms=known.split() if known is not None else terms(stored["text"]),
        )

    def heads(self) -> list[EpisodeHead]:
        """What every live episode document stores."""
        return [
            EpisodeHead(id=stored["eid"], meta=stored["meta"], path=stored["path"], counts=tuple(stored["counts"]))
            for stored in self._searcher.documents(kind=EPISODE)
        ]

    def episode(self, eid: str) -> Episode:
        """One indexed episode with its transcript (``KeyError`` when not indexed)."""
        head = self._searcher.document(kind=EPISODE, eid=eid)
        if head is None:
            raise KeyError(eid)
        paragraphs = list(self._searcher.documents(kind=PARAGRAPH, eid=eid))
        episode = episode_from_stored(head["meta"], paragraphs)
        ordinal = self.catalog.ordinal(eid)
        if episode.date_added is None and ordinal is not None:  # estimated, as in every listing
            info = self.catalog.info(ordinal)
            episode = dataclasses.replace(episode, date_added=info.date_added, date_estimated=info.date_estimated)
        return episode

    def field_terms(self, field: str) -> list[str]:
        """Every indexed term of a field (for small fields: speakers, guests)."""
        return list(self.expand(field, ""))

    def segment_count(self) -> int:
        """How many segments the generation has."""
        return len(self._leaves)


def open_generation(store: IndexDir) -> Generation:
    """The latest generation of an index, safe to keep while later commits land.

    Whoosh opens some files of a segment only when first needed (stored
    fields, field lengths, columns). A commit deletes the files of segments it
    replaced, and then a kept reader finds one missing: Whoosh reports a
    missing stored-fields file as ``None`` (a ``TypeError`` later) and a
    missing lengths file as length 0 (wrong scores, silently). So every such
    file is opened now, and the generation is used only if no newer one
    appeared meanwhile: deletions start only after a newer table of contents
    exists, so every file found was whole. An open file stays readable after
    its deletion. Before that, :meth:`IndexDir.check_integrity` checks that
    every file the commit names is there with its recorded size
    (:class:`~podsearch.errors.IndexDamagedError` otherwise). Raises
    ``FileNotFoundError`` (see :func:`retrying`) when a commit got in the way.
    """
    searcher = store.open().searcher()
    try:
        record = store.check_integrity(searcher.reader().generation())
        table = None
        if record.vectors:  # the vector module (and numpy) only for a generation that has vectors
            from podsearch.index.vectors import open_table

            table = open_table(store.path, record)  # mapped now, so a later commit cannot delete it first
        dictionary = open_dictionary(store.path, record)  # mapped now, like the vectors
        for leaf, _ in searcher.reader().leaf_readers():
            segments.open_lazy_files(leaf)
        if not searcher.up_to_date():
            raise FileNotFoundError(f"the index at {store.path} changed while it was opened")
    except BaseException:
        searcher.close()
        raise
    generation = Generation(searcher)
    generation.vectors = table
    generation.spellings = dictionary
    return generation


def retrying(store: IndexDir, attempt: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
    """Run a read, starting again when a concurrent commit removed files under it.

    A commit renames a new table of contents into place and then deletes the
    files only the old one used; a reader caught in between sees
    ``FileNotFoundError`` and simply starts again on the new generation.
    """
    for tries in range(1, READ_ATTEMPTS + 1):
        try:
            return attempt()
        except (FileNotFoundError, EOFError) as error:
            if tries == READ_ATTEMPTS:
                raise IndexMissingError(
                    f"the index at {store.path} kept changing while being read ({error}); try again"
                ) from None
            if on_retry is not None:
                on_retry()
            time.sleep(0.01 * tries)
    raise AssertionError("unreachable")
