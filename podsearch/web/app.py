"""The ASGI app: the search page, the episode page and the JSON API, on one shared index.

``create_app(path)`` builds an app on one :class:`podsearch.Index` (its searcher is
reopened by the next request after ``podsearch index`` commits, so a nightly
reindex needs no restart). ``app`` serves ``$PODSEARCH_INDEX`` (or ``./index``):
``uvicorn podsearch.web.app:app --workers 4``. Every route is a read: GET and HEAD only.

Routes: ``/`` (search page), ``/results`` (its results alone, for the page's
script), ``/episodes/<id>``, ``/api/search``, ``/api/episodes``,
``/api/episodes/<id>`` and ``/static/…``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podsearch import __version__
from podsearch.api import Index
from podsearch.errors import EpisodeNotFound, PodsearchError, QueryError
from podsearch.model import EpisodeInfo, Results
from podsearch.records import episode_record, paragraph_record, results_json
from podsearch.sanitize import flat
from podsearch.timecode import format_time, parse_time
from podsearch.web import present
from podsearch.web.params import SearchParams

STATIC = Path(__file__).resolve().parent / "static"

#: Sent with every response: scripts and styles only from this site (no inline ones),
#: frames only from YouTube's privacy-enhanced embed host, nothing else from anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; frame-src https://www.youtube-nocookie.com; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    # the YouTube embed needs the page's origin (not its path and query) to play
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message["headers"] = kept + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _visible(value: Any) -> Any:
    """Every string a template shows, control and reordering characters made visible (as in notebooks)."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return flat(value)
    return value


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("podsearch.web", "templates"), autoescape=True, trim_blocks=True, finalize=_visible
    )
    env.globals.update(
        version=__version__,
        format_time=format_time,
        snippet_html=present.snippet_html,
        moment_url=present.moment_url,
        episode_href=present.episode_href,
        guests_line=present.guests_line,
    )
    return env


class Site:
    """The routes' shared state: the index and the templates."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.templates = _environment()

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A template as an HTML response that caches must revalidate (the index may change)."""
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-cache"})

    # --- pages ---------------------------------------------------------------------------

    def search_page(self, request: Request) -> Response:
        """``/``: the search form, and the results when there is a query."""
        params, results, error = self._search(request)
        episodes = self.index.episodes()
        return self.render(
            "search.html",
            status=400 if error else 200,
            params=params,
            results=results,
            error=error,
            episodes=episodes,
            seasons=sorted({e.season for e in episodes if e.season is not None}),
            guests=_guest_choices(episodes),
        )

    def results_fragment(self, request: Request) -> Response:
        """``/results``: the results part of the search page alone (the script swaps it in)."""
        params, results, error = self._search(request)
        return self.render("results.html", status=400 if error else 200, params=params, results=results, error=error)

    def _search(self, request: Request) -> tuple[SearchParams, Results | None, str | None]:
        try:
            params = SearchParams.parse(request.query_params)
        except QueryError as problem:
            return SearchParams(q=request.query_params.get("q", "")[:2000]), None, str(problem)
        if not params.q:
            return params, None, None
        try:
            return params, self.index.search(params.q, **params.search_options()), None
        except QueryError as problem:
            return params, None, str(problem)

    def episode_page(self, request: Request) -> Response:
        """``/episodes/<id>?t=<seconds>&q=<query>``: the transcript, scrolled to the moment, query words marked."""
        episode = self.index.episode(request.path_params["episode_id"])
        query = request.query_params.get("q", "")[:2000]
        seconds = parse_time(request.query_params.get("t", "")[:20])
        target = present.target_paragraph(episode.paragraphs, seconds)
        return self.render(
            "episode.html",
            episode=episode,
            query=query,
            marker=present.QueryMarker(query),
            target=target,
            start=seconds,
            params=SearchParams(q=query),
        )

    # --- JSON ----------------------------------------------------------------------------

    def api_search(self, request: Request) -> Response:
        """``/api/search``: the document of ``podsearch --json`` (same fields, same options)."""
        params = SearchParams.parse(request.query_params, default_limit=10)
        if not params.q:
            raise QueryError("the query is empty; pass it as ?q=…")
        return _json_text(results_json(self.index.search(params.q, **params.search_options())))

    def api_episodes(self, request: Request) -> Response:
        """``/api/episodes``: what ``podsearch episodes --json`` prints."""
        counts = self.index.paragraph_counts()
        return _json([dict(episode_record(info), paragraphs=counts.get(info.id)) for info in self.index.episodes()])

    def api_episode(self, request: Request) -> Response:
        """``/api/episodes/<id>``: an episode's description and its transcript as speaker turns."""
        episode = self.index.episode(request.path_params["episode_id"])
        record = episode_record(episode.info())
        record["turns"] = [
            {
                "speaker": turn.speaker,
                "speaker_name": turn.speaker_name,
                "section": turn.section,
                "paragraphs": [paragraph_record(p) for p in turn.paragraphs],
            }
            for turn in episode.turns
        ]
        return _json(record)

    # --- errors --------------------------------------------------------------------------

    def error(self, request: Request, exc: Exception) -> Response:
        """Errors as JSON under ``/api/``, else as a page; the status says what kind."""
        status, message = _status(exc)
        if request.url.path.startswith("/api/"):
            return _json({"error": message, "status": status}, status=status)
        return self.render("error.html", status=status, message=message, params=SearchParams(), error_status=status)


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, QueryError):
        return 400, str(exc)
    if isinstance(exc, EpisodeNotFound):
        return 404, str(exc)
    # a missing, locked, damaged or incompatible index: the server is fine, the index is not usable now
    return 503, str(exc)


def _guest_choices(episodes: list[EpisodeInfo]) -> list[str]:
    names = {name for e in episodes for name in (e.guest_names or e.guests)}
    return sorted(names, key=str.casefold)


def _json(value: Any, status: int = 200) -> Response:
    return _json_text(json.dumps(value, ensure_ascii=True), status)


#: ``<``, ``>`` and ``&`` occur in JSON only inside strings: as escapes, no sniffing or
#: careless embedding can ever read a transcript's markup out of an API answer.
_JSON_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _json_text(text: str, status: int = 200) -> Response:
    """ASCII-only JSON (as ``podsearch --json``) with markup characters escaped too."""
    return Response(
        text.translate(_JSON_MARKUP),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-cache"},
    )


def create_app(index_path: Path | str | None = None) -> ASGIApp:
    """The web app on the index at ``index_path`` (default: ``$PODSEARCH_INDEX`` or ``./index``).

    One :class:`~podsearch.Index` serves every request; opening it reads nothing,
    so the app starts even before the index exists and answers 503 until it does.
    """
    site = Site(Index(index_path))
    routes = [
        Route("/", site.search_page, name="search"),
        Route("/results", site.results_fragment, name="results"),
        Route("/episodes/{episode_id}", site.episode_page, name="episode"),
        Route("/api/search", site.api_search, name="api_search"),
        Route("/api/episodes", site.api_episodes, name="api_episodes"),
        Route("/api/episodes/{episode_id}", site.api_episode, name="api_episode"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {PodsearchError: site.error, HTTPException: site.error}
    starlette = Starlette(routes=routes, exception_handlers=handlers)
    starlette.state.site = site
    return SecurityHeaders(starlette)


#: The app on the default index, for ``uvicorn podsearch.web.app:app`` and other ASGI servers.
app = create_app()
