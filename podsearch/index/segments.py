"""A Whoosh segment writer built for bulk loads, and the readers of what it writes.

The one module that knows Whoosh's private names: the bulk writer and its
commit helpers here, and (in the section "reading" at the end) the posting
block, length and column readers and the lazy-file opener that
:mod:`podsearch.index.engine` uses.

Whoosh's own writer pushes every posting through an external merge sort
(pickled to disk and back), then writes postings one call at a time while
looking each document's field length up in a column file. For a segment that
fits in memory all of that is overhead: this writer keeps postings grouped by
term in plain lists and writes each term's posting blocks in one go. The files
are in Whoosh's format (same codec) with the same terms, postings, weights,
positions, lengths, term statistics and stored fields as Whoosh's writer makes
(``tests/test_index_bulk.py`` compares the two), so any Whoosh reader opens them.

Where the time goes, and what this writer does about it (profiled on the corpus):

- Analysing paragraph text dominates. A ``FastText`` field is split into terms
  once (:func:`podsearch.schema.terms`); each posting keeps its positions, and
  weights and encoded values are made per term at flush time, each distinct
  encoding once.
- Paragraph documents repeat their episode's fields (id, season, guests) and
  their turn's (speaker, section): such short values are analysed once.
- Whoosh's postings writer costs several method calls per posting and per
  block: :class:`_TermWriter` writes the same bytes directly.
- A bulk load allocates millions of long-lived objects, and every full pass of
  the cyclic garbage collector would rescan them all: :func:`collector_paused`
  turns it off for the load (it was ~40% of the build time).
- Stored fields are compressed at level 0 (:data:`STORED_COMPRESSION`).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate
from operator import sub
from pickle import dumps
from typing import Any

from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    STORED_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3LeafMatcher,
    W3TermInfo,
    _lenfield,
)
from whoosh.formats import Positions
from whoosh.reading import TermNotFound
from whoosh.system import pack_int, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from podsearch.index.schema import FastText
from podsearch.text import terms

#: Postings blocks are not zlib-compressed: compressing cost more at index time,
#: and decompressing at query time, than the ~30% of disk it saves.
CODEC_OPTIONS = {"blocklimit": 128, "compression": 0, "inlinelimit": 1}
#: Pickle protocol of the posting blocks. Whoosh writes protocol 2, which stores
#: each posting's positions (a bytes object) as a call to ``_codecs.encode`` that
#: unpickling must run: protocol 5 stores them as plain bytes, and reading a block
#: of 128 postings at query time drops from ~45 to ~6 µs. Whoosh's reader unpickles
#: any protocol, so the files stay readable by Whoosh itself.
BLOCK_PROTOCOL = 5
#: zlib level of the stored fields (Whoosh compresses each document's separately).
#: Level 0 writes deflate "stored" blocks: ten times faster than Whoosh's level 3
#: (half a second of a corpus build) and faster to read, for about 12 MB more on
#: disk. Any Whoosh reader decompresses it as usual.
STORED_COMPRESSION = 0
#: Analysed short values kept for reuse (speaker names, sections, ids, numbers).
_MAX_CACHED_VALUES = 100_000
#: Values longer than this are analysed every time (an episode description).
_MAX_CACHED_LENGTH = 300


def codec() -> W3Codec:
    """The codec every podsearch writer uses."""
    return W3Codec(**CODEC_OPTIONS)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk load, then restore it.

    Reference counting still frees everything that is not part of a cycle; the
    collector only rescans objects that are all alive anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Field:
    """What the writer needs to know about one schema field, looked up once."""

    __slots__ = ("boost", "column", "field", "indexed", "name", "positional", "scorable", "stored", "terms_field")

    def __init__(self, name: str, field: Any, schema: Any) -> None:
        self.name = name
        self.field = field
        #: A FastText field with positions: the fast path of :meth:`BulkSegmentWriter._add_text`.
        self.positional = isinstance(field, FastText) and field.indexed and type(field.format) is Positions
        self.indexed = bool(field.indexed)
        self.scorable = bool(field.scorable)
        self.stored = bool(field.stored)
        self.column = field.column_type
        self.boost = field.format.field_boost if field.format else 1.0
        terms_field = getattr(field, "terms_field", None)
        self.terms_field = (terms_field, schema[terms_field]) if terms_field else None


class _Postings:
    """One term's postings in document order (the values already encoded)."""

    __slots__ = ("docnums", "values", "weights")

    def __init__(self) -> None:
        self.docnums: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []


class BulkSegmentWriter(SegmentWriter):
    """A :class:`~whoosh.writing.SegmentWriter` whose postings stay in memory.

    Supports what the podsearch schema uses: plain values per field, no
    per-document or per-field boosts, no term vectors, no spelling fields.
    Values of a positional ``FastText`` field must be strings.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        kwargs.setdefault("codec", codec())
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        self.perdocwriter._colwriters["_stored"]._child._level = STORED_COMPRESSION
        self._fields = {name: _Field(name, field, self.schema) for name, field in self.schema.items()}
        # positional text: field → term → [docnum, [position, …], docnum, [position, …], …]
        self._positions: dict[str, dict[str, list[Any]]] = {}
        # everything else: field → term bytes → postings with encoded values
        self._postings: dict[str, dict[bytes, _Postings]] = {}
        # scorable fields: field → docnum → length (number of terms)
        self._lengths: dict[str, dict[int, int]] = {}
        # analysed short values: (field, value) → ([(postings, weight, encoded value), …], length)
        self._analysed: dict[tuple[str, Any], tuple[list[tuple[_Postings, float, bytes]], int]] = {}

    # --- adding documents ---------------------------------------------------------------

    def add_document(self, **values: Any) -> None:
        """Add one document (keyword arguments as for Whoosh's writers)."""
        self._check_state()
        docnum = self.docnum
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        analysed = self._analysed
        for name in sorted(values):  # Whoosh's order: the stored fields come out the same
            value = values[name]
            if value is None:
                continue
            spec = self._fields[name]
            length = 0
            if spec.positional:
                length = self._add_text(spec, value, docnum)
            elif spec.indexed:
                found = analysed.get((name, value)) if _cacheable(value) else None
                length = self._add_terms(spec, value, docnum, found)
            if not spec.scorable:
                length = 0  # as Whoosh: lengths are kept for scorable fields only
            elif length:
                self._lengths.setdefault(name, {})[docnum] = length
            if spec.stored or length:  # else Whoosh's add_field does nothing
                perdoc.add_field(name, spec.field, value if spec.stored else None, length)
            if spec.column:
                perdoc.add_column_value(name, spec.column, spec.field.to_column_value(value))
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _add_text(self, spec: _Field, value: str, docnum: int) -> int:
        """The fast path for paragraph text: positions per term, nothing encoded yet."""
        if not isinstance(value, str):
            raise TypeError(f"field {spec.name!r} takes a string, not {type(value).__name__}")
        words = terms(value)
        if spec.terms_field is not None:
            name, field = spec.terms_field
            self.perdocwriter.add_field(name, field, " ".join(words), 0)
        found: dict[str, list[int]] = {}
        add = found.setdefault
        for position, word in enumerate(words):
            add(word, []).append(position)
        table = self._positions.setdefault(spec.name, {})
        for word, positions in found.items():
            postings = table.get(word)
            if postings is None:
                table[word] = [docnum, positions]
            else:  # one flat list per term: docnum, positions, docnum, positions, …
                postings.append(docnum)
                postings.append(positions)
        return len(words)

    def _add_terms(self, spec: _Field, value: Any, docnum: int, analysed: Any) -> int:
        """Any other indexed value: analysed by the field, once per distinct short value
        (``analysed`` is what the cache holds for it, or ``None``)."""
        if analysed is None:
            table = self._postings.setdefault(spec.name, {})
            items, length = [], 0
            for term, frequency, weight, encoded in spec.field.index(value):
                postings = table.get(term)
                if postings is None:
                    table[term] = postings = _Postings()
                items.append((postings, weight, encoded))
                length += frequency
            analysed = (items, length)
            if _cacheable(value) and len(self._analysed) < _MAX_CACHED_VALUES:
                self._analysed[(spec.name, value)] = analysed
        for postings, weight, encoded in analysed[0]:
            postings.docnums.append(docnum)
            postings.weights.append(weight)
            postings.values.append(encoded)
        return analysed[1]

    # --- writing the segment ------------------------------------------------------------

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        for name in sorted(set(self._positions) | set(self._postings)):
            fieldwriter.start_field(name, self.schema[name])
            out = _TermWriter(fieldwriter, self._lengths.get(name, {}))
            if name in self._positions:
                self._write_text_field(out, self._fields[name])
            else:
                self._write_field(out, self._postings[name])
            fieldwriter.finish_field()
        fieldwriter.close()
        # The postings are not cleared here: they go with the writer (a worker
        # process keeps its last writer until it exits, which frees memory far
        # faster than releasing millions of objects one by one).

    def release(self) -> None:
        """Drop the postings of a written segment now.

        Needed between segments: Whoosh's writer sits in a reference cycle
        (an exception it catches while making its temporary folder keeps the
        frames alive), which only the paused garbage collector could free.
        """
        self._positions.clear()
        self._postings.clear()
        self._lengths.clear()
        self._analysed.clear()

    def _write_text_field(self, out: _TermWriter, spec: _Field) -> None:
        table = self._positions[spec.name]
        encode = _PositionsEncoder(spec.field.format)
        boost = spec.boost
        # str order is code point order, which is the UTF-8 byte order Whoosh needs
        for word in sorted(table):
            postings = table[word]
            docnums, positions = postings[0::2], postings[1::2]
            if boost == 1.0:
                weights = list(map(float, map(len, positions)))
            else:
                weights = [len(p) * boost for p in positions]
            out.write(word.encode("utf-8"), docnums, weights, encode.all(positions))

    @staticmethod
    def _write_field(out: _TermWriter, table: dict[bytes, _Postings]) -> None:
        for term in sorted(table):
            postings = table[term]
            out.write(term, postings.docnums, postings.weights, postings.values)


def _cacheable(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= _MAX_CACHED_LENGTH
    return isinstance(value, (int, float))


class _PositionsEncoder:
    """Whoosh's ``Positions.encode``: the count, then the pickled gaps between positions.

    Most postings have one position: their values are made once and reused; so
    are those of repeated lists of positions (about 60% of the others).
    """

    _LONE = 1024

    def __init__(self, format_: Positions) -> None:
        self._lone = [format_.encode([position]) for position in range(self._LONE)]
        self._seen: dict[tuple[int, ...], bytes] = {}

    def all(self, positions: list[list[int]]) -> list[bytes]:
        """The encoded value of each posting's positions."""
        lone, limit, many = self._lone, self._LONE, self._many
        return [lone[p[0]] if len(p) == 1 and p[0] < limit else many(p) for p in positions]

    def _many(self, positions: list[int]) -> bytes:
        key = tuple(positions)
        encoded = self._seen.get(key)
        if encoded is None:
            gaps = [positions[0], *map(sub, positions[1:], positions)]
            encoded = self._seen[key] = pack_uint(len(positions)) + dumps(gaps, 2)
        return encoded


class _TermWriter:
    """Writes a field's terms and their posting blocks as Whoosh's W3 postings
    writer does (``add_posting``, ``_write_block``, ``finish_postings``: the
    same bytes, the same term statistics), without its calls per posting and
    per block, which cost more than a third of a build.
    """

    def __init__(self, fieldwriter: Any, lengths: dict[int, int]) -> None:
        postwriter = fieldwriter._postwriter
        if postwriter._inlinelimit > 1:
            raise ValueError("the bulk writer does not inline postings: use inlinelimit=1")
        # the StructFile's own file: one call per block instead of four through the wrapper
        self._file = fieldwriter._postfile.file
        self._add_term = fieldwriter._tindex.add
        self._prefix = pack_ushort(fieldwriter._fieldid)
        self._size = postwriter._blocklimit
        self._compression = postwriter._compression
        self._fixed_size = fieldwriter._format.fixed_value_size()
        self._lengths = lengths

    def write(self, term: bytes, docnums: list[int], weights: list[float], values: list[bytes]) -> None:
        """One term's postings in document order (``values`` may hold empty values)."""
        info = W3TermInfo()
        file = self._file
        start = file.tell()
        file.write(WHOOSH3_HEADER_MAGIC)
        size, count = self._size, len(docnums)
        for begin in range(0, count, size):
            end = begin + size
            ids, raw = docnums[begin:end], weights[begin:end]
            stored = array("f", raw)
            low, high = self._length_range(ids)
            data = dumps((_gaps(ids), _mini_weights(stored), self._mini_values(values[begin:end])), BLOCK_PROTOCOL)
            if self._compression:
                data = zlib.compress(data, self._compression)
            top = max(raw)
            head = dumps((len(ids), ids[-1], top, self._compression, length_to_byte(low), length_to_byte(high)), 2)
            size_and_last = len(head) + len(data)
            file.write(pack_int(-size_and_last if end >= count else size_and_last) + head + data)
            # as W3TermInfo.add_block
            info._weight += sum(stored)
            info._df += len(ids)
            info._minlength = low if info._minlength is None else min(info._minlength, low)
            info._maxlength = max(info._maxlength, high)
            info._maxweight = max(info._maxweight, top)
            if info._minid is None:
                info._minid = ids[0]
            info._maxid = ids[-1]
        info.set_extent(start, file.tell() - start)
        self._add_term(self._prefix + term, info.to_bytes())

    def _length_range(self, ids: list[int]) -> tuple[int | None, int]:
        """The shortest and longest field length of the block's documents (``None, 0`` unscored)."""
        lengths = self._lengths
        if not lengths:
            return None, 0
        found = [lengths[d] for d in ids if d in lengths]
        return (min(found), max(found)) if found else (None, 0)

    def _mini_values(self, values: list[bytes]) -> Any:
        fixed = self._fixed_size
        if fixed is None or fixed < 0:
            return tuple(v for v in values if v)  # as add_posting: empty values are not kept
        return None if fixed == 0 else b"".join(values)


def _gaps(ids: list[int]) -> tuple[int, ...]:
    """Document numbers as Whoosh stores them: the first, then the gaps."""
    return (ids[0], *map(sub, ids[1:], ids))


def _mini_weights(weights: array) -> Any:
    """As Whoosh stores a block's weights: ``None`` if all 1, one number if all equal."""
    if weights.count(1.0) == len(weights):
        return None
    if weights.count(weights[0]) == len(weights):
        return weights[0]
    return tuple(weights)


# --- committing


class _FreshIndex:
    """An index seen by a writer that replaces every segment: no table of contents is read.

    A rebuild must work whatever state the folder is in (a garbage or truncated
    table of contents, missing segment files): its writer starts from no segments
    and commits the generation after the newest one present, which then
    supersedes them, while searches keep using the previous one until it lands.
    """

    def __init__(self, storage: Any, schema: Any, indexname: str, generation: int) -> None:
        self.storage = storage
        self.schema = schema
        self.indexname = indexname
        self._generation = generation

    def _read_toc(self) -> Any:
        from whoosh.index import TOC

        return TOC(self.schema, [], self._generation)

    def latest_generation(self) -> int:
        """The generation the writer's commit follows."""
        return self._generation

    def close(self) -> None:
        """Nothing to release."""


def fresh_index(storage: Any, schema: Any, indexname: str, after_generation: int) -> Any:
    """An index object whose writers start from no segments and commit ``after_generation + 1``."""
    return _FreshIndex(storage, schema, indexname, after_generation)


def close_segment(writer: BulkSegmentWriter) -> Any:
    """Write a worker's segment and close its writer; the segment (to commit in the parent).

    Not ``writer._finish()``: it would delete the temporary folder the parent's
    writer shares with this one.
    """
    segment = writer._finalize_segment()
    writer.is_closed = True
    return segment


def discard_segment(writer: BulkSegmentWriter) -> None:
    """Close a worker's writer that was given no documents, writing nothing."""
    writer._close_segment()
    writer.is_closed = True


# --- reading
#
# The query side reads what Whoosh's readers would give one call at a time, a
# block or a column at a time (``podsearch.index.engine`` is the only caller).


def open_lazy_files(reader: Any) -> None:
    """Open the column files Whoosh would open on first use (see :func:`podsearch.index.engine.open_generation`).

    Raises ``FileNotFoundError`` when the stored fields of a segment are gone.
    """
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is None:  # an empty index has no segment files
        return
    if reader.doc_count_all() and perdoc._cached_reader("_stored", STORED_COLUMN) is None:
        raise FileNotFoundError(f"the stored fields of segment {reader.segment().segment_id()}")
    for name, field in reader.schema.items():
        if field.scorable:
            perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
        if field.column_type:
            perdoc._cached_reader(name, field.column_type)


def stored_fields_reader(leaves: Sequence[tuple[Any, int]]) -> Callable[[int], dict[str, Any]]:
    """What each document of a generation (its segments' readers and their first document numbers)
    stores, read from the segment's stored-fields column.

    Whoosh's own path finds the segment again and filters every field through the schema on
    each call: 7–8 µs a read against 4–4.5 here, and a search reads dozens. The columns were
    opened with the generation (:func:`open_lazy_files`).
    """
    offsets = [offset for _, offset in leaves]
    columns = []
    for reader, _ in leaves:
        perdoc = getattr(reader, "_perdoc", None)  # an empty index has no segment files
        columns.append(perdoc._cached_reader("_stored", STORED_COLUMN) if perdoc is not None else None)

    def read(doc: int) -> dict[str, Any]:
        leaf = bisect_right(offsets, doc) - 1
        column = columns[leaf]
        return (column[doc - offsets[leaf]] if column is not None else None) or {}

    return read


def posting_blocks(reader: Any, field: str, word: str) -> Iterator[tuple[Iterable[int], Sequence[float]]]:
    """A term's postings in one segment, a block of document numbers and frequencies at a time.

    Whoosh's matchers score one posting at a time through several layers of
    Python objects (~7 µs a posting); a block of 128 read in one go costs about
    what one posting does there. Deleted documents are included.
    """
    try:
        matcher = reader.postings(field, word)
    except TermNotFound:
        return
    if isinstance(matcher, W3LeafMatcher):
        while not matcher._atend:
            if matcher._data is None:
                matcher._read_data()
            matcher._read_weights()
            # ids are stored as deltas; accumulate() undoes them in C
            yield accumulate(matcher._data[0]), matcher._weights
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
        return
    ids: list[int] = []
    frequencies: list[float] = []
    while matcher.is_active():  # inlined postings of rare terms
        ids.append(matcher.id())
        frequencies.append(matcher.weight())
        matcher.next()
    yield ids, frequencies


def length_codes(reader: Any, field: str) -> bytes:
    """Every document's one-byte length code of a field in one segment, read in one go.

    Whoosh keeps these in a fixed-width column of one byte per document; a
    document past its end has length 0.
    """
    column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    codes = b"" if column is None else bytes(column._dbfile.get(column._basepos, column._count))
    return codes.ljust(reader.doc_count_all(), b"\0")


def column_numbers(reader: Any, field: str) -> array:
    """A ``NumericColumn`` of one segment as an array of its values (missing documents: the default)."""
    kind = reader.schema[field].column_type
    column = reader._perdoc._cached_reader(field, kind)
    values = array(kind._typecode)
    if column is not None:
        values.frombytes(bytes(column._dbfile.get(column._basepos, column._count * column._fixedlen)))
        if values.itemsize > 1 and sys.byteorder == "little":  # Whoosh packs them big-endian ("!")
            values.byteswap()
    missing = reader.doc_count_all() - len(values)
    if missing > 0:
        values.extend([kind._default] * missing)
    return values


def column_references(reader: Any, field: str) -> tuple[list[bytes], array]:
    """A ``RefBytesColumn`` of one segment: its distinct values, and each document's index among them."""
    column = reader._perdoc._cached_reader(field, reader.schema[field].column_type)
    count = reader.doc_count_all()
    if column is None:
        return [b""], array("B", bytes(count))
    references = array(column._typecode)
    references.frombytes(bytes(column._dbfile.get(column._basepos, count * column._itemsize)))
    if references.itemsize > 1 and sys.byteorder == "little":
        references.byteswap()
    return list(column._uniques), references
