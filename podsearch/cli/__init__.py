"""The ``podsearch`` command line: one definition of commands and options, the fast
start, and the one mapping from errors to exit codes.

May import: :mod:`podsearch.api`, :mod:`podsearch.output`, the top-level modules, typer.
"""
