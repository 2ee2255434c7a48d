"""The bulk segment writer indexes exactly what Whoosh's own writer would.

The same documents go through Whoosh's ``SegmentWriter`` with plain
``TEXT(analyzer=PodcastAnalyzer())`` fields and through
:class:`~podsearch.index.segments.BulkSegmentWriter` with the real schema; every term,
posting, weight, position, field length, term statistic and stored field must
agree. (The posting files are not byte-identical: the bulk writer pickles its
blocks with a newer protocol and reuses one bytes object per lone position.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from whoosh import fields
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.writing import SegmentWriter

from podsearch.index.documents import episode_documents
from podsearch.index.schema import FastText, PodcastAnalyzer, make_schema, terms
from podsearch.index.segments import BLOCK_PROTOCOL, BulkSegmentWriter, codec
from podsearch.index.storage import INDEX_NAME
from podsearch.reading.episodes import read_episode

from .conftest import BUNDLED_EPISODE
from .factory import write_episode
from .test_indexer import index_content

ODD_TEXT = [
    "Don't stop: it's full-stack/data_science! Ünïcödé naïve café, 2024, x² and ½.",
    "supercalifragilisticexpialidociousnessandmoreandmorewordsbeyondforty repeated repeated repeated",
    "…",
    "The the THE the; a b c a b c a b c.",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters, Alexey’s and Mihail's questions — “quoted”.",
]


def reference_schema() -> fields.Schema:
    """The podsearch schema with every FastText field as the plain Whoosh field it stands for."""
    schema = fields.Schema()
    for name, field in make_schema().items():
        if isinstance(field, FastText):
            field = fields.TEXT(
                analyzer=PodcastAnalyzer(),
                phrase=isinstance(field.format, Positions),
                stored=field.stored,
                field_boost=field.format.field_boost,
            )
        schema.add(name, field)
    return schema


def with_terms(document: dict[str, Any]) -> dict[str, Any]:
    """The stored terms the bulk writer adds for a FastText field with a ``terms_field``."""
    extra = {}
    for name, field in make_schema().items():
        target = getattr(field, "terms_field", None)
        if target and document.get(name) is not None:
            extra[target] = " ".join(terms(document[name]))
    return {**document, **extra}


def build(folder: Path, schema: fields.Schema, writer_class: type, documents: list[dict[str, Any]]) -> None:
    storage = FileStorage(str(folder)).create()
    ix = storage.create_index(schema, indexname=INDEX_NAME)
    writer = writer_class(ix, codec=codec(), compound=False)
    for document in documents:
        writer.add_document(**document)
    writer.commit()
    ix.close()


def term_statistics(folder: Path) -> dict[tuple[str, bytes], tuple[Any, ...]]:
    """Each term's statistics as the codec stores them (not where its postings are)."""
    ix = FileStorage(str(folder)).open_index(INDEX_NAME)
    with ix.reader() as reader:
        found = {}
        for field in reader.indexed_field_names():
            for term in reader.lexicon(field):
                info = reader.term_info(field, term)
                found[(field, term)] = (
                    info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                    info.max_weight(), info.min_id(), info.max_id(),
                )  # fmt: skip
        totals = {name: reader.field_length(name) for name in reader.schema.scorable_names()}
    ix.close()
    return {**found, ("", b"totals"): tuple(sorted(totals.items()))}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("bulk")
    write_episode(folder, "odd", [("Alexey", n * 10, text) for n, text in enumerate(ODD_TEXT)], topics=["NLP"])
    # more paragraphs with one word than a postings block holds (128)
    write_episode(folder, "long", [("Bob", n, f"data point number {n}") for n in range(300)])
    found = []
    for path in (BUNDLED_EPISODE, folder / "odd.md", folder / "long.md"):
        found.extend(episode_documents(read_episode(path), str(path), "sha"))
    return found


def test_bulk_writer_indexes_what_whoosh_would(tmp_path: Path, documents: list[dict[str, Any]]) -> None:
    build(tmp_path / "whoosh", reference_schema(), SegmentWriter, [with_terms(d) for d in documents])
    build(tmp_path / "bulk", make_schema(), BulkSegmentWriter, documents)
    expected, actual = index_content(tmp_path / "whoosh"), index_content(tmp_path / "bulk")
    assert actual["documents"] == expected["documents"]
    assert actual["lengths"] == expected["lengths"]
    assert actual["postings"].keys() == expected["postings"].keys()
    assert actual["postings"] == expected["postings"]
    assert term_statistics(tmp_path / "bulk") == term_statistics(tmp_path / "whoosh")
    assert len(actual["postings"][("text", b"data")]) > 2 * 128  # several postings blocks


def test_posting_blocks_keep_positions_as_plain_bytes(tmp_path: Path, documents: list[dict[str, Any]]) -> None:
    # Protocol 2 would store each posting's positions as a call that unpickling
    # runs, several times slower to read at query time.
    build(tmp_path / "bulk", make_schema(), BulkSegmentWriter, documents)
    ix = FileStorage(str(tmp_path / "bulk")).open_index(INDEX_NAME)
    with ix.reader() as reader:
        matcher = reader.postings("text", "data")
        raw = matcher._postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
        assert raw[:2] == bytes([0x80, BLOCK_PROTOCOL]) and b"_codecs" not in raw
        assert len(list(matcher.all_ids())) > 128
    ix.close()


def test_bulk_writer_refuses_a_list_for_positional_text(tmp_path: Path) -> None:
    ix = FileStorage(str(tmp_path)).create().create_index(make_schema(), indexname=INDEX_NAME)
    writer = BulkSegmentWriter(ix)
    with pytest.raises(TypeError, match="field 'text' takes a string, not list"):
        writer.add_document(kind="p", eid="x", text=["a", "list"])
    writer.cancel()
    ix.close()
