"""The record of a commit: what one generation of the index is, written before it goes live.

Each podsearch commit writes ``_<index>_<generation>.commit`` (synced) just
before Whoosh renames the generation's table of contents into place, so a
generation never exists without its record, and the record is as atomic as the
commit itself. It holds:

- the folders the index mirrors and its manifest (episode id → path and hash),
  each episode's identity key and earlier file names, the files that failed or
  were skipped with their hash, the segments and their document count:
  everything the next update plans from, so ``podsearch.json`` is only a report;
- every file the generation uses (table of contents included) with its size and
  CRC-32: sizes are compared each time a generation is opened (a few ``stat``
  calls), checksums by a full verification (``podsearch check``).

The record carries its own checksum: a truncated or edited record is damage,
never a silently different plan.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Bumped when the record's layout changes; an older layout reads as damaged.
RECORD_FORMAT = 2
RECORD_SUFFIX = ".commit"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CommitRecord:
    """One generation of the index, as its commit recorded it."""

    generation: int
    #: the folders the index mirrors (real paths)
    folders: tuple[str, ...]
    #: episode id → (path, hash) of the indexed copy
    manifest: dict[str, tuple[str, str]]
    #: path → (hash, reason) of the files that failed, to skip while unchanged
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: path → (hash, reason) of the files skipped as not episodes, to skip while unchanged
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: episode id → the identity key it was given from (``s03e04``)
    keys: dict[str, str] = field(default_factory=dict)
    #: episode id → earlier file names of the episode
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    segment_ids: tuple[str, ...] = ()
    #: documents in the segments, deleted ones included (for compaction)
    documents: int = 0
    #: file name → (size, CRC-32)
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: the paragraph vectors, when the index has them: {"file": name, "model": fingerprint} (index/vectors.py)
    vectors: dict[str, str] = field(default_factory=dict)
    #: the spelling dictionary's file name, "" without one (index/spellings.py)
    spellings: str = ""


def record_name(index_name: str, generation: int) -> str:
    """The record file of a generation: ``_podsearch_s3_7.commit``."""
    return f"_{index_name}_{generation}{RECORD_SUFFIX}"


def record_pattern(index_name: str) -> re.Pattern[str]:
    """Matches the record files of an index; group 1 is the generation."""
    return re.compile(rf"_{re.escape(index_name)}_(\d+){re.escape(RECORD_SUFFIX)}$")


def encode(record: CommitRecord) -> bytes:
    """The record's bytes: its CRC-32 in hex on the first line, then JSON."""
    body = json.dumps(
        {
            "format": RECORD_FORMAT,
            "generation": record.generation,
            "folders": list(record.folders),
            "manifest": {eid: list(entry) for eid, entry in sorted(record.manifest.items())},
            "failures": {path: list(entry) for path, entry in sorted(record.failures.items())},
            "skipped": {path: list(entry) for path, entry in sorted(record.skipped.items())},
            "keys": dict(sorted(record.keys.items())),
            "aliases": {eid: list(names) for eid, names in sorted(record.aliases.items())},
            "segment_ids": list(record.segment_ids),
            "documents": record.documents,
            "files": {name: list(entry) for name, entry in sorted(record.files.items())},
            "vectors": dict(sorted(record.vectors.items())),
            "spellings": record.spellings,
        },
        ensure_ascii=True,  # a file name that is not UTF-8 (surrogate escapes) must not break the write
        separators=(",", ":"),
    ).encode("ascii")
    return b"%08x\n" % zlib.crc32(body) + body


def decode(data: bytes) -> CommitRecord:
    """The record in ``data``; :class:`ValueError` when it is damaged or of another layout."""
    head, newline, body = data.partition(b"\n")
    if not newline or len(head) != 8 or int(head, 16) != zlib.crc32(body):
        raise ValueError("the checksum does not match")
    values: dict[str, Any] = json.loads(body)
    if values.get("format") != RECORD_FORMAT:
        raise ValueError(f"record format {values.get('format')!r}")
    try:
        return CommitRecord(
            generation=int(values["generation"]),
            folders=tuple(str(f) for f in values["folders"]),
            manifest={str(eid): (str(path), str(sha)) for eid, (path, sha) in values["manifest"].items()},
            failures={str(path): (str(sha), str(why)) for path, (sha, why) in values["failures"].items()},
            skipped={str(path): (str(sha), str(why)) for path, (sha, why) in values["skipped"].items()},
            keys={str(eid): str(key) for eid, key in values["keys"].items()},
            aliases={str(eid): tuple(str(name) for name in names) for eid, names in values["aliases"].items()},
            segment_ids=tuple(str(s) for s in values["segment_ids"]),
            documents=int(values["documents"]),
            files={str(name): (int(size), int(crc)) for name, (size, crc) in values["files"].items()},
            vectors={str(k): str(v) for k, v in values.get("vectors", {}).items()},
            spellings=str(values.get("spellings", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"unexpected content ({error})") from None


def file_checksum(path: Path | str) -> int:
    """The CRC-32 of a file's content."""
    crc = 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def as_recorded(folder: Path, record: CommitRecord, name: str) -> bool:
    """Whether a file ``record`` lists is still as it was written: its size and CRC-32 as recorded
    (``False`` when the record does not list it, or it is missing or unreadable)."""
    expected = record.files.get(name)
    if expected is None:
        return False
    path = folder / name
    try:
        return os.stat(path).st_size == expected[0] and file_checksum(path) == expected[1]
    except OSError:
        return False


def describe_files(
    folder: Path,
    names: Iterable[str],
    known: dict[str, tuple[int, int]],
    renamed: dict[str, str] | None = None,
) -> dict[str, tuple[int, int]]:
    """Size and CRC-32 of each named file (``renamed`` maps a final name to the file that holds it now).

    Segment files never change once written, so a file found in ``known`` with
    the same size keeps its recorded checksum instead of being read again.
    """
    renamed = renamed or {}
    described: dict[str, tuple[int, int]] = {}
    for name in names:
        path = folder / renamed.get(name, name)
        size = os.stat(path).st_size
        previous = known.get(name)
        if previous is not None and previous[0] == size and name not in renamed:
            described[name] = previous
        else:
            described[name] = (size, file_checksum(path))
    return described
