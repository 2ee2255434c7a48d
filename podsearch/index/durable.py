"""Whoosh's file storage with every write forced to disk before the commit that names it.

Whoosh commits by writing the segment files and a new table of contents, then
renaming the table into place. That survives a killed process, but not a power
cut or a kernel crash: the operating system may write the rename to disk before
the data it points to, and the index comes back naming files that are empty or
short. Here every file the writer creates is flushed and ``fsync``-ed when it is
closed, and the folder is ``fsync``-ed after each rename, so the new table of
contents can only reach the disk after everything it lists. A hook run just
before a rename lets the committer write its record of the generation (see
:mod:`podsearch.index.commits`) before the table of contents that makes it live.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from whoosh.filedb.filestore import FileStorage

from podsearch.index.syncing import sync_folder


class DurableFileStorage(FileStorage):
    """A :class:`~whoosh.filedb.filestore.FileStorage` whose files and renames reach the disk."""

    #: Called with (old name, new name) before each rename (Whoosh renames only tables of contents).
    before_rename: Callable[[str, str], None] | None = None

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> Any:
        """Whoosh's ``create_file``; the file is synced to disk when it is closed."""
        given = kwargs.pop("onclose", None)

        def synced(structfile: Any) -> None:
            if given is not None:
                given(structfile)
            structfile.file.flush()
            os.fsync(structfile.file.fileno())

        return super().create_file(name, excl, mode, onclose=synced, **kwargs)

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        """Whoosh's ``rename_file``, then the folder synced so that the new name is on disk."""
        if self.before_rename is not None:
            self.before_rename(oldname, newname)
        super().rename_file(oldname, newname, safe)
        sync_folder(self.folder)
