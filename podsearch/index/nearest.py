"""Approximate nearest neighbours for a large vector table: an HNSW graph (usearch), in the commit.

Exact search, one product over every row, is what a table of the corpus's size
wants (27,763 rows: 2–6 ms). Its cost grows with the rows and so does the
float32 copy it multiplies (1.5 KB a row). Past :data:`MIN_ROWS` rows, and only
with the ``semantic-scale`` extra (``usearch``), the commit also writes an HNSW
graph of the generation's vectors, ``podsearch_s<N>_vectors-<generation>.ann``,
named in the commit record with the vector file (so the size check and
``podsearch check`` cover it); a search memory-maps it and asks it for the
nearest rows, then scores them exactly from the float16 table. Without the
extra, or below the threshold, search stays exact.

A graph's keys are stable across generations: an episode's 40-bit hash and the
paragraph number (:func:`row_keys`), so a commit that changes a few episodes
copies the previous graph, removes their old rows and adds their new ones
instead of building it again (a nightly run stays within seconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podsearch.errors import IndexDamagedError
from podsearch.index.storage import INDEX_NAME
from podsearch.index.syncing import replace_durably

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: Rows from which a commit writes a graph (benchmarks/bench_vectors.py on this 2-core machine:
#: exact search over the corpus's 27,763 rows p50 3.8 ms at load 2, over 555,260 rows 68 ms and an
#: 853 MB float32 copy; over 111,052 rows 28 ms at load 5.5 where the graph took 6 ms).
MIN_ROWS = 100_000
#: HNSW settings: links per node, candidates while building and while searching. Measured against
#: exact search (real queries; 20×: the corpus and noisy copies): 1024 candidates give recall@10
#: 0.985 and @50 0.982 at 20× in 7 ms (512: 0.966 and 0.959 in 6 ms; the corpus alone: 0.993 at 512).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 1024
#: A commit that changes more than this share of the rows builds the graph anew (removed nodes
#: stay in the graph as tombstones, which slows it down).
REBUILD_SHARE = 0.25
#: Paragraph numbers take the low 24 bits of a key.
_NUMBER_BITS = 24


def installed() -> bool:
    """Whether the ``semantic-scale`` extra (usearch) is installed, found without importing it:
    the import takes 0.2 s, which a words search does not need to pay."""
    return importlib.util.find_spec("usearch") is not None


def available() -> bool:
    """Whether the ``semantic-scale`` extra (usearch) is installed and loads (imports it)."""
    if not installed():
        return False
    try:
        importlib.import_module("usearch.index")
    except ImportError:  # installed but broken (a missing compiled dependency): search stays exact
        return False
    return True


def file_name(generation: int) -> str:
    """The graph of a generation: ``podsearch_s5_vectors-7.ann``."""
    return f"{INDEX_NAME}_vectors-{generation}.ann"


def episode_hash(eid: str) -> int:
    """40 bits of an episode id's BLAKE2b hash: the high bits of its rows' keys."""
    return int.from_bytes(hashlib.blake2b(eid.encode("utf-8", "surrogatepass"), digest_size=5).digest(), "big")


def row_keys(episodes: Iterable[tuple[str, int, int]], numbers: Any) -> NDArray[np.uint64] | None:
    """The key of every row: episode hash << 24 | (paragraph number + 1).

    ``episodes``: ``(episode id, first row, rows)``; ``numbers``: each row's paragraph number
    (-1 for the episode's own row). ``None`` when two rows would share a key (a hash collision,
    about one chance in 10⁵ at 4,000 episodes) or a number does not fit: such a table is
    searched exactly.
    """
    import numpy as np

    numbers = np.asarray(numbers, dtype=np.int64)
    keys = np.empty(len(numbers), dtype=np.uint64)
    if len(numbers) and (numbers.min() < -1 or numbers.max() >= (1 << _NUMBER_BITS) - 1):
        return None
    for eid, start, count in episodes:
        keys[start : start + count] = np.uint64(episode_hash(eid) << _NUMBER_BITS) | (
            numbers[start : start + count] + 1
        ).astype(np.uint64)
    if len(np.unique(keys)) != len(keys):
        return None
    return keys


@dataclass(frozen=True)
class Graph:
    """A generation's graph, memory-mapped, and how its keys map to the table's rows."""

    index: Any
    #: the table's row keys sorted, and the row of each
    sorted_keys: NDArray[np.uint64]
    rows_of_sorted: NDArray[np.int64]

    def nearest(self, query: NDArray[np.float32], count: int) -> NDArray[np.int64]:
        """Rows of (about) the ``count`` nearest vectors to ``query``, nearest first."""
        import numpy as np

        found = self.index.search(query, count, threads=1)
        keys = np.asarray(found.keys, dtype=np.uint64)
        places = np.searchsorted(self.sorted_keys, keys)
        places = np.minimum(places, len(self.sorted_keys) - 1)
        hit = self.sorted_keys[places] == keys
        return self.rows_of_sorted[places[hit]]


def exact(matrix: Any, query: NDArray[np.float32], count: int) -> NDArray[np.int64]:
    """Positions of the ``count`` rows of ``matrix`` (float16) with the highest dot product with ``query``,
    by usearch's brute force: it reads float16 directly, where numpy converts it to float32 at a
    tenth of the speed (a filter's 5,500 rows: 1.7 ms against 22 ms)."""
    import numpy as np

    search = importlib.import_module("usearch.index").search
    found = search(np.ascontiguousarray(matrix), query.astype(np.float16), count, "ip", exact=True, threads=1)
    return np.asarray(found.keys, dtype=np.int64)


def open_graph(path: Path, keys: NDArray[np.uint64]) -> Graph | None:
    """Map the graph at ``path`` for a table with these row keys; ``None`` without usearch.

    :class:`IndexDamagedError` when the file is not a graph of this table.
    """
    if not available():
        return None
    import numpy as np

    try:
        index = _usearch().restore(str(path), view=True)
    except (RuntimeError, ValueError, OSError) as error:
        raise _damaged(path, f"unreadable graph: {error}") from None
    if index is None or len(index) != len(keys):
        raise _damaged(path, "the graph does not hold the table's rows")
    index.expansion_search = EXPANSION_SEARCH
    order = np.argsort(keys, kind="stable")
    return Graph(index, keys[order], order.astype(np.int64))


def write_graph(
    path: Path,
    matrix: Any,
    keys: NDArray[np.uint64],
    previous: tuple[Path, NDArray[np.uint64], NDArray[np.bool_]] | None,
    threads: int = 0,
) -> None:
    """Write the graph of a table (float16 ``matrix``, row ``keys``), synced.

    ``previous``: the previous generation's graph, its row keys, and which of its rows this
    table holds unchanged (their episode's texts are the same). Those nodes are kept and only the
    other rows are added, unless that would change more than :data:`REBUILD_SHARE` of the rows.
    """
    import numpy as np

    index_class = _usearch()
    index = None
    rows = np.arange(len(keys))
    if previous is not None:
        old_path, old_keys, unchanged = previous
        kept = unchanged & np.isin(old_keys, keys)
        added = ~np.isin(keys, old_keys[kept])
        if len(old_keys) - int(kept.sum()) + int(added.sum()) <= REBUILD_SHARE * len(keys):
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                index = index_class.restore(str(old_path), view=False)
            if index is not None and len(index) == len(old_keys):
                gone = old_keys[~kept]
                if len(gone):
                    index.remove(gone)
                rows = np.flatnonzero(added)
            else:
                index = None
    if index is None:
        index = index_class(
            ndim=matrix.shape[1],
            metric="cos",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
    for start in range(0, len(rows), 65536):  # in blocks: a block's float32 copy, not the table's
        block = rows[start : start + 65536]
        index.add(keys[block], np.asarray(matrix[block], dtype=np.float32), threads=threads)
    replace_durably(path, lambda temporary: index.save(str(temporary)))


def _usearch() -> Any:
    """usearch's ``Index`` class (typed loosely: the extra is optional, and absent from type checks without it)."""
    return importlib.import_module("usearch.index").Index


def _damaged(path: Path, why: str) -> IndexDamagedError:
    return IndexDamagedError(
        f"the index at {path.parent} is damaged ({path.name}: {why}); repair it with: podsearch index --rebuild"
    )
