"""Open a session store from a workflow's ``settings.session`` mapping or from a store URL.

The keys of ``settings.session`` are those of SPEC §8 (``type``, ``path``, ``url``,
``ttl``, ``cleanupInterval``) plus ``keyPrefix`` for Redis, and the two of SPEC §7 that
the runner and the server read (``renewOn``: :func:`renew_keys`; ``cookieName``:
:func:`cookie_name`). A key that is unknown, or that does not belong to the chosen type (a
``path`` for Redis, a ``url`` for SQLite), is an error rather than something silently
ignored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..durations import setting_duration
from ..errors import StoreError, WorkflowError
from .base import DEFAULT_CLEANUP_INTERVAL, DEFAULT_TTL, Clock, SessionStore
from .memory import MemoryStore
from .redis import DEFAULT_KEY_PREFIX, RedisStore, redacted
from .sqlite import SqliteStore

DEFAULT_SQLITE_PATH = ".kdeps/sessions.db"
DEFAULT_COOKIE_NAME = "kdeps_session_id"

_COMMON_KEYS = ("type", "ttl", "cleanupInterval", "renewOn", "cookieName")
_TYPE_KEYS = {"sqlite": ("path",), "memory": (), "redis": ("url", "keyPrefix")}
_ALL_KEYS = ("type", "path", "url", "ttl", "cleanupInterval", "keyPrefix", "renewOn", "cookieName")
_COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""RFC 6265 ``cookie-name``: an RFC 9110 ``token``."""


def _text(config: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value:
        raise WorkflowError(f"settings.session.{key} must be a non-empty string, not {value!r}")
    return value


def renew_keys(config: Mapping[str, Any]) -> frozenset[str]:
    """``settings.session.renewOn``: the session keys whose change renews the session id
    (SPEC §7); a list of non-empty strings (one string stands for a list of one), empty by
    default."""
    keys = config.get("renewOn", [])
    keys = [keys] if isinstance(keys, str) else keys
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise WorkflowError(f"settings.session.renewOn must be a list of key names, not {keys!r}")
    return frozenset(keys)


def cookie_name(config: Mapping[str, Any]) -> str:
    """``settings.session.cookieName``: the session cookie's name (SPEC §7), an HTTP token;
    default ``kdeps_session_id``."""
    name = config.get("cookieName", DEFAULT_COOKIE_NAME)
    if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
        raise WorkflowError(
            f"settings.session.cookieName must be a cookie name (letters, digits, "
            f"!#$%&'*+.^_`|~-), not {name!r}"
        )
    return name


def open_store(
    config: Mapping[str, Any] | None,
    base_dir: Path,
    clock: Clock = time.time,
    *,
    must_exist: bool = False,
) -> SessionStore:
    """The store ``settings.session`` describes; a relative SQLite path is under ``base_dir``.

    With ``must_exist`` a SQLite file that is not there is an error instead of a new store
    (``kdeps-expr sessions`` inspects stores; it never makes one).

    ``config`` may be ``None`` or empty: the default is SQLite at ``.kdeps/sessions.db``
    with a ttl of ``30m`` and a cleanup every ``5m``. Raises ``WorkflowError`` for a bad
    setting and ``StoreError`` when the store itself cannot be opened.
    """
    config = config or {}
    if not isinstance(config, Mapping):
        raise WorkflowError(f"settings.session must be a map, not {config!r}")
    kind = config.get("type", "sqlite")
    if not isinstance(kind, str) or kind not in _TYPE_KEYS:
        raise WorkflowError(
            f"settings.session.type: unknown store type {kind!r} (use sqlite, memory or redis)"
        )
    allowed = _COMMON_KEYS + _TYPE_KEYS[kind]
    for key in config:
        if key not in _ALL_KEYS:
            known = ", ".join(_ALL_KEYS)
            raise WorkflowError(f"settings.session: unknown key {key!r} (known keys: {known})")
        if key not in allowed:
            raise WorkflowError(f"settings.session.{key} does not apply to type {kind}")
    ttl = setting_duration(config, "ttl", "settings.session", DEFAULT_TTL)
    interval = setting_duration(
        config, "cleanupInterval", "settings.session", DEFAULT_CLEANUP_INTERVAL
    )
    if kind == "memory":
        return MemoryStore(ttl, clock, cleanup_interval=interval)
    if kind == "redis":
        url = _text(config, "url")
        prefix = _text(config, "keyPrefix", DEFAULT_KEY_PREFIX)
        return RedisStore(url, ttl, clock, cleanup_interval=interval, key_prefix=prefix)
    path = Path(_text(config, "path", DEFAULT_SQLITE_PATH))
    return SqliteStore(
        base_dir / path, ttl, clock, cleanup_interval=interval, must_exist=must_exist
    )


def open_store_url(url: str, clock: Clock = time.time, *, must_exist: bool = False) -> SessionStore:
    """The store at ``url``: ``sqlite:///abs/path.db``, ``sqlite:relative.db``, ``memory:``,
    ``redis://host:port/db`` or ``rediss://…`` (``?keyPrefix=app:`` names the key prefix,
    as ``settings.session.keyPrefix`` does); the ttl is the default ``30m``. With
    ``must_exist`` a SQLite file that is not there is an error, as for :func:`open_store`.

    Raises ``StoreError`` for a URL of any other form.
    """
    scheme, _, rest = url.partition(":")
    if scheme == "sqlite" and rest.startswith("///"):
        return SqliteStore(rest[2:], DEFAULT_TTL, clock, must_exist=must_exist)
    if scheme == "sqlite" and rest and not rest.startswith("/"):
        return SqliteStore(rest, DEFAULT_TTL, clock, must_exist=must_exist)
    if url == "memory:":
        return MemoryStore(DEFAULT_TTL, clock)
    if url.startswith(("redis://", "rediss://")):
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = next((v for k, v in reversed(query) if k == "keyPrefix"), DEFAULT_KEY_PREFIX)
        if not prefix:
            raise StoreError(f"store URL {redacted(url)!r}: keyPrefix must not be empty")
        rest = urlencode([(k, v) for k, v in query if k != "keyPrefix"])
        url = urlunsplit(parts._replace(query=rest))
        return RedisStore(url, DEFAULT_TTL, clock, key_prefix=prefix)
    raise StoreError(
        f"unsupported store URL {redacted(url)!r} (use sqlite:///abs/path.db, sqlite:relative.db, "
        "memory: or redis://host:port/db)"
    )
