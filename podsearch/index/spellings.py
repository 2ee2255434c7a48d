"""The spelling dictionary stored in the index: the corpus's words and a symmetric-delete table.

Each generation has one file ``podsearch_s<N>_spellings-<generation>.dic``,
written (synced) in the commit just before the record, which lists it with the
other files: the open-time size check and ``podsearch check`` cover it, and it
goes with its generation. It holds every word the paragraphs write (folded as
:func:`podsearch.text.fold` does, alphabetic, 3 to 24 letters), sorted, with
the number of times it was seen, and a SymSpell table: the deletes of
each word's first :data:`PREFIX` letters (up to two for words that a
two-edit correction can reach, one for the others) as CRC-32 hashes, sorted,
each with the group of words sharing that start. A typo's own deletes, looked
up in the table, name the few groups whose words can be within its edits; the
query layer checks them with an edit distance, so a hash collision only adds a
candidate. Layout (little-endian 32-bit integers)::

    b"PSDICT1\\n" | words, groups, entries, blob bytes, prefix | blob (words, "\\n"-separated, padded to 4)
    | word offsets (words + 1) | paragraph counts (words) | group ranges (2 × groups) | hashes | group numbers

The file is memory-mapped when a generation is opened: nothing is read until
a query has a word the index does not know.

An update does not read the corpus again: the new dictionary is the previous
one plus the words of the episodes read in this run (from the documents just
written), a rebuild starts afresh, and an index without a dictionary (or with a
damaged one) gets one from all its documents. A word left by a removed episode
is harmless: a correction is used only when its stem still occurs.
"""

from __future__ import annotations

import bisect
import mmap
import re
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

from podsearch.errors import IndexDamagedError
from podsearch.index.commits import CommitRecord, as_recorded
from podsearch.index.storage import INDEX_NAME
from podsearch.index.syncing import write_durably

MAGIC = b"PSDICT1\n"
_HEADER = struct.Struct("<5I")
#: Letters of a word's start whose deletes are in the table (SymSpell's prefix length).
PREFIX = 7
#: The shortest and longest words kept.
MIN_LENGTH, MAX_LENGTH = 3, 24
#: Words from this length get deletes up to two: a two-edit correction (typed words of
#: eight letters or more) cannot reach a shorter one.
TWO_DELETES_FROM = 6
_LITTLE = sys.byteorder == "little"


def file_name(generation: int) -> str:
    """The dictionary of a generation: ``podsearch_s5_spellings-7.dic`` (never a name Whoosh takes for a segment)."""
    return f"{INDEX_NAME}_spellings-{generation}.dic"


def files_of(record: CommitRecord) -> list[str]:
    """The dictionary file a record names (to list it with its other files)."""
    return [record.spellings] if record.spellings else []


#: A word of :data:`podsearch.text.WORD` once apostrophes are dropped.
_WORD = re.compile(r"\w+")


def count_words(texts: Iterable[str], counts: dict[str, int]) -> None:
    """Add to ``counts`` how often each word of ``texts`` occurs (folded, alphabetic, 3 to 24 letters)."""
    # fold() of every word at once (lower case, apostrophes dropped), as podsearch.text.terms does
    text = "\n".join(texts).lower().replace("'", "").replace("’", "")
    for word, count in Counter(_WORD.findall(text)).items():
        if MIN_LENGTH <= len(word) <= MAX_LENGTH and word.isalpha():
            counts[word] = counts.get(word, 0) + count


def deletes(word: str, edits: int) -> set[str]:
    """``word`` and every string made by deleting up to ``edits`` of its letters."""
    found = {word}
    for count in range(1, min(edits, len(word)) + 1):
        for positions in combinations(range(len(word)), count):
            kept = [word[start + 1 : end] for start, end in pairwise((-1, *positions, len(word)))]
            found.add("".join(kept))
    return found


def _hashes(word: str, edits: int) -> set[int]:
    """The hashes of :func:`deletes`, made on the bytes when the word is ASCII (the same bytes, faster)."""
    data = word.encode("utf-8")
    if len(data) != len(word) or edits > 2:
        return {_hash(part) for part in deletes(word, edits)}
    crc32 = zlib.crc32
    found = {crc32(data)}
    size = len(data)
    found.update(crc32(data[:i] + data[i + 1 :]) for i in range(size))
    if edits >= 2:
        found.update(crc32(data[:i] + data[i + 1 : j] + data[j + 1 :]) for i, j in combinations(range(size), 2))
    return found


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


# --- the file -------------------------------------------------------------------------------


class Dictionary:
    """One generation's words and delete table (see the module docstring); read-only, thread-safe."""

    def __init__(self, buffer: Any, path: Path | None = None) -> None:
        self.path = path
        self._buffer = buffer  # keeps the mapping alive as long as the views
        view = memoryview(buffer)
        if len(view) < len(MAGIC) + _HEADER.size or bytes(view[: len(MAGIC)]) != MAGIC:
            raise _damaged(path, "not a spelling dictionary")
        words, groups, entries, blob, prefix = _HEADER.unpack_from(view, len(MAGIC))
        offset = len(MAGIC) + _HEADER.size
        blob_end = offset + blob
        arrays_start = blob_end + (-blob_end % 4)
        lengths = (words + 1, words, 2 * groups, entries, entries)
        if prefix != PREFIX or len(view) != arrays_start + 4 * sum(lengths):
            raise _damaged(path, f"{len(view)} bytes, not what its header says")
        self._blob = view[offset:blob_end]
        parts: list[Sequence[int]] = []
        start = arrays_start
        for length in lengths:
            parts.append(_integers(view[start : start + 4 * length]))
            start += 4 * length
        self._offsets, self._counts, self._ranges, self._hashes, self._groups = parts
        if self._offsets[0] != 0 or self._offsets[-1] != blob:
            raise _damaged(path, "word offsets do not match the words")
        #: How many words the dictionary has.
        self.size = words

    @classmethod
    def open(cls, path: Path) -> Dictionary:
        """Map a dictionary file; :class:`IndexDamagedError` when its layout is wrong."""
        with open(path, "rb") as file:
            try:
                mapped: Any = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                mapped = b""
        return cls(mapped, path)

    def word(self, number: int) -> str:
        """The word of a number (words are numbered in sorted order)."""
        start, end = self._offsets[number], self._offsets[number + 1] - 1
        return bytes(self._blob[start:end]).decode("utf-8")

    def count(self, number: int) -> int:
        """How often the word was seen (an update adds, never subtracts: a tie-break only)."""
        return self._counts[number]

    def words(self) -> Iterator[tuple[str, int]]:
        """Every ``(word, times seen)``, in sorted order."""
        text = bytes(self._blob).decode("utf-8")
        yield from zip(text.split("\n")[:-1], self._counts, strict=True)  # each word ends with a newline

    def candidates(self, word: str, edits: int) -> Iterator[tuple[str, int]]:
        """``(word, times seen)`` of every word that may be within ``edits`` of ``word``.

        A superset: the words sharing a start with one of the word's deletes;
        check each with an edit distance. Words more than ``edits`` letters
        longer or shorter are left out.
        """
        hashes, numbers = self._hashes, self._groups
        groups: set[int] = set()
        for key in _hashes(word[:PREFIX], edits):
            at = bisect.bisect_left(hashes, key)
            while at < len(hashes) and hashes[at] == key:
                groups.add(numbers[at])
                at += 1
        offsets, length = self._offsets, len(word)
        for group in sorted(groups):
            for number in range(self._ranges[2 * group], self._ranges[2 * group + 1]):
                # bytes, known without decoding: never fewer than the letters
                if offsets[number + 1] - offsets[number] - 1 >= length - edits:
                    found = self.word(number)
                    if abs(len(found) - length) <= edits:
                        yield found, self._counts[number]

    def entries(self) -> Iterator[int]:
        """The table's entries as :func:`encode` sorts them: hash in the high half, group in the low."""
        return ((key << 32) | group for key, group in zip(self._hashes, self._groups, strict=True))

    def group_heads(self) -> list[str]:
        """The start shared by the words of each group, by group number."""
        ranges = self._ranges
        return [self.word(ranges[2 * group])[:PREFIX] for group in range(len(ranges) // 2)]


def _entries(head: str, group: int) -> list[int]:
    """The table entries of a group: each delete's hash in the high half, the group in the low.

    A group's start is its words' first :data:`PREFIX` letters, or its only
    word when shorter, so its length says whether a two-edit correction can
    reach its words.
    """
    return [(key << 32) | group for key in _hashes(head, 2 if len(head) >= TWO_DELETES_FROM else 1)]


def _integers(view: memoryview) -> Sequence[int]:
    if _LITTLE:
        return view.cast("I")
    values = array("I", bytes(view))
    values.byteswap()
    return values


def _damaged(path: Path | None, why: str) -> IndexDamagedError:
    where = f"the index at {path.parent} is damaged ({path.name}: {why})" if path else f"damaged dictionary ({why})"
    return IndexDamagedError(f"{where}; repair it with: podsearch index --rebuild")


def encode(counts: dict[str, int], previous: Dictionary | None = None) -> bytes:
    """The bytes of a dictionary of these words and counts.

    With ``previous`` (whose words ``counts`` includes), its groups keep their
    numbers and their table entries are copied, not computed again.
    """
    words = sorted(counts)
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for number, word in enumerate(words):
        head = word[:PREFIX]
        starts.setdefault(head, number)
        ends[head] = number + 1
    keys: list[int] = []
    order: list[str] = []  # group number → the start its words share
    if previous is not None:
        order.extend(previous.group_heads())
        keys.extend(previous.entries())
    numbered = set(order)
    for head in starts:
        if head not in numbered:
            keys.extend(_entries(head, len(order)))
            order.append(head)
    keys.sort()
    blob = "\n".join(words).encode("utf-8") + (b"\n" if words else b"")
    offsets = array("I", [0])
    position = 0
    for word in words:
        position += len(word.encode("utf-8")) + 1
        offsets.append(position)
    ranges = array("I")
    for head in order:
        ranges.extend((starts[head], ends[head]))
    parts = [
        offsets,
        array("I", (counts[word] for word in words)),
        ranges,
        array("I", (key >> 32 for key in keys)),
        array("I", (key & 0xFFFFFFFF for key in keys)),
    ]
    if not _LITTLE:
        for part in parts:
            part.byteswap()
    front = MAGIC + _HEADER.pack(len(words), len(order), len(keys), len(blob), PREFIX) + blob
    return front + b"\0" * (-len(front) % 4) + b"".join(part.tobytes() for part in parts)


# --- writing (inside the commit) ------------------------------------------------------------


def commit(
    folder: Path,
    storage: Any,
    segments: Sequence[Any],
    record: CommitRecord,
    state: CommitRecord,
    read_again: set[str],
    generation: int,
    rebuild: bool,
) -> CommitRecord:
    """Write the dictionary of the generation about to be committed; ``record`` with it named.

    ``segments``: the generation's segments (in ``storage``); ``read_again``: the
    episodes this update read (their documents are in the segments the
    previous generation did not have). The previous dictionary is reused
    unless this is a rebuild or it is missing or damaged; then every document
    is read.
    """
    previous = None if rebuild else _previous(folder, state)
    counts: dict[str, int] = dict(previous.words()) if previous is not None else {}
    if previous is None:
        count_words(_texts(storage, segments, None), counts)
    else:
        kept = set(state.segment_ids)
        fresh = [segment for segment in segments if segment.segment_id() not in kept]
        count_words(_texts(storage, fresh, read_again), counts)
    name = file_name(generation)
    write_durably(folder / name, encode(counts, previous))
    return replace(record, spellings=name)


def _previous(folder: Path, state: CommitRecord) -> Dictionary | None:
    """The previous generation's dictionary when it is there and intact (else ``None``)."""
    if not state.spellings or not as_recorded(folder, state, state.spellings):
        return None
    try:
        return Dictionary.open(folder / state.spellings)
    except (OSError, IndexDamagedError):
        return None


def _texts(storage: Any, segments: Sequence[Any], episodes: set[str] | None) -> Iterator[str]:
    """The paragraph texts of the live documents of ``segments`` (of these episodes, or all)."""
    from whoosh.reading import SegmentReader

    from podsearch.index.schema import make_schema

    schema = make_schema()
    for segment in segments:
        reader = SegmentReader(storage, schema, segment)
        try:
            for _, stored in reader.iter_docs():  # live documents only
                text = stored.get("text")
                if text and (episodes is None or stored.get("eid") in episodes):
                    yield text
        finally:
            reader.close()


def open_dictionary(folder: Path, record: CommitRecord) -> Dictionary | None:
    """The dictionary of a generation, ``None`` for an index written before there were dictionaries."""
    return Dictionary.open(folder / record.spellings) if record.spellings else None
