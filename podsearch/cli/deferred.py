"""Deferring two imports that Whoosh makes but a search never uses (console script only).

``whoosh.compat`` imports :mod:`urllib.request` (and with it ``http.client``,
``email`` and ``ssl``) for a download helper, and ``whoosh.reading`` imports the
``cached_property`` package, which imports :mod:`asyncio` for its async
variant. Together that is about a quarter of the start-up of
``podsearch "some words"``. :func:`defer_unused_imports` puts stand-ins for
both modules into :data:`sys.modules`; each stand-in loads the real module the
moment anything other than the one name Whoosh imports is used, so code that
does need them still gets them.

Only the console script (:mod:`podsearch.cli.launcher`) calls this, for the
commands it runs without typer (not ``serve``, whose server may need them): the
library itself never touches :data:`sys.modules`.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from typing import Any


class _StandIn(types.ModuleType):
    """A module that becomes the real one on first use of any other attribute."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            # the import system probes ``__path__`` and friends: not a use
            raise AttributeError(name)
        return getattr(_real(self.__name__), name)


def _real(name: str) -> types.ModuleType:
    """Import the real module, replacing the stand-in in :data:`sys.modules`."""
    module = sys.modules.get(name)
    if isinstance(module, _StandIn):
        del sys.modules[name]
    return importlib.import_module(name)


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    return _real("urllib.request").urlretrieve(*args, **kwargs)


def defer_unused_imports() -> None:
    """Install the stand-ins, unless the real modules are already loaded."""
    if "urllib.request" not in sys.modules:
        request = _StandIn("urllib.request", "Stand-in: the real module loads on first use.")
        request.urlretrieve = _urlretrieve  # type: ignore[attr-defined]
        sys.modules["urllib.request"] = request
        import urllib

        urllib.request = request  # type: ignore[attr-defined]  # as an import would set it
    if "cached_property" not in sys.modules:
        cached = _StandIn("cached_property", "Stand-in: the real package loads on first use.")
        # Whoosh uses it on one plain (not async) method; the standard library's
        # descriptor caches the value in the instance exactly the same way.
        cached.cached_property = functools.cached_property  # type: ignore[attr-defined]
        sys.modules["cached_property"] = cached
