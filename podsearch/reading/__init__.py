"""Reading: episode files and folders on disk → :class:`~podsearch.model.Episode`.

May import: the top-level modules (``model``, ``errors``, ``timecode``, ``text``,
``sanitize``) and PyYAML. Never Whoosh, rich or typer.
"""
