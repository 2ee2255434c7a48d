"""The web page behind ``podsearch serve``: an ASGI app (Starlette) with Jinja2 templates.

:func:`podsearch.web.app.create_app` builds the app on one :class:`podsearch.Index`;
:func:`podsearch.web.server.serve` runs it with uvicorn. The module-level
``podsearch.web.app:app`` serves ``$PODSEARCH_INDEX`` (or ``./index``) under any
ASGI server. Nothing here writes: every route only reads the index.

May import: :mod:`podsearch.api`, :mod:`podsearch.output`, the top-level modules,
starlette, uvicorn and jinja2.
"""
