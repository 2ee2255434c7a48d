"""Reading a markdown file's YAML front matter safely.

Episode files come from a public repository, so anything in them may be
hostile. This module turns a file into a plain ``dict`` or an
:class:`~podsearch.errors.EpisodeError` naming the file (and the line, where
the YAML parser says so), and nothing else:

- the file must be a regular file of at most :data:`MAX_FILE_BYTES`; size and
  kind are checked before reading, so a 50 MB file, a FIFO or a device costs
  nothing;
- the YAML is loaded with a hardened *safe* loader (no Python objects, no
  exceptions from odd scalars, bounded ``<<`` merges);
- the number of YAML nodes is bounded before parsing
  (:data:`MAX_YAML_SEPARATORS`) and how far aliases expand the data after it
  (:data:`MAX_EXPANSION`), so a "billion laughs" file is refused in
  milliseconds instead of being walked.
"""

from __future__ import annotations

import os
import re
import stat
from itertools import chain
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from podsearch.errors import EpisodeError, NotAnEpisode

#: Files larger than this are refused unread (the largest real episode is ~0.15 MB).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: At most this many YAML separators (``, [ { - : ?`` and line breaks) in the front
#: matter. Every YAML node needs one, and parsing costs memory and time per node,
#: so this bounds both (about 2 s and 200 MB at the limit, against 5,200 separators
#: in the largest real episode).
MAX_YAML_SEPARATORS = 200_000
_SEPARATORS = ",[{-:?\n"
#: Aliases may make the data at most this many times larger than the YAML text
#: (plus :data:`_EXPANSION_SLACK`); a "billion laughs" file goes far beyond.
MAX_EXPANSION = 2
_EXPANSION_SLACK = 64 * 1024
#: At most this many entries copied by ``<<`` merge keys in one document.
MAX_MERGED_ENTRIES = 100_000
#: Collections nested deeper than this are refused (libyaml's own limit).
MAX_NESTING = 1000
#: How many lines may precede the opening ``---`` (real files have a stray line).
_MAX_LINES_BEFORE_FRONT_MATTER = 5

_DELIMITER = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SURROGATES = re.compile("[\ud800-\udfff]")
#: What the YAML spec does not allow in a document (C0/C1 controls, surrogates, U+FFFE/F).
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"


def _hardened(base: type) -> type:
    """A subclass of a PyYAML *safe* loader that cannot be made to misbehave.

    The safe loaders only build plain scalars, lists and dicts, never arbitrary
    Python objects (``!!python/object/apply:os.system`` is a YAML error). On
    top of that:

    - a scalar that looks like a bool, number or date but does not convert
      (``0x_``, ``0000-01-01``, ``!!int foo``, a 5,000-digit number) stays
      text instead of raising ``ValueError`` & co. from inside PyYAML;
    - ``<<`` merge keys copy at most :data:`MAX_MERGED_ENTRIES` entries
      (older PyYAML releases, 6.0.1 for one, copy them once per alias: exponentially);
    - the pure-Python scanner, whose cost grows with the square of the nesting
      depth, stops at :data:`MAX_NESTING` levels as libyaml does.
    """

    class HardenedLoader(base):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.merge_budget = MAX_MERGED_ENTRIES

        def fetch_flow_collection_start(self, token_class: type) -> None:  # pure-Python scanner only
            if self.flow_level >= MAX_NESTING:
                raise ScannerError(None, None, "exceeded maximum nesting depth", self.get_mark())
            super().fetch_flow_collection_start(token_class)

        def add_indent(self, column: int) -> bool:  # pure-Python scanner only
            if len(self.indents) >= MAX_NESTING:
                raise ScannerError(None, None, "exceeded maximum nesting depth", self.get_mark())
            return super().add_indent(column)

        def flatten_mapping(self, node: MappingNode) -> None:
            """Resolve merge keys: the mapping's own keys win, then earlier merged mappings."""
            own: list[tuple[Node, Node]] = []
            merged: list[tuple[Node, Node]] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    merged.extend(self._merged_entries(node, value_node))
                    continue
                if key_node.tag == _VALUE_TAG:
                    key_node.tag = _STR_TAG
                own.append((key_node, value_node))
            if merged:
                node.value = merged + own

        def _merged_entries(self, node: MappingNode, value: Node) -> list[tuple[Node, Node]]:
            # earlier mappings of a merged list win: they are applied last
            sources = value.value[::-1] if isinstance(value, SequenceNode) else [value]
            entries: list[tuple[Node, Node]] = []
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping or list of mappings for merging, but found {source.id}",
                        source.start_mark,
                    )
                self.flatten_mapping(source)
                self.merge_budget -= len(source.value)
                if self.merge_budget < 0:
                    raise ConstructorError(
                        None,
                        None,
                        f"merge keys ('<<') copy more than {MAX_MERGED_ENTRIES:,} entries",
                        node.start_mark,
                    )
                entries.extend(source.value)
            return entries

    for tag in ("bool", "int", "float", "timestamp"):
        name = f"tag:yaml.org,2002:{tag}"
        HardenedLoader.add_constructor(name, _lenient(base.yaml_constructors[name]))  # type: ignore[attr-defined]
    HardenedLoader.__name__ = HardenedLoader.__qualname__ = f"Hardened{base.__name__}"
    return HardenedLoader


def _lenient(construct: Any) -> Any:
    """A scalar constructor that keeps the text when the value does not convert."""

    def constructor(loader: Any, node: Node) -> Any:
        try:
            return construct(loader, node)
        # IndexError: PyYAML reads the first character of an empty "!!int" scalar
        except (ValueError, KeyError, AttributeError, OverflowError, IndexError):
            return loader.construct_scalar(node)

    return constructor


# The C loader parses the corpus ~10x faster than the pure-Python one.
_Loader: type = _hardened(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def check_file_name(path: Path) -> None:
    """Episode ids come from file names: refuse a name that is not valid text."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise EpisodeError(path, "the file name is not valid UTF-8; rename the file") from None


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`.

    The size and kind are checked before reading: a huge file is refused
    unread, and a FIFO or device named ``x.md`` neither blocks nor streams forever.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except IsADirectoryError:
        raise EpisodeError(path, "is a directory, not an episode file") from None
    except OSError as error:
        raise EpisodeError(path, f"cannot read the file: {error.strerror or error}") from None
    except ValueError:  # a NUL in the path
        raise EpisodeError(path, "the path is not a valid file name") from None
    try:
        kind = os.fstat(descriptor)
        if stat.S_ISDIR(kind.st_mode):
            raise EpisodeError(path, "is a directory, not an episode file")
        if not stat.S_ISREG(kind.st_mode):
            raise EpisodeError(path, "is not a regular file")
        if kind.st_size > MAX_FILE_BYTES:
            raise EpisodeError(path, f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:  # the file may grow while we read it
            chunk = os.read(descriptor, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise EpisodeError(path, f"cannot read the file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if size > MAX_FILE_BYTES:
        raise EpisodeError(path, f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")
    return b"".join(chunks)


def read_text(path: Path) -> str:
    """The file as text with ``\\n`` line endings and no byte-order mark."""
    return decode_text(path, read_bytes(path))


def decode_text(path: Path, raw: bytes) -> str:
    """The bytes read from ``path`` as text with ``\\n`` line endings and no byte-order mark."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise EpisodeError(path, "the file is not valid UTF-8", line=line) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def front_matter(path: Path, text: str) -> dict[str, Any]:
    """Parse the YAML between the first two ``---`` lines into a dict.

    Raises :class:`NotAnEpisode` when there is no front matter or it is not a
    mapping, and :class:`EpisodeError` for anything else that is wrong.
    """
    opening = _DELIMITER.search(text)
    if opening is None or text.count("\n", 0, opening.start()) > _MAX_LINES_BEFORE_FRONT_MATTER:
        raise NotAnEpisode(path, "no YAML front matter (expected a line '---' at the top)")
    closing = _DELIMITER.search(text, opening.end())
    if closing is None:
        line = text.count("\n", 0, opening.start()) + 1
        raise EpisodeError(path, "the front matter opened here is never closed with '---'", line=line)
    body = text[opening.end() : closing.start()]
    first_line = text.count("\n", 0, opening.end())  # lines before the YAML body
    data = _parse_yaml(path, body, first_line)
    if data is None:
        raise NotAnEpisode(path, "the front matter is empty")
    if not isinstance(data, dict):
        raise NotAnEpisode(path, f"the front matter is a {kind_of(data)}, not a mapping")
    _check_expansion(path, data, MAX_EXPANSION * len(body) + _EXPANSION_SLACK)
    return data


#: A top-level ``transcript:`` key, and the next line at column 0 that is neither a list item nor a comment.
_TRANSCRIPT_KEY = re.compile(r"^transcript[ \t]*:", re.MULTILINE)
_NEXT_TOP_LEVEL = re.compile(r"^[^\s#-]", re.MULTILINE)


def front_matter_head(path: Path, text: str) -> dict[str, Any]:
    """The front matter without its top-level ``transcript`` block: the episode's description.

    Parses a few kilobytes instead of the whole file, for when only the
    description matters (an episode's identity). Raises as :func:`front_matter`.
    """
    opening = _DELIMITER.search(text)
    if opening is None or text.count("\n", 0, opening.start()) > _MAX_LINES_BEFORE_FRONT_MATTER:
        raise NotAnEpisode(path, "no YAML front matter (expected a line '---' at the top)")
    closing = _DELIMITER.search(text, opening.end())
    if closing is None:
        raise EpisodeError(path, "the front matter is never closed with '---'")
    body = text[opening.end() : closing.start()]
    start = _TRANSCRIPT_KEY.search(body)
    if start is not None:
        end = _NEXT_TOP_LEVEL.search(body, start.end())
        body = body[: start.start()] + (body[end.start() :] if end is not None else "")
    data = _parse_yaml(path, body, 0)
    if not isinstance(data, dict):
        raise NotAnEpisode(path, "the front matter is not a mapping")
    _check_expansion(path, data, MAX_EXPANSION * len(body) + _EXPANSION_SLACK)
    return data


def _parse_yaml(path: Path, body: str, first_line: int) -> Any:
    """The YAML value of the front matter; every failure is an :class:`EpisodeError`."""
    separators = sum(body.count(mark) for mark in _SEPARATORS)
    if separators > MAX_YAML_SEPARATORS:
        raise EpisodeError(
            path,
            f"the front matter is too large to read safely ({separators:,} YAML separators; "
            f"the limit is {MAX_YAML_SEPARATORS:,})",
        )
    try:
        return yaml.load(body, Loader=_Loader)  # a safe loader: see _hardened
    except ReaderError:  # libyaml gives a byte offset, the Python reader a character offset
        raise _unacceptable_character(path, body, first_line) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "invalid YAML"
        if mark is None:
            raise EpisodeError(path, f"invalid YAML: {problem}") from None
        raise EpisodeError(
            path, f"invalid YAML: {problem}", line=first_line + mark.line + 1, column=mark.column + 1
        ) from None
    except yaml.YAMLError as error:
        raise EpisodeError(path, f"invalid YAML: {error}") from None
    except RecursionError:  # the pure-Python loader on deep nesting or long merge chains
        raise EpisodeError(path, "the YAML is nested too deeply") from None


def _unacceptable_character(path: Path, body: str, first_line: int) -> EpisodeError:
    """The error for a character YAML does not allow (NUL, other controls), with its line."""
    found = _NOT_YAML.search(body)
    if found is None:
        return EpisodeError(path, "invalid YAML: a character YAML does not allow")
    line = first_line + body.count("\n", 0, found.start()) + 1
    column = found.start() - body.rfind("\n", 0, found.start())
    return EpisodeError(
        path, f"invalid YAML: the character U+{ord(found.group()):04X} is not allowed", line=line, column=column
    )


def _check_expansion(path: Path, data: Any, limit: int) -> None:
    """Refuse data that aliases blow up beyond ``limit`` or make cyclic, or that holds surrogates.

    The size counts text by its characters and every other value as one, as if
    each alias were a copy: what walking the data would cost. Containers are
    measured once each (aliases share them) and without recursion, so the
    check itself costs time in proportion to the YAML text.
    """
    sizes: dict[int, int] = {}  # containers measured so far
    open_ids: set[int] = set()  # containers being measured: the path from the root
    stack: list[list[Any]] = []  # [id, children iterator, size so far] per open container

    def open_container(container: Any) -> None:
        open_ids.add(id(container))
        children = chain.from_iterable(container.items()) if isinstance(container, dict) else iter(container)
        stack.append([id(container), children, 1])

    open_container(data)
    while stack:
        frame = stack[-1]
        child = next(frame[1], _END)
        if child is _END:
            stack.pop()
            open_ids.discard(frame[0])
            sizes[frame[0]] = frame[2]
            if not stack:
                return
            stack[-1][2] += frame[2]
            frame = stack[-1]
        elif not isinstance(child, (dict, list, tuple, set)):
            frame[2] += _leaf_size(path, child)
        elif id(child) in sizes:
            frame[2] += sizes[id(child)]
        elif id(child) in open_ids:
            raise EpisodeError(path, "the YAML contains itself (an alias inside its own anchor)")
        else:
            open_container(child)
            continue
        if frame[2] > limit:
            raise EpisodeError(path, "aliases expand the YAML too much (a 'billion laughs' file?)")


_END = object()


def _leaf_size(path: Path, value: Any) -> int:
    if isinstance(value, str):
        if not value.isascii() and _SURROGATES.search(value):
            raise EpisodeError(path, "the YAML holds an unpaired surrogate escape (\\ud800-\\udfff)")
        return len(value)
    if isinstance(value, bytes):
        return len(value)
    return 1


def kind_of(value: Any) -> str:
    """``"mapping"``, ``"list"``, ``"string"`` or the type's name, for messages."""
    names: dict[type, str] = {dict: "mapping", list: "list", str: "string"}
    return names.get(type(value), type(value).__name__)
