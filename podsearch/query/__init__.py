"""Searching: query plan → first stage → re-ranking → hits, and spelling correction.

May import: the top-level modules and the interface of :mod:`podsearch.index`.
Never Whoosh itself, rich or typer.
"""
