"""Files and folders forced to disk: what the indexer names is on disk before it is named.

Imports no Whoosh: an update with nothing to do writes ``podsearch.json`` with it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def write_durably(path: Path, data: bytes) -> None:
    """Replace the file at ``path`` with ``data``: written to a temporary file, synced, renamed, folder synced."""
    replace_durably(path, lambda temporary: temporary.write_bytes(data))


def replace_durably(path: Path, write: Callable[[Path], object]) -> None:
    """Replace the file at ``path`` with what ``write(temporary)`` puts in a temporary file beside it:
    synced, renamed into place, folder synced. A failure leaves ``path`` as it was and no temporary file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    sync_folder(str(path.parent))


def sync_folder(path: str) -> None:
    """``fsync`` a folder, making the names created or renamed in it durable (where supported)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a platform that cannot open folders (Windows): nothing more to do
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the data files are synced anyway
    finally:
        os.close(descriptor)
