"""The SQLite FTS5 baseline of the indexing benchmark, as a command of its own.

Builds (or updates) an FTS5 index of the same paragraphs podsearch indexes:
stdlib :mod:`sqlite3`, ``tokenize='porter'``, one row per paragraph, from the
episodes parsed by :func:`podsearch.read_folder` (the same parser, so the same
paragraphs). Like ``podsearch index`` it keeps each file's hash, and with
``--update`` reads only new and changed files and deletes removed ones, so the
re-run and one-edit figures compare like with like.

    python benchmarks/index_fts5.py CORPUS DB            # full build (the file is replaced)
    python benchmarks/index_fts5.py CORPUS DB --update   # incremental

Run as a separate process by ``bench_index.py``, so its time and peak memory
are those of the whole process, exactly as for ``podsearch index``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: The paragraphs' text in FTS5; where each row comes from in a plain table with
#: the same rowids (indexed by episode, so an update deletes without a scan).
SCHEMA = (
    "CREATE VIRTUAL TABLE paragraphs USING fts5(text, tokenize='porter');"
    "CREATE TABLE places(rowid INTEGER PRIMARY KEY, eid TEXT NOT NULL, number INTEGER NOT NULL);"
    "CREATE INDEX places_eid ON places(eid);"
    "CREATE TABLE files(eid TEXT PRIMARY KEY, sha TEXT NOT NULL);"
)


def rows(episodes: Iterable[Any]) -> Iterator[tuple[str, str, int]]:
    """(text, episode id, paragraph number) for every paragraph, in file order."""
    for episode in episodes:
        for turn in episode.turns:
            for paragraph in turn.paragraphs:
                yield paragraph.text, episode.id, paragraph.number


def insert(db: sqlite3.Connection, episodes: Iterable[Any]) -> int:
    """Add the paragraphs of some episodes; how many."""
    start = db.execute("SELECT coalesce(max(rowid), 0) + 1 FROM places").fetchone()[0]
    numbered = [(start + n, *row) for n, row in enumerate(rows(episodes))]
    db.executemany("INSERT INTO paragraphs(rowid, text) VALUES (?, ?)", ((r, text) for r, text, _, _ in numbered))
    db.executemany("INSERT INTO places VALUES (?, ?, ?)", ((r, eid, number) for r, _, eid, number in numbered))
    return len(numbered)


def file_hashes(folder: Path) -> dict[str, tuple[Path, str]]:
    """Episode id → (path, content hash) of the ``*.md`` files in a folder."""
    found = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".md"):
            data = (folder / name).read_bytes()
            found[name[:-3]] = (folder / name, hashlib.blake2b(data, digest_size=16).hexdigest())
    return found


def build(folder: Path, database: Path) -> tuple[int, int]:
    """A new database from every file; (episodes, paragraphs)."""
    from podsearch import EpisodeError, read_folder

    temporary = database.with_name(database.name + ".new")
    temporary.unlink(missing_ok=True)
    db = sqlite3.connect(temporary)
    db.executescript(SCHEMA)
    hashes = file_hashes(folder)
    episodes = [e for e in read_folder(folder) if not isinstance(e, EpisodeError)]
    with db:
        count = insert(db, episodes)
        db.executemany("INSERT INTO files VALUES (?, ?)", ((e.id, hashes[e.id][1]) for e in episodes))
    db.close()
    os.replace(temporary, database)  # as podsearch, readers keep the old index meanwhile
    return len(episodes), count


def update(folder: Path, database: Path) -> tuple[int, int]:
    """Read only new and changed files, delete removed ones; (episodes read, paragraphs added)."""
    from podsearch import EpisodeError, read_episode

    db = sqlite3.connect(database)
    known = dict(db.execute("SELECT eid, sha FROM files"))
    hashes = file_hashes(folder)
    changed = [eid for eid, (_, sha) in hashes.items() if known.get(eid) != sha]
    gone = [eid for eid in known if eid not in hashes]
    episodes = []
    for eid in changed:
        try:
            episodes.append(read_episode(hashes[eid][0]))
        except EpisodeError:
            continue
    with db:
        for eid in [e.id for e in episodes] + gone:
            db.execute("DELETE FROM paragraphs WHERE rowid IN (SELECT rowid FROM places WHERE eid = ?)", (eid,))
            db.execute("DELETE FROM places WHERE eid = ?", (eid,))
            db.execute("DELETE FROM files WHERE eid = ?", (eid,))
        added = insert(db, episodes)
        db.executemany("INSERT INTO files VALUES (?, ?)", ((e.id, hashes[e.id][1]) for e in episodes))
    db.close()
    return len(episodes), added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="episodes folder")
    parser.add_argument("database", type=Path, help="SQLite file to write")
    parser.add_argument("--update", action="store_true", help="incremental update of an existing database")
    options = parser.parse_args(argv)
    if options.update and options.database.exists():
        episodes, paragraphs = update(options.folder, options.database)
    else:
        episodes, paragraphs = build(options.folder, options.database)
    print(f"{episodes} episodes, {paragraphs} paragraphs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
