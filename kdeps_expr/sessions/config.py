"""Open a session store from a workflow's ``settings.session`` mapping or from a store URL.

The keys of ``settings.session`` are those of SPEC §8 (``type``, ``path``, ``url``,
``ttl``, ``cleanupInterval``) plus ``keyPrefix`` for Redis and ``schema`` and ``table``
for PostgreSQL. A key that is unknown, or that does not belong to the chosen type (a
``path`` for Redis, a ``url`` for SQLite), is an error rather than something silently
ignored. :func:`read_session_settings` is the one check of the mapping: ``open_store``
runs it, and so does the workflow loader, which places its errors in the YAML file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..durations import parse_duration
from ..errors import StoreError, WorkflowError
from .base import DEFAULT_CLEANUP_INTERVAL, DEFAULT_TTL, Clock, SessionStore
from .memory import MemoryStore
from .postgres import PostgresStore
from .postgres_url import SCHEMES, LocationError, locate
from .redis import DEFAULT_KEY_PREFIX, RedisStore
from .sqlite import SqliteStore
from .urls import redacted

DEFAULT_SQLITE_PATH = ".kdeps/sessions.db"

_COMMON_KEYS = ("type", "ttl", "cleanupInterval")
_TYPE_KEYS = {
    "sqlite": ("path",),
    "memory": (),
    "redis": ("url", "keyPrefix"),
    "postgres": ("url", "schema", "table"),
}
SESSION_TYPES = tuple(_TYPE_KEYS)
SESSION_KEYS = ("type", "path", "url", "ttl", "cleanupInterval", "keyPrefix", "schema", "table")


class SessionSettingError(WorkflowError):
    """A mistake in ``settings.session``; ``key`` names the entry (``None``: the whole map).

    ``at_key`` is true when the key itself is the mistake (unknown, or not for this type),
    so a loader points at the key rather than at its value.
    """

    def __init__(self, message: str, key: str | None = None, *, at_key: bool = False) -> None:
        super().__init__(message)
        self.key = key
        self.at_key = at_key


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """``settings.session`` checked: the store type, where it is, and its durations."""

    kind: str = "sqlite"
    ttl: float = DEFAULT_TTL
    cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL
    path: str = DEFAULT_SQLITE_PATH
    url: str = ""
    key_prefix: str = DEFAULT_KEY_PREFIX
    schema: str | None = None
    table: str | None = None


def _text(config: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value:
        raise SessionSettingError(
            f"settings.session.{key} must be a non-empty string, not {value!r}", key
        )
    return value


def _duration(config: Mapping[str, Any], key: str, default: float) -> float:
    if key not in config:
        return default
    try:
        seconds = parse_duration(config[key])
    except WorkflowError as exc:
        raise SessionSettingError(f"settings.session.{key}: {exc.message}", key) from exc
    if seconds <= 0:
        raise SessionSettingError(
            f"settings.session.{key} must be longer than zero, not {config[key]!r}", key
        )
    return seconds


def read_session_settings(config: Mapping[str, Any] | None) -> SessionSettings:
    """The checked form of ``settings.session``; ``SessionSettingError`` for a mistake.

    ``config`` may be ``None`` or empty: the default is SQLite at ``.kdeps/sessions.db``
    with a ttl of ``30m`` and a cleanup every ``5m``. Nothing is opened or connected.
    """
    config = config or {}
    if not isinstance(config, Mapping):
        raise SessionSettingError(f"settings.session must be a map, not {config!r}")
    kind = config.get("type", "sqlite")
    if not isinstance(kind, str) or kind not in _TYPE_KEYS:
        choices = ", ".join(SESSION_TYPES[:-1]) + " or " + SESSION_TYPES[-1]
        raise SessionSettingError(
            f"settings.session.type: unknown store type {kind!r} (use {choices})", "type"
        )
    allowed = _COMMON_KEYS + _TYPE_KEYS[kind]
    for key in config:
        if key not in SESSION_KEYS:
            known = ", ".join(SESSION_KEYS)
            raise SessionSettingError(
                f"settings.session: unknown key {key!r} (known keys: {known})", key, at_key=True
            )
        if key not in allowed:
            raise SessionSettingError(
                f"settings.session.{key} does not apply to type {kind}", key, at_key=True
            )
    ttl = _duration(config, "ttl", DEFAULT_TTL)
    interval = _duration(config, "cleanupInterval", DEFAULT_CLEANUP_INTERVAL)
    settings = SessionSettings(kind, ttl, interval)
    if kind == "sqlite":
        return SessionSettings(kind, ttl, interval, path=_text(config, "path", DEFAULT_SQLITE_PATH))
    if kind == "redis":
        prefix = _text(config, "keyPrefix", DEFAULT_KEY_PREFIX)
        return SessionSettings(kind, ttl, interval, url=_text(config, "url"), key_prefix=prefix)
    if kind == "postgres":
        url = _text(config, "url")
        schema = _text(config, "schema") if "schema" in config else None
        table = _text(config, "table") if "table" in config else None
        try:
            locate(url, schema=schema, table=table)
        except LocationError as exc:
            raise SessionSettingError(f"settings.session.{exc.key}: {exc.reason}", exc.key) from exc
        return SessionSettings(kind, ttl, interval, url=url, schema=schema, table=table)
    return settings


def open_store(
    config: Mapping[str, Any] | None,
    base_dir: Path,
    clock: Clock = time.time,
    *,
    must_exist: bool = False,
) -> SessionStore:
    """The store ``settings.session`` describes; a relative SQLite path is under ``base_dir``.

    With ``must_exist`` a SQLite file or PostgreSQL table that is not there is an error
    instead of a new store (``kdeps-expr sessions`` inspects stores; it never makes one).
    Raises ``WorkflowError`` for a bad setting (see :func:`read_session_settings`) and
    ``StoreError`` when the store itself cannot be opened.
    """
    settings = read_session_settings(config)
    ttl, interval = settings.ttl, settings.cleanup_interval
    if settings.kind == "memory":
        return MemoryStore(ttl, clock, cleanup_interval=interval)
    if settings.kind == "redis":
        return RedisStore(
            settings.url, ttl, clock, cleanup_interval=interval, key_prefix=settings.key_prefix
        )
    if settings.kind == "postgres":
        return PostgresStore(
            settings.url,
            ttl,
            clock,
            cleanup_interval=interval,
            schema=settings.schema,
            table=settings.table,
            must_exist=must_exist,
        )
    return SqliteStore(
        base_dir / settings.path, ttl, clock, cleanup_interval=interval, must_exist=must_exist
    )


def open_store_url(url: str, clock: Clock = time.time, *, must_exist: bool = False) -> SessionStore:
    """The store at ``url``: ``sqlite:///abs/path.db``, ``sqlite:relative.db``, ``memory:``,
    ``redis://host:port/db``, ``rediss://…`` or ``postgresql://user@host:port/database``
    (``postgres://`` too; ``?schema=…&table=…`` place the table); the ttl is the default
    ``30m``. With ``must_exist`` a SQLite file or PostgreSQL table that is not there is
    an error, as for :func:`open_store`.

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
    if scheme in SCHEMES and rest.startswith("//"):
        return PostgresStore(url, DEFAULT_TTL, clock, must_exist=must_exist)
    raise StoreError(
        f"unsupported store URL {redacted(url)!r} (use sqlite:///abs/path.db, sqlite:relative.db, "
        "memory:, redis://host:port/db or postgresql://user@host:port/database)"
    )
