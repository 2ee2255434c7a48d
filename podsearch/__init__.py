"""podsearch: find the moment someone said something in a podcast.

>>> import podsearch
>>> results = podsearch.search("full-stack data scientist")   # doctest: +SKIP
>>> results[0].url                                            # doctest: +SKIP
'https://www.youtube.com/watch?v=d9xVXqKq3sU&t=2433s'
"""

__version__ = "0.1.0"

from .api import Index, IndexStats, search
from .episodes import read_episode, read_folder
from .errors import (
    EpisodeError,
    EpisodeNotFound,
    IndexLockedError,
    IndexMissingError,
    IndexUnavailableError,
    IndexVersionError,
    NotAnEpisode,
    PodsearchError,
    QueryError,
)
from .model import (
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
)

__all__ = [
    "Chapter",
    "Episode",
    "EpisodeError",
    "EpisodeGroup",
    "EpisodeInfo",
    "EpisodeNotFound",
    "Failure",
    "Hit",
    "Index",
    "IndexLockedError",
    "IndexMissingError",
    "IndexStats",
    "IndexUnavailableError",
    "IndexVersionError",
    "NotAnEpisode",
    "Paragraph",
    "PodsearchError",
    "QueryError",
    "Results",
    "Snippet",
    "Turn",
    "UpdateReport",
    "__version__",
    "read_episode",
    "read_folder",
    "search",
]
