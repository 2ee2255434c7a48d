"""podsearch: find the moment someone said something in a podcast.

>>> import podsearch
>>> results = podsearch.search("full-stack data scientist")   # doctest: +SKIP
>>> results[0].url                                            # doctest: +SKIP
'https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s'
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from podsearch.errors import (
    AmbiguousEpisodeError,
    DiskFullError,
    EpisodeError,
    EpisodeNotFound,
    IndexBuildingError,
    IndexDamagedError,
    IndexLockedError,
    IndexMissingError,
    IndexUnavailableError,
    IndexVersionError,
    MissingExtraError,
    ModelError,
    NotAnEpisode,
    NoVideoError,
    PodsearchError,
    QueryError,
    RemovalRefusedError,
    StorageError,
    StoragePermissionError,
    UsageError,
)
from podsearch.model import (
    Chapter,
    Episode,
    EpisodeGroup,
    EpisodeInfo,
    Failure,
    Hit,
    Paragraph,
    Results,
    Snippet,
    Turn,
    UpdateReport,
    VerifyReport,
)

# The index and the episode reader pull in Whoosh and PyYAML: they are loaded on
# first use, so ``import podsearch`` (and the ``podsearch`` command) start fast.
_LAZY = {
    "Index": "api",
    "IndexStats": "api",
    "search": "api",
    "read_episode": "reading.episodes",
    "read_folder": "reading.episodes",
}

if TYPE_CHECKING:
    from podsearch.api import Index, IndexStats, search
    from podsearch.reading.episodes import read_episode, read_folder


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podsearch' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AmbiguousEpisodeError",
    "Chapter",
    "DiskFullError",
    "Episode",
    "EpisodeError",
    "EpisodeGroup",
    "EpisodeInfo",
    "EpisodeNotFound",
    "Failure",
    "Hit",
    "Index",
    "IndexBuildingError",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexMissingError",
    "IndexStats",
    "IndexUnavailableError",
    "IndexVersionError",
    "MissingExtraError",
    "ModelError",
    "NoVideoError",
    "NotAnEpisode",
    "Paragraph",
    "PodsearchError",
    "QueryError",
    "RemovalRefusedError",
    "Results",
    "Snippet",
    "StorageError",
    "StoragePermissionError",
    "Turn",
    "UpdateReport",
    "UsageError",
    "VerifyReport",
    "__version__",
    "read_episode",
    "read_folder",
    "search",
]
