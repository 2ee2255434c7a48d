"""From a query string to a query tree, and what the rest of the search needs to know of it.

Any string is a valid input: a query that the parser cannot make sense of is
read as plain words, and what would be slow (bare or broad wildcards, word
ranges, hundreds of words) is refused with a :class:`QueryError` giving the
reason. Plain queries, most of them, skip the engine's parser altogether.
"""

from __future__ import annotations

import re

from podsearch.errors import QueryError
from podsearch.index import querytree as qt
from podsearch.index.language import QUERY_FIELDS, parse_operators
from podsearch.text import fold, stem, terms

#: Queries longer than this are refused (a long quote is ~1,800 characters).
MAX_QUERY_CHARS = 2_000
#: At most this many words of a query are searched.
MAX_QUERY_TERMS = 64
# Function words: dropped from the candidate stage of a query that has other
# words (they match most paragraphs), kept for phrases and re-ranking.
STOP_WORDS = frozenset(
    stem(fold(word))
    for word in """a an and are as at be but by can could did do does for from had has have he
    her him his how i if in into is it its just me my not of on or our she so some such than that
    the their them then there these they this to too us very was we were what when where which
    who why will with would you your yours""".split()  # noqa: SIM905 - a list of 74 strings reads worse
)

_SYNTAX = re.compile(r"""["()*:+\-^~\[\]{}<>=]|\b(?:AND|OR|NOT|TO)\b""")
# What makes a query more than words. A colon counts only after a field name:
# "Data Quality: Tools and Tips" is words.
_OPERATOR = re.compile(
    r"""["()*^~\[\]{}<>=\\]|(?:^|[\s(])[+-]|\b(?:AND|OR|NOT|TO)\b|\b(?:""" + "|".join(QUERY_FIELDS) + r"):"
)


def parse(text: str) -> qt.Node:
    """The query tree for a query string; raises :class:`QueryError` with a reason.

    Syntax that the parser cannot make sense of is read literally (as plain words).
    """
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if not text:
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    # People end questions with "?": it is punctuation here, not a one-letter wildcard.
    text = text.replace("?", " ")
    if _is_plain(text):  # most queries: skip the parser (a fifth of a search)
        return _words(terms(text))
    parsed = parse_operators(text)
    try:
        if parsed is not None:
            _check(parsed)
    except RecursionError:  # nested too deep to check: read it as words
        parsed = None
    if parsed is None or isinstance(parsed, qt.Nothing) or not _has_positive(parsed):
        words = terms(_SYNTAX.sub(" ", text))
        if not words:
            raise QueryError("the query has no words to search for")
        return qt.Or(tuple(qt.Term("text", word) for word in dict.fromkeys(words)))
    return parsed


def _words(words: list[str]) -> qt.Node:
    """Plain words: any of them."""
    if not words:
        raise QueryError("the query has no words to search for")
    distinct = [qt.Term("text", word) for word in dict.fromkeys(words)]
    if len(distinct) > MAX_QUERY_TERMS:
        raise QueryError(f"the query has {len(distinct)} terms; the limit is {MAX_QUERY_TERMS}")
    return distinct[0] if len(distinct) == 1 else qt.Or(tuple(distinct))


def _is_plain(text: str) -> bool:
    """Whether a query is just words (no quotes, operators, fields or wildcards)."""
    return _OPERATOR.search(text) is None


def _check(node: qt.Node) -> None:
    """Refuse what would be slow: broad or several wildcards, word ranges, too many words.

    Expanding a wildcard into every word it matches costs, on the corpus,
    seconds for two letters (``co*``: 367 words), up to 0.9 s of CPU for three
    (``data pro*``), and two wildcards add up. (The letters are counted after
    stemming, which ``embed*`` → ``emb*`` shortens.)
    """
    count = wildcards = 0
    for leaf in (item for item in qt.walk(node) if qt.is_leaf(item)):
        count += 1
        if isinstance(leaf, qt.Unsearchable) and leaf.kind == "every":
            raise QueryError("'*' alone would match every moment; add at least one word")
        if isinstance(leaf, (qt.Wildcard, qt.Prefix)):
            wildcards += 1
            stem_text = re.split(r"[*?]", leaf.text, maxsplit=1)[0]
            if len(stem_text) < 3:
                shown = f"{leaf.text}*" if isinstance(leaf, qt.Prefix) else leaf.text
                raise QueryError(f"'{shown}' is too broad; give at least three letters before '*' or '?'")
        if isinstance(leaf, qt.Unsearchable) and leaf.kind == "word range":
            raise QueryError("ranges work only on season and episode, e.g. season:[3 TO 5]")
        if isinstance(leaf, qt.Unsearchable):
            raise QueryError("regular expressions and fuzzy terms are not supported")
    if wildcards > 1:
        raise QueryError("only one word per query may have '*' or '?'")
    if count > MAX_QUERY_TERMS:
        raise QueryError(f"the query has {count} terms; the limit is {MAX_QUERY_TERMS}")


def _has_positive(node: qt.Node) -> bool:
    if isinstance(node, qt.Not):
        return False
    if qt.is_leaf(node):
        return not isinstance(node, qt.Nothing)
    return any(_has_positive(child) for child in qt.children(node))


def positive_terms(node: qt.Node) -> list[str]:
    """The text-field terms the user wants to see (in query order, no negations)."""
    found: list[str] = []

    def visit(item: qt.Node) -> None:
        if isinstance(item, qt.Not):
            return
        if isinstance(item, qt.Phrase) and item.field == "text":
            found.extend(item.words)
        elif isinstance(item, qt.Prefix) and item.field == "text":
            found.append(item.text + "*")
        elif isinstance(item, (qt.Term, qt.Wildcard)) and item.field == "text" and isinstance(item.text, str):
            found.append(item.text)
        else:
            for child in qt.children(item):
                visit(child)

    visit(node)
    return found


# --- the shape of a query ---------------------------------------------------------------


def is_field_clause(node: qt.Node) -> bool:
    """Whether a clause names only fields other than the text (``speaker:alexey``)."""
    fieldnames = {qt.leaf_field(leaf) for leaf in qt.walk(node) if qt.leaf_field(leaf) is not None}
    return bool(fieldnames) and "text" not in fieldnames


def require_fields(node: qt.Node) -> qt.Node:
    """``speaker:alexey data`` means data *said by Alexey*: field clauses restrict."""
    if not isinstance(node, qt.Or):
        return node
    fields = [child for child in node.children if is_field_clause(child)]
    words = [child for child in node.children if not is_field_clause(child)]
    if not fields or not words:
        return node
    return qt.And((*fields, qt.Or(tuple(words)) if len(words) > 1 else words[0]))


def is_text_term(node: qt.Node) -> bool:
    """Whether a node is a single word of the text field."""
    return isinstance(node, qt.Term) and node.field == "text" and isinstance(node.text, str)


def is_bag_of_words(node: qt.Node) -> bool:
    """Words (and expanded wildcards) only: the fast first stage can run it."""
    if is_text_term(node):
        return True
    return isinstance(node, qt.Or) and all(
        is_text_term(child) or (isinstance(child, qt.Or) and all(map(is_text_term, child.children)))
        for child in node.children
    )


def bag_terms(node: qt.Node) -> list[str]:
    """The text words of a query, in order."""
    return [
        leaf.text
        for leaf in qt.walk(node)
        if isinstance(leaf, qt.Term) and isinstance(leaf.text, str) and is_text_term(leaf)
    ]


def without_stop_words(node: qt.Node) -> qt.Node:
    """A top-level OR of words without its stop words, unless nothing else is left."""
    if isinstance(node, qt.Or):
        content = [
            child
            for child in node.children
            if not (isinstance(child, qt.Term) and is_text_term(child) and child.text in STOP_WORDS)
        ]
        if content and len(content) < len(node.children):
            return qt.Or(tuple(content)) if len(content) > 1 else content[0]
    return node
