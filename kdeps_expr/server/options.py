"""The server's options, read from ``settings.apiServer`` (host, port, limits, cookie, logging,
CORS) and ``settings.session.cookieName``. ``hostIp`` and ``portNum`` may also sit directly
under ``settings`` (older KDeps); the loader folds them into ``apiServer`` (``apiServer``'s
own win)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..durations import setting_duration
from ..errors import WorkflowError
from ..sessions import DEFAULT_COOKIE_NAME, cookie_name
from .cors import CorsOptions, cors_options

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_REQUEST_TIMEOUT = 20.0
DEFAULT_WORKER_THREADS = 16


@dataclass(frozen=True)
class ServerOptions:
    """Transport options, read from ``settings.apiServer`` by :meth:`from_settings`."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    cookie_name: str = DEFAULT_COOKIE_NAME
    secure_cookie: bool = False
    session_ttl: float = 1800.0
    worker_threads: int = DEFAULT_WORKER_THREADS
    debug: bool = False
    access_log: bool = False
    cors: CorsOptions | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], session_ttl: float) -> ServerOptions:
        """Options from a workflow's ``settings`` mapping; a malformed value is a WorkflowError."""
        api = settings.get("apiServer")
        api = {} if api is None else api
        session = settings.get("session")
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
            max_header_bytes=_positive_int(api, "maxHeaderBytes", DEFAULT_MAX_HEADER_BYTES),
            request_timeout=setting_duration(
                api, "requestTimeout", "settings.apiServer", DEFAULT_REQUEST_TIMEOUT
            ),
            cookie_name=cookie_name(session if isinstance(session, Mapping) else {}),
            secure_cookie=_flag(api, "cookieSecure"),
            session_ttl=session_ttl,
            worker_threads=_positive_int(api, "workerThreads", DEFAULT_WORKER_THREADS),
            debug=_flag(api, "debug"),
            access_log=_flag(api, "accessLog"),
            cors=cors_options(api),
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
