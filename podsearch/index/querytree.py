"""podsearch's own query tree: what a query asks for, independent of the engine that runs it.

The query language is parsed inside :mod:`podsearch.index` (by Whoosh's parser,
see :mod:`podsearch.index.language`) into these frozen nodes; the query
layer inspects and rewrites them (spelling, wildcards, filters) and hands them
back to :meth:`podsearch.index.engine.Generation.run`. An engine other than
Whoosh would parse into and run the same tree.

Terms are analysed already (folded and stemmed, as :func:`podsearch.text.terms`
makes them). ``boost`` multiplies a clause's score, as ``word^2`` asks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:  # the type checker reads @frozen classes as frozen dataclasses
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[_T], _T]:
        return lambda decorated: decorated


@dataclass_transform(frozen_default=True)
def frozen(cls: type[_T]) -> type[_T]:
    """A frozen dataclass without the dataclass machinery.

    ``dataclass(frozen=True)`` compiles four methods per class at import time, about
    1 ms each class here: a tenth of a search as a new process. These nodes need only
    the behaviour, which :class:`_Frozen`'s generic methods give from the field list.
    """
    fields = tuple(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063 (the class's own, as written)
    defaults = {name: cls.__dict__[name] for name in fields if name in cls.__dict__}
    namespace = {k: v for k, v in cls.__dict__.items() if k not in fields and k not in ("__dict__", "__weakref__")}
    built = type(
        cls.__name__, (_Frozen,), {**namespace, "__slots__": fields, "__match_args__": fields, "_defaults": defaults}
    )
    return built


class _Frozen:
    """Generic ``__init__``, equality, hash and repr from ``_fields``; attributes cannot change."""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()  # the fields, in order (as a dataclass has them)
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self.__match_args__):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.__match_args__)} arguments")
        values = {**self._defaults, **dict(zip(self.__match_args__, args, strict=False)), **kwargs}
        unknown = set(values) - set(self.__match_args__)
        missing = [name for name in self.__match_args__ if name not in values]
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unknown {sorted(unknown)}, missing {missing}")
        for name in self.__match_args__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and _values(other) == _values(self)

    def __hash__(self) -> int:
        return hash((type(self).__name__, _values(self)))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({shown})"


def _values(node: object) -> tuple[Any, ...]:
    return tuple(getattr(node, name) for name in node.__match_args__)  # type: ignore[attr-defined]


def replace(node: _T, **changes: Any) -> _T:
    """A copy of a node with some fields changed (as :func:`dataclasses.replace`)."""
    values = {name: getattr(node, name) for name in node.__match_args__}  # type: ignore[attr-defined]
    return type(node)(**{**values, **changes})


@frozen
class Term:
    """One term of a field. ``text`` is bytes for a number (``season:5``), already encoded."""

    field: str
    text: str | bytes
    boost: float = 1.0


@frozen
class Phrase:
    """Words in this order, at most ``slop`` positions apart (``"data science"~2``)."""

    field: str
    words: tuple[str, ...]
    slop: int = 1
    boost: float = 1.0


@frozen
class Prefix:
    """Terms starting with ``text`` (``embedd*``)."""

    field: str
    text: str
    boost: float = 1.0


@frozen
class Wildcard:
    """Terms matching a pattern with ``*`` and ``?`` (``w*rd``)."""

    field: str
    text: str
    boost: float = 1.0


@frozen
class NumberRange:
    """Numbers of a field within bounds (``season:[3 TO 5]``, ``season:>3``); ``None`` is open."""

    field: str
    start: int | None
    end: int | None
    start_excluded: bool = False
    end_excluded: bool = False
    boost: float = 1.0


#: What a query may say but podsearch refuses to run: every document (``*``), a range of
#: words (``[a TO c]``), a regular expression or fuzzy term.
Refusal = Literal["every", "word range", "pattern"]


@frozen
class Unsearchable:
    """A clause the parser understood that podsearch will not run (see :data:`Refusal`)."""

    kind: Refusal
    text: str = ""


@frozen
class Nothing:
    """Matches no document."""


@frozen
class And:
    """Every clause."""

    children: tuple[Node, ...]
    boost: float = 1.0


@frozen
class Or:
    """Any clause (documents matching more of them score higher)."""

    children: tuple[Node, ...]
    boost: float = 1.0


@frozen
class Not:
    """Documents not matching the clause (inside an :class:`And`)."""

    child: Node
    boost: float = 1.0


@frozen
class AndMaybe:
    """Documents matching ``required``; those also matching ``optional`` score higher."""

    required: Node
    optional: Node


Node = Term | Phrase | Prefix | Wildcard | NumberRange | Unsearchable | Nothing | And | Or | Not | AndMaybe
NOTHING = Nothing()


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-clauses of a node (none for a leaf)."""
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, AndMaybe):
        return (node.required, node.optional)
    return ()


def is_leaf(node: Node) -> bool:
    """Whether a node has no sub-clauses."""
    return not isinstance(node, (And, Or, Not, AndMaybe))


def walk(node: Node) -> Iterator[Node]:
    """The node and all its descendants, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)


def leaf_field(node: Node) -> str | None:
    """The field a leaf searches, ``None`` for a compound node or a leaf without one."""
    return getattr(node, "field", None) if is_leaf(node) else None


def rebuild(node: Node, change: Callable[[Node], Node]) -> Node:
    """The node with ``change`` applied to each direct sub-clause."""
    if isinstance(node, (And, Or)):
        return replace(node, children=tuple(change(child) for child in node.children))
    if isinstance(node, Not):
        return replace(node, child=change(node.child))
    if isinstance(node, AndMaybe):
        return AndMaybe(change(node.required), change(node.optional))
    return node


def replace_term(node: Node, field: str, old: str, new: str) -> Node:
    """The tree with the term ``old`` of ``field`` replaced by ``new`` (in terms and phrases)."""
    if isinstance(node, Term):
        return replace(node, text=new) if node.field == field and node.text == old else node
    if isinstance(node, Phrase):
        if node.field != field:
            return node
        return replace(node, words=tuple(new if word == old else word for word in node.words))
    return rebuild(node, lambda child: replace_term(child, field, old, new))
