"""Episode folders on disk: where they are, their guest folders, and file hashes.

Imports neither YAML nor Whoosh: a nightly run with nothing to do lists and
hashes files with this module alone.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def default_episodes_path() -> Path:
    """``$PODSEARCH_EPISODES``, else ``./episodes``."""
    return Path(os.environ.get("PODSEARCH_EPISODES") or "episodes")


#: The episodes folder of a checkout of the DataTalks.Club site (``site/_podcast``).
SITE_EPISODES = "_podcast"


def episodes_folder(folder: Path) -> Path:
    """The episodes folder that ``folder`` stands for: its ``_podcast`` when it is a site checkout.

    ``podsearch index site`` then indexes ``site/_podcast``, and takes guest
    names from ``site/_people`` (see :func:`people_folder`).
    """
    inside = folder / SITE_EPISODES
    return inside if inside.is_dir() else folder


#: Where guest files live, beside or inside an episodes folder (``people/mihaileric.md``).
PEOPLE_FOLDERS = ("people", "_people")


def people_folder(episodes_folder: Path) -> Path | None:
    """The people folder of an episodes folder: next to it (the corpus layout), else inside it.

    A folder inside is how a project bundles a few episodes with their guests.
    """
    for parent in (episodes_folder.parent, episodes_folder):
        for name in PEOPLE_FOLDERS:
            candidate = parent / name
            if candidate.is_dir():
                return candidate
    return None


def file_sha(path: Path) -> str:
    """A content hash of a regular file (BLAKE2b, 128 bits).

    Raises :class:`IsADirectoryError`, :class:`NotARegularFile` or another
    :class:`OSError`. A FIFO or a device named ``x.md`` is refused, not read:
    reading it could block or never end.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise NotARegularFile(path)
        digest = hashlib.blake2b(digest_size=16)
        while chunk := os.read(descriptor, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(descriptor)


def bytes_sha(data: bytes) -> str:
    """The hash :func:`file_sha` gives a file holding ``data``."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def episode_sha(file_hash: str, guests: str) -> str:
    """An episode's hash: its file's, mixed with its folder's guest files' (:func:`people_sha`).

    An episode shows its guests' names, so a renamed guest changes it.
    """
    if not guests:
        return file_hash
    return hashlib.blake2b(f"{file_hash}/{guests}".encode(), digest_size=16).hexdigest()


class NotARegularFile(OSError):
    """A path that is neither a file nor a folder (a FIFO, a device, a socket)."""


def people_sha(folder: Path) -> str:
    """A hash of the guest files an episodes folder takes names from ('' when it has none).

    Folded into each episode's hash, so that editing ``people/`` re-reads the
    folder's episodes: the plan cannot know which guests an unread file names.
    """
    people = people_folder(folder)
    if people is None:
        return ""
    try:
        names = sorted(name for name in os.listdir(people) if name.endswith(".md"))
    except OSError as error:
        return f"unlisted: {error.errno}"
    digest = hashlib.blake2b(digest_size=16)
    for name in names:
        try:
            sha = file_sha(people / name)
        except OSError as error:  # a folder, a FIFO, an unreadable file: no name from it
            sha = f"unreadable: {error.errno}"
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()
