"""A Whoosh segment writer built for bulk loads.

Whoosh's own writer pushes every posting through an external merge sort
(pickled to disk and back), then writes postings one call at a time while
looking each document's field length up in a column file. For a segment that
fits in memory all of that is overhead: this writer keeps postings grouped by
term in plain lists and writes each posting block in one go. The files on disk
are the ones Whoosh's writer would produce (same codec, same format), so any
Whoosh reader opens them; a full rebuild of the real corpus is several times
faster and never spills to disk.
"""

from __future__ import annotations

from array import array
from typing import Any

from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

from .schema import FastText, positions_of, terms

#: Postings blocks are not zlib-compressed: compressing cost more at index time,
#: and decompressing at query time, than the ~30% of disk it saves.
CODEC_OPTIONS = {"blocklimit": 128, "compression": 0, "inlinelimit": 1}


def codec() -> W3Codec:
    """The codec every podsearch writer uses."""
    return W3Codec(**CODEC_OPTIONS)


class _Postings:
    """One term's postings, as parallel lists in document order."""

    __slots__ = ("docnums", "weights", "values")

    def __init__(self) -> None:
        self.docnums: list[int] = []
        self.weights: list[float] = []
        self.values: list[bytes] = []


class BulkSegmentWriter(SegmentWriter):
    """A :class:`~whoosh.writing.SegmentWriter` whose postings stay in memory.

    Supports what the podsearch schema uses: plain values per field, no
    per-document or per-field boosts, no term vectors, no spelling fields.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        kwargs.setdefault("codec", codec())
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        self._terms: dict[tuple[str, bytes], _Postings] = {}
        self._lengths: dict[str, dict[int, int]] = {}

    def add_document(self, **fields: Any) -> None:
        """Add one document (keyword arguments as for Whoosh's writers)."""
        self._check_state()
        schema = self.schema
        docnum = self.docnum
        terms = self._terms
        writer = self.perdocwriter
        writer.start_doc(docnum)
        for fieldname in sorted(fields):
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if isinstance(field, FastText) and isinstance(value, str):
                length = self._add_text(fieldname, field, value, docnum)
            elif field.indexed:
                for term, frequency, weight, encoded in field.index(value):
                    postings = terms.get((fieldname, term))
                    if postings is None:
                        terms[(fieldname, term)] = postings = _Postings()
                    postings.docnums.append(docnum)
                    postings.weights.append(weight)
                    postings.values.append(encoded)
                    length += frequency
            if field.scorable and length:
                self._lengths.setdefault(fieldname, {})[docnum] = length
            writer.add_field(fieldname, field, value if field.stored else None, length)
            if field.column_type:
                writer.add_column_value(fieldname, field.column_type, field.to_column_value(value))
        writer.finish_doc()
        self._added = True
        self.docnum += 1

    def _add_text(self, fieldname: str, field: FastText, value: str, docnum: int) -> int:
        """The fast path for text: no token objects, no intermediate tuples."""
        pool = self._terms
        encode = field.encode
        length = 0
        words = terms(value)
        if field.terms_field is not None:
            self.perdocwriter.add_field(field.terms_field, self.schema[field.terms_field], " ".join(words), 0)
        for term, positions in positions_of(words).items():
            key = (fieldname, term.encode("utf-8"))
            postings = pool.get(key)
            if postings is None:
                pool[key] = postings = _Postings()
            postings.docnums.append(docnum)
            postings.weights.append(float(len(positions)))
            postings.values.append(encode(positions))
            length += len(positions)
        return length

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        current_field = None
        for fieldname, term in sorted(self._terms):
            if fieldname != current_field:
                if current_field is not None:
                    fieldwriter.finish_field()
                fieldwriter.start_field(fieldname, self.schema[fieldname])
                current_field = fieldname
            fieldwriter.start_term(term)
            self._write_postings(
                fieldwriter._postwriter,
                self._terms[(fieldname, term)],
                self._lengths.get(fieldname, {}),
            )
            fieldwriter.finish_term()
        if current_field is not None:
            fieldwriter.finish_field()
        fieldwriter.close()
        self._terms.clear()
        self._lengths.clear()

    @staticmethod
    def _write_postings(postwriter: Any, postings: _Postings, lengths: dict[int, int]) -> None:
        """Fill the postings writer block by block, as ``add_posting`` would one by one."""
        size = postwriter._blocklimit
        count = len(postings.docnums)
        for begin in range(0, count, size):
            if begin:  # a full block is written only when the next one starts
                postwriter._write_block()
            docnums = postings.docnums[begin : begin + size]
            weights = postings.weights[begin : begin + size]
            postwriter._ids = array("I", docnums)
            postwriter._weights = array("f", weights)
            postwriter._values = [v for v in postings.values[begin : begin + size] if v]
            postwriter._maxweight = max(weights)
            block_lengths = [lengths[d] for d in docnums if lengths.get(d)]
            postwriter._minlength = min(block_lengths) if block_lengths else None
            postwriter._maxlength = max(block_lengths) if block_lengths else 0
