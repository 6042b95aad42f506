"""HTTP adapter: serves a workflow over Starlette, carrying sessions in a cookie and a header.

One Starlette route catches every path and dispatches it through a table built from
``settings.apiServer.routes`` (exact paths, no patterns), plus two built-ins:
``GET /health`` and ``GET``/``POST /actions/{actionId}``. Behind that route the pipeline
works on the raw ASGI messages (no Starlette request or response objects, which cost more
than the rest of the pipeline together; see docs/server.md). A request becomes a
:class:`~kdeps_expr.context.Request` (query string, JSON or form body, headers) and runs on
the runner in a worker thread, because the runner does blocking store I/O; the event loop
never waits on it.

Sessions follow SPEC §7: the id comes from the ``kdeps_session_id`` cookie, else from the
``X-Session-ID`` header; only a well-formed id (43 URL-safe base64 characters, the shape
of :func:`~kdeps_expr.context.new_session_id`) is handed to the runner, which adopts it
only when the store knows it. The response carries the id back in both places only when
the runner says the request created or used a session.

Every response, error or not, is JSON and carries ``X-Request-ID``. A server-side failure
logs its traceback under that id while the client gets a JSON 500 that names it; with the
access log on (``--access-log``, ``settings.apiServer.accessLog``) every request also logs
one line with its id. The access log is off by default, as in gunicorn: a log line costs
about a fifth of a request's time (docs/server.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import math
import queue
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import cookie_parser
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .context import Request, request_json
from .errors import ExprError, WorkflowError
from .runner import Response, Runner, error_body
from .sessions import Cleaner, SessionStore
from .workflow import Workflow

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

SESSION_COOKIE = "kdeps_session_id"
SESSION_HEADER = "X-Session-ID"
REQUEST_ID_HEADER = "X-Request-ID"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_WORKER_THREADS = 16
HEALTH_PATH = "/health"
HEALTH_METHODS = ("GET", "HEAD")
ACTIONS_PREFIX = "/actions/"
ACTION_METHODS = ("GET", "POST")

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
"""A URL-safe base64 rendering of exactly 32 bytes: 42 free characters, then one whose
two low bits are zero (the last character carries only 4 bits of the 256)."""

_JSON = "application/json"
_SESSION_HEADER_KEY = SESSION_HEADER.lower()
_JSON_TYPE_HEADER = (b"content-type", _JSON.encode())
_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_MAX_FORM_FIELDS = 1000
_BACKLOG = 2048

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


@dataclass(frozen=True)
class ServerOptions:
    """Transport options, read from ``settings.apiServer`` by :meth:`from_settings`."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    secure_cookie: bool = False
    session_ttl: float = 1800.0
    worker_threads: int = DEFAULT_WORKER_THREADS
    debug: bool = False
    access_log: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], session_ttl: float) -> ServerOptions:
        """Options from a workflow's ``settings`` mapping; a malformed value is a WorkflowError."""
        api = settings.get("apiServer")
        api = {} if api is None else api
        if not isinstance(api, Mapping):
            raise WorkflowError("settings.apiServer must be a mapping")
        host = api.get("hostIp", DEFAULT_HOST)
        if not isinstance(host, str) or not host:
            raise WorkflowError(f"settings.apiServer.hostIp must be an address, got {host!r}")
        port = api.get("portNum", DEFAULT_PORT)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise WorkflowError(f"settings.apiServer.portNum must be 0 to 65535, got {port!r}")
        return cls(
            host=host,
            port=port,
            max_body_bytes=_positive_int(api, "maxBodyBytes", DEFAULT_MAX_BODY_BYTES),
            secure_cookie=_flag(api, "cookieSecure"),
            session_ttl=session_ttl,
            worker_threads=_positive_int(api, "workerThreads", DEFAULT_WORKER_THREADS),
            debug=_flag(api, "debug"),
            access_log=_flag(api, "accessLog"),
        )


def _positive_int(api: Mapping[str, Any], key: str, default: int) -> int:
    value = api.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise WorkflowError(f"settings.apiServer.{key} must be a positive integer, got {value!r}")
    return value


def _flag(api: Mapping[str, Any], key: str) -> bool:
    value = api.get(key, False)
    if not isinstance(value, bool):
        raise WorkflowError(f"settings.apiServer.{key} must be true or false, got {value!r}")
    return value


class _ClientError(Exception):
    """A request the server refuses before running anything: 400, 404, 405, 413, 415."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def valid_session_id(value: str | None) -> str | None:
    """``value`` when it has the shape of a session id, else ``None`` (never looked up)."""
    return value if value is not None and _SESSION_ID.fullmatch(value) else None


def _fields(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Query or form pairs as a map: a repeated name gives the list of its values."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs as names (lower case) to values; a repeated header's values joined
    with ``, `` (``; `` for ``Cookie``, whose pairs that separator keeps apart)."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in merged:
            value = f"{merged[name]}{'; ' if name == 'cookie' else ', '}{value}"
        merged[name] = value
    return merged


def _query(raw: bytes) -> dict[str, Any]:
    """The query string's parameters (blank values kept)."""
    return _fields(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


def _session_id(headers: Mapping[str, str]) -> str | None:
    """The well-formed session id the request carries: the cookie's, else the header's."""
    cookie = headers.get("cookie")
    from_cookie = cookie_parser(cookie).get(SESSION_COOKIE) if cookie else None
    return valid_session_id(from_cookie) or valid_session_id(headers.get(_SESSION_HEADER_KEY))


def _parse_json(body: bytes) -> Any:
    try:
        return request_json(body)
    except UnicodeDecodeError as exc:
        raise _ClientError(400, "malformed JSON body: not UTF-8") from exc
    except RecursionError as exc:
        raise _ClientError(400, "malformed JSON body: nested too deeply") from exc
    except ValueError as exc:
        raise _ClientError(400, f"malformed JSON body: {exc}") from exc


def _parse_urlencoded(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        return _fields(parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS))
    except UnicodeDecodeError as exc:
        raise _ClientError(400, "malformed form body: not UTF-8") from exc
    except ValueError as exc:
        raise _ClientError(400, f"malformed form body: {exc}") from exc


async def _parse_multipart(headers: Headers, body: bytes, max_bytes: int) -> dict[str, Any]:
    """A multipart form; a file part becomes ``{filename, contentType, size}``, never its bytes."""

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        headers,
        stream(),
        max_files=_MAX_FORM_FIELDS,
        max_fields=_MAX_FORM_FIELDS,
        max_part_size=max_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise _ClientError(400, f"malformed form body: {exc.message}") from exc
    try:
        return _fields(
            (name, _upload(value) if isinstance(value, UploadFile) else value)
            for name, value in form.multi_items()
        )
    finally:
        await form.close()


def _upload(file: UploadFile) -> dict[str, Any]:
    return {"filename": file.filename, "contentType": file.content_type, "size": file.size}


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class _Workers:
    """Threads that run the blocking runner for the event loop, one request at a time each.

    A job goes to the threads through one ``queue.SimpleQueue`` and its outcome comes back
    through one ``call_soon_threadsafe``. Measured on this server, that costs about 20 µs
    a request against about 48 µs for ``loop.run_in_executor`` with a ThreadPoolExecutor
    (a concurrent Future and a Condition per call) and more for ``anyio.to_thread``; see
    docs/server.md. Use it as a context manager: leaving it lets the jobs in flight finish.
    """

    def __init__(self, count: int) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"kdeps-request-{number}", daemon=True)
            for number in range(count)
        ]

    def __enter__(self) -> _Workers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def run(self, call: Callable[[], _T]) -> asyncio.Future[_T]:
        """Run ``call`` on a worker thread; await the returned future for its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._jobs.put((loop, future, call))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, call = job
            try:
                outcome: tuple[Any, BaseException | None] = (call(), None)
            except Exception as exc:  # handed to the request that awaits it
                outcome = (None, exc)
            with suppress(RuntimeError):  # a closed loop awaits nothing any more
                loop.call_soon_threadsafe(_settle, future, *outcome)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class _Answer:
    """What the server sends back: status, headers other than the two it adds, and the body,
    encoded as compact UTF-8 JSON when the answer is made (so a body that cannot be encoded
    fails where the request's errors are caught, not while it is being sent)."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self.content = json.dumps(
            body, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


def _error(scope: Scope, request_id: str, error: _ClientError) -> _Answer:
    """A SPEC §6 error answered by the transport itself; it never touches a session."""
    request = Request(method=scope["method"], path=scope["path"], request_id=request_id)
    return _Answer(error.status, error_body(error.status, error.message, request), error.headers)


async def _send(send: Send, answer: _Answer) -> None:
    """Write ``answer`` with its ``Content-Length`` and (unless it has one) ``Content-Type``."""
    content = answer.content
    headers = [(b"content-length", b"%d" % len(content))]
    typed = False
    for name, value in answer.headers.items():
        key = name.lower().encode("latin-1")
        if key != b"content-length":
            headers.append((key, value.encode("latin-1")))
            typed = typed or key == b"content-type"
    if not typed:
        headers.append(_JSON_TYPE_HEADER)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class _SessionTurns:
    """Requests that carry the same session id run one after another in this process.

    They would race anyway: each reads the session and writes it at the end, and every
    write but one would conflict and run its request again (``sessions.transact``). Taking
    turns here spends no work on re-runs and leaves only the racing between processes to
    the store's optimistic versions. Requests on different sessions, and requests without
    a session id, never wait for each other. Used only from the event loop's thread.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def take(self, session_id: str) -> None:
        """Wait for the requests on ``session_id`` that came first; :meth:`give_back` after."""
        lock, waiting = self._locks.get(session_id) or (asyncio.Lock(), 0)
        self._locks[session_id] = (lock, waiting + 1)
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: never held the turn
            self._leave(session_id)
            raise

    def give_back(self, session_id: str) -> None:
        """End the turn :meth:`take` gave: the next request on ``session_id`` may run."""
        self._locks[session_id][0].release()
        self._leave(session_id)

    def _leave(self, session_id: str) -> None:
        lock, waiting = self._locks[session_id]
        if waiting == 1:
            del self._locks[session_id]
        else:
            self._locks[session_id] = (lock, waiting - 1)


def _not_allowed(method: str, path: str, allowed: Iterable[str]) -> _ClientError:
    shown = ", ".join(allowed)
    message = f"method {method} is not allowed for {path}; allowed: {shown}"
    return _ClientError(405, message, {"Allow": shown})


class _App:
    """The request pipeline: route, read and parse the body, run, write the session back."""

    def __init__(
        self,
        routes: Sequence[RouteSpec],
        action_ids: Collection[str],
        options: ServerOptions,
    ) -> None:
        self.options = options
        self.action_ids = frozenset(action_ids)
        self.table: dict[str, dict[str, str]] = {}
        for route in routes:
            methods = self.table.setdefault(route.path, {})
            for method in route.methods:
                methods.setdefault(method.upper(), route.action_id)
        secure = "; Secure" if options.secure_cookie else ""
        max_age = math.ceil(options.session_ttl)
        self.cookie_attributes = f"; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"
        self.handler: Handler | None = None
        self.workers: _Workers | None = None
        self.sessions = _SessionTurns()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: every path and every method lands here."""
        request_id = secrets.token_hex(16)
        started = time.perf_counter()
        try:
            answer = await self.respond(scope, receive, request_id)
        except _ClientError as exc:
            answer = _error(scope, request_id, exc)
        except Exception:
            logger.exception("request %s: internal error", request_id)
            message = f"internal server error (request {request_id})"
            answer = _error(scope, request_id, _ClientError(500, message))
        answer.headers[REQUEST_ID_HEADER] = request_id
        await _send(send, answer)
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
            raise _ClientError(404, f"no route for {path}")
        target = methods.get(method)
        if target is None:
            raise _not_allowed(method, path, methods)
        return target

    async def respond(self, scope: Scope, receive: Receive, request_id: str) -> _Answer:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == HEALTH_PATH:
            if method not in HEALTH_METHODS:
                raise _not_allowed(method, path, HEALTH_METHODS)
            return _Answer(200, {"status": "ok"}, {})
        action_id = self.resolve(path, method)
        headers = _headers(scope["headers"])
        client = scope.get("client")
        request = Request(
            method=method,
            path=path,
            query=_query(scope["query_string"]),
            body=await self.read_body(scope, headers, receive),
            headers=headers,
            ip=client[0] if client else "",
            request_id=request_id,
        )
        session_id = _session_id(headers)
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
        answer = _Answer(result.status, result.body, dict(result.headers))
        if result.session_id is not None:
            answer.headers[SESSION_HEADER] = result.session_id
            answer.headers["Set-Cookie"] = (
                f"{SESSION_COOKIE}={result.session_id}{self.cookie_attributes}"
            )
            answer.headers["Cache-Control"] = "no-store"
        return answer

    async def read_body(self, scope: Scope, headers: Mapping[str, str], receive: Receive) -> Any:
        """The parsed body (``None`` when empty); 413 past the limit, 415 for other types."""
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            return None  # HTTP/1.1: a request with neither header has no body
        limit = self.options.max_body_bytes
        too_large = _ClientError(413, f"request body is larger than {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientError(400, "the client disconnected before sending its body")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if not body:
            return None
        content_type = headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type == _JSON or (
            media_type.startswith("application/") and media_type.endswith("+json")
        ):
            return _parse_json(body)
        if media_type == _URLENCODED:
            return _parse_urlencoded(body)
        if media_type == _MULTIPART:
            return await _parse_multipart(Headers(scope=scope), body, limit)
        shown = f"'{media_type}'" if media_type else "missing"
        raise _ClientError(
            415,
            f"unsupported content type {shown}: send {_JSON}, {_URLENCODED} or {_MULTIPART}",
        )


def create_app(
    open_handler: Callable[[], AbstractContextManager[Handler]],
    routes: Sequence[RouteSpec],
    action_ids: Collection[str],
    options: ServerOptions | None = None,
) -> Starlette:
    """A Starlette app serving ``routes`` and ``/actions/{actionId}`` for ``action_ids``.

    ``open_handler`` is entered when the app starts and left when it stops (the workflow
    app starts and stops the session cleaner there); it yields what requests run on.
    Requests run on :class:`_Workers`, ``worker_threads`` threads that live as long as the
    app; on shutdown the requests in flight finish before ``open_handler`` is left.
    """
    app_state = _App(routes, action_ids, options or ServerOptions())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        workers = _Workers(app_state.options.worker_threads)
        with open_handler() as handler, workers:
            app_state.handler, app_state.workers = handler, workers
            try:
                yield
            finally:
                app_state.handler = app_state.workers = None

    return Starlette(routes=[Route("/{path:path}", app_state)], lifespan=lifespan)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one).

    Binding before the server starts lets a taken address be one clear error, and lets the
    caller learn the port it got.
    """
    try:
        family, kind, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise ExprError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ExprError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class _Terminated(Exception):
    """SIGTERM, raised again by uvicorn once its graceful shutdown is done."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def run_app(app: ASGIApp, sock: socket.socket, *, access_log: bool = False) -> bool:
    """Run ``app`` on uvicorn over ``sock`` until SIGINT or SIGTERM; False when it failed to start.

    uvicorn picks httptools and uvloop when they are installed. ``access_log`` is off for
    the workflow server, which logs its own line per request with the request id. After a
    graceful shutdown uvicorn raises the signal again: SIGINT becomes KeyboardInterrupt,
    and SIGTERM, whose default would kill the process before its ``finally`` blocks run
    (closing the session store), ends this call normally. Call it from the main thread.
    """
    config = uvicorn.Config(
        app, log_config=None, access_log=access_log, server_header=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        server.run(sockets=[sock])
    except _Terminated:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return bool(server.started)


def serve(
    workflow: Workflow,
    *,
    host: str | None = None,
    port: int | None = None,
    debug: bool = False,
    access_log: bool = False,
) -> int:
    """Serve ``workflow`` over HTTP until SIGINT or SIGTERM; returns the exit status.

    ``host`` and ``port`` default to ``settings.apiServer.hostIp`` and ``portNum``, then to
    127.0.0.1:3000; ``debug`` and ``access_log`` switch on what the settings leave off.
    The session store is opened and checked here (an unreachable Redis is a ``StoreError``
    before anything listens) and closed on the way out; the session cleaner runs while the
    app does.
    """
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    store = workflow.open_store()
    try:
        store.check()
        options = ServerOptions.from_settings(workflow.settings, store.ttl)
        if access_log:
            options = dataclasses.replace(options, access_log=True)
        host = host or options.host
        port = options.port if port is None else port
        runner = Runner(workflow, workflow.engine, store, debug=debug or options.debug)
        app = create_app(
            lambda: _cleaning(store, runner), workflow.api_routes, workflow.resources, options
        )
        sock = bind(host, port)
        logger.info(
            "serving workflow %s %s on http://%s:%d",
            workflow.name,
            workflow.version,
            f"[{host}]" if ":" in host else host,
            sock.getsockname()[1],
        )
        return 0 if run_app(app, sock) else 1
    finally:
        store.close()


@contextmanager
def _cleaning(store: SessionStore, runner: Runner) -> Iterator[Handler]:
    """Run the session cleaner for as long as the app serves requests."""
    with Cleaner(store):
        yield runner
