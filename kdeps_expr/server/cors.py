"""CORS (``settings.apiServer.cors``): browsers on other origins may call the workflow.

Served by Starlette's ``CORSMiddleware`` in front of the app: a preflight (``OPTIONS`` with
``Access-Control-Request-Method``) is answered by the middleware, and every answer to an
allowed origin carries ``Access-Control-Allow-Origin`` (and ``Vary: Origin``). The keys are
KDeps': ``allowOrigins`` (default ``['*']``; an entry may hold ``*`` inside, as in
``https://*.example.com``), ``allowMethods`` (default GET, POST, PUT, DELETE, PATCH,
OPTIONS), ``allowHeaders`` (default Content-Type, Authorization, Accept, X-Requested-With,
X-Session-ID), ``exposeHeaders`` (X-Session-ID and X-Request-ID always, so a page can read
its session id), ``allowCredentials`` (default false) and ``maxAge`` (default 12h);
``enableCors: false`` switches it off.

Unlike KDeps, a workflow without a ``cors`` block serves no CORS headers (same-origin
only), and ``allowCredentials`` is never combined with ``*``: a credentialed request from
any site could then read a logged-in user's answers, so credentials need the origins
listed (``check`` warns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from ..durations import parse_duration

DEFAULT_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
DEFAULT_HEADERS = ("Content-Type", "Authorization", "Accept", "X-Requested-With", "X-Session-ID")
ALWAYS_EXPOSED = ("X-Session-ID", "X-Request-ID")
DEFAULT_MAX_AGE = "12h"


@dataclass(frozen=True)
class CorsOptions:
    """What ``settings.apiServer.cors`` allows."""

    origins: tuple[str, ...] = ("*",)
    origin_pattern: str | None = None
    methods: tuple[str, ...] = DEFAULT_METHODS
    headers: tuple[str, ...] = DEFAULT_HEADERS
    exposed: tuple[str, ...] = ALWAYS_EXPOSED
    credentials: bool = False
    max_age: int = 43200


def cors_options(api: Mapping[str, Any]) -> CorsOptions | None:
    """The CORS options of ``settings.apiServer`` (checked by the schema at load), or
    ``None`` when there is no ``cors`` block or it says ``enableCors: false``."""
    cors = api.get("cors")
    if not isinstance(cors, Mapping) or cors.get("enableCors") is False:
        return None
    origins = tuple(_listed(cors.get("allowOrigins")) or ["*"])
    exact = tuple(origin for origin in origins if origin == "*" or "*" not in origin)
    patterns = [_origin_regex(origin) for origin in origins if origin != "*" and "*" in origin]
    exposed = tuple(dict.fromkeys([*ALWAYS_EXPOSED, *_listed(cors.get("exposeHeaders"))]))
    return CorsOptions(
        origins=exact,
        origin_pattern="|".join(patterns) or None,
        methods=tuple(m.upper() for m in _listed(cors.get("allowMethods"))) or DEFAULT_METHODS,
        headers=tuple(_listed(cors.get("allowHeaders"))) or DEFAULT_HEADERS,
        exposed=exposed,
        credentials=bool(cors.get("allowCredentials")) and "*" not in exact,
        max_age=round(parse_duration(cors.get("maxAge", DEFAULT_MAX_AGE))),
    )


def cors_middleware(options: CorsOptions | None) -> list[Middleware]:
    """The middleware list of a Starlette app: CORS, or nothing when it is off."""
    if options is None:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=options.origins,
            allow_origin_regex=options.origin_pattern,
            allow_methods=options.methods,
            allow_headers=options.headers,
            allow_credentials=options.credentials,
            expose_headers=options.exposed,
            max_age=options.max_age,
        )
    ]


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _origin_regex(origin: str) -> str:
    """``https://*.example.com`` as a regular expression (``*``: one or more label chars)."""
    return "".join(
        r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*" if part == "*" else re.escape(part)
        for part in re.split(r"(\*)", origin)
    )
