"""The playground's routes: the page, its static files and the JSON API, under ``/_playground``.

``kdeps-expr playground`` serves them alone (:func:`playground_app`); ``serve --playground``
puts them in front of the workflow's own routes (:func:`playground_routes`). The page is
plain HTML, CSS and JavaScript shipped in the package (``static/``): no CDN, nothing
fetched from elsewhere (its Content-Security-Policy allows only this origin). Tries run
on at most :data:`TRY_THREADS` threads, so a slow one never holds up the event loop or
the workflow's requests, and a request body is read up to :data:`MAX_BODY` bytes.

API (JSON):

``GET  /_playground/api/info``       the workflow (or null), the function names
``POST /_playground/api/evaluate``   a try: the value, session and memory changes, or errors
``GET  /_playground/api/explain``    ``check --explain`` of the files as they are now
``GET  /_playground/api/graph.svg``  the requires graph (``graph.mmd``: as Mermaid); 404
                                     without a workflow
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .bench import Bench, evaluate, explain, graph, info

PLAYGROUND_PATH = "/_playground"
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 256 * 1024
TRY_THREADS = 2
_T = TypeVar("_T")
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
}


class _TooLarge(Exception):
    pass


async def _payload(request: Request) -> Any:
    """The request's JSON, read up to :data:`MAX_BODY` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return json.loads(b"".join(chunks) or b"null")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status, headers=_HEADERS)


def playground_routes(bench: Bench) -> list[BaseRoute]:
    """The playground's routes, all under :data:`PLAYGROUND_PATH`, for ``bench``."""
    limiter = anyio.CapacityLimiter(TRY_THREADS)

    async def in_thread(call: Callable[..., _T], *args: Any) -> _T:
        return await anyio.to_thread.run_sync(functools.partial(call, *args), limiter=limiter)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_HEADERS)

    async def about(request: Request) -> Response:
        return JSONResponse(info(bench), headers=_HEADERS)

    async def try_it(request: Request) -> Response:
        try:
            payload = await _payload(request)
        except _TooLarge:
            return _error(413, f"the request is larger than {MAX_BODY} bytes")
        except (ValueError, RecursionError):
            return _error(400, "the request is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the request must be a JSON object")
        return JSONResponse(await in_thread(evaluate, bench, payload), headers=_HEADERS)

    async def readings(request: Request) -> Response:
        return JSONResponse(await in_thread(explain, bench), headers=_HEADERS)

    async def picture(request: Request) -> Response:
        kind = {"svg": "svg", "mmd": "mermaid"}.get(request.path_params["kind"])
        drawn = None if kind is None else await in_thread(graph, bench, kind)
        if kind is None:
            return _error(404, "the graph is graph.svg or graph.mmd")
        if drawn is None:
            return _error(404, "no workflow: start the playground with one to see its graph")
        media = "image/svg+xml" if kind == "svg" else "text/plain; charset=utf-8"
        return Response(drawn, media_type=media, headers=_HEADERS)

    async def to_page(request: Request) -> Response:
        return RedirectResponse(PLAYGROUND_PATH + "/", 307)

    return [
        Route(PLAYGROUND_PATH, to_page),
        Mount(
            PLAYGROUND_PATH,
            routes=[
                Route("/", page),
                Route("/api/info", about),
                Route("/api/evaluate", try_it, methods=["POST"]),
                Route("/api/explain", readings),
                Route("/api/graph.{kind:str}", picture),
                Mount("/static", StaticFiles(directory=STATIC)),
            ],
        ),
    ]


def playground_app(bench: Bench) -> Starlette:
    """The playground alone (``kdeps-expr playground``): ``/`` leads to the page."""

    async def home(request: Request) -> Response:
        return RedirectResponse(PLAYGROUND_PATH + "/", 307)

    return Starlette(routes=[Route("/", home), *playground_routes(bench)])
