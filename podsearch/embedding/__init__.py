"""Embedding: texts → normalized sentence vectors with all-MiniLM-L6-v2, without PyTorch.

May import: the top-level podsearch modules, numpy, safetensors and threadpoolctl (the ``semantic``
extra), onnxruntime (the ``semantic-fast`` extra).
Never Whoosh, rich or typer; nothing here reads or writes the index.

>>> from podsearch.embedding import Encoder      # doctest: +SKIP
>>> encoder = Encoder.load()                     # PODSEARCH_MODEL, the Hugging Face cache, or a package
>>> encoder.encode(["career transitions"]).shape  # doctest: +SKIP
(1, 384)

The pieces: :mod:`~podsearch.embedding.sources` finds the model's files,
:mod:`~podsearch.embedding.wordpiece` turns text into token ids (pure Python, BERT's uncased
WordPiece), :mod:`~podsearch.embedding.network` is the transformer's forward pass in numpy,
:mod:`~podsearch.embedding.onnx_graph` the same as an ONNX graph (written by
:mod:`~podsearch.embedding.onnx_proto`) and
:mod:`~podsearch.embedding.runtime` chooses between them (``PODSEARCH_RUNTIME``) and caches the graph,
and :mod:`~podsearch.embedding.encoder` ties them together with batching by length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podsearch.embedding.encoder import Encoder

__all__ = ["Encoder"]


def __getattr__(name: str) -> Any:
    # numpy is imported only when the encoder is asked for, so a missing extra is one clear error
    if name == "Encoder":
        from podsearch.embedding.encoder import Encoder

        return Encoder
    raise AttributeError(f"module 'podsearch.embedding' has no attribute {name!r}")
