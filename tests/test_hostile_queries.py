"""Hostile queries (issue 6, part 2): any string gives results or a QueryError, quickly.

Named cases run on the bundled episode and, when the shared corpus is there,
on the whole corpus (where a broad wildcard or a word range would take
seconds); Hypothesis then throws arbitrary text at the bundled index.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import podsearch
from podsearch.index import querytree as qt
from podsearch.query.parsing import parse

from .hostile_yaml import SYNTAX

#: A query must answer within this on the bundled index (they take milliseconds).
TIME_LIMIT = 1.0
#: ...and within this on the whole corpus (most take 10-100 ms; margin for loaded machines).
CORPUS_TIME_LIMIT = 2.5

NAMED = {
    "empty": "",
    "spaces": "   \t  ",
    "nul": "\x00",
    "controls": "data\x00 \x07science\x1b[31m \x7f\x9b",
    "escape-sequence": "\x1b]8;;javascript:alert(1)\x1b\\click\x1b]8;;\x1b\\",
    "newlines": "full\nstack\r\ndata\u2028scientist",
    "bidi": "\u202edata\u202c \u2066science\u2069",
    "zero-width": "da\u200bta \ufeffscience",
    "10000-chars": "a" * 10_000,
    "10000-words": "data " * 2_000,
    "2000-chars": "x" * 2_000,
    "lone-double-quote": '"',
    "lone-single-quote": "'",
    "unclosed-quote": '"full stack data',
    "lone-paren": "(",
    "closing-paren": ")",
    "unbalanced-parens": "((data) science))",
    "deep-parens": "(" * 500 + "data" + ")" * 500,
    "lone-bracket": "[",
    "closing-bracket": "]",
    "lone-brace": "{",
    "unclosed-range": "[a TO",
    "empty-range": "[ TO ]",
    "word-range": "[a TO z]",
    "text-range": "text:[a TO zzzz]",
    "open-range": "text:{a TO}",
    "speaker-range": "speaker:[a TO z]",
    "season-range": "season:[1 TO 5] data",
    "season-huge": "season:[0 TO 99999999999999999999999]",
    "season-not-a-number": "season:abc",
    "season-comparison": "season:>=3 data",
    "episode-negative": "episode:<-5",
    "season-float": "season:1e400",
    "unknown-field": "foo:bar",
    "internal-kind": "kind:e",
    "internal-path": "path:x",
    "internal-eid": "eid:s05e05-researchers-vs-engineers",
    "internal-meta": "meta:anything",
    "internal-terms": "terms:data",
    "field-colon-only": "field:",
    "text-colon-only": "text:",
    "colon": ":",
    "star": "*",
    "stars": "***",
    "star-star": "*:*",
    "tilde": "~",
    "caret": "^",
    "carets": "^^^",
    "plus": "+",
    "minus": "-",
    "plus-minus": "+-+-",
    "one-letter-prefix": "a*",
    "two-letter-prefix": "da*",
    "three-letter-prefix": "dat*",
    "leading-wildcard": "*ta",
    "question-marks": "??*",
    "wildcard-in-middle": "d?ta",
    "many-wildcards": "machin* learn* engin*",
    "fuzzy": "data~",
    "fuzzy-distance": "data~2",
    "fuzzy-float": "data~1.5",
    "phrase-slop": '"full stack data scientist"~5',
    "phrase-huge-slop": '"data science"~999999999',
    "boost": "data^2",
    "boost-huge": "data^99999999999999999999",
    "boost-inf": "data^1e400",
    "boost-negative": "data^-1",
    "boost-nan": "data^nan",
    "and": "AND",
    "or": "OR",
    "not": "NOT",
    "and-or-not": "AND OR NOT",
    "not-word": "NOT data",
    "minus-word": "-data",
    "only-negations": "-data -science NOT engineer",
    "wildcard-minus": "dat* -science",
    "wildcard-andnot": "dat* ANDNOT science",
    "term-minus": "data -learning",
    "dangling-and": "data AND",
    "leading-or": "OR data",
    "andmaybe": "data ANDMAYBE science",
    "require": "data REQUIRE science",
    "adjacent-operators": "data REQUIRE ANDMAYBE science ANDNOT ANDNOT learning AND OR NOT x",
    "sign-in-group-compared": "( -1 )<data",
    "sign-in-group-bracket": "( +data ]science) engineer?",
    "many-ors": " OR ".join(["data"] * 300),
    "many-nots": "NOT " * 400 + "data",
    "many-terms": " ".join(f"w{i}" for i in range(300)),
    "many-phrases": " ".join(['"data science"'] * 100),
    "regex-looking": "/da.*ta/",
    "backslashes": "\\ \\\\ data\\",
    "escaped-star": "\\*",
    "html": "<script>alert(1)</script>",
    "rich-markup": "[bold red]data[/bold red] [link=javascript:alert(1)]x[/link]",
    "sql": "'; DROP TABLE episodes; --",
    "format-string": "{0} %s %(x)s {__class__}",
    "unicode": "日本語 ﬁ İstanbul ǅ",
    "dotless-i-run": "\u0130" * 500,
    "emoji": "🎙️ data 👩‍💻",
    "surrogate": "data \ud800 science",
    "punctuation": "#$%&@!?.,;",
    "greater-less": "<data> = >",
}


def _answer(index: podsearch.Index, query: str, limit: float) -> podsearch.Results | podsearch.QueryError:
    began = time.perf_counter()
    try:
        result: podsearch.Results | podsearch.QueryError = index.search(query)
    except podsearch.QueryError as error:
        assert isinstance(error, podsearch.PodsearchError) and str(error)
        result = error
    elapsed = time.perf_counter() - began
    assert elapsed < limit, f"{query[:60]!r} took {elapsed:.2f} s"
    return result


def _sane(results: podsearch.Results) -> None:
    for hit in results:
        assert hit.text and isinstance(hit.start, int)  # paragraphs only, never internal documents
        assert hit.url is None or re.fullmatch(r"https://www\.youtube\.com/watch\?v=[\w-]{11}&t=\d+s", hit.url)
        assert all(0 <= a < b <= len(hit.text) for a, b in hit.spans)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_hostile_query_on_the_bundled_episode(bundled_index: podsearch.Index, name: str) -> None:
    result = _answer(bundled_index, NAMED[name], TIME_LIMIT)
    if isinstance(result, podsearch.Results):
        _sane(result)


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_hostile_query_on_the_corpus(corpus_index: podsearch.Index, name: str) -> None:
    result = _answer(corpus_index, NAMED[name], CORPUS_TIME_LIMIT)
    if isinstance(result, podsearch.Results):
        _sane(result)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty", "empty"),
        ("spaces", "empty"),
        ("nul", "empty"),
        ("10000-chars", "characters long"),
        ("star", r"'\*' alone|no words"),
        ("one-letter-prefix", "too broad"),
        ("two-letter-prefix", "too broad"),
        ("many-wildcards", "only one word"),
        ("word-range", "ranges work only on season and episode"),
        ("speaker-range", "ranges work only on season and episode"),
        ("many-terms", "terms; the limit"),
    ],
)
def test_queries_refused_with_a_reason(bundled_index: podsearch.Index, name: str, reason: str) -> None:
    with pytest.raises(podsearch.QueryError, match=reason):
        bundled_index.search(NAMED[name])


def test_control_characters_are_spaces(bundled_index: podsearch.Index) -> None:
    plain = [h.text for h in bundled_index.search("full stack data scientist")]
    assert [h.text for h in bundled_index.search(NAMED["newlines"])] == plain
    assert [h.text for h in bundled_index.search("full\x00stack\x1bdata\x07scientist")] == plain


def test_internal_fields_are_plain_words(bundled_index: podsearch.Index) -> None:
    for name in ("internal-kind", "internal-path", "internal-eid", "internal-meta", "unknown-field"):
        query = parse(NAMED[name])
        assert {qt.leaf_field(leaf) for leaf in qt.walk(query) if qt.is_leaf(leaf)} <= {"text"}, name


def test_a_negated_wildcard_does_not_crash_whoosh(bundled_index: podsearch.Index) -> None:
    # Whoosh's AndNot matcher raised IndexError here on the corpus ("con* -data")
    for query in ("dat* -science", "dat* ANDNOT science", "data -learning", "(dat* data) -science"):
        _sane(bundled_index.search(query))


# --- arbitrary text -----------------------------------------------------------------------------

WORDS = [
    "data",
    "science",
    "scientist",
    "full",
    "stack",
    "full-stack",
    "engineer",
    "research",
    "the",
    "of",
    "mihail",
    "alexey",
    "machin",
    "learn",
    "dat",
    "sci",
    "eng",
    "lerned",
    "xyzzy",
    "d9xVXqKq3sU",
]


@st.composite
def hostile_queries(draw: st.DrawFn) -> str:
    """Query syntax, real words and arbitrary text, glued together in any order."""
    pieces = st.one_of(st.sampled_from(SYNTAX), st.sampled_from(WORDS), st.text(max_size=8))
    tokens = draw(st.lists(pieces, max_size=40))
    glue = draw(st.sampled_from(["", " ", "  "]))
    return glue.join(tokens)


QUERY_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUERY_FUZZ
@given(query=hostile_queries())
def test_any_query_string(bundled_index: podsearch.Index, query: str) -> None:
    result = _answer(bundled_index, query, TIME_LIMIT)
    if isinstance(result, podsearch.Results):
        _sane(result)


@pytest.mark.corpus
@settings(QUERY_FUZZ, max_examples=100)
@given(query=hostile_queries())
def test_any_query_string_on_the_corpus(corpus_index: podsearch.Index, query: str) -> None:
    """Whoosh's matcher bugs (AndNot, Require) only show on an index of some size."""
    result = _answer(corpus_index, query, CORPUS_TIME_LIMIT)
    if isinstance(result, podsearch.Results):
        _sane(result)


@QUERY_FUZZ
@given(query=st.text())
def test_any_text(bundled_index: podsearch.Index, query: str) -> None:
    result = _answer(bundled_index, query, TIME_LIMIT)
    if isinstance(result, podsearch.Results):
        _sane(result)


@settings(QUERY_FUZZ, max_examples=200)
@given(
    query=hostile_queries(),
    speaker=st.one_of(st.none(), st.text(max_size=20)),
    guest=st.one_of(st.none(), st.text(max_size=20)),
    season=st.one_of(st.none(), st.integers(-(2**70), 2**70)),
    limit=st.integers(1, 100),
    context=st.integers(0, 5),
    group=st.sampled_from([None, "episode"]),
    sort=st.sampled_from(["relevance", "date"]),
)
def test_any_query_with_any_options(
    bundled_index: podsearch.Index,
    query: str,
    speaker: str | None,
    guest: str | None,
    season: int | None,
    limit: int,
    context: int,
    group: str | None,
    sort: str,
) -> None:
    began = time.perf_counter()
    try:
        results = bundled_index.search(
            query,
            speaker=speaker,
            guest=guest,
            season=season,
            episode=season,
            limit=limit,
            context=context,
            group_by=group,
            sort=sort,
        )
    except podsearch.QueryError:
        pass
    else:
        _sane(results)
        assert len(results) <= limit
    assert time.perf_counter() - began < TIME_LIMIT


@pytest.mark.parametrize("season", [-1, 2**32, 2**70])
def test_out_of_range_season_is_a_query_error(bundled_index: podsearch.Index, season: int) -> None:
    with pytest.raises(podsearch.QueryError):
        bundled_index.search("data", season=season)
