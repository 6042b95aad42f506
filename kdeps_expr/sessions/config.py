"""Open a session store from a workflow's ``settings.session`` mapping or from a store URL.

The keys of ``settings.session`` are those of SPEC §8 (``type``, ``path``, ``url``,
``ttl``, ``cleanupInterval``) plus ``keyPrefix`` for Redis and ``schema`` and ``table``
for PostgreSQL, and the two of SPEC §7 that the runner and the server read (``renewOn``:
:func:`renew_keys`; ``cookieName``: :func:`cookie_name`). A key that is unknown, or that
does not belong to the chosen type (a
``path`` for Redis, a ``url`` for SQLite), is an error rather than something silently
ignored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..durations import setting_duration
from ..errors import SettingError, StoreError, WorkflowError
from .base import DEFAULT_CLEANUP_INTERVAL, DEFAULT_TTL, Clock, SessionStore
from .memory import MemoryStore
from .postgres import PostgresStore
from .postgres_url import SCHEMES, LocationError, locate
from .redis import DEFAULT_KEY_PREFIX, RedisStore, check_redis_ttl, check_redis_url
from .sqlite import SqliteStore
from .urls import redacted

DEFAULT_SQLITE_PATH = ".kdeps/sessions.db"
SQLITE_IN_MEMORY = ":memory:"
"""The SQLite path that means an in-memory store (SPEC §8, as in KDeps): a memory store."""
DEFAULT_COOKIE_NAME = "kdeps_session_id"

_COMMON_KEYS = ("type", "ttl", "cleanupInterval", "renewOn", "cookieName")
_TYPE_KEYS = {
    "sqlite": ("path",),
    "memory": (),
    "redis": ("url", "keyPrefix"),
    "postgres": ("url", "schema", "table"),
}
_ALL_KEYS = (
    "type",
    "path",
    "url",
    "ttl",
    "cleanupInterval",
    "keyPrefix",
    "schema",
    "table",
    "renewOn",
    "cookieName",
)
_COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""RFC 6265 ``cookie-name``: an RFC 9110 ``token``."""


@dataclass(frozen=True)
class StoreSettings:
    """``settings.session`` checked and read: what :func:`open_store` opens."""

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
        raise SettingError(
            f"settings.session.{key} must be a non-empty string, not {value!r}", ("session", key)
        )
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


def _duration(config: Mapping[str, Any], key: str, default: float) -> float:
    try:
        return setting_duration(config, key, "settings.session", default)
    except WorkflowError as exc:
        raise SettingError(exc.message, ("session", key)) from exc


def store_settings(config: Mapping[str, Any] | None) -> StoreSettings:
    """Check ``settings.session`` as :func:`open_store` would, without opening anything.

    ``kdeps-expr check`` and the loader call it, so a setting that ``run``, ``serve`` or
    ``sessions`` would refuse is refused first, at its place in the file. Raises
    :class:`~kdeps_expr.errors.SettingError` naming the key (``WorkflowError`` for a
    ``settings.session`` that is not a map).
    """
    config = config or {}
    if not isinstance(config, Mapping):
        raise WorkflowError(f"settings.session must be a map, not {config!r}")
    kind = config.get("type", "sqlite")
    if not isinstance(kind, str) or kind not in _TYPE_KEYS:
        raise SettingError(
            f"settings.session.type: unknown store type {kind!r} "
            "(use sqlite, memory, redis or postgres)",
            ("session", "type"),
        )
    allowed = _COMMON_KEYS + _TYPE_KEYS[kind]
    for key in config:
        if key not in _ALL_KEYS:
            known = ", ".join(_ALL_KEYS)
            raise SettingError(
                f"settings.session: unknown key {key!r} (known keys: {known})",
                ("session", key),
                on_key=True,
            )
        if key not in allowed:
            raise SettingError(
                f"settings.session.{key} does not apply to type {kind}",
                ("session", key),
                on_key=True,
            )
    ttl = _duration(config, "ttl", DEFAULT_TTL)
    interval = _duration(config, "cleanupInterval", DEFAULT_CLEANUP_INTERVAL)
    for key, read in (("renewOn", renew_keys), ("cookieName", cookie_name)):
        try:
            read(config)
        except WorkflowError as exc:
            raise SettingError(exc.message, ("session", key)) from exc
    if kind == "redis":
        url = _text(config, "url")
        try:
            check_redis_url(url)
        except StoreError as exc:
            raise SettingError(f"settings.session.url: {exc.message}", ("session", "url")) from exc
        try:
            check_redis_ttl(ttl)
        except StoreError as exc:
            raise SettingError(f"settings.session.ttl: {exc.message}", ("session", "ttl")) from exc
        prefix = _text(config, "keyPrefix", DEFAULT_KEY_PREFIX)
        return StoreSettings(kind, ttl, interval, url=url, key_prefix=prefix)
    if kind == "postgres":
        url = _text(config, "url")
        schema = _text(config, "schema") if "schema" in config else None
        table = _text(config, "table") if "table" in config else None
        try:
            locate(url, schema=schema, table=table)
        except LocationError as exc:
            raise SettingError(
                f"settings.session.{exc.key}: {exc.reason}", ("session", exc.key)
            ) from exc
        return StoreSettings(kind, ttl, interval, url=url, schema=schema, table=table)
    if kind == "sqlite":
        path = _text(config, "path", DEFAULT_SQLITE_PATH)
        if path == SQLITE_IN_MEMORY:  # KDeps' in-memory database: sessions live in the process
            return StoreSettings("memory", ttl, interval, path=path)
        return StoreSettings(kind, ttl, interval, path=path)
    return StoreSettings(kind, ttl, interval)


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

    ``config`` may be ``None`` or empty: the default is SQLite at ``.kdeps/sessions.db``
    with a ttl of ``30m`` and a cleanup every ``5m``. Raises ``WorkflowError`` for a bad
    setting (:func:`store_settings`) and ``StoreError`` when the store itself cannot be
    opened.
    """
    settings = store_settings(config)
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
    ``redis://host:port/db``, ``rediss://…`` (``?keyPrefix=app:`` names the key prefix, as
    ``settings.session.keyPrefix`` does) or ``postgresql://user@host:port/database``
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
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = next((v for k, v in reversed(query) if k == "keyPrefix"), DEFAULT_KEY_PREFIX)
        if not prefix:
            raise StoreError(f"store URL {redacted(url)!r}: keyPrefix must not be empty")
        others = urlencode([(k, v) for k, v in query if k != "keyPrefix"])
        url = urlunsplit(parts._replace(query=others))
        return RedisStore(url, DEFAULT_TTL, clock, key_prefix=prefix)
    if scheme in SCHEMES and rest.startswith("//"):
        return PostgresStore(url, DEFAULT_TTL, clock, must_exist=must_exist)
    raise StoreError(
        f"unsupported store URL {redacted(url)!r} (use sqlite:///abs/path.db, sqlite:relative.db, "
        "memory:, redis://host:port/db or postgresql://user@host:port/database)"
    )
