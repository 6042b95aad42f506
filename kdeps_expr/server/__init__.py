"""Serve a workflow over HTTP: the ASGI app, the session transport, request reading, running."""

from __future__ import annotations

from .app import create_app
from .options import ServerOptions
from .run import LOG_FORMAT, bind, run_app, serve, workers_refusal
from .transport import SESSION_COOKIE, SESSION_HEADER, valid_session_id

__all__ = [
    "LOG_FORMAT",
    "SESSION_COOKIE",
    "SESSION_HEADER",
    "ServerOptions",
    "bind",
    "create_app",
    "run_app",
    "serve",
    "valid_session_id",
    "workers_refusal",
]
