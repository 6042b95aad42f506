"""Database connections: ``settings.sqlConnections``, KDeps' URLs, pools opened once.

``settings.sqlConnections`` names the databases (KDeps' resources/sql.md)::

    settings:
      sqlConnections:
        main:
          connection: "postgres://user:pass@localhost:5432/myapp"
          pool: {maxConnections: 10, minConnections: 2, maxIdleTime: 30s, connectionTimeout: 5s}

``connection`` is KDeps' URL: ``postgres://`` / ``postgresql://`` (run by psycopg),
``sqlite:///relative.db`` (relative to the workflow's folder), ``sqlite:////abs.db``,
``sqlite:///:memory:``, ``file:data.db``; any other SQLAlchemy URL
(``mysql+pymysql://…``) is used as written, with its driver installed separately.
Each distinct URL and pool gets one SQLAlchemy engine (a pool of connections) per
process, shared by every resource and thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, pool
from sqlalchemy.engine import URL, Engine, make_url

from ...durations import parse_duration
from ...errors import WorkflowError

_POOL_KEYS = {"maxConnections", "minConnections", "maxIdleTime", "connectionTimeout"}
_MEMORY = (None, "", ":memory:")


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """``pool``: connections at most, kept idle (accepted; SQLAlchemy opens on demand),
    recycled after ``max_idle_time`` seconds, waited for at most ``connection_timeout``."""

    max_connections: int = 10
    min_connections: int = 2
    max_idle_time: float = 300.0
    connection_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class SqlConnection:
    """One database: its SQLAlchemy URL (holding any password: never show it) and pool.

    ``shown`` is what messages say: the connection's name, or the URL without password.
    """

    url: str
    pool: PoolSettings = PoolSettings()
    shown: str = ""

    @property
    def dialect(self) -> str:
        """``postgresql``, ``sqlite``, ``mysql``…"""
        return make_url(self.url).get_backend_name()


def sql_connections(settings: Any, base_dir: Path) -> dict[str, SqlConnection]:
    """``settings.sqlConnections`` read; a :class:`WorkflowError` naming the bad key."""
    if settings is None:
        return {}
    where = "settings.sqlConnections"
    if not isinstance(settings, Mapping):
        raise WorkflowError(f"{where} must be a map of names to connections")
    connections = {}
    for name, entry in settings.items():
        path = f"{where}.{name}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("connection"), str):
            raise WorkflowError(f"{path} needs a connection (a database URL)")
        unknown = sorted(set(entry) - {"connection", "pool"})
        if unknown:
            raise WorkflowError(f"{path}: unknown key {unknown[0]!r} (connection, pool)")
        pool_settings = pool_of(entry.get("pool"), f"{path}.pool")
        connections[str(name)] = sql_connection(
            entry["connection"], base_dir, pool_settings, shown=str(name), where=path
        )
    return connections


def pool_of(value: Any, where: str) -> PoolSettings:
    """A ``pool`` block read (``None``: the defaults)."""
    if value is None:
        return PoolSettings()
    if not isinstance(value, Mapping):
        raise WorkflowError(f"{where} must be a map")
    unknown = sorted(set(value) - _POOL_KEYS)
    if unknown:
        raise WorkflowError(
            f"{where}: unknown key {unknown[0]!r} ({', '.join(sorted(_POOL_KEYS))})"
        )
    defaults = PoolSettings()
    most = _count(value, "maxConnections", defaults.max_connections, 1, where)
    least = _count(value, "minConnections", defaults.min_connections, 0, where)
    idle = value.get("maxIdleTime")
    wait = value.get("connectionTimeout")
    try:
        return PoolSettings(
            max_connections=most,
            min_connections=least,
            max_idle_time=defaults.max_idle_time if idle is None else parse_duration(idle),
            connection_timeout=(
                defaults.connection_timeout if wait is None else parse_duration(wait)
            ),
        )
    except WorkflowError as exc:
        raise WorkflowError(f"{where}: {exc.message}") from None


def _count(value: Mapping[str, Any], key: str, default: int, least: int, where: str) -> int:
    number = value.get(key, default)
    if isinstance(number, bool) or not isinstance(number, int) or number < least:
        raise WorkflowError(f"{where}.{key} must be a whole number of at least {least}")
    return number


def sql_connection(
    text: str,
    base_dir: Path,
    pool_settings: PoolSettings | None = None,
    *,
    shown: str | None = None,
    where: str = "connection",
) -> SqlConnection:
    """A KDeps connection URL as a :class:`SqlConnection` (inline ``sql.connection`` too)."""
    try:
        url = _engine_url(text.strip(), base_dir)
    except (sqlalchemy.exc.ArgumentError, ValueError) as exc:
        raise WorkflowError(f"{where}: not a database URL: {_first_line(exc)}") from None
    return SqlConnection(
        url=url.render_as_string(hide_password=False),
        pool=pool_settings or PoolSettings(),
        shown=shown or url.render_as_string(hide_password=True),
    )


def _engine_url(text: str, base_dir: Path) -> URL:
    scheme = text.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        return make_url("postgresql+psycopg:" + text.split(":", 1)[1])
    if scheme == "file":  # KDeps' go-sqlite3 form: file:data.db?mode=…
        path = text[len("file:") :].split("?", 1)[0]
        text = "sqlite:///" + path
    url = make_url(text)
    if url.get_backend_name() == "sqlite" and url.database not in _MEMORY:
        database = Path(url.database or "")
        if not database.is_absolute():
            url = url.set(database=str(base_dir / database))
    return url


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0]


def in_memory(connection: SqlConnection) -> bool:
    """True for an SQLite database that lives in the process (``sqlite:///:memory:``)."""
    url = make_url(connection.url)
    return url.get_backend_name() == "sqlite" and url.database in _MEMORY


class SqlPools:
    """One SQLAlchemy engine per connection (URL and pool), made on first use, thread-safe.

    An in-memory SQLite database is one connection shared by every thread, taken in turn.
    """

    def __init__(self) -> None:
        self._engines: dict[SqlConnection, tuple[Engine, threading.Lock | None]] = {}
        self._lock = threading.Lock()

    def engine(self, connection: SqlConnection) -> Engine:
        """The engine of ``connection``."""
        return self._entry(connection)[0]

    @contextmanager
    def turn(self, connection: SqlConnection) -> Iterator[Engine]:
        """The engine of ``connection``, held alone while the block runs when it must be."""
        engine, lock = self._entry(connection)
        with lock if lock is not None else nullcontext():
            yield engine

    def _entry(self, connection: SqlConnection) -> tuple[Engine, threading.Lock | None]:
        entry = self._engines.get(connection)
        if entry is None:
            with self._lock:
                entry = self._engines.get(connection)
                if entry is None:
                    lock = threading.Lock() if in_memory(connection) else None
                    entry = self._engines[connection] = (_create(connection), lock)
        return entry

    def close(self) -> None:
        """Dispose of every engine (closing their pooled connections)."""
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine, _ in engines:
            engine.dispose()


POOLS = SqlPools()
"""The pools requests use unless given others."""


def _create(connection: SqlConnection) -> Engine:
    url = make_url(connection.url)
    settings = connection.pool
    if url.get_backend_name() != "sqlite":
        arguments: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            arguments["connect_timeout"] = max(1, math.ceil(settings.connection_timeout))
        return sqlalchemy.create_engine(
            url,
            pool_size=settings.max_connections,
            max_overflow=0,
            pool_timeout=settings.connection_timeout,
            pool_recycle=int(settings.max_idle_time) or -1,
            pool_pre_ping=True,
            connect_args=arguments,
        )
    if in_memory(connection):
        engine = sqlalchemy.create_engine(
            url, poolclass=pool.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = sqlalchemy.create_engine(
            url,
            pool_size=settings.max_connections,
            max_overflow=0,
            pool_timeout=settings.connection_timeout,
            connect_args={"timeout": settings.connection_timeout, "check_same_thread": False},
        )
    _transactional(engine)
    return engine


def _transactional(engine: Engine) -> None:
    """SQLite's driver begins transactions late and commits DDL on its own; take over, so a
    transaction holds every statement of an action (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
