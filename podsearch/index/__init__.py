"""The storage engine: schema, segments, postings, commits, the lock, integrity and repair.

The only part of podsearch that imports Whoosh, and within it only
:mod:`podsearch.index.segments` touches Whoosh's private names. What it offers the
rest of podsearch (document frequencies, posting blocks, field lengths, stored
fields keyed by episode and paragraph, add/delete/commit) is what a second engine
would implement.

May import: the top-level modules, :mod:`podsearch.reading`, Whoosh.
"""
