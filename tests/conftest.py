"""Shared fixtures. No test ever touches the user's real ``index/``.

Every test runs in its own temporary working directory with
``PODSEARCH_INDEX`` and ``PODSEARCH_EPISODES`` pointing inside it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import podsearch

# onnxruntime's import crashes the process once usearch is loaded (onnxruntime 1.32, usearch 2.26);
# podsearch loads the model before it opens a graph, and the suite keeps that order whatever order
# its modules are collected in (test_nearest.py imports usearch at collection)
with contextlib.suppress(ImportError):
    import onnxruntime  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "episodes"
BUNDLED_EPISODE = BUNDLED / "s05e05-researchers-vs-engineers.md"
DATA = Path(__file__).resolve().parent / "data"


def _corpus_root() -> Path:
    configured = os.environ.get("PODSEARCH_CORPUS")
    return Path(configured) if configured else ROOT.parent / "shared" / "corpus"


CORPUS = _corpus_root() / "datatalks" / "podcast"
PEOPLE = _corpus_root() / "datatalks" / "people"


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's cache of built ONNX graphs (podsearch/embedding/runtime.py), never the user's;
    session-wide so that it is set before any module-scoped fixture loads a model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PODSEARCH_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        yield Path(os.environ["PODSEARCH_CACHE"])


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh directory; default index and episodes point inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODSEARCH_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("PODSEARCH_EPISODES", str(tmp_path / "episodes"))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def episodes_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled episodes folder."""
    target = tmp_path / "episodes"
    shutil.copytree(BUNDLED, target)
    return target


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    """An index of the bundled episode, built once per session (read-only use)."""
    path = tmp_path_factory.mktemp("bundled") / "index"
    index = podsearch.Index(path)
    index.update(BUNDLED)
    yield index
    index.close()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared real corpus; tests using it are skipped when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> podsearch.Index:
    """An index of the whole real corpus, built once per session (read-only use)."""
    path = tmp_path_factory.mktemp("corpus") / "index"
    index = podsearch.Index(path)
    index.update(corpus_dir)
    yield index
    index.close()
