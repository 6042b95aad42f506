"""Open a session store from a workflow's ``settings.session`` mapping or from a store URL.

The keys of ``settings.session`` are those of SPEC §8 (``type``, ``path``, ``url``,
``ttl``, ``cleanupInterval``) plus ``keyPrefix`` for Redis. A key that is unknown, or
that does not belong to the chosen type (a ``path`` for Redis, a ``url`` for SQLite), is
an error rather than something silently ignored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..durations import parse_duration
from ..errors import StoreError, WorkflowError
from .base import DEFAULT_CLEANUP_INTERVAL, DEFAULT_TTL, Clock, SessionStore
from .memory import MemoryStore
from .redis import DEFAULT_KEY_PREFIX, RedisStore, redacted
from .sqlite import SqliteStore

DEFAULT_SQLITE_PATH = ".kdeps/sessions.db"

_COMMON_KEYS = ("type", "ttl", "cleanupInterval")
_TYPE_KEYS = {"sqlite": ("path",), "memory": (), "redis": ("url", "keyPrefix")}
_ALL_KEYS = ("type", "path", "url", "ttl", "cleanupInterval", "keyPrefix")


def _text(config: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value:
        raise WorkflowError(f"settings.session.{key} must be a non-empty string, not {value!r}")
    return value


def _duration(config: Mapping[str, Any], key: str, default: float) -> float:
    if key not in config:
        return default
    try:
        seconds = parse_duration(config[key])
    except WorkflowError as exc:
        raise WorkflowError(f"settings.session.{key}: {exc.message}") from exc
    if seconds <= 0:
        raise WorkflowError(f"settings.session.{key} must be longer than zero, not {config[key]!r}")
    return seconds


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
    ttl = _duration(config, "ttl", DEFAULT_TTL)
    interval = _duration(config, "cleanupInterval", DEFAULT_CLEANUP_INTERVAL)
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
    ``redis://host:port/db`` or ``rediss://…``; the ttl is the default ``30m``. With
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
        return RedisStore(url, DEFAULT_TTL, clock)
    raise StoreError(
        f"unsupported store URL {redacted(url)!r} (use sqlite:///abs/path.db, sqlite:relative.db, "
        "memory: or redis://host:port/db)"
    )
