"""Run a workflow's server: bind the socket, start uvicorn, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import dataclasses
import logging
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from ..errors import ExprError
from ..sessions import Cleaner, SessionStore
from ..workflow.model import Workflow
from ..workflow.runner import Runner
from .app import Handler, create_app, logger
from .options import ServerOptions

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_BACKLOG = 2048


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
    before anything listens) and closed on the way out, as is the runner's chat service
    (its connections to model servers); the session cleaner runs while the app does.
    """
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # httpx logs each call to a model server at INFO, URL included (with any user:password
    # of a baseUrl): an access log of the upstream, off like the server's own by default.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for warning in workflow.warnings:
        logger.warning("%s", warning.render())
    store = workflow.open_store()
    try:
        store.check()
        options = ServerOptions.from_settings(workflow.settings, store.ttl)
        if access_log:
            options = dataclasses.replace(options, access_log=True)
        host = host or options.host
        port = options.port if port is None else port
        with Runner(workflow, workflow.engine, store, debug=debug or options.debug) as runner:
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
