"""From a query string to a Whoosh query, and what the rest of the search needs to know of it.

Any string is a valid input: a query that Whoosh's parser cannot make sense of
is read as plain words, and what would be slow (bare or broad wildcards, word
ranges, hundreds of words) is refused with a :class:`QueryError` giving the
reason. Plain queries, most of them, skip Whoosh's parser altogether.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from whoosh import qparser
from whoosh import query as wq
from whoosh.fields import Schema

from podsearch.errors import QueryError
from podsearch.index.schema import make_schema
from podsearch.text import fold, stem, terms

#: Queries longer than this are refused (a long quote is ~1,800 characters).
MAX_QUERY_CHARS = 2_000
#: At most this many words of a query are searched.
MAX_QUERY_TERMS = 64
#: Fields a query may name (``speaker:alexey``); the rest of the schema is internal.
QUERY_FIELDS = ("text", "speaker", "guest", "season", "episode")
# Function words: dropped from the candidate stage of a query that has other
# words (they match most paragraphs), kept for phrases and re-ranking.
STOP_WORDS = frozenset(
    stem(fold(word))
    for word in """a an and are as at be but by can could did do does for from had has have he
    her him his how i if in into is it its just me my not of on or our she so some such than that
    the their them then there these they this to too us very was we were what when where which
    who why will with would you your yours""".split()
)


# --- the parser ------------------------------------------------------------------------------


def _parser() -> qparser.QueryParser:
    schema = make_schema()
    visible = Schema(**{name: schema[name] for name in QUERY_FIELDS})
    parser = qparser.QueryParser("text", visible, group=qparser.OrGroup)
    # "+word" / "-word" only at the start of a word: "full-stack" is two words, not "full -stack".
    parser.add_plugin(
        qparser.PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+(?=\S)", minusexpr=r"(?:^|(?<=[\s(]))-(?=\S)")
    )
    parser.add_plugin(qparser.GtLtPlugin())
    parser.remove_plugin_class(qparser.EveryPlugin)  # "*:*" would rank every paragraph
    return parser


_PARSER = _parser()
_SYNTAX = re.compile(r"""["()*:+\-^~\[\]{}<>=]|\b(?:AND|OR|NOT|TO)\b""")


def parse(text: str) -> wq.Query:
    """The Whoosh query for a query string; raises :class:`QueryError` with a reason.

    Syntax that Whoosh cannot make sense of is read literally (as plain words).
    """
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if not text:
        raise QueryError("the query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}")

    def safe_operators(node: wq.Query) -> wq.Query:
        # Whoosh's AndNot and Require matchers crash (IndexError, AssertionError) when
        # block-quality skipping exhausts one side ("con* -data", "data REQUIRE science");
        # for the candidate stage, And (with Not) means the same.
        if isinstance(node, wq.AndNot):
            return wq.And([node.a, wq.Not(node.b)])
        if isinstance(node, wq.Require):
            return wq.And([node.a, node.b])
        return node

    # People end questions with "?": it is punctuation here, not Whoosh's one-letter wildcard.
    text = text.replace("?", " ")
    if _is_plain(text):  # most queries: skip Whoosh's parser (a fifth of a search)
        words = terms(text)
        if not words:
            raise QueryError("the query has no words to search for")
        distinct = [wq.Term("text", word) for word in dict.fromkeys(words)]
        if len(distinct) > MAX_QUERY_TERMS:
            raise QueryError(f"the query has {len(distinct)} terms; the limit is {MAX_QUERY_TERMS}")
        return distinct[0] if len(distinct) == 1 else wq.Or(distinct)
    try:
        parsed = _normalized(_PARSER.parse(text)).accept(safe_operators)
        _check(parsed)
    except QueryError:
        raise
    # Whoosh's parser asserts on two binary operators in a row ("a ANDNOT ANDNOT b") and
    # raises NotImplementedError on a sign it left unattached ("( -1 )<x", "( +a ]b) c?")
    except (
        qparser.QueryParserError,
        ValueError,
        TypeError,
        IndexError,
        RecursionError,
        AssertionError,
        NotImplementedError,
    ):
        parsed = None
    if parsed is None or parsed is wq.NullQuery or not _has_positive(parsed):
        literal = _SYNTAX.sub(" ", text)
        words = terms(literal)
        if not words:
            raise QueryError("the query has no words to search for")
        parsed = wq.Or([wq.Term("text", word) for word in dict.fromkeys(words)])
    return parsed


# What makes a query more than words. A colon counts only after a field name:
# "Data Quality: Tools and Tips" is words.
_OPERATOR = re.compile(
    r"""["()*^~\[\]{}<>=\\]|(?:^|[\s(])[+-]|\b(?:AND|OR|NOT|TO)\b|\b(?:"""
    + "|".join(QUERY_FIELDS)
    + r"):"
)


def _is_plain(text: str) -> bool:
    """Whether a query is just words (no quotes, operators, fields or wildcards)."""
    return _OPERATOR.search(text) is None


def _normalized(node: wq.Query) -> wq.Query:
    """Quoted words in a field without positions (``guest:"jane doe"``) mean all of them."""
    if isinstance(node, wq.Phrase) and node.fieldname != "text":
        return wq.And([wq.Term(node.fieldname, word) for word in node.words])
    if node.is_leaf():
        return node
    return node.apply(_normalized)


def _check(node: wq.Query) -> None:
    """Refuse what would be slow: broad or several wildcards, word ranges, too many words.

    Whoosh ORs every word a wildcard expands to: on the corpus that union costs
    seconds for two letters (``co*``: 367 words), up to 0.9 s of CPU for three
    (``data pro*``), and two wildcards add up. (The letters are counted after
    stemming, which ``embed*`` → ``emb*`` shortens.)
    """
    count = wildcards = 0
    for leaf in (item for item in walk(node) if item.is_leaf()):
        count += 1
        if isinstance(leaf, wq.Every):
            raise QueryError("'*' alone would match every moment; add at least one word")
        if isinstance(leaf, (wq.Wildcard, wq.Prefix)):
            wildcards += 1
            stem_text = re.split(r"[*?]", leaf.text, maxsplit=1)[0]
            if len(stem_text) < 3:
                shown = f"{leaf.text}*" if isinstance(leaf, wq.Prefix) else leaf.text
                raise QueryError(f"'{shown}' is too broad; give at least three letters before '*' or '?'")
        if isinstance(leaf, wq.TermRange):  # numeric ranges (season, episode) are NumericRange
            raise QueryError("ranges work only on season and episode, e.g. season:[3 TO 5]")
        if isinstance(leaf, (wq.Regex, wq.FuzzyTerm)):
            raise QueryError("regular expressions and fuzzy terms are not supported")
    if wildcards > 1:
        raise QueryError("only one word per query may have '*' or '?'")
    if count > MAX_QUERY_TERMS:
        raise QueryError(f"the query has {count} terms; the limit is {MAX_QUERY_TERMS}")


def _has_positive(node: wq.Query) -> bool:
    if isinstance(node, wq.Not):
        return False
    if isinstance(node, wq.AndNot):
        return _has_positive(node.a)
    if node.is_leaf():
        return node is not wq.NullQuery
    return any(_has_positive(child) for child in node.children())


def positive_terms(node: wq.Query) -> list[str]:
    """The text-field terms the user wants to see (in query order, no negations)."""
    found: list[str] = []

    def visit(item: wq.Query) -> None:
        if isinstance(item, wq.Not):
            return
        if isinstance(item, wq.AndNot):
            visit(item.a)
            return
        if isinstance(item, wq.Phrase) and item.fieldname == "text":
            found.extend(item.words)
        elif isinstance(item, wq.Prefix) and item.fieldname == "text":
            found.append(item.text + "*")
        elif isinstance(item, (wq.Term, wq.Wildcard)) and item.fieldname == "text":
            found.append(item.text)
        elif not item.is_leaf():
            for child in item.children():
                visit(child)

    visit(node)
    return found


def walk(node: wq.Query) -> Iterable[wq.Query]:
    """The node and all its descendants, depth first."""
    yield node
    if not node.is_leaf():
        for child in node.children():
            yield from walk(child)


# --- the shape of a query ---------------------------------------------------------------


def is_field_clause(node: wq.Query) -> bool:
    """Whether a clause names only fields other than the text (``speaker:alexey``)."""
    fieldnames = {leaf.field() for leaf in walk(node) if leaf.is_leaf() and hasattr(leaf, "fieldname")}
    return bool(fieldnames) and "text" not in fieldnames



def require_fields(node: wq.Query) -> wq.Query:
    """``speaker:alexey data`` means data *said by Alexey*: field clauses restrict."""
    if not isinstance(node, wq.Or):
        return node
    fields = [child for child in node.subqueries if is_field_clause(child)]
    words = [child for child in node.subqueries if not is_field_clause(child)]
    if not fields or not words:
        return node
    return wq.And([*fields, wq.Or(words) if len(words) > 1 else words[0]])



def is_text_term(node: wq.Query) -> bool:
    """Whether a node is a single word of the text field."""
    return isinstance(node, wq.Term) and node.fieldname == "text"



def is_bag_of_words(node: wq.Query) -> bool:
    """Words (and expanded wildcards) only: the fast first stage can run it."""
    if is_text_term(node):
        return True
    return isinstance(node, wq.Or) and all(
        is_text_term(child) or (isinstance(child, wq.Or) and all(map(is_text_term, child.subqueries)))
        for child in node.subqueries
    )



def bag_terms(node: wq.Query) -> list[str]:
    """The text words of a query, in order."""
    return [leaf.text for leaf in walk(node) if is_text_term(leaf)]



def without_stop_words(node: wq.Query) -> wq.Query:
    """A top-level OR of words without its stop words, unless nothing else is left."""
    if isinstance(node, wq.Or):
        content = [
            child
            for child in node.subqueries
            if not (isinstance(child, wq.Term) and child.fieldname == "text" and child.text in STOP_WORDS)
        ]
        if content and len(content) < len(node.subqueries):
            return wq.Or(content) if len(content) > 1 else content[0]
    return node
