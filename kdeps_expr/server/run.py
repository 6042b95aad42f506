"""Run a workflow's server: bind the socket, start uvicorn, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from ..actions.chat import ChatService
from ..errors import ExprError
from ..heap import settle_heap
from ..sessions import Cleaner, SessionStore
from ..sessions.config import SQLITE_IN_MEMORY, store_settings
from ..workflow.executors import Connections
from ..workflow.model import Workflow
from ..workflow.runner import Runner
from .app import Handler, create_app, logger
from .options import ServerOptions
from .playground import PLAYGROUND_PATH, Bench, playground_app, playground_routes
from .protocol import HttpLimits, guarded_http
from .reload import Reloader
from .supervisor import Supervisor

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKERS_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
"""With ``--workers``: the process id tells the workers' lines apart."""
_BACKLOG = 2048
PLAYGROUND_PORT = 3100


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


def run_app(
    app: ASGIApp,
    sock: socket.socket,
    *,
    access_log: bool = False,
    limits: HttpLimits | None = None,
) -> bool:
    """Run ``app`` on uvicorn over ``sock`` until SIGINT or SIGTERM; False when it failed to start.

    Connections speak HTTP/1.1 through :class:`~.protocol.GuardedHttp` (httptools, with the
    head cap and request deadline of ``limits``, by default those of :class:`ServerOptions`);
    uvicorn picks uvloop when it is installed. ``access_log`` is off for
    the workflow server, which logs its own line per request with the request id. After a
    graceful shutdown uvicorn raises the signal again: SIGINT becomes KeyboardInterrupt,
    and SIGTERM, whose default would kill the process before its ``finally`` blocks run
    (closing the session store), ends this call normally. Call it from the main thread.
    """
    if limits is None:
        defaults = ServerOptions()
        limits = HttpLimits(defaults.max_header_bytes, defaults.request_timeout)
    config = uvicorn.Config(
        app,
        http=guarded_http(limits),
        log_config=None,
        access_log=access_log,
        server_header=False,
        lifespan="on",
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
    playground: bool = False,
    reload_from: str | Path | None = None,
    workers: int = 1,
) -> int:
    """Serve ``workflow`` over HTTP until SIGINT or SIGTERM; returns the exit status.

    ``host`` and ``port`` default to ``settings.apiServer.hostIp`` and ``portNum``, then to
    127.0.0.1:3000; ``debug`` and ``access_log`` switch on what the settings leave off.
    ``playground`` adds the playground page under ``/_playground/``; ``reload_from`` (the
    path the workflow was loaded from) reloads it when its files change (:mod:`.reload`).
    The session store is opened and checked here (an unreachable Redis is a ``StoreError``
    before anything listens) and closed on the way out, as are the one chat service and the
    one set of executor connections (SQL pools, HTTP clients) every runner of the process
    uses, a reload's too; the session cleaner runs while the app does.

    With ``workers`` above 1 the store is closed again once checked, and that many worker
    processes serve the socket, each with its own store, chat service and connections
    (:mod:`.supervisor`); worker 0 runs the cleaner. :func:`workers_refusal` says which
    workflows cannot (a ``ValueError`` here).
    """
    refusal = workers_refusal(workers, workflow, reloading=reload_from is not None)
    if refusal is not None:
        raise ValueError(refusal)
    logging.basicConfig(
        level=logging.INFO, format=LOG_FORMAT if workers == 1 else WORKERS_LOG_FORMAT
    )
    # httpx logs each call to a model server at INFO, URL included (with any user:password
    # of a baseUrl): an access log of the upstream, off like the server's own by default.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if playground:
        _check_playground_path(workflow)
    for warning in workflow.warnings:
        logger.warning("%s", warning.render())
    with closing(workflow.open_store()) as store:
        store.check()
        options = ServerOptions.from_settings(workflow.settings, store.ttl)
        if access_log:
            options = dataclasses.replace(options, access_log=True)
        sock = _listen(
            workflow,
            host or options.host,
            options.port if port is None else port,
            workers,
            playground,
        )
        serving = _Serving(workflow, options, sock, debug or options.debug, playground)
        settle_heap()
        if workers == 1:
            with sock:
                return 0 if serving.run(store, reload_from=reload_from, cleaner=True) else 1
    with sock:
        return Supervisor(workers, serving.worker).run()


def workers_refusal(workers: int, workflow: Workflow, *, reloading: bool) -> str | None:
    """Why ``workflow`` cannot be served by ``workers`` processes, or None when it can."""
    if workers < 1:
        return f"--workers must be at least 1, not {workers}"
    if workers == 1:
        return None
    settings = store_settings(workflow.session_config)
    if settings.kind == "memory":
        kept = "path ':memory:'" if settings.path == SQLITE_IN_MEMORY else "type memory"
        return (
            f"--workers {workers}: settings.session.{kept} keeps sessions inside one "
            "process; use sqlite, redis or postgres, or one worker"
        )
    if reloading:
        return f"--workers {workers}: --reload serves with one worker only"
    if not hasattr(os, "fork"):
        return f"--workers {workers}: worker processes need fork(), which this system lacks"
    return None


def _listen(
    workflow: Workflow, host: str, port: int, workers: int, playground: bool
) -> socket.socket:
    """The bound socket, and the log line that says where it listens (benchmarks and tests
    read its ending, `` on http://HOST:PORT``)."""
    sock = bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    bound = sock.getsockname()[1]
    several = f" with {workers} workers" if workers > 1 else ""
    logger.info(
        "serving workflow %s %s%s on http://%s:%d",
        workflow.name,
        workflow.version,
        several,
        shown_host,
        bound,
    )
    if playground:
        logger.info("playground on http://%s:%d%s/", shown_host, bound, PLAYGROUND_PATH)
    return sock


@dataclass(frozen=True)
class _Serving:
    """What ``serve`` runs in each process that serves: the workflow's app on ``sock``."""

    workflow: Workflow
    options: ServerOptions
    sock: socket.socket
    debug: bool
    playground: bool

    def worker(self, slot: int) -> bool:
        """Worker ``slot``'s server, in its own process (:class:`.supervisor.Supervisor`):
        its own session store, and the session cleaner in worker 0 only; False when it
        could not start."""
        try:
            store = self.workflow.open_store()
        except ExprError as exc:
            logger.error("%s", exc.render())
            return False
        with closing(store):
            if slot == 0:
                logger.info("worker 0 runs the session cleaner (every %gs)", store.cleanup_interval)
            return self.run(store, reload_from=None, cleaner=slot == 0)

    def run(self, store: SessionStore, *, reload_from: str | Path | None, cleaner: bool) -> bool:
        """Run the app with ``store`` until SIGINT or SIGTERM (the session cleaner too, with
        ``cleaner``); False when it failed to start."""
        workflow, options = self.workflow, self.options
        chat = ChatService(workflow.llm_settings)  # the process's: every runner's, reloads' too
        connections = Connections()  # the executors' SQL pools and HTTP clients, likewise
        try:

            def runner_for(loaded: Workflow) -> Runner:
                return Runner(
                    loaded,
                    loaded.engine,
                    store,
                    chat=chat,
                    debug=self.debug,
                    connections=connections,
                )

            runner = runner_for(workflow)
            extra: list[BaseRoute] = []
            told: list[Callable[[Workflow], None]] = []
            if self.playground:
                bench = Bench(workflow)
                extra = playground_routes(bench)
                told.append(bench.use)
            watch = None
            if reload_from is not None:
                watch = Reloader(reload_from, workflow, runner_for, told).watch
            app = create_app(
                lambda: _cleaning(store, runner) if cleaner else nullcontext(runner),
                workflow.api_routes,
                workflow.resources,
                options,
                extra_routes=extra,
                watch=watch,
            )
            limits = HttpLimits(options.max_header_bytes, options.request_timeout)
            return run_app(app, self.sock, limits=limits)
        finally:
            chat.close()
            connections.close()


def _check_playground_path(workflow: Workflow) -> None:
    """A route of the workflow under ``/_playground`` would be hidden by the playground."""
    for route in workflow.api_routes:
        if route.path == PLAYGROUND_PATH or route.path.startswith(PLAYGROUND_PATH + "/"):
            raise ExprError(
                f"--playground: the workflow's route {route.path} is under {PLAYGROUND_PATH}, "
                "where the playground is served; serve it without --playground"
            )


def serve_playground(
    workflow: Workflow | None, *, host: str = "127.0.0.1", port: int = PLAYGROUND_PORT
) -> int:
    """Serve the playground alone (``kdeps-expr playground``), beside ``workflow`` if given:
    its functions, readings and graph, never its session store."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    app = playground_app(Bench(workflow))
    sock = bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    about = f" for workflow {workflow.name} {workflow.version}" if workflow else ""
    logger.info(
        "playground%s on http://%s:%d%s/", about, shown_host, sock.getsockname()[1], PLAYGROUND_PATH
    )
    return 0 if run_app(app, sock) else 1


@contextmanager
def _cleaning(store: SessionStore, runner: Runner) -> Iterator[Handler]:
    """Run the session cleaner for as long as the app serves requests."""
    with Cleaner(store):
        yield runner
