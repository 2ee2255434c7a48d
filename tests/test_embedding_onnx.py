"""The ONNX Runtime runtime (the ``semantic-fast`` extra): same vectors as numpy, the cached graph, the choice.

Skipped without onnxruntime. The cache tests run on a tiny random BERT (built in
milliseconds); the vector tests on the installed all-MiniLM-L6-v2 (skipped without a model).
Every test's graph cache is under tmp_path (``PODSEARCH_CACHE``), never the user's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import podsearch
from podsearch.cli import exits
from podsearch.errors import MissingExtraError, ModelError, UsageError
from tests.cli_support import invoke
from tests.conftest import BUNDLED

np = pytest.importorskip("numpy")
pytest.importorskip("safetensors")
# imported now, at collection: onnxruntime crashes when imported after usearch (runtime.CONFLICTS)
if "usearch" in sys.modules and "onnxruntime" not in sys.modules:
    pytest.skip("usearch was imported first (a module collected before this one)", allow_module_level=True)
pytest.importorskip("onnxruntime")

from podsearch.embedding import runtime  # noqa: E402
from podsearch.embedding.encoder import Encoder  # noqa: E402
from podsearch.embedding.network import Bert  # noqa: E402
from podsearch.embedding.onnx_graph import build_graph  # noqa: E402

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))
TEXTS = [item["text"] for item in REFERENCE["items"]]
QUERIES = ["career transitions", "RAG", "open-source contribution", "how to become a data engineer without a degree"]
#: Least cosine between an int8 query vector and numpy's: measured 0.9855 on these reference texts
#: (0.9857 at worst, 0.996 median, on the 1,391 queries of benchmarks/bench_runtime.py, seed 2).
INT8_COSINE = 0.98


def _load(runtime_name: str, cache: Path) -> Encoder:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(runtime.RUNTIME_VAR, runtime_name)
        patch.setenv(runtime.CACHE_VAR, str(cache))
        try:
            return Encoder.load()
        except ModelError as error:
            pytest.skip(f"no embedding model: {error}")


@pytest.fixture(scope="module")
def numpy_encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return _load("numpy", tmp_path_factory.mktemp("unused-cache"))


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return _load("onnx", tmp_path_factory.mktemp("graphs"))


# --- same vectors as numpy ---------------------------------------------------------------------


def test_documents_get_numpys_vectors(numpy_encoder: Encoder, onnx_encoder: Encoder) -> None:
    expected = numpy_encoder.encode(TEXTS)
    got = onnx_encoder.encode(TEXTS)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert (got * expected).sum(axis=1).min() > 0.9999
    reference = np.array([item["vector"] for item in REFERENCE["items"]], dtype=np.float32)
    cosines = (got * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.99999  # sentence-transformers' vectors, as numpy's


def test_a_query_runs_in_int8_close_to_numpy(numpy_encoder: Encoder, onnx_encoder: Encoder) -> None:
    assert isinstance(onnx_encoder.network, runtime.OnnxBert) and onnx_encoder.network.query_precision == "int8"
    texts = TEXTS + QUERIES
    numpy_vectors = np.stack([numpy_encoder.query(text) for text in texts])
    int8 = np.stack([onnx_encoder.query(text) for text in texts])
    cosines = (int8 * numpy_vectors).sum(axis=1)
    assert cosines.min() >= INT8_COSINE, dict(zip(texts, cosines.round(4), strict=True))
    assert np.allclose(np.linalg.norm(int8, axis=1), 1, atol=1e-5)
    # int8, not float32: otherwise the query graph is not the quantized one
    assert cosines.min() < 0.9999
    # and the meaning still orders as numpy's does
    query, near, far = (
        onnx_encoder.query(text)
        for text in ("changing careers into data science", "I moved from accounting to a data scientist job", "pizza")
    )
    assert query @ near > query @ far + 0.2


def test_a_vector_does_not_depend_on_its_batch_or_padding(onnx_encoder: Encoder) -> None:
    batched = onnx_encoder.encode(TEXTS)
    alone = np.vstack([onnx_encoder.encode([text]) for text in TEXTS])
    order = list(reversed(range(len(TEXTS))))
    shuffled = onnx_encoder.encode([TEXTS[i] for i in order], batch_size=3, threads=2)
    assert np.allclose(alone, batched, atol=2e-6)
    assert np.allclose(shuffled, batched[order], atol=2e-6)


def test_the_encoder_api_is_unchanged(numpy_encoder: Encoder, onnx_encoder: Encoder) -> None:
    assert onnx_encoder.dimensions == numpy_encoder.dimensions == 384
    assert onnx_encoder.max_tokens == numpy_encoder.max_tokens == 256
    assert onnx_encoder.fingerprint == numpy_encoder.fingerprint == REFERENCE["weights_sha256"]
    assert onnx_encoder.tokens(TEXTS[0]) == numpy_encoder.tokens(TEXTS[0])
    assert onnx_encoder.encode([]).shape == (0, 384)
    done: list[int] = []
    onnx_encoder.encode(TEXTS, batch_size=4, progress=done.append)
    assert done[-1] == len(TEXTS) and done == sorted(done)
    with pytest.raises(TypeError):
        onnx_encoder.encode("career transitions")  # type: ignore[arg-type]
    first = onnx_encoder.query("feature stores")
    first[:] = 0  # a kept query vector is a copy
    assert np.linalg.norm(onnx_encoder.query("feature stores")) == pytest.approx(1, abs=1e-5)
    assert "feature stores" in onnx_encoder._queries
    assert numpy_encoder.runtime == "numpy" and "runtime=numpy" in repr(numpy_encoder)
    assert onnx_encoder.runtime == "onnx (queries int8, documents float32)"
    assert "runtime=onnx (queries int8" in repr(onnx_encoder)


# --- the graph against numpy's network, on a tiny random BERT ----------------------------------

TINY = {
    "hidden_size": 32,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "vocab_size": 50,
    "max_position_embeddings": 40,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}


def _tiny_weights(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    h, inner = TINY["hidden_size"], TINY["intermediate_size"]

    def w(*shape: int) -> Any:
        return rng.standard_normal(shape).astype(np.float32) * 0.2

    weights = {
        "embeddings.word_embeddings.weight": w(TINY["vocab_size"], h),
        "embeddings.position_embeddings.weight": w(TINY["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": w(2, h),
        "embeddings.LayerNorm.weight": 1 + w(h),
        "embeddings.LayerNorm.bias": w(h),
    }
    for i in range(TINY["num_hidden_layers"]):
        base = f"encoder.layer.{i}"
        for name, rows, cols in (
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", inner, h),
            ("output.dense", h, inner),
        ):
            weights[f"{base}.{name}.weight"] = w(rows, cols)
            weights[f"{base}.{name}.bias"] = w(rows)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{base}.{norm}.weight"] = 1 + w(h)
            weights[f"{base}.{norm}.bias"] = w(h)
    return weights


@pytest.fixture(scope="module")
def tiny() -> Bert:
    return Bert.from_weights(_tiny_weights(), TINY)


def _padded(rows: list[list[int]]) -> tuple[Any, Any]:
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    ids = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    for slot, row in enumerate(rows):
        ids[slot, : len(row)] = row
    return ids, lengths


def test_the_graph_computes_what_numpy_computes_on_any_padded_batch(tiny: Bert) -> None:
    network = runtime.OnnxNetwork(build_graph(tiny), tiny.dimensions, "float32", None)
    rows = [[1, 5, 9, 2], [1, 7, 2], [1, 3, 4, 8, 10, 11, 12, 2], [1, 2]]
    ids, lengths = _padded(rows)
    expected = tiny.embed(ids, lengths)
    got = network.embed(ids, lengths)
    assert np.allclose(got, expected, atol=1e-5)
    # each row alone (no padding) gives the same vector as in the padded batch
    for slot, row in enumerate(rows):
        alone = network.embed(*_padded([row]))[0]
        assert np.allclose(alone, got[slot], atol=1e-6)
    # the mask matters: the same ids read as longer rows give other vectors
    assert not np.allclose(network.embed(ids, np.full(len(rows), ids.shape[1])), got, atol=1e-3)


def _int8_products(model: bytes) -> list[str]:
    """The linear layers whose weights are int8 (only those have a ``.scale`` tensor), by their weight's name."""
    tags = [f"layer{i}.{kind}" for i in range(6) for kind in ("qkv", "attention_out", "up", "down")]
    found = sorted(f"{tag}.weight" for tag in tags if f"{tag}.scale".encode() in model)
    assert len(found) == model.count(b'"\x0dMatMulInteger')  # NodeProto.op_type: field 4, 13 bytes
    return found


def test_the_int8_graph_is_close_and_smaller(tiny: Bert) -> None:
    float32, int8 = build_graph(tiny), build_graph(tiny, int8=True)
    network = runtime.OnnxNetwork(int8, tiny.dimensions, "int8", None)
    ids, lengths = _padded([[1, 5, 9, 2, 17, 33, 2]])
    assert float(network.embed(ids, lengths)[0] @ tiny.embed(ids, lengths)[0]) > 0.97
    assert len(int8) < len(float32)
    assert len(_int8_products(int8)) == 8 and not _int8_products(float32)  # 2 layers of 4 linear layers


def test_the_query_graph_keeps_the_first_layer_and_the_down_projections_in_float32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Bert
) -> None:
    partial = build_graph(tiny, int8=True, keep_float32=["layer0", "down"])
    assert _int8_products(partial) == ["layer1.attention_out.weight", "layer1.qkv.weight", "layer1.up.weight"]
    monkeypatch.setenv(runtime.CACHE_VAR, str(tmp_path))
    _vector(_graphs(Built()))
    (cached,) = tmp_path.glob("*-int8-*.onnx")
    assert runtime.QUERY_FLOAT32 == ("layer0", "down") and _int8_products(cached.read_bytes()) == _int8_products(
        partial
    )


def test_the_graph_is_valid_onnx(tiny: Bert) -> None:
    """The hand-written protocol buffers (embedding/onnx_proto.py) are what the onnx package writes."""
    onnx = pytest.importorskip("onnx")
    for model in (build_graph(tiny), build_graph(tiny, int8=True, keep_float32=["layer0"])):
        parsed = onnx.load_from_string(model)
        onnx.checker.check_model(parsed, full_check=True)
        assert parsed.SerializeToString() == model
        assert [i.name for i in parsed.graph.input] == ["input_ids", "attention_mask"]
        assert parsed.graph.node[-1].op_type == "LpNormalization" and parsed.graph.output[0].name == "vector"


# --- the cache ---------------------------------------------------------------------------------


class Built:
    """Counts the numpy networks :class:`runtime.Graphs` asks for (one per graph built)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> Bert:
        self.count += 1
        return Bert.from_weights(_tiny_weights(), TINY)


def _graphs(built: Built) -> runtime.OnnxBert:
    return runtime.OnnxBert("ab" * 32, TINY, built)


def _vector(bert: runtime.OnnxBert) -> Any:
    return bert.query([1, 5, 9, 2])


def test_a_built_graph_is_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Bert) -> None:
    monkeypatch.setenv(runtime.CACHE_VAR, str(tmp_path / "cache"))
    built = Built()
    first = _vector(_graphs(built))
    files = sorted((tmp_path / "cache").glob("*.onnx"))
    assert built.count == 1 and [f.name.split("-")[1] for f in files] == ["ab" * 32]
    assert files[0].name.startswith(_graphs(built).graphs.name("int8") + "-")
    assert not list((tmp_path / "cache").glob(".*"))  # no temporary file left behind
    again = Built()
    assert np.array_equal(_vector(_graphs(again)), first) and again.count == 0
    # documents use their own float32 graph, cached next to it
    _graphs(again).embed(*_padded([[1, 5, 9, 2]]))
    assert again.count == 1 and len(list((tmp_path / "cache").glob("*-float32-*.onnx"))) == 1
    # another graph version is another file, and replaces the older version's
    monkeypatch.setattr(runtime, "GRAPH_VERSION", runtime.GRAPH_VERSION + 1)
    other = Built()
    _vector(_graphs(other))
    (newer,) = (tmp_path / "cache").glob("*-int8-*.onnx")
    assert other.count == 1 and f"-g{runtime.GRAPH_VERSION}-" in newer.name
    assert len(list((tmp_path / "cache").glob("*-float32-*.onnx"))) == 1  # another precision: kept
    # other weights are another model: their graph does not replace this one's
    runtime.OnnxBert("cd" * 32, TINY, Built()).query([1, 5, 9, 2])
    assert len(list((tmp_path / "cache").glob("*-int8-*.onnx"))) == 2


@pytest.mark.parametrize("damage", ["flipped", "truncated", "garbage with its crc"])
def test_a_damaged_cached_graph_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Bert, damage: str
) -> None:
    import zlib

    monkeypatch.setenv(runtime.CACHE_VAR, str(tmp_path))
    expected = _vector(_graphs(Built()))
    (path,) = tmp_path.glob("*-int8-*.onnx")
    data = bytearray(path.read_bytes())
    if damage == "flipped":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path.write_bytes(bytes(data[: len(data) // 3]))
    else:  # bytes whose CRC-32 matches the name but that ONNX Runtime refuses (InvalidProtobuf)
        junk = b"not an onnx model"
        path.unlink()
        path = path.with_name(f"{path.stem.rsplit('-', 1)[0]}-{zlib.crc32(junk):08x}.onnx")
        path.write_bytes(junk)
    built = Built()
    assert np.allclose(_vector(_graphs(built)), expected, atol=1e-6)
    assert built.count == 1
    (rebuilt,) = tmp_path.glob("*-int8-*.onnx")
    assert f"{zlib.crc32(rebuilt.read_bytes()):08x}" == rebuilt.stem.rsplit("-", 1)[-1]


def test_an_unwritable_cache_builds_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Bert) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(runtime.CACHE_VAR, str(blocker / "cache"))
    bert = _graphs(Built())
    expected = runtime.OnnxNetwork(
        build_graph(tiny, int8=True, keep_float32=runtime.QUERY_FLOAT32), tiny.dimensions, "int8", None
    )
    assert np.allclose(_vector(bert), expected.embed(*_padded([[1, 5, 9, 2]]))[0], atol=1e-6)
    assert bert.graphs.network("int8").path is None
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_the_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(runtime.CACHE_VAR, str(tmp_path / "mine"))
    assert runtime.cache_folder() == tmp_path / "mine"
    monkeypatch.delenv(runtime.CACHE_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_folder() == tmp_path / "xdg" / "podsearch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert runtime.cache_folder() == tmp_path / "home" / ".cache" / "podsearch"


# --- choosing the runtime ----------------------------------------------------------------------


def test_the_runtime_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runtime.RUNTIME_VAR, raising=False)
    assert runtime.chosen() == "onnx"  # the default when installed
    for value, expected in (("numpy", "numpy"), ("ONNX", "onnx"), (" onnx ", "onnx")):
        monkeypatch.setenv(runtime.RUNTIME_VAR, value)
        assert runtime.chosen() == expected
    monkeypatch.setenv(runtime.RUNTIME_VAR, "torch")
    with pytest.raises(UsageError, match="PODSEARCH_RUNTIME='torch' is not one of numpy, onnx"):
        runtime.chosen()
    with pytest.raises(UsageError, match="is not one of"):
        Encoder.load()


def test_a_mistyped_runtime_is_said_not_searched_by_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An index with vectors and no model is searched by words; a typo in the setting is not a missing model."""
    where = tmp_path / "index"
    podsearch.Index(where).update(BUNDLED, semantic=True)
    monkeypatch.setenv(runtime.RUNTIME_VAR, "tpu")
    with pytest.raises(UsageError, match="PODSEARCH_RUNTIME='tpu'"):
        podsearch.Index(where).search("researchers and engineers")
    code, out, err = invoke("search", "researchers and engineers", "--index", str(where))
    assert (code, out) == (exits.EXIT_USAGE, "") and "PODSEARCH_RUNTIME='tpu'" in err


def test_without_onnx_runtime_numpy_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else find_spec(name, *a)
    )
    monkeypatch.delenv(runtime.RUNTIME_VAR, raising=False)
    assert not runtime.available() and runtime.chosen() == "numpy"
    monkeypatch.setenv(runtime.RUNTIME_VAR, "onnx")
    with pytest.raises(MissingExtraError, match=r"podsearch\[semantic-fast\]"):
        runtime.chosen()


def test_after_a_conflicting_module_onnx_runtime_is_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "onnxruntime")
    monkeypatch.setattr(runtime, "CONFLICTS", ("json",))
    monkeypatch.delenv(runtime.RUNTIME_VAR, raising=False)
    assert runtime.chosen() == "numpy"
    monkeypatch.setenv(runtime.RUNTIME_VAR, "onnx")
    with pytest.raises(MissingExtraError, match="cannot be loaded after json"):
        runtime.chosen()


def test_an_index_embedded_by_one_runtime_is_searched_by_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numpy_encoder: Encoder, onnx_encoder: Encoder
) -> None:
    import podsearch
    from tests.factory import write_episode

    folder = tmp_path / "episodes"
    folder.mkdir()
    careers = [("Ann", 5, "I left my university job and started working as an engineer at a startup.")]
    write_episode(folder, "ep1", careers, title="Leaving academia", season=1, number=1)
    write_episode(
        folder, "ep2", [("Bob", 5, "My grandmother taught me to bake sourdough bread.")], title="Bread", number=2
    )
    monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, source=None: onnx_encoder))
    index = podsearch.Index(tmp_path / "index")
    index.update(folder, semantic=True)
    for encoder in (onnx_encoder, numpy_encoder):
        monkeypatch.setattr(Encoder, "load", classmethod(lambda cls, source=None, e=encoder: e))
        fresh = podsearch.Index(tmp_path / "index")
        hits = fresh.search("changing careers into industry", mode="meaning", limit=2)
        assert hits[0].episode.title == "Leaving academia", encoder.runtime
        fresh.close()
    index.close()
