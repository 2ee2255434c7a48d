"""The query language: Whoosh's parser, read into podsearch's query tree, and the tree back into Whoosh.

Operators, phrases, fields, wildcards and ranges are parsed by Whoosh's query
parser (configured below); its tree is translated into
:mod:`podsearch.index.querytree` at once, so no Whoosh object leaves this
package. :func:`to_whoosh` makes the Whoosh query that runs a tree.
"""

from __future__ import annotations

from whoosh import qparser
from whoosh import query as wq
from whoosh.fields import Schema

from podsearch.index import querytree as qt
from podsearch.index.schema import make_schema

#: Fields a query may name (``speaker:alexey``); the rest of the schema is internal.
QUERY_FIELDS = ("text", "speaker", "guest", "season", "episode")


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

#: What Whoosh's parser raises on input it cannot make sense of: it asserts on two binary
#: operators in a row ("a ANDNOT ANDNOT b") and raises NotImplementedError on a sign it
#: left unattached ("( -1 )<x", "( +a ]b) c?").
_PARSER_FAILURES = (
    qparser.QueryParserError,
    ValueError,
    TypeError,
    IndexError,
    RecursionError,
    AssertionError,
    NotImplementedError,
)


def parse_operators(text: str) -> qt.Node | None:
    """The query tree of a query with operators, ``None`` when the parser cannot make sense of it."""
    try:
        return from_whoosh(_PARSER.parse(text))
    except _PARSER_FAILURES:
        return None


def from_whoosh(node: wq.Query) -> qt.Node:
    """podsearch's tree for a Whoosh query made by the parser.

    Quoted words in a field without positions (``guest:"jane doe"``) become all
    of the words. Whoosh's ``AndNot`` and ``Require`` become ``And`` (with
    ``Not``), which means the same: their matchers crash (IndexError,
    AssertionError) when block-quality skipping exhausts one side ("con* -data",
    "data REQUIRE science"). Raises ``ValueError`` on a node the parser is not
    configured to make.
    """
    if node is wq.NullQuery:
        return qt.NOTHING
    kind = type(node)
    if kind is wq.Term:
        return qt.Term(node.fieldname, node.text, node.boost)
    if kind is wq.Phrase:
        if node.fieldname != "text":
            return qt.And(tuple(qt.Term(node.fieldname, word) for word in node.words))
        return qt.Phrase(node.fieldname, tuple(node.words), node.slop, node.boost)
    if kind is wq.Prefix:
        return qt.Prefix(node.fieldname, node.text, node.boost)
    if kind is wq.Wildcard:
        return qt.Wildcard(node.fieldname, node.text, node.boost)
    if kind is wq.NumericRange:
        return qt.NumberRange(node.fieldname, node.start, node.end, node.startexcl, node.endexcl, node.boost)
    if kind is wq.Every:
        return qt.Unsearchable("every")
    if kind is wq.TermRange:  # numeric ranges (season, episode) are NumericRange
        return qt.Unsearchable("word range", f"{node.start}-{node.end}")
    if kind in (wq.Regex, wq.FuzzyTerm):
        return qt.Unsearchable("pattern", node.text)
    if kind is wq.And:
        return qt.And(tuple(map(from_whoosh, node.subqueries)), node.boost)
    if kind is wq.Or:
        return qt.Or(tuple(map(from_whoosh, node.subqueries)), node.boost)
    if kind is wq.Not:
        return qt.Not(from_whoosh(node.query), node.boost)
    if kind is wq.AndNot:
        return qt.And((from_whoosh(node.a), qt.Not(from_whoosh(node.b))))
    if kind is wq.Require:
        return qt.And((from_whoosh(node.a), from_whoosh(node.b)))
    if kind is wq.AndMaybe:
        return qt.AndMaybe(from_whoosh(node.a), from_whoosh(node.b))
    raise ValueError(f"the query parser made a {kind.__name__}, which podsearch does not translate")


def to_whoosh(node: qt.Node) -> wq.Query:
    """The Whoosh query that runs a tree (``ValueError`` for :class:`~podsearch.index.querytree.Unsearchable`)."""
    if isinstance(node, qt.Term):
        return wq.Term(node.field, node.text, boost=node.boost)
    if isinstance(node, qt.Phrase):
        return wq.Phrase(node.field, list(node.words), slop=node.slop, boost=node.boost)
    if isinstance(node, qt.Prefix):
        return wq.Prefix(node.field, node.text, boost=node.boost)
    if isinstance(node, qt.Wildcard):
        return wq.Wildcard(node.field, node.text, boost=node.boost)
    if isinstance(node, qt.NumberRange):
        return wq.NumericRange(
            node.field, node.start, node.end, node.start_excluded, node.end_excluded, boost=node.boost
        )
    if isinstance(node, qt.Nothing):
        return wq.NullQuery
    if isinstance(node, qt.And):
        return wq.And([to_whoosh(child) for child in node.children], boost=node.boost)
    if isinstance(node, qt.Or):
        return wq.Or([to_whoosh(child) for child in node.children], boost=node.boost)
    if isinstance(node, qt.Not):
        return wq.Not(to_whoosh(node.child), boost=node.boost)
    if isinstance(node, qt.AndMaybe):
        return wq.AndMaybe(to_whoosh(node.required), to_whoosh(node.optional))
    raise ValueError(f"{node!r} cannot be run")
