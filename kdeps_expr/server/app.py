"""The ASGI app: one Starlette route that dispatches every path through the workflow's route
table, runs the request on a worker thread, and answers JSON.

One Starlette route catches every path and dispatches it through a table built from
``settings.apiServer.routes`` (exact paths first, then KDeps' patterns with ``:name`` and
``*`` segments, the longest one that has the method winning), plus two built-ins:
``GET /health`` and ``GET``/``POST /actions/{actionId}``. A route without ``actionId``
(KDeps' own form) runs ``targetActionId``, and each resource's ``validations.routes`` and
``methods`` decide whether it runs. CORS, when ``settings.apiServer.cors`` asks for it,
sits in front (:mod:`.cors`). A multipart request's files live in a temporary folder for
as long as it runs (:mod:`.uploads`). Behind that route the pipeline
works on the raw ASGI messages (no Starlette request or response objects, which cost more
than the rest of the pipeline together; see docs/server.md). A request becomes a
:class:`~kdeps_expr.language.context.Request` (:mod:`.requests`) and runs on the runner in
a worker thread (:mod:`.workers`), because the runner does blocking store I/O; the event
loop never waits on it. The session id travels as :mod:`.transport` says.

Every response, error or not, is JSON and carries ``X-Request-ID``. A server-side failure
logs its traceback under that id while the client gets a JSON 500 that names it; with the
access log on (``--access-log``, ``settings.apiServer.accessLog``) every request also logs
one line with its id. The access log is off by default, as in gunicorn: a log line costs
about a fifth of a request's time (docs/server.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, suppress
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from ..language.context import Request
from ..workflow.routes import is_pattern, route_matches
from ..workflow.runner import Response
from .answers import Answer, ClientError, error_answer, not_allowed, send_answer
from .cors import cors_middleware
from .options import ServerOptions
from .request_ids import new_request_id
from .requests import header_map, query_map, read_body
from .transport import SessionCookie, SessionTurns, give_session, session_id_of
from .uploads import Uploads
from .workers import Workers

logger = logging.getLogger("kdeps_expr.server")
"""The name logging is configured by; the same whichever module of the server logs."""

REQUEST_ID_HEADER = "X-Request-ID"
HEALTH_PATH = "/health"
HEALTH_METHODS = ("GET", "HEAD")
ACTIONS_PREFIX = "/actions/"
ACTION_METHODS = ("GET", "POST")


class Handler(Protocol):
    """What the server runs a request on: the :class:`~kdeps_expr.runner.Runner` interface."""

    def handle(
        self, request: Request, action_id: str | None = None, session_id: str | None = None
    ) -> Response: ...


class RouteSpec(Protocol):
    """One entry of ``settings.apiServer.routes``: a path, its methods and the action it runs."""

    @property
    def path(self) -> str: ...

    @property
    def methods(self) -> tuple[str, ...]: ...

    @property
    def action_id(self) -> str: ...


class _App:
    """The request pipeline: route, read and parse the body, run, write the session back."""

    def __init__(
        self,
        routes: Sequence[RouteSpec],
        action_ids: Collection[str],
        options: ServerOptions,
    ) -> None:
        self.options = options
        self.route(routes, action_ids)
        self.cookie = SessionCookie(options.cookie_name, options.session_ttl, options.secure_cookie)
        self.handler: Handler | None = None
        self.workers: Workers | None = None
        self.sessions = SessionTurns()

    def route(self, routes: Sequence[RouteSpec], action_ids: Collection[str]) -> None:
        """Build the route table (again, when a workflow is reloaded)."""
        table: dict[str, dict[str, str]] = {}
        for route in routes:
            methods = table.setdefault(route.path, {})
            for method in route.methods:
                methods.setdefault(method.upper(), route.action_id)
        self.patterns = sorted(
            ((path, methods) for path, methods in table.items() if is_pattern(path)),
            key=lambda entry: len(entry[0]),
            reverse=True,
        )
        self.table, self.action_ids = table, frozenset(action_ids)

    def retarget(
        self, routes: Sequence[RouteSpec], action_ids: Collection[str], handler: Handler
    ) -> None:
        """Serve a reloaded workflow from the next request on (called on the event loop's
        thread, between requests' steps: a request in flight finishes on the old one)."""
        self.route(routes, action_ids)
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: every path and every method lands here."""
        request_id = new_request_id()
        started = time.perf_counter()
        try:
            answer = await self.respond(scope, receive, request_id)
        except ClientError as exc:
            answer = error_answer(scope, request_id, exc)
        except Exception:
            logger.exception("request %s: internal error", request_id)
            message = f"internal server error (request {request_id})"
            answer = error_answer(scope, request_id, ClientError(500, message))
        answer.headers[REQUEST_ID_HEADER] = request_id
        await send_answer(send, answer)
        if self.options.access_log:
            logger.info(
                "request %s: %s %s -> %d (%.1f ms)",
                request_id,
                scope["method"],
                scope["path"],
                answer.status,
                (time.perf_counter() - started) * 1000,
            )

    def resolve(self, path: str, method: str) -> str:
        """The action ``method path`` runs; 404 for an unknown path, 405 for a wrong method."""
        methods = self.table.get(path)
        if methods is None and path.startswith(ACTIONS_PREFIX):
            action_id = path[len(ACTIONS_PREFIX) :]
            if action_id in self.action_ids:
                methods = dict.fromkeys(ACTION_METHODS, action_id)
        if methods is None:
            methods = self._pattern(path, method)
        if methods is None:
            raise ClientError(404, f"no route for {path}")
        target = methods.get(method)
        if target is None:
            raise not_allowed(method, path, methods)
        return target

    def _pattern(self, path: str, method: str) -> dict[str, str] | None:
        """The methods of the longest pattern that serves ``path`` with ``method`` (else of
        the longest that serves ``path``, for its 405); ``None`` when none does."""
        matched = [methods for pattern, methods in self.patterns if route_matches(pattern, path)]
        return next((m for m in matched if method in m), matched[0] if matched else None)

    async def respond(self, scope: Scope, receive: Receive, request_id: str) -> Answer:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == HEALTH_PATH:
            if method not in HEALTH_METHODS:
                raise not_allowed(method, path, HEALTH_METHODS)
            return Answer.json(200, {"status": "ok"})
        action_id = self.resolve(path, method)
        uploads = Uploads()
        try:
            return await self._run(scope, receive, request_id, action_id, uploads)
        finally:
            uploads.close()

    async def _run(
        self, scope: Scope, receive: Receive, request_id: str, action_id: str, uploads: Uploads
    ) -> Answer:
        headers = header_map(scope["headers"])
        client = scope.get("client")
        body = await read_body(scope, headers, receive, self.options.max_body_bytes, uploads)
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=query_map(scope["query_string"]),
            body=body,
            headers=headers,
            ip=client[0] if client else "",
            request_id=request_id,
            files=tuple(uploads.files),
        )
        session_id = session_id_of(headers, self.options.cookie_name)
        assert self.handler is not None and self.workers is not None, "the app has not started"
        if session_id is not None:
            await self.sessions.take(session_id)
        try:
            result = await self.workers.run(
                functools.partial(self.handler.handle, request, action_id, session_id)
            )
        finally:
            if session_id is not None:
                self.sessions.give_back(session_id)
        answer = Answer.of(result)
        if result.session_id is not None:
            give_session(answer.headers, result.session_id, self.cookie)
        return answer


Retarget = Callable[[Sequence[RouteSpec], Collection[str], Handler], None]
"""``retarget(routes, action_ids, handler)``: serve a reloaded workflow from now on."""


def create_app(
    open_handler: Callable[[], AbstractContextManager[Handler]],
    routes: Sequence[RouteSpec],
    action_ids: Collection[str],
    options: ServerOptions | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    watch: Callable[[Retarget], Awaitable[None]] | None = None,
) -> Starlette:
    """A Starlette app serving ``routes`` and ``/actions/{actionId}`` for ``action_ids``.

    ``open_handler`` is entered when the app starts and left when it stops (the workflow
    app starts and stops the session cleaner there); it yields what requests run on.
    Requests run on :class:`Workers`, ``worker_threads`` threads that live as long as the
    app; on shutdown the requests in flight finish before ``open_handler`` is left.
    ``extra_routes`` (the playground) come before the workflow's; ``watch(retarget)`` runs
    as a task for as long as the app serves (``serve --reload``).
    """
    app_state = _App(routes, action_ids, options or ServerOptions())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        workers = Workers(app_state.options.worker_threads)
        with open_handler() as handler, workers:
            app_state.handler, app_state.workers = handler, workers
            watching = asyncio.ensure_future(watch(app_state.retarget)) if watch else None
            try:
                yield
            finally:
                if watching is not None:
                    watching.cancel()
                    with suppress(asyncio.CancelledError):
                        await watching
                app_state.handler = app_state.workers = None

    return Starlette(
        routes=[*extra_routes, Route("/{path:path}", app_state)],
        lifespan=lifespan,
        middleware=cors_middleware(app_state.options.cors),
    )
