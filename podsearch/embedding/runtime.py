"""Which runtime computes the vectors (numpy or ONNX Runtime), and the ONNX Runtime one with its cached graph.

``PODSEARCH_RUNTIME=numpy|onnx`` chooses; without it, ``onnx`` when ``onnxruntime`` is importable
(the ``semantic-fast`` extra) and no module that conflicts with it is loaded
(:data:`CONFLICTS`), else ``numpy`` (the ``semantic`` extra). Both compute the
same vectors from the same weights (cosine above 0.9999 in float32), so vectors stored by one are
searched by the other, under the same fingerprint.

Why ONNX Runtime, and what it runs (benchmarks/bench_runtime.py, both seeds): a query (4–12
tokens) is a thin matrix product, for which numpy's BLAS streams and repacks all 42 MB of float32
weights, more than this machine's L3 cache: 10–12 ms a query. ONNX Runtime takes 6 ms in float32
(the same vectors) and 3–3.5 ms with every linear layer int8, but that cost topic queries 0.006
MRR@10 on one seed; with the first layer and the feed-forward down-projections kept float32
(:data:`QUERY_FLOAT32`) a query takes 4–5 ms and hybrid relevance stays within 0.003 of numpy's on
every set and seed. So queries run in :data:`QUERY_PRECISION` with :data:`QUERY_FLOAT32`. Documents
always run in float32, so stored vectors stay the model's and keep its fingerprint, and a query
vector of either runtime is compared with them: two batches at once on one thread each (the
encoder's threads), 1.15–1.25 times numpy's speed; one batch on two ONNX Runtime threads was
faster at load 3.2 but 0.78 times numpy's at load 4.8, its threads waiting for the busy cores.

The graph is built from the weights (about a second) and kept in :func:`cache_folder`, named by
the weights' SHA-256, the model's config, :data:`GRAPH_VERSION`, the precision and the CRC-32 of
its bytes: a file whose bytes no longer match is rebuilt; a cache that cannot be written only
costs the build on each load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from podsearch.embedding.network import Bert
from podsearch.errors import MissingExtraError, UsageError

RUNTIME_VAR = "PODSEARCH_RUNTIME"
CACHE_VAR = "PODSEARCH_CACHE"
RUNTIMES = ("numpy", "onnx")
FAST_HINT = "pip install 'podsearch[semantic-fast]'"
#: What queries run in with ONNX Runtime: "int8" or "float32" (see the module's docstring).
QUERY_PRECISION = "int8"
#: The linear layers the int8 query graph keeps in float32 (see onnx_graph.build_graph's ``keep_float32``).
QUERY_FLOAT32 = ("layer0", "down")
#: Changes whenever :mod:`~podsearch.embedding.onnx_graph` builds another graph: part of the cached graph's name.
GRAPH_VERSION = 2


#: Modules after which importing ONNX Runtime crashes the process (usearch 2.26 then onnxruntime 1.32:
#: a segmentation fault in onnxruntime's import); the other order works.
CONFLICTS = ("usearch",)


def available() -> bool:
    """Whether ONNX Runtime is installed (found without importing it) and can be loaded now."""
    return importlib.util.find_spec("onnxruntime") is not None and not _conflict()


def _conflict() -> str | None:
    """A loaded module that makes importing ONNX Runtime crash, when it is not loaded yet."""
    if "onnxruntime" in sys.modules:
        return None
    return next((name for name in CONFLICTS if name in sys.modules), None)


def chosen() -> str:
    """The runtime to use: ``$PODSEARCH_RUNTIME``, else ``onnx`` when :func:`available`, else ``numpy``.

    Raises :class:`~podsearch.errors.UsageError` for an unknown value, and
    :class:`~podsearch.errors.MissingExtraError` when ``onnx`` is asked for but not installed.
    """
    asked = os.environ.get(RUNTIME_VAR, "").strip().lower()
    if not asked:
        return "onnx" if available() else "numpy"
    if asked not in RUNTIMES:
        # a usage error, not a missing model: a search must not quietly fall back to words on a typo
        raise UsageError(f"{RUNTIME_VAR}={asked!r} is not one of {', '.join(RUNTIMES)}")
    conflict = _conflict()
    if asked == "onnx" and conflict:
        raise MissingExtraError(
            f"{RUNTIME_VAR}=onnx: ONNX Runtime cannot be loaded after {conflict} in one process; "
            f"embed before using {conflict}, or set {RUNTIME_VAR}=numpy"
        )
    if asked == "onnx" and not available():
        raise MissingExtraError(f"{RUNTIME_VAR}=onnx needs ONNX Runtime; install it with: {FAST_HINT}")
    return asked


def cache_folder() -> Path:
    """``$PODSEARCH_CACHE``, else ``$XDG_CACHE_HOME/podsearch``, else ``~/.cache/podsearch``."""
    if os.environ.get(CACHE_VAR):
        return Path(os.environ[CACHE_VAR]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "podsearch"


class OnnxNetwork:
    """The model run by ONNX Runtime, with :class:`~podsearch.embedding.network.Bert`'s ``embed``.

    Safe to share between threads (ONNX Runtime sessions are); each call runs on ``threads``
    intra-op threads (one by default: the encoder already runs one batch per core).
    """

    def __init__(self, model: bytes, dimensions: int, precision: str, path: Path | None, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the library never prints
        self._session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.dimensions = dimensions
        #: "float32" or "int8".
        self.precision = precision
        #: The cached graph it was loaded from, ``None`` when the cache could not be written.
        self.path = path

    def embed(self, ids: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.float32]:
        """Normalized mean-pooled vectors of a padded batch, as :meth:`Bert.embed`."""
        mask = (np.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        (vectors,) = self._session.run(["vector"], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"OnnxNetwork({self.precision})"


class OnnxBert:
    """The model in ONNX Runtime: documents in float32 (:meth:`embed`), queries in :attr:`query_precision`.

    ``weights_sha256`` and ``config`` name the cached graphs; ``bert`` builds the numpy network
    (reading the weights) only when a graph has to be built. Each network is loaded on first use.
    """

    def __init__(
        self,
        weights_sha256: str,
        config: dict[str, Any],
        bert: Callable[[], Bert],
        query_precision: str = QUERY_PRECISION,
    ) -> None:
        self.graphs = Graphs(weights_sha256, config, bert)
        self.dimensions = int(config["hidden_size"])
        self.query_precision = query_precision

    def embed(self, ids: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.float32]:
        """Normalized mean-pooled vectors of a padded batch, in float32, as :meth:`Bert.embed`."""
        return self.graphs.network("float32").embed(ids, lengths)

    def query(self, ids: list[int]) -> NDArray[np.float32]:
        """One query's vector from its token ids, in :attr:`query_precision`."""
        batch = np.array([ids], dtype=np.int64)
        return self.graphs.network(self.query_precision).embed(batch, np.array([len(ids)], dtype=np.int64))[0]

    def __repr__(self) -> str:
        return f"onnx (queries {self.query_precision}, documents float32)"


class Graphs:
    """The model's ONNX Runtime networks by precision, each loaded once from the cache or built."""

    def __init__(self, weights_sha256: str, config: dict[str, Any], bert: Callable[[], Bert]) -> None:
        self._weights = weights_sha256
        self._config = config
        self._bert = bert
        self._networks: dict[str, OnnxNetwork] = {}
        self._lock = threading.Lock()

    def network(self, precision: str) -> OnnxNetwork:
        """The network in ``precision`` ("float32" or "int8"), loaded once."""
        with self._lock:
            if precision not in self._networks:
                self._networks[precision] = self._load(precision)
            return self._networks[precision]

    def name(self, precision: str) -> str:
        """The cached graph's file name without its CRC-32 and suffix."""
        config = hashlib.sha256(json.dumps(self._config, sort_keys=True).encode()).hexdigest()[:12]
        return f"bert-{self._weights}-{config}-g{GRAPH_VERSION}-{precision}"

    def _load(self, precision: str) -> OnnxNetwork:
        from onnxruntime.capi.onnxruntime_pybind11_state import (
            Fail,
            InvalidArgument,
            InvalidGraph,
            InvalidProtobuf,
            NoModel,
        )

        dimensions = int(self._config["hidden_size"])
        folder = cache_folder()
        stem = self.name(precision)
        for path in sorted(folder.glob(f"{stem}-*.onnx")):
            model = _read_checked(path)
            if model is None:
                continue
            try:
                return OnnxNetwork(model, dimensions, precision, path)
            except (Fail, InvalidArgument, InvalidGraph, InvalidProtobuf, NoModel):
                _remove(path)  # bytes as written but unusable (another ONNX Runtime?): rebuilt below
        model = self._build(precision)
        stored = _store(folder, stem, model)
        if stored is not None:  # the same model's graphs of older versions are never read again
            for older in folder.glob(stem.replace(f"-g{GRAPH_VERSION}-", "-g*-") + "-*.onnx"):
                if older != stored and not older.name.startswith(f"{stem}-"):
                    _remove(older)
        return OnnxNetwork(model, dimensions, precision, stored)

    def _build(self, precision: str) -> bytes:
        from podsearch.embedding.onnx_graph import build_graph

        int8 = precision == "int8"
        return build_graph(self._bert(), int8=int8, keep_float32=QUERY_FLOAT32 if int8 else ())


def _read_checked(path: Path) -> bytes | None:
    """The file's bytes when their CRC-32 is the one in its name; a damaged file is removed."""
    try:
        model = path.read_bytes()
    except OSError:
        return None
    if f"{zlib.crc32(model):08x}" == path.stem.rsplit("-", 1)[-1]:
        return model
    _remove(path)
    return None


def _store(folder: Path, stem: str, model: bytes) -> Path | None:
    """Write the graph atomically (temporary file, then rename); ``None`` when the folder is not writable."""
    target = folder / f"{stem}-{zlib.crc32(model):08x}.onnx"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(model)
            os.replace(temporary, target)
        except OSError:
            _remove(Path(temporary))
            raise
    except OSError:
        return None
    return target


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
