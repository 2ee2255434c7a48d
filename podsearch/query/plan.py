"""The first step of a search: what a query asks for, worked out once as a :class:`QueryPlan`.

Parsing, spelling correction, wildcard expansion, the filters, and the words
the rankers weigh all happen here, on the generation's statistics; the later
stages only read the plan.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from podsearch.errors import QueryError
from podsearch.index import querytree as qt
from podsearch.query import parsing, ranking, spelling
from podsearch.query.context import TEXT, SearchContext
from podsearch.query.names import NAME_FIELDS, fold_name
from podsearch.query.tuning import (
    BUDGET_WORDS,
    MAX_EXPANSIONS,
    POSTINGS_BUDGET,
    TWO_EDITS_LENGTH,
    WILDCARD_BUDGET,
)
from podsearch.text import WORD, fold, stem


@dataclass(frozen=True)
class Filters:
    """Restrictions on which moments may match (``None`` means any)."""

    speaker: str | None = None
    guest: str | None = None
    season: int | None = None
    episode: int | None = None
    after: date | None = None
    before: date | None = None


@dataclass(frozen=True)
class QueryPlan:
    """What a query asks for, ready for the ranking stages."""

    #: The query as typed.
    text: str
    #: The query to run: spelling corrected, wildcards expanded into their completions.
    tree: qt.Node
    #: The positive text words, for the re-ranker.
    words: ranking.QueryWords
    #: The terms to highlight (``prefix*`` for a wildcard).
    highlight: list[str]
    #: Each typed word that was corrected, with its correction.
    corrections: dict[str, str]
    #: What the filters allow (``None``: everything).
    restriction: qt.Node | None
    #: The quoted phrases, as their terms.
    phrases: list[tuple[str, ...]]
    #: Each wildcard with the completions it stands for.
    wildcards: dict[str, list[str]] = field(default_factory=dict)
    #: The episodes (ordinals) the date filters allow (``None``: no date filter).
    episodes: frozenset[int] | None = None
    #: The episodes of the guests the query names in full, with the guests' names.
    guests: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: The episodes whose title (or short title) the query is, or nearly is.
    titles: frozenset[int] = frozenset()

    @property
    def bag_of_words(self) -> bool:
        """Words only (no operators, phrases or fields): the first stage reads the postings itself."""
        return parsing.is_bag_of_words(self.tree)

    @property
    def suggestion(self) -> str | None:
        """The query as the user typed it, with the corrected words (``None`` without corrections)."""
        if not self.corrections:
            return None
        return WORD.sub(lambda match: self.corrections.get(match.group(), match.group()), self.text)


def parse_query(text: str) -> qt.Node:
    """A query's tree as typed, before spelling and names are looked at; raises :class:`QueryError`."""
    return parsing.require_fields(parsing.parse(text))


def analyse(context: SearchContext, text: str, filters: Filters, parsed: qt.Node | None = None) -> QueryPlan:
    """The plan of a query (``parsed``: its :func:`parse_query`, when done already); raises
    :class:`QueryError` for a query or filter that cannot be searched."""
    parsed = parse_query(text) if parsed is None else parsed
    if any(qt.leaf_field(leaf) in NAME_FIELDS for leaf in qt.walk(parsed)):
        parsed = context.names.resolve(parsed)  # speaker:/guest: without case or accents
    bag = parsing.is_bag_of_words(parsed)
    guests = context.names.guests_named(text) if bag and isinstance(parsed, qt.Or) else {}
    names = {word for episode in guests for name in guests[episode] for word in WORD.findall(fold_name(name))}
    parsed, corrections = _correct(text, parsed, context, names)
    words = _query_words(parsed, context)
    highlight = parsing.positive_terms(parsed)  # prefixes included
    restriction = _restriction(filters, context)
    dated = context.catalog.dated(filters.after, filters.before) if filters.after or filters.before else None
    wildcards: dict[str, list[str]] = {}
    expanded = _expand_wildcards(parsed, context, wildcards)
    phrases = [leaf.words for leaf in qt.walk(parsed) if isinstance(leaf, qt.Phrase)]
    titles = context.names.titles_matched(words.content) if bag else frozenset()
    return QueryPlan(
        text,
        expanded,
        words,
        highlight,
        corrections,
        restriction,
        phrases,
        wildcards,
        episodes=frozenset(dated) if dated is not None else None,
        guests=guests,
        titles=titles,
    )


def _query_words(node: qt.Node, context: SearchContext) -> ranking.QueryWords:
    ordered = [word for word in parsing.positive_terms(node) if "*" not in word and "?" not in word]
    distinct = list(dict.fromkeys(ordered))
    content = [word for word in distinct if word not in parsing.STOP_WORDS] or distinct
    weights = {word: ranking.idf(context.paragraphs_with(word), context.documents) for word in content}
    return ranking.QueryWords(ordered=ordered, content=content, idf=weights, documents=context.documents)


# --- spelling -------------------------------------------------------------------------------


def _correct(text: str, node: qt.Node, context: SearchContext, names: set[str]) -> tuple[qt.Node, dict[str, str]]:
    """Replace words the index has never seen by their most likely spelling.

    Words of a guest's name the query gives in full (``names``, folded) are
    left alone. Returns the corrected query and, for the suggestion, each
    typed word that was corrected with its correction.
    """
    paragraphs_with = context.paragraphs_with
    unknown = {
        leaf.text
        for leaf in qt.walk(node)
        if isinstance(leaf, qt.Term) and leaf.field == TEXT and not paragraphs_with(leaf.text)  # type: ignore[arg-type]
    }
    typed_words = [(match.group(), stem(fold(match.group()))) for match in WORD.finditer(text)]
    replaced: dict[str, str] = {}  # stem of the typo → corrected word
    for typed, term in typed_words:
        if term in unknown and term not in replaced and fold_name(typed) not in names:
            found = _correction(typed, context)
            if found:
                node = qt.replace_term(node, TEXT, term, found[1])
                replaced[term] = found[0]
    return node, {typed: replaced[term] for typed, term in typed_words if term in replaced}


def _correction(typed: str, context: SearchContext) -> tuple[str, str] | None:
    """The correction of one unknown word: up to two edits away for long words, else one."""
    dictionary = context.generation.spellings
    if dictionary is not None:
        found = spelling.suggest(typed, context.paragraphs_with, dictionary)
        # else a variant the corpus does not write but whose stem it does ("lerned" → "learned" beside "learn")
        return found or spelling.correct(typed, context.paragraphs_with)
    # an index written before there were dictionaries
    if len(fold(typed)) >= TWO_EDITS_LENGTH and fold(typed).isalpha():
        found = spelling.correct_far(typed, context.paragraphs_with, context.lexicon, context.surfaces)
        if found:
            return found
    return spelling.correct(typed, context.paragraphs_with)


# --- filters --------------------------------------------------------------------------------


def _restriction(filters: Filters, context: SearchContext) -> qt.Node | None:
    """The query tree matching the paragraphs that pass the filters other than dates, if any is set.

    Speakers and guests match without case or accents; one that matches nobody is a
    :class:`QueryError` naming the closest names. Dates are :attr:`QueryPlan.episodes`.
    """
    parts: list[qt.Node] = []
    if filters.speaker:
        parts.append(context.names.clause("speaker", filters.speaker))
    if filters.guest:
        parts.append(context.names.clause("guest", filters.guest))
    for name in ("season", "episode"):
        value = getattr(filters, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise QueryError(f"{name} must be a whole number from 0, not {value!r}")
        parts.append(qt.NumberRange(name, value, value))
    return qt.And(tuple(parts)) if parts else None


# --- wildcards and the first stage's words --------------------------------------------------


def _expand_wildcards(node: qt.Node, context: SearchContext, expansions: dict[str, list[str]]) -> qt.Node:
    """Replace ``prefix*`` and ``w*ldcards`` by their most frequent completions (kept in ``expansions``).

    Every completion would cost seconds for a common prefix; the commonest
    few, within a postings budget, find the same moments.
    """
    if isinstance(node, (qt.Prefix, qt.Wildcard)) and node.field == TEXT:
        paragraphs_with = context.paragraphs_with
        pattern = node.text + "*" if isinstance(node, qt.Prefix) else node.text
        literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
        matches = re.compile(fnmatch.translate(pattern)).match
        found = {term for term in context.generation.expand(TEXT, literal) if matches(term)}
        if isinstance(node, qt.Prefix) and paragraphs_with(stem(node.text)):
            found.add(stem(node.text))  # "embedding*" also means the stem "embed"
        # alphabetical among equally common ones: a set's order changes from process to process
        commonest = sorted(found, key=lambda t: (-paragraphs_with(t), t))
        chosen = within_budget(commonest, paragraphs_with, WILDCARD_BUDGET * POSTINGS_BUDGET, at_most=MAX_EXPANSIONS)
        expansions[pattern] = chosen
        if not chosen:
            return qt.NOTHING
        if len(chosen) == 1:
            return qt.Term(TEXT, chosen[0])
        return qt.Or(tuple(qt.Term(TEXT, term) for term in chosen))
    return qt.rebuild(node, lambda child: _expand_wildcards(child, context, expansions))


def first_stage_words(plan: QueryPlan, context: SearchContext) -> dict[str, float]:
    """The words whose postings the first stage reads, with their idf.

    The rarest content words, up to a postings budget: they single out the
    candidates. Wildcard completions are always read.
    """
    words, paragraphs_with = plan.words, context.paragraphs_with
    known = sorted((word for word in words.content if paragraphs_with(word)), key=paragraphs_with)
    # a long query (a section header, a title) spreads its meaning over more words: past
    # four words, each brings its share of the budget
    budget = POSTINGS_BUDGET * max(1.0, len(words.content) / BUDGET_WORDS)
    chosen = within_budget(known, paragraphs_with, budget, at_least=2)
    weights = {word: words.idf[word] for word in chosen}
    typed = set(words.ordered)
    for term in parsing.bag_terms(plan.tree):  # completions of wildcards
        if term not in typed:
            weights[term] = ranking.idf(paragraphs_with(term), words.documents)
    return weights


def within_budget(
    ordered: list[str],
    paragraphs_with: Callable[[str], int],
    budget: float,
    at_least: int = 1,
    at_most: int | None = None,
) -> list[str]:
    """The first words, in the given order, whose postings add up to at most ``budget``.

    The first ``at_least`` words are taken whatever they cost; ``at_most`` caps the count.
    """
    chosen: list[str] = []
    read = 0
    for word in ordered:
        if at_most is not None and len(chosen) >= at_most:
            break
        if len(chosen) >= at_least and read + paragraphs_with(word) > budget:
            break
        chosen.append(word)
        read += paragraphs_with(word)
    return chosen
