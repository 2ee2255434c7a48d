"""The BERT forward pass of :class:`~podsearch.embedding.network.Bert` as an ONNX graph, for ONNX Runtime.

The graph does what :meth:`Bert.embed` does, step for step: embeddings and LayerNorm, six layers
of attention with padded keys masked out (the softmax scale already folded into the query
weights), GELU in its tanh form, mean pooling over the real tokens and L2 normalisation. Its
inputs are ``input_ids`` (batch, length, int64) and ``attention_mask`` (batch, length, float32:
1 for a real token, 0 for padding); its output ``vector`` (batch, dimensions). So a text gets the
same vector in any batch, as with numpy.

With ``int8``, the weight matrices are int8 (one scale per output column) in the pattern of ONNX
Runtime's dynamic quantization, which its optimizer fuses into one int8 kernel per layer; queries
use it (see :mod:`podsearch.embedding.runtime` for why). Whoever changes the graph built here
bumps :data:`podsearch.embedding.runtime.GRAPH_VERSION`, so cached graphs are rebuilt.

Written with :mod:`~podsearch.embedding.onnx_proto` (no ``onnx`` package needed).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from podsearch.embedding import onnx_proto as proto
from podsearch.embedding.network import Bert

#: ONNX operator set: 20 has Gelu with its tanh approximation.
OPSET = 20
#: Added to the attention scores of padded keys: exp() of it is exactly 0 in float32, as numpy's -inf.
MASKED = -1e9
#: Largest int8 weight.
WEIGHT_RANGE = 127


class _Builder:
    """Collects nodes and constant tensors, naming each output uniquely."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.constants: list[bytes] = []

    def const(self, name: str, value: Any) -> str:
        self.constants.append(proto.tensor(name, value))
        return name

    def op(self, kind: str, inputs: list[str], output: str | None = None, **attributes: Any) -> str:
        name = output or f"{kind}_{len(self.nodes)}"
        self.nodes.append(proto.node(kind, inputs, [name], attributes))
        return name


def build_graph(network: Bert, int8: bool = False, keep_float32: Collection[str] = ()) -> bytes:
    """The serialized ONNX model computing ``network.embed`` from ids and an attention mask.

    ``int8``: the weight matrices of the linear layers are int8, one scale per output column, and
    each layer's input is quantized to uint8 on the fly (one scale for the whole input, so a
    vector then depends a little on its batch's other texts: meant for one query at a time).
    The embeddings, LayerNorms and attention products stay float32 either way, and so do the
    linear layers ``keep_float32`` names: ``layer0`` (all of a layer's), ``down`` (that kind in every
    layer: ``qkv``, ``attention_out``, ``up``, ``down``), or ``layer0.down``.
    """
    g = _Builder()
    hidden, heads = network.dimensions, network.heads
    head_size = hidden // heads

    def layer_norm(x: str, norm: tuple[Any, Any], tag: str) -> str:
        weight, bias = norm
        return g.op(
            "LayerNormalization",
            [x, g.const(f"{tag}.weight", weight), g.const(f"{tag}.bias", bias)],
            axis=-1,
            epsilon=network.eps,
        )

    def linear(x: str, weight: Any, bias: Any, tag: str) -> str:
        if not int8 or any(tag == name or f".{name}." in f".{tag}." for name in keep_float32):
            return g.op("Add", [g.op("MatMul", [x, g.const(f"{tag}.weight", weight)]), g.const(f"{tag}.bias", bias)])
        # ONNX Runtime's dynamic quantization pattern, which it fuses into one int8 kernel
        quantized, scales = _int8_columns(weight)
        xq, x_scale, x_zero = (f"{x}.{part}" for part in ("quantized", "scale", "zero"))
        g.nodes.append(proto.node("DynamicQuantizeLinear", [x], [xq, x_scale, x_zero], {}))
        product = g.op(
            "MatMulInteger",
            [xq, g.const(f"{tag}.weight", quantized), x_zero, g.const(f"{tag}.zero", np.zeros(len(scales), np.int8))],
        )
        scale = g.op("Mul", [x_scale, g.const(f"{tag}.scale", scales)])
        product = g.op("Mul", [g.op("Cast", [product], to=proto.FLOAT), scale])
        return g.op("Add", [product, g.const(f"{tag}.bias", bias)])

    ids, mask = "input_ids", "attention_mask"
    length = g.op("Gather", [g.op("Shape", [ids]), g.const("axis1", np.array(1, dtype=np.int64))])
    positions = g.op(
        "Range", [g.const("zero", np.array(0, dtype=np.int64)), length, g.const("step", np.array(1, dtype=np.int64))]
    )
    x = g.op("Gather", [g.const("word_embeddings", network.word_embeddings), ids])
    x = g.op("Add", [x, g.op("Gather", [g.const("position_embeddings", network.position_embeddings), positions])])
    x = g.op("Add", [x, g.const("token_type_embedding", network.token_type_embedding)])
    x = layer_norm(x, network.embedding_norm, "embedding_norm")

    # additive mask over keys, (batch, 1, 1, length): 0 for real tokens, MASKED for padding
    padding = g.op("Sub", [g.const("one", np.array(1, dtype=np.float32)), mask])
    key_mask = g.op(
        "Unsqueeze",
        [g.op("Mul", [padding, g.const("masked", np.array(MASKED, dtype=np.float32))]), g.const("axes12", [1, 2])],
    )
    for i, layer in enumerate(network.layers):
        tag = f"layer{i}"
        qkv = linear(x, layer.qkv, layer.qkv_bias, f"{tag}.qkv")
        # (batch, length, 3 * hidden) → (3, batch, heads, length, head)
        split = g.op("Reshape", [qkv, g.const(f"{tag}.split", np.array([0, 0, 3, heads, head_size], dtype=np.int64))])
        split = g.op("Transpose", [split], perm=[2, 0, 3, 1, 4])
        q, k, v = (g.op("Gather", [split, g.const(f"{tag}.part{n}", np.array(n, dtype=np.int64))]) for n in range(3))
        scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        weights = g.op("Softmax", [g.op("Add", [scores, key_mask])], axis=-1)
        context = g.op("Transpose", [g.op("MatMul", [weights, v])], perm=[0, 2, 1, 3])
        context = g.op("Reshape", [context, g.const(f"{tag}.merge", np.array([0, 0, hidden], dtype=np.int64))])
        attended = linear(context, layer.attention_out, layer.attention_out_bias, f"{tag}.attention_out")
        x = layer_norm(g.op("Add", [attended, x]), layer.attention_norm, f"{tag}.attention_norm")
        inner = g.op("Gelu", [linear(x, layer.intermediate, layer.intermediate_bias, f"{tag}.up")], approximate="tanh")
        out = linear(inner, layer.output, layer.output_bias, f"{tag}.down")
        x = layer_norm(g.op("Add", [out, x]), layer.output_norm, f"{tag}.output_norm")

    # mean over the real tokens, then unit length
    real = g.op("Unsqueeze", [mask, g.const("axis2", [2])])
    summed = g.op("ReduceSum", [g.op("Mul", [x, real]), g.const("axis1s", [1])], keepdims=0)
    count = g.op("ReduceSum", [mask, g.const("axis1c", [1])], keepdims=1)
    g.op("LpNormalization", [g.op("Div", [summed, count])], "vector", axis=-1, p=2)

    return proto.model(
        g.nodes,
        "podsearch-bert",
        [
            proto.value_info(ids, proto.INT64, ["batch", "length"]),
            proto.value_info(mask, proto.FLOAT, ["batch", "length"]),
        ],
        [proto.value_info("vector", proto.FLOAT, ["batch", hidden])],
        g.constants,
        opset=OPSET,
        ir_version=9,  # what ONNX Runtime 1.17 and later read
        producer="podsearch",
    )


def _int8_columns(weight: Any) -> tuple[Any, Any]:
    """``weight`` (in, out) as int8 with one symmetric scale per column: ``weight ≈ quantized * scales``."""
    scales = np.abs(weight).max(axis=0) / WEIGHT_RANGE
    scales = np.where(scales > 0, scales, 1).astype(np.float32)
    quantized = np.clip(np.rint(weight / scales), -WEIGHT_RANGE, WEIGHT_RANGE).astype(np.int8)
    return quantized, scales
