"""Showing results: the terminal (rich), notebook HTML and pandas.

May import: the top-level modules, rich, and (lazily) pandas and IPython.
"""
