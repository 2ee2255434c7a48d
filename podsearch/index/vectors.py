"""Paragraph vectors stored in the index: written in the commit, keyed by (episode, paragraph).

A generation with vectors has one file ``podsearch_s<N>_vectors-<generation>.vec``,
listed in its commit record with the other files (so the open-time size check
and ``podsearch check`` cover it) and written, synced, just before the record.
Its layout::

    b"PSVEC1\\n" | header length (uint32 LE) | JSON header | paragraph numbers (int32) | pad | float16 matrix

The header names the model's fingerprint, the dimensions and, for each
episode, its id, the manifest hash it was embedded from, the key of the texts
(:func:`podsearch.embedding.passages.episode_key`) and its number of rows. Row
``-1`` of an episode is the episode itself (title and description); the others
are paragraph numbers. Nothing depends on document numbers.

Only new and changed episodes are embedded: an episode whose file was not read
again keeps its rows from the previous generation's file; one that was read
again (a rebuild, a compaction) is looked up by the key of its texts there, then
in the per-episode cache, and only then embedded. Each embedded episode is
saved to the cache (``vectors-cache/<key>-<crc>.npy``) at once, so an
interrupted first embedding resumes where it stopped; entries held by a
committed generation are removed by :func:`tidy_cache` after the update.

A table past :data:`podsearch.index.nearest.MIN_ROWS` rows also gets a
nearest-neighbour graph in the same commit (``.ann``, named in the record next to
the vector file) when the ``semantic-scale`` extra is installed;
:meth:`VectorTable.search` uses it, else searches exactly.

numpy is imported only when a generation has or gets vectors: without the
``semantic`` extra nothing here runs.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from podsearch.errors import IndexDamagedError, MissingExtraError
from podsearch.index.commits import CommitRecord, as_recorded
from podsearch.index.storage import INDEX_NAME
from podsearch.index.syncing import write_durably
from podsearch.model import Episode

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MAGIC = b"PSVEC1\n"
#: The per-episode cache of an interrupted or running embedding, inside the index folder.
CACHE_FOLDER = "vectors-cache"
_ALIGN = 64
#: With a graph, a filter that allows at most this many rows is searched exactly over them: about
#: 0.3 ms per 1,000 rows (float16 brute force), against 14 ms for asking the graph for twenty times
#: the rows and keeping the 5 % that pass (20× the corpus).
EXACT_ROWS = 40_000


class PassageEncoder(Protocol):
    """What the index needs of a model (made by :mod:`podsearch.api` from :mod:`podsearch.embedding`)."""

    @property
    def fingerprint(self) -> str:
        """The model's fingerprint: vectors of another model are recomputed."""

    @property
    def dimensions(self) -> int:
        """The length of a vector."""

    def passages(self, episode: Episode) -> tuple[list[int], list[str]]:
        """The rows of an episode (-1 for the episode, then paragraph numbers) and the text of each."""

    def key(self, texts: Sequence[str]) -> str:
        """What a set of vectors was made from: the fingerprint and the texts."""

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors, one per text."""


@dataclass(frozen=True)
class VectorRequest:
    """What an update is asked to do with vectors (see :func:`requested`)."""

    #: True: compute them; False: drop them; None: keep whatever the index has.
    wanted: bool | None
    #: Loads the model (only called when vectors are wanted or kept).
    load: Callable[[], PassageEncoder]
    #: Called with (texts embedded, texts to embed) while embedding.
    progress: Callable[[int, int], None] | None = None


_REQUEST: ContextVar[VectorRequest | None] = ContextVar("podsearch_vector_request", default=None)
_ENCODERS: ContextVar[list[PassageEncoder] | None] = ContextVar("podsearch_vector_encoder", default=None)


@contextmanager
def requested(request: VectorRequest) -> Iterator[None]:
    """Run an update (in this thread) with this request about vectors."""
    token = _REQUEST.set(request)
    loaded = _ENCODERS.set([])
    try:
        yield
    finally:
        _ENCODERS.reset(loaded)
        _REQUEST.reset(token)


def file_name(generation: int) -> str:
    """The vector file of a generation: ``podsearch_s5_vectors-7.vec``.

    Not a name Whoosh takes for one of its segments (it would delete it at the commit);
    :meth:`~podsearch.index.storage.IndexDir.remove_leftovers` knows it.
    """
    return f"{INDEX_NAME}_vectors-{generation}.vec"


def recorded(record: CommitRecord) -> tuple[str, str] | None:
    """``(file name, model fingerprint)`` of a generation's vectors, ``None`` without vectors."""
    found = getattr(record, "vectors", None) or {}
    if not found:
        return None
    return str(found["file"]), str(found["model"])


def _encoder() -> PassageEncoder | None:
    request, loaded = _REQUEST.get(), _ENCODERS.get()
    if request is None:
        return None
    if loaded is None or not loaded:
        try:
            encoder = request.load()
        except MissingExtraError as error:
            raise type(error)(
                f"{error} (this index keeps paragraph vectors; to drop them: podsearch index --no-semantic)"
            ) from error
        if loaded is None:
            return encoder
        loaded.append(encoder)
    return loaded[0]


def wanted_change(state: CommitRecord) -> bool:
    """Whether the request changes the vectors of an index whose episodes are otherwise unchanged."""
    request = _REQUEST.get()
    if request is None or request.wanted is None:
        return False
    current = recorded(state)
    if not request.wanted:
        return current is not None
    encoder = _encoder()
    return current is None or encoder is None or current[1] != encoder.fingerprint


def graph_of(record: CommitRecord) -> str | None:
    """The file of a generation's nearest-neighbour graph (:mod:`podsearch.index.nearest`), ``None`` without."""
    found = getattr(record, "vectors", None) or {}
    return str(found["graph"]) if found.get("graph") else None


def files_of(record: CommitRecord) -> list[str]:
    """The vector files a record names (to list them with its other files)."""
    found = recorded(record)
    graph = graph_of(record)
    return ([found[0]] if found else []) + ([graph] if graph else [])


# --- writing (inside the commit) ------------------------------------------------------------


def commit(
    folder: Path,
    storage: Any,
    segments: Sequence[Any],
    record: CommitRecord,
    state: CommitRecord,
    read_again: set[str],
    generation: int,
) -> CommitRecord:
    """Write the vectors of the generation about to be committed; ``record`` with them named.

    ``segments``: the generation's segments (in ``storage``); ``read_again``: the
    episodes this update read (their documents are new). Without vectors wanted
    (or kept), returns ``record`` unchanged and writes nothing.
    """
    request = _REQUEST.get()
    previous = recorded(state)
    keep = request.wanted if request is not None and request.wanted is not None else previous is not None
    if not keep or request is None:
        return record
    with segment_episodes(storage, segments) as episode_of:
        return _commit(folder, record, state, read_again, generation, episode_of, request)


def _commit(
    folder: Path,
    record: CommitRecord,
    state: CommitRecord,
    read_again: set[str],
    generation: int,
    episode_of: Callable[[str], Episode | None],
    request: VectorRequest,
) -> CommitRecord:
    previous = recorded(state)
    encoder = _encoder()
    assert encoder is not None
    old = _previous_table(folder, state, previous, encoder.fingerprint)
    cache = _Cache(folder / CACHE_FOLDER)
    episodes: list[tuple[str, str, str, list[int], Any]] = []
    pending: list[tuple[int, list[str]]] = []
    for eid, (_, sha) in sorted(record.manifest.items()):
        entry = old.by_id.get(eid) if old is not None else None
        if entry is not None and eid not in read_again and entry[1] == sha:
            episodes.append((eid, sha, entry[2], *old.rows(entry)))  # type: ignore[union-attr]
            continue
        episode = episode_of(eid)
        if episode is None:  # no paragraph documents (a file without a transcript)
            continue
        numbers, texts = encoder.passages(episode)
        key = encoder.key(texts)
        reused = old.by_key.get(key) if old is not None else None
        matrix = old.rows(reused)[1] if old is not None and reused is not None else cache.get(key, len(texts))
        episodes.append((eid, sha, key, numbers, matrix))
        if matrix is None:
            pending.append((len(episodes) - 1, texts))
    _embed(encoder, cache, episodes, pending, request.progress)
    name = file_name(generation)
    write_durably(folder / name, _encode(encoder.fingerprint, encoder.dimensions, episodes))
    graph = _write_graph(folder, VectorTable.open(folder / name), state, old, generation)
    described = {"file": name, "model": encoder.fingerprint} | ({"graph": graph} if graph else {})
    return replace(record, vectors=described)


def _write_graph(
    folder: Path, table: VectorTable, state: CommitRecord, old: VectorTable | None, generation: int
) -> str | None:
    """Write the generation's nearest-neighbour graph when the table is large enough and usearch is
    installed; its file name (``None``: searched exactly). Reuses the previous graph's unchanged rows."""
    from podsearch.index import nearest

    if len(table.numbers) < nearest.MIN_ROWS or not nearest.available():
        return None
    keys = nearest.row_keys(table.episode_rows(), table.numbers)
    if keys is None:
        return None
    previous = None
    old_graph = graph_of(state)
    if old is not None and old_graph and as_recorded(folder, state, old_graph):
        old_keys = nearest.row_keys(old.episode_rows(), old.numbers)
        path = folder / old_graph
        if old_keys is not None:
            import numpy as np

            unchanged = np.zeros(len(old_keys), dtype=bool)
            for eid, start, count in old.episode_rows():
                entry = table.by_id.get(eid)
                unchanged[start : start + count] = entry is not None and entry[2] == old.by_id[eid][2]
            previous = (path, old_keys, unchanged)
    name = nearest.file_name(generation)
    nearest.write_graph(folder / name, table.matrix, keys, previous)
    return name


def _embed(
    encoder: PassageEncoder,
    cache: _Cache,
    episodes: list[tuple[str, str, str, list[int], Any]],
    pending: list[tuple[int, list[str]]],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Embed the episodes without vectors, one at a time, each saved to the cache when done."""
    import numpy as np

    total = sum(len(texts) for _, texts in pending)
    done = 0
    if progress is not None and total:
        progress(0, total)
    for position, texts in pending:
        eid, sha, key, numbers, _ = episodes[position]
        matrix = np.asarray(encoder.encode(texts), dtype=np.float16)
        cache.put(key, matrix)
        episodes[position] = (eid, sha, key, numbers, matrix)
        done += len(texts)
        if progress is not None:
            progress(done, total)


def _encode(fingerprint: str, dimensions: int, episodes: list[tuple[str, str, str, list[int], Any]]) -> bytes:
    import numpy as np

    header = json.dumps(
        {
            "model": fingerprint,
            "dimensions": dimensions,
            "episodes": [[eid, sha, key, len(numbers)] for eid, sha, key, numbers, _ in episodes],
        },
        ensure_ascii=True,
        separators=(",", ":"),
    ).encode("ascii")
    numbers = np.array([n for *_, rows, _ in episodes for n in rows], dtype="<i4").tobytes()
    head = MAGIC + struct.pack("<I", len(header)) + header + numbers
    pad = b"\0" * (-len(head) % _ALIGN)
    matrices = [np.asarray(m, dtype="<f2").reshape(-1, dimensions) for *_, m in episodes]
    body = np.concatenate(matrices).tobytes() if matrices else b""
    return head + pad + body


def _previous_table(
    folder: Path, state: CommitRecord, previous: tuple[str, str] | None, fingerprint: str
) -> VectorTable | None:
    """The previous generation's vectors when they are of this model and intact (else ``None``)."""
    if previous is None or previous[1] != fingerprint:
        return None
    if not as_recorded(folder, state, previous[0]):
        return None
    try:
        return VectorTable.open(folder / previous[0])
    except (OSError, IndexDamagedError):
        return None


class _Cache:
    """Vectors of single episodes, each in ``<key>-<crc32>.npy``: saved as soon as embedded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._names: dict[str, str] = {}
        if folder.is_dir():
            for name in os.listdir(folder):
                key, dash, rest = name.partition("-")
                if dash and rest.endswith(".npy"):
                    self._names[key] = name

    def get(self, key: str, rows: int) -> Any:
        """The cached matrix of ``key`` with ``rows`` rows; ``None`` when absent or damaged."""
        import numpy as np

        name = self._names.get(key)
        if name is None:
            return None
        path = self.folder / name
        try:
            data = path.read_bytes()
            if f"{zlib.crc32(data):08x}.npy" != name.partition("-")[2]:
                return None
            from io import BytesIO

            matrix = np.load(BytesIO(data), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return matrix if matrix.ndim == 2 and matrix.shape[0] == rows and matrix.dtype == np.float16 else None

    def put(self, key: str, matrix: Any) -> None:
        """Save an episode's matrix durably (a crash leaves it whole or absent)."""
        from io import BytesIO

        import numpy as np

        buffer = BytesIO()
        np.save(buffer, matrix, allow_pickle=False)
        data = buffer.getvalue()
        self.folder.mkdir(exist_ok=True)
        name = f"{key}-{zlib.crc32(data):08x}.npy"
        write_durably(self.folder / name, data)
        self._names[key] = name


def tidy_cache(folder: Path) -> None:
    """Remove the cached episodes the latest generation holds (all of them when vectors were
    dropped: an abandoned embedding). Call after an update."""
    cache = folder / CACHE_FOLDER
    if not cache.is_dir():
        return
    from podsearch.index.storage import IndexDir

    store = IndexDir(folder)
    try:
        generation = store.generation()
        found = recorded(store.record(generation)) if generation is not None else None
    except (OSError, IndexDamagedError):
        return
    held: set[str] = set()
    if found is not None:
        try:
            held = set(VectorTable.open(folder / found[0]).keys)
        except (OSError, IndexDamagedError):
            return
    request = _REQUEST.get()
    # only when asked (--no-semantic): a plain nightly run must not lose an interrupted embedding
    abandoned = found is None and request is not None and request.wanted is False
    for name in os.listdir(cache):
        if abandoned or name.partition("-")[0] in held or name.endswith(".tmp"):
            try:
                (cache / name).unlink()
            except FileNotFoundError:
                pass
    try:
        cache.rmdir()  # only when empty
    except OSError:
        pass


# --- reading ----------------------------------------------------------------------------------


class VectorTable:
    """One generation's vectors, memory-mapped: rows keyed by (episode id, paragraph number)."""

    def __init__(self, path: Path, header: dict[str, Any], numbers: Any, matrix: Any) -> None:
        self.path = path
        #: The model that made the vectors.
        self.model: str = header["model"]
        self.dimensions: int = int(header["dimensions"])
        self.numbers = numbers
        #: float16 rows, memory-mapped.
        self.matrix = matrix
        entries = [(str(e), str(s), str(k), int(n)) for e, s, k, n in header["episodes"]]
        self.episode_ids: list[str] = []
        self.starts: list[int] = []
        self.by_id: dict[str, tuple[int, str, str, int]] = {}
        self.by_key: dict[str, tuple[int, str, str, int]] = {}
        row = 0
        for eid, sha, key, count in entries:
            entry = (row, sha, key, count)
            self.by_id[eid] = entry
            self.by_key.setdefault(key, entry)
            self.episode_ids.append(eid)
            self.starts.append(row)
            row += count
        self.keys = [key for _, _, key, _ in entries]
        if row != len(numbers) or matrix.shape != (row, self.dimensions):
            raise _damaged(path, "rows do not match the header")
        self._dense: Any = None
        self._graph: Any = None
        #: The graph file not opened yet: its path, the table's row keys and the commit record listing it.
        self._graph_source: tuple[Path, Any, CommitRecord] | None = None
        self._graph_lock = threading.Lock()
        #: What the query layer derives from the table and keeps as long as it (row → document maps).
        self.derived: dict[str, Any] = {}

    @classmethod
    def open(cls, path: Path) -> VectorTable:
        """Map a vector file; :class:`IndexDamagedError` when its layout is wrong."""
        import numpy as np

        with open(path, "rb") as file:
            head = file.read(len(MAGIC) + 4)
            if len(head) != len(MAGIC) + 4 or not head.startswith(MAGIC):
                raise _damaged(path, "not a vector file")
            (length,) = struct.unpack("<I", head[len(MAGIC) :])
            try:
                header = json.loads(file.read(length))
                rows = sum(int(entry[3]) for entry in header["episodes"])
                dimensions = int(header["dimensions"])
            except (ValueError, KeyError, TypeError, IndexError) as error:
                raise _damaged(path, f"unreadable header: {error}") from None
        offset = len(MAGIC) + 4 + length
        size = os.stat(path).st_size
        start = offset + 4 * rows
        start += -start % _ALIGN
        if size != start + 2 * rows * dimensions:
            raise _damaged(path, f"{size} bytes, not the {start + 2 * rows * dimensions} its header says")
        numbers = np.fromfile(path, dtype="<i4", count=rows, offset=offset) if rows else np.zeros(0, "<i4")
        matrix = (
            np.memmap(path, dtype="<f2", mode="r", offset=start, shape=(rows, dimensions))
            if rows
            else np.zeros((0, dimensions), "<f2")
        )
        return cls(path, header, numbers, matrix)

    def attach_graph(self, path: Path, keys: Any, record: CommitRecord) -> None:
        """Search through the nearest-neighbour graph at ``path`` (:mod:`podsearch.index.nearest`), for
        rows with these ``keys``, once it proves as ``record`` lists it (size, CRC-32): see :attr:`graph`."""
        with self._graph_lock:
            self._graph, self._graph_source = None, (path, keys, record)

    @property
    def graph(self) -> Any:
        """The nearest-neighbour graph (:class:`podsearch.index.nearest.Graph`), ``None``: exact search.

        Opened on the first search that needs it, after reading the whole file against the commit
        record's CRC-32 (0.2 s for the 509 MB of a 20× archive, once per generation; a words
        search never pays it): usearch trusts the links it maps, and a graph damaged in place
        (same size) crashed the process with a segmentation fault instead of failing.
        :class:`IndexDamagedError` when the file differs; ``FileNotFoundError`` when a later
        commit removed it meanwhile (the read is then retried on the newest generation).
        """
        with self._graph_lock:
            if self._graph_source is not None:
                from podsearch.index import nearest

                path, keys, record = self._graph_source
                try:
                    if not as_recorded(path.parent, record, path.name):
                        raise _damaged(path, "its content differs from what the commit recorded")
                    self._graph = nearest.open_graph(path, keys)
                except IndexDamagedError:
                    if not path.exists():  # removed by a later commit meanwhile: not damage
                        raise FileNotFoundError(path) from None
                    raise
                self._graph_source = None
            return self._graph

    def rows(self, entry: tuple[int, str, str, int]) -> tuple[list[int], Any]:
        """An episode's paragraph numbers and float16 matrix."""
        start, _, _, count = entry
        return [int(n) for n in self.numbers[start : start + count]], self.matrix[start : start + count]

    def dense(self) -> NDArray[np.float32]:
        """The matrix as float32 in memory (made once): numpy multiplies float16 without BLAS, 20× slower."""
        if self._dense is None:
            import numpy as np

            self._dense = np.ascontiguousarray(self.matrix, dtype=np.float32)
        return self._dense

    def search(self, query: NDArray[np.float32], count: int, allowed: NDArray[np.bool_] | None = None) -> Found:
        """The ``count`` rows most similar to ``query`` (a unit vector) among the ``allowed`` ones.

        Exact (one product over every row) without a graph; with one, the graph's nearest rows,
        asked for more of them when a filter leaves few rows allowed, and exact over the allowed
        rows when the filter is selective or the graph's rows are not enough once filtered.
        """
        with _one_blas_thread():
            return self._search(query, count, allowed)

    def _search(self, query: NDArray[np.float32], count: int, allowed: NDArray[np.bool_] | None) -> Found:
        import numpy as np

        total = len(self.numbers)
        permitted = total if allowed is None else int(np.count_nonzero(allowed))
        count = min(count, permitted)
        graph = self.graph
        if graph is None:
            dense = self.dense()
            if allowed is not None and permitted * 4 < total:  # a selective filter: only its rows
                candidates = np.flatnonzero(allowed)
                some = dense[candidates] @ query
                best = np.argpartition(-some, count - 1)[:count] if 0 < count < len(some) else slice(count)
                return Found(self, query, candidates[best], None)
            scores = dense @ query
            candidates = np.arange(total) if allowed is None else np.flatnonzero(allowed)
            if 0 < count < len(candidates):
                candidates = candidates[np.argpartition(-scores[candidates], count - 1)[:count]]
            return Found(self, query, candidates if count else candidates[:0], scores)
        if count == 0:
            return Found(self, query, np.zeros(0, dtype=np.int64), None)
        if permitted > EXACT_ROWS:
            # the share of rows a filter allows: ask for that much more, so that enough pass it
            asked = min(total, count * -(-total // permitted) * 2)
            rows = graph.nearest(query, asked)
            if allowed is not None:
                rows = rows[allowed[rows]]
            if len(rows) >= count:
                return Found(self, query, rows[:count], None)
        from podsearch.index.nearest import exact

        subset = np.arange(total) if allowed is None else np.flatnonzero(allowed)
        best = exact(self.matrix[subset], query, count) if count < len(subset) else np.arange(len(subset))
        return Found(self, query, subset[best], None)

    def row(self, row: int) -> NDArray[np.float32]:
        """One row as float32 (from the float32 copy when it was made)."""
        import numpy as np

        return self._dense[row] if self._dense is not None else np.asarray(self.matrix[row], dtype=np.float32)

    def episode_rows(self) -> Iterator[tuple[str, int, int]]:
        """``(episode id, first row, rows)`` of every episode."""
        for eid, start in zip(self.episode_ids, self.starts, strict=True):
            yield eid, start, self.by_id[eid][3]


_BLAS: list[Any] = []


def _one_blas_thread() -> Any:
    """A context running BLAS on one thread (the product is one matrix-vector product: a second
    thread saves little idle, and on a busy machine OpenBLAS's waiting threads turned 4 ms into 8)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
        except ImportError:
            _BLAS.append(None)
        else:
            _BLAS.append(ThreadpoolController())
    controller = _BLAS[0]
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


class Found:
    """The rows a vector search found, and the cosine of any row with the query (``found[row]``)."""

    def __init__(self, table: VectorTable, query: Any, rows: Any, scores: Any) -> None:
        #: the rows found (in no particular order)
        self.rows = rows
        #: the query's unit vector
        self.query = query
        self._table = table
        self._scores = scores  # every row's cosine (exact search), else computed on demand
        self._known: dict[int, float] = {}

    def __getitem__(self, row: int) -> float:
        if self._scores is not None:
            return float(self._scores[row])
        found = self._known.get(int(row))
        if found is None:
            found = self._known[int(row)] = float(self._table.row(row) @ self.query)
        return found


def _damaged(path: Path, why: str) -> IndexDamagedError:
    return IndexDamagedError(
        f"the index at {path.parent} is damaged ({path.name}: {why}); repair it with: podsearch index --rebuild"
    )


@contextmanager
def segment_episodes(storage: Any, segments: Sequence[Any]) -> Iterator[Callable[[str], Episode | None]]:
    """``eid → Episode`` rebuilt from the live documents of ``segments`` (a generation not yet committed)."""
    from whoosh.reading import SegmentReader, TermNotFound

    from podsearch.index.documents import episode_from_stored
    from podsearch.index.schema import make_schema

    schema = make_schema()
    readers: list[Any] = []

    def episode_of(eid: str) -> Episode | None:
        meta: str | None = None
        paragraphs: list[dict[str, Any]] = []
        if not readers:  # opened on first use: an update that reuses every vector reads no document
            readers.extend(SegmentReader(storage, schema, segment) for segment in segments)
        for reader in readers:
            try:
                docs = list(reader.postings("eid", eid).all_ids())
            except TermNotFound:
                continue
            for doc in docs:
                if reader.is_deleted(doc):
                    continue
                stored = reader.stored_fields(doc)
                if "meta" in stored:  # the episode's document (kinds are indexed, not stored)
                    meta = stored["meta"]
                elif "hit" in stored:
                    paragraphs.append(stored)
        if meta is None or not paragraphs:
            return None
        return episode_from_stored(meta, paragraphs)

    try:
        yield episode_of
    finally:
        for reader in readers:
            reader.close()


def open_table(folder: Path, record: CommitRecord) -> VectorTable | None:
    """The vectors of a generation, ``None`` when it has none."""
    found = recorded(record)
    if found is None:
        return None
    try:
        import numpy  # noqa: F401 - without the semantic extra the index is searched by words
    except ImportError:
        return None
    table = VectorTable.open(folder / found[0])
    graph = graph_of(record)
    if graph is not None:
        from podsearch.index import nearest

        keys = nearest.row_keys(table.episode_rows(), table.numbers)
        # usearch is imported when the graph is first used (a words search never does): also, imported
        # before onnxruntime, it makes onnxruntime's import crash, and a search by meaning loads the model first
        if keys is not None and graph in record.files and nearest.installed():  # else: exact search
            table.attach_graph(folder / graph, keys, record)
    return table
