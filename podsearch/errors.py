"""The exceptions podsearch raises: every one is a :class:`PodsearchError`.

The CLI maps each class to one line on stderr and a documented exit code, so a
message here should tell the user what went wrong *and* what to do next.
"""

from __future__ import annotations

from pathlib import Path


class PodsearchError(Exception):
    """Base class of every error podsearch raises on purpose."""


class EpisodeError(PodsearchError):
    """An episode file that cannot be read as an episode.

    Carries the file's path and, where the YAML parser says so, the 1-based line
    and column of the problem, so a report can point at the exact spot.
    """

    def __init__(self, path: Path | str, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        self.column = column
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """``path``, ``path:line`` or ``path:line:column``."""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        # a file name that is not UTF-8 holds surrogate escapes: show them as \udcff, printably
        text = f"{self.location}: {self.reason}"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    def __reduce__(self) -> tuple[type[EpisodeError], tuple[Path, str, int | None, int | None]]:
        # keep the fields when sent between processes
        return (type(self), (self.path, self.reason, self.line, self.column))


class NotAnEpisode(EpisodeError):
    """A readable file that is not an episode (no transcript, a template)."""


class QueryError(PodsearchError):
    """A query that cannot be searched as written."""


class IndexUnavailableError(PodsearchError):
    """The index cannot be used as it is (missing, locked, or from another version)."""


class IndexMissingError(IndexUnavailableError):
    """There is no index where one was expected."""


class IndexVersionError(IndexUnavailableError):
    """The index was written by an incompatible podsearch version."""


class IndexLockedError(IndexUnavailableError):
    """Another process is updating the index."""


class EpisodeNotFound(PodsearchError):
    """No indexed episode matches the given id or code."""


class MissingExtraError(PodsearchError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


class ModelError(MissingExtraError):
    """The embedding model cannot be loaded: its files were not found, are incomplete, or are not
    the expected model. The message names where podsearch looked and the one-line remedy."""


class NoVideoError(PodsearchError):
    """The episode has no valid YouTube id, so there is no video to link or play."""


class IndexDamagedError(IndexUnavailableError):
    """The index's files are not what its last commit recorded (missing, truncated, corrupt).

    ``podsearch index --rebuild`` repairs it from the episode files.
    """


class IndexBuildingError(IndexUnavailableError):
    """The first build of the index is still running: nothing to search yet."""


class UsageError(PodsearchError):
    """A request that cannot be carried out as asked (for example, no folders to index)."""


class AmbiguousEpisodeError(UsageError):
    """An episode reference (a code, an old file name) that several indexed episodes answer to.

    ``candidates`` holds their ids; the message lists them.
    """

    def __init__(self, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


class RemovalRefusedError(PodsearchError):
    """An update would silently empty the index: a mirrored folder is missing, empty or
    unreadable, or the run would remove more than half of the episodes.

    Nothing was changed; pass ``allow_removals=True`` (``--allow-removals``) to go ahead.
    """


class StorageError(PodsearchError):
    """The index could not be written or read because of the file system.

    ``path`` is where it happened; :attr:`needed` is a rough number of bytes
    still needed when the disk is full (``None`` when unknown).
    """

    def __init__(self, message: str, path: Path | str | None = None, needed: int | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.needed = needed


class DiskFullError(StorageError):
    """No space (or quota) left where the index is written."""


class StoragePermissionError(StorageError):
    """Permission denied, or a read-only file system, where the index is written."""
