"""The public encoder: load the model once, then texts → normalized float32 vectors.

>>> encoder = Encoder.load()                         # doctest: +SKIP
>>> vectors = encoder.encode(["career transitions", "RAG"])
>>> vectors.shape, vectors.dtype                     # doctest: +SKIP
((2, 384), dtype('float32'))

Texts are sorted by token count and batched so that a batch pads little; each text's vector
does not depend on the batch it landed in, nor on the order of the texts.

Batches run on one thread per core, each with single-threaded BLAS (through threadpoolctl):
numpy's element-wise steps (softmax, GELU, LayerNorm) use one core each, so threads over
batches keep both cores busy, and BLAS's own threads only fight them (measured: on a loaded
2-core machine, two BLAS threads made one query 4 times slower).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podsearch.embedding.sources import REMEDY, VOCABULARIES, WEIGHTS, ModelFiles, find_model
from podsearch.embedding.wordpiece import WordPiece
from podsearch.errors import MissingExtraError, ModelError

EXTRA_HINT = "pip install 'podsearch[semantic]'"

try:
    import numpy as np
    from numpy.typing import NDArray

    from podsearch.embedding import runtime
    from podsearch.embedding.network import Bert, Network  # numpy is all it needs
except ImportError as error:
    raise MissingExtraError(f"semantic search needs numpy; install it with: {EXTRA_HINT}") from error

#: sentence-transformers' limit for all-MiniLM-L6-v2: longer texts are cut to their first 256 tokens.
DEFAULT_MAX_TOKENS = 256
#: Texts per batch, and the most tokens (texts × padded length) per batch: longer texts go in smaller batches.
#: Eight, not 32: the index embeds one episode (about 140 texts) at a time, and batches of 32 of its
#: texts, sorted by length, padded them by 21 % (8: 6 %) and left a core idle on the last batch;
#: measured side by side on whole episodes, 8 embeds 18–20 % more texts a second than 32.
DEFAULT_BATCH_SIZE = 8
MAX_BATCH_TOKENS = 4096
#: Query vectors kept by :meth:`Encoder.query` (384 floats each).
QUERY_CACHE = 256


@dataclass(frozen=True)
class Encoder:
    """all-MiniLM-L6-v2 (or another BERT sentence-transformer with mean pooling), without PyTorch.

    Safe to share between threads: encoding reads the weights and never changes them.
    """

    #: :class:`~podsearch.embedding.network.Bert` (numpy) or :class:`~podsearch.embedding.runtime.OnnxBert`.
    network: Network
    tokenizer: WordPiece
    #: Where the model's files came from.
    files: ModelFiles
    _fingerprint: list[str] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _blas: Any = field(default=None, repr=False, compare=False)
    _queries: OrderedDict[str, NDArray[np.float32]] = field(default_factory=OrderedDict, repr=False, compare=False)

    @classmethod
    def load(cls, source: Path | str | None = None) -> Encoder:
        """Load the model from ``source`` (a folder), else ``$PODSEARCH_MODEL``, the Hugging Face cache,
        or an installed model package (see :mod:`podsearch.embedding.sources`).

        Raises :class:`~podsearch.errors.ModelError` when no model is found or its files are
        unusable, and :class:`~podsearch.errors.MissingExtraError` without the ``semantic`` extra.
        The runtime is :func:`podsearch.embedding.runtime.chosen` (``$PODSEARCH_RUNTIME``).
        """
        chosen = runtime.chosen()
        files = find_model(source)
        config = files.read_json("config.json")
        if not isinstance(config, dict) or config.get("model_type", "bert") != "bert":
            raise ModelError(f"the model at {files.describe()} is not a BERT model; {REMEDY}")
        _check_pooling(files)
        max_tokens = min(_max_tokens(files), int(config.get("max_position_embeddings", 512)))
        tokenizer = _load_tokenizer(files, max_tokens)
        if chosen == "numpy":
            return cls(_bert(files, config), tokenizer, files, _blas=_blas_controller())
        weights = hashlib.sha256(files.read_bytes(WEIGHTS)).hexdigest()
        network = runtime.OnnxBert(weights, config, lambda: _bert(files, config))
        # load (or build and cache) the query graph now, so that weights unfit for the config fail here
        network.query(tokenizer.encode(""))
        return cls(network, tokenizer, files, [weights])

    @property
    def dimensions(self) -> int:
        """Length of each vector (384 for all-MiniLM-L6-v2)."""
        return self.network.dimensions

    def __repr__(self) -> str:
        return f"Encoder({self.files.describe()}, runtime={self.runtime})"

    @property
    def runtime(self) -> str:
        """What computes the vectors: ``numpy``, or ``onnx (queries int8, documents float32)``."""
        return "numpy" if isinstance(self.network, Bert) else repr(self.network)

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads of each text, ``[CLS]`` and ``[SEP]`` included; the rest is ignored."""
        return self.tokenizer.max_tokens

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the weights file: stored vectors made by another model must be recomputed."""
        with self._lock:
            if not self._fingerprint:
                self._fingerprint.append(hashlib.sha256(self.files.read_bytes(WEIGHTS)).hexdigest())
            return self._fingerprint[0]

    def tokens(self, text: str) -> list[int]:
        """The token ids the model reads for ``text`` (cut to :attr:`max_tokens`)."""
        return self.tokenizer.encode(text)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        threads: int | None = None,
    ) -> NDArray[np.float32]:
        """One unit-length float32 vector per text, shape ``(len(texts), dimensions)``, in input order.

        ``progress`` is called after each batch with the number of texts done so far. ``threads``
        batches run at once (default: one per available core). Any string is accepted (empty,
        control characters, emoji, any length); a text longer than :attr:`max_tokens` is
        embedded from its beginning, as sentence-transformers does.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        encoded = [self.tokenizer.encode(text) for text in texts]
        vectors = np.empty((len(encoded), self.dimensions), dtype=np.float32)
        batches = _batches(encoded, batch_size)
        workers = max(1, min(threads or _cores(), len(batches)))
        done = 0
        with self._single_threaded_blas():
            if workers == 1:
                results: Iterator[NDArray[np.float32]] = (self._embed(encoded, rows) for rows in batches)
                for rows, result in zip(batches, results, strict=True):
                    vectors[rows] = result
                    done += len(rows)
                    if progress is not None:
                        progress(done)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="podsearch-embed") as pool:
                    for rows, result in zip(
                        batches, pool.map(lambda rows: self._embed(encoded, rows), batches), strict=True
                    ):
                        vectors[rows] = result
                        done += len(rows)
                        if progress is not None:
                            progress(done)
        return vectors

    def query(self, text: str) -> NDArray[np.float32]:
        """One text's vector; the last :data:`QUERY_CACHE` are kept.

        With numpy it is what :meth:`encode` gives the text; with ONNX Runtime it comes from the
        query graph (int8 but for a few layers: a cosine of 0.986 or more with :meth:`encode`'s,
        see :mod:`podsearch.embedding.runtime`). A search box sends the same text again (paging,
        another filter, a second mode): those searches skip the model (numpy 8–12 ms a query here,
        nearly all of it the weights' matrix products, where a dedicated path without padding,
        mask and batch saved 2 %; ONNX Runtime 4–5 ms). Safe to call from several threads: a
        search calls it on a thread of its own during its lexical stage, where ONNX Runtime's one
        call runs without the GIL; numpy's many small steps each wait for the GIL that the
        lexical stage holds, and gain nothing there.
        """
        with self._lock:
            found = self._queries.get(text)
            if found is not None:
                self._queries.move_to_end(text)
                return found.copy()
        if isinstance(self.network, runtime.OnnxBert):
            vector = self.network.query(self.tokenizer.encode(text))
        else:
            vector = self.encode([text])[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector.copy()

    def _embed(self, encoded: list[list[int]], rows: list[int]) -> NDArray[np.float32]:
        lengths = np.array([len(encoded[i]) for i in rows], dtype=np.int64)
        ids = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
        for slot, i in enumerate(rows):
            ids[slot, : lengths[slot]] = encoded[i]
        return self.network.embed(ids, lengths)

    @contextmanager
    def _single_threaded_blas(self) -> Iterator[None]:
        if self._blas is None:
            yield
        else:
            with self._blas.limit(limits=1, user_api="blas"):
                yield


def _bert(files: ModelFiles, config: dict[str, Any]) -> Bert:
    """The numpy network from the model's weights; :class:`ModelError` when they do not fit its config."""
    try:
        return Bert.from_weights(_load_weights(files), config)
    except (KeyError, ValueError, TypeError) as error:
        raise ModelError(f"the weights at {files.describe()} do not fit its config.json ({error}); {REMEDY}") from error


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _blas_controller() -> Any:
    """threadpoolctl's controller of the loaded BLAS, or ``None`` without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return None
    return ThreadpoolController()


def _batches(encoded: list[list[int]], batch_size: int) -> list[list[int]]:
    """Indices of the texts grouped by similar length, longest first, each batch within the token budget."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        padded = len(encoded[current[0]]) if current else len(encoded[i])
        if current and (len(current) >= batch_size or (len(current) + 1) * padded > MAX_BATCH_TOKENS):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _load_weights(files: ModelFiles) -> dict[str, Any]:
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load, load_file
    except ImportError as error:
        raise MissingExtraError(f"semantic search needs safetensors; install it with: {EXTRA_HINT}") from error
    local = files.local_file(WEIGHTS)
    try:
        if local is not None:
            return dict(load_file(local))
        return dict(load(files.read_bytes(WEIGHTS)))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(f"cannot read {WEIGHTS} of the model at {files.describe()} ({error}); {REMEDY}") from error


def _load_tokenizer(files: ModelFiles, max_tokens: int) -> WordPiece:
    lowercase = True
    if files.has("tokenizer_config.json"):
        settings = files.read_json("tokenizer_config.json")
        lowercase = bool(settings.get("do_lower_case", True)) if isinstance(settings, dict) else True
    try:
        for name in VOCABULARIES:
            if files.has(name):
                text = files.read_bytes(name).decode("utf-8")
                if name == "vocab.txt":
                    return WordPiece.from_vocab_txt(text, lowercase=lowercase, max_tokens=max_tokens)
                return WordPiece.from_tokenizer_json(text, lowercase=lowercase, max_tokens=max_tokens)
    except (UnicodeDecodeError, ValueError) as error:
        raise ModelError(
            f"the vocabulary of the model at {files.describe()} is unusable ({error}); {REMEDY}"
        ) from error
    raise ModelError(f"the model at {files.describe()} has no vocabulary; {REMEDY}")


def _max_tokens(files: ModelFiles) -> int:
    """sentence-transformers' ``max_seq_length`` where the model says it, else 256."""
    if files.has("sentence_bert_config.json"):
        settings = files.read_json("sentence_bert_config.json")
        if isinstance(settings, dict) and isinstance(settings.get("max_seq_length"), int):
            return int(settings["max_seq_length"])
    return DEFAULT_MAX_TOKENS


def _check_pooling(files: ModelFiles) -> None:
    """Only mean pooling is implemented: refuse a model that says it pools otherwise."""
    name = "1_Pooling/config.json"
    if not files.has(name):
        return
    settings = files.read_json(name)
    if isinstance(settings, dict) and not settings.get("pooling_mode_mean_tokens", True):
        raise ModelError(
            f"the model at {files.describe()} does not use mean pooling, the only one podsearch implements"
        )
