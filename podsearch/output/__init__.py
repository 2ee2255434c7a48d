"""Showing results: the terminal (rich, in ``terminal`` and the progress bar of
``indexing``), plain lines on the standard streams (``streams``), notebook HTML
and pandas (``notebook``). Nothing outside this package imports rich.

May import: the top-level modules, rich, and (lazily) pandas and IPython.
"""
