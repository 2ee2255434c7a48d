"""The few ONNX messages a graph needs, serialized directly as protocol buffers (no ``onnx`` package).

ONNX Runtime reads a model as a ``ModelProto`` (onnx/onnx.proto3). Building one with the ``onnx``
package would add 31 MB (and ml_dtypes) to the ``semantic-fast`` extra for a few dozen lines of
encoding: each message here is its fields in protobuf's wire format (varints, 32-bit floats and
length-prefixed bytes), with the field numbers of onnx.proto. Repeated numbers are written one
field each (unpacked), which every protobuf reader accepts.

Only what :mod:`~podsearch.embedding.onnx_graph` uses: tensors (float32, int8, uint8, int64),
nodes with int, float, string and int-list attributes, value infos of tensors, a graph, a model.
Standard library and numpy only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: ONNX TensorProto.DataType of each numpy type used.
DATA_TYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.int64): 7}
FLOAT = DATA_TYPES[np.dtype(np.float32)]
INT64 = DATA_TYPES[np.dtype(np.int64)]

# AttributeProto.AttributeType
_ATTRIBUTE_FLOAT, _ATTRIBUTE_INT, _ATTRIBUTE_STRING, _ATTRIBUTE_INTS = 1, 2, 3, 7


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: two's complement, ten bytes
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _string(field: int, value: str) -> bytes:
    return _bytes(field, value.encode("utf-8"))


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", value)


def tensor(name: str, value: Any) -> bytes:
    """A ``TensorProto`` holding ``value`` (a numpy array or number) in raw little-endian bytes."""
    array = np.asarray(value)
    if array.dtype not in DATA_TYPES:
        raise TypeError(f"no ONNX type for {array.dtype} (tensor {name})")
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    dims = b"".join(_int(1, size) for size in array.shape)
    return dims + _int(2, DATA_TYPES[array.dtype]) + _string(8, name) + _bytes(9, data)


def _attribute(name: str, value: Any) -> bytes:
    if isinstance(value, (int, np.integer)):
        return _string(1, name) + _int(3, int(value)) + _int(20, _ATTRIBUTE_INT)
    if isinstance(value, (float, np.floating)):
        return _string(1, name) + _float(2, float(value)) + _int(20, _ATTRIBUTE_FLOAT)
    if isinstance(value, str):
        return _string(1, name) + _string(4, value) + _int(20, _ATTRIBUTE_STRING)
    if isinstance(value, Sequence) and all(isinstance(v, (int, np.integer)) for v in value):
        return _string(1, name) + b"".join(_int(8, int(v)) for v in value) + _int(20, _ATTRIBUTE_INTS)
    raise TypeError(f"unsupported attribute {name}={value!r}")


def node(
    op_type: str, inputs: Sequence[str], outputs: Sequence[str], attributes: Mapping[str, Any], domain: str = ""
) -> bytes:
    """A ``NodeProto``: the operator, its input and output names, and its attributes."""
    return (
        b"".join(_string(1, name) for name in inputs)
        + b"".join(_string(2, name) for name in outputs)
        + _string(4, op_type)
        + b"".join(_bytes(5, _attribute(key, value)) for key, value in attributes.items())
        + (_string(7, domain) if domain else b"")
    )


def value_info(name: str, data_type: int, shape: Sequence[int | str]) -> bytes:
    """A ``ValueInfoProto`` of a tensor; each dimension a size or a symbolic name."""
    dims = b"".join(_bytes(1, _int(1, size) if isinstance(size, int) else _string(2, size)) for size in shape)
    tensor_type = _int(1, data_type) + _bytes(2, dims)
    return _string(1, name) + _bytes(2, _bytes(1, tensor_type))


def model(
    nodes: Iterable[bytes],
    name: str,
    inputs: Iterable[bytes],
    outputs: Iterable[bytes],
    initializers: Iterable[bytes],
    opset: int,
    ir_version: int,
    producer: str,
) -> bytes:
    """A serialized ``ModelProto`` of one graph in the default operator set ``opset``."""
    graph = (
        b"".join(_bytes(1, n) for n in nodes)
        + _string(2, name)
        + b"".join(_bytes(5, t) for t in initializers)
        + b"".join(_bytes(11, i) for i in inputs)
        + b"".join(_bytes(12, o) for o in outputs)
    )
    opset_import = _string(1, "") + _int(2, opset)
    return _int(1, ir_version) + _string(2, producer) + _bytes(7, graph) + _bytes(8, opset_import)
