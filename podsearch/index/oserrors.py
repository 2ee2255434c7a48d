"""File-system errors of the index as podsearch errors: full disk, permissions, other I/O.

The library never lets a bare :class:`OSError` out of an update: out of space (or
quota) becomes :class:`~podsearch.errors.DiskFullError` with roughly how much is
needed, permission denied and read-only file systems
:class:`~podsearch.errors.StoragePermissionError`, anything else
:class:`~podsearch.errors.StorageError`. Each names the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from podsearch.errors import DiskFullError, StorageError, StoragePermissionError

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def translate(error: OSError, path: Path | str, needed: int | None = None, doing: str = "write") -> StorageError:
    """The podsearch error for an :class:`OSError` met while writing (or ``doing``) the index at ``path``."""
    where = str(error.filename) if error.filename else str(path)
    reason = error.strerror or str(error)
    unchanged = "; the previous index is unchanged" if doing == "write" else ""
    if error.errno in _FULL:
        free = free_bytes(path)
        amount = f"; about {megabytes(needed)} more is needed" if needed else ""
        have = f" ({megabytes(free)} free)" if free is not None else ""
        return DiskFullError(
            f"no space left to write the index at {path}{have}{amount}; the previous index is unchanged. "
            "Free some space and run podsearch index again",
            path,
            needed,
        )
    if error.errno in _DENIED:
        return StoragePermissionError(f"cannot {doing} the index at {path}: {reason} ({where}){unchanged}", path)
    return StorageError(f"cannot {doing} the index at {path}: {reason} ({where}){unchanged}", path)


@contextlib.contextmanager
def storage_errors(path: Path | str, needed: Callable[[], int | None] | None = None) -> Iterator[None]:
    """Turn an :class:`OSError` raised inside into the matching :class:`StorageError`.

    ``needed`` estimates, only when the disk is full, how many bytes the work takes.
    """
    try:
        yield
    except OSError as error:
        raise translate(error, path, needed() if needed and error.errno in _FULL else None) from error


def free_bytes(path: Path | str) -> int | None:
    """Free bytes on the file system of ``path`` (or of its nearest existing parent)."""
    target = Path(path)
    while not target.exists() and target != target.parent:
        target = target.parent
    try:
        return shutil.disk_usage(target).free
    except OSError:
        return None


def megabytes(count: int | None) -> str:
    """``"12.3 MB"``."""
    return f"{(count or 0) / 1e6:.1f} MB"


def error_from_worker(number: int, reason: str, filename: str | None) -> OSError:
    """Rebuild the :class:`OSError` a worker process reported (see :mod:`podsearch.index.writing`)."""
    return OSError(number, reason or os.strerror(number), filename)
