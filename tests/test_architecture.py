"""The package's layout rules, read from the source: who may import what.

Each sub-package states its rules in its ``__init__`` docstring; this module
holds the same rules as data and checks every import statement (at module
level, inside functions and under ``TYPE_CHECKING`` alike) against them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "podsearch"

TOP = {
    "podsearch",
    "podsearch.errors",
    "podsearch.model",
    "podsearch.records",
    "podsearch.sanitize",
    "podsearch.text",
    "podsearch.timecode",
}

#: part → (podsearch parts it may import, third-party packages it may import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "top": ({"top"}, set()),
    "api": ({"top", "reading", "index", "query", "embedding"}, set()),
    "reading": ({"top", "reading"}, {"yaml"}),
    "index": ({"top", "reading", "index"}, {"whoosh", "numpy", "threadpoolctl", "usearch"}),
    "query": ({"top", "index", "query"}, {"numpy"}),
    "output": ({"top", "output"}, {"rich", "pandas", "IPython"}),
    "cli": ({"top", "api", "output", "cli", "web"}, {"typer"}),
    "web": ({"top", "api", "output", "web"}, {"starlette", "uvicorn", "jinja2"}),
    "embedding": ({"top", "embedding"}, {"numpy", "safetensors", "threadpoolctl", "onnxruntime"}),
}

#: The few edges the rules above do not cover, each with its reason.
EXCEPTIONS = {
    # the Porter stemmer is a pure function shipped with Whoosh, not its storage engine
    ("podsearch.text", "whoosh.lang.porter"),
    # for the type checker only (dataclass_transform on Python 3.10), never imported at run time
    ("podsearch.index.querytree", "typing_extensions"),
    # Jupyter looks for _repr_html_ on the result objects themselves: they call the notebook
    # renderer lazily, when a notebook asks for HTML
    ("podsearch.model", "podsearch.output.notebook"),
}

#: The one module allowed Whoosh's private names.
WHOOSH_PRIVATE = "podsearch.index.segments"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def _part(module: str) -> str:
    if module == "podsearch.api":
        return "api"
    if module == "podsearch":  # the package root: __version__ and the lazy public names
        return "top"
    if module in TOP or module in {"podsearch.__main__"}:
        return "top"
    return module.split(".")[1]


def _imports(module: str, tree: ast.AST) -> list[tuple[str, int]]:
    """Every module an import statement names (``from a import b`` names ``a.b`` when that is a module)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import; podsearch imports by full name"
            target = node.module or ""
            for alias in node.names:
                child = f"{target}.{alias.name}"
                names.append((child if child in MODULES else target, node.lineno))
    return names


MODULES = {name for name, _ in _modules()}


def _violations() -> list[str]:
    problems = []
    for module, path in _modules():
        if module == "podsearch.__main__":
            continue
        part = _part(module)
        allowed_parts, allowed_packages = RULES[part]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, line in _imports(module, tree):
            top_name = target.split(".")[0]
            if (module, target) in EXCEPTIONS or (module == "podsearch" and target.startswith("podsearch.")):
                continue  # the package root re-exports the public names lazily
            if top_name == "podsearch":
                target_part = _part(target) if target in MODULES else _part(target.rsplit(".", 1)[0])
                if target_part not in allowed_parts:
                    problems.append(f"{path.name}:{line}: {module} ({part}) imports {target} ({target_part})")
            elif top_name in sys.stdlib_module_names or top_name == "__future__":
                continue
            elif top_name not in allowed_packages:
                problems.append(f"{path.name}:{line}: {module} ({part}) imports {target}")
    return problems


def test_every_part_imports_only_what_its_rules_allow() -> None:
    assert _violations() == []


def _private_accesses(tree: ast.AST) -> list[tuple[int, str]]:
    """``x._name`` where ``x`` is not ``self``/``cls``, and ``from whoosh… import _name``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls", "os", "sys")):
                found.append((node.lineno, node.attr))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh"):
            found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("_"))
    return found


def test_only_the_segments_module_reaches_into_whoosh_internals() -> None:
    """Private attributes are reached only on ``self``, except in the one module that knows Whoosh's internals."""
    problems = []
    for module, path in _modules():
        if module == WHOOSH_PRIVATE:
            continue
        for line, name in _private_accesses(ast.parse(path.read_text(encoding="utf-8"))):
            problems.append(f"{module}:{line}: {name}")
    assert problems == []


@pytest.mark.parametrize("part", ["reading", "index", "query", "output", "cli"])
def test_each_part_states_its_import_rules(part: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text(encoding="utf-8")))
    assert doc and "May import" in doc
