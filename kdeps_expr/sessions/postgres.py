"""The ``postgres`` session store: one PostgreSQL table, shared by every process that reaches it.

A session is one row: ``id``, ``data`` (the JSON text), ``version``, ``last_used`` and
``expires_at`` (seconds since the epoch by the clock of the process that wrote them, as
SQLite's), with an index on ``expires_at`` for cleanup. The table and its index are
created on first use when missing, under an advisory lock so that processes starting
together do not race; the statements are the named constants below.

Every operation is one autocommit statement, so one round trip: a save is an ``UPDATE``
whose ``WHERE`` holds the version check (a new session is an upsert that replaces only an
expired row), and PostgreSQL's row lock orders concurrent saves of one session. No
transaction stays open while a request runs, so requests on different sessions never
wait for each other.

Connections come from a ``psycopg_pool.ConnectionPool`` opened on first use. A server
that goes away and comes back is used again without a restart: a pooled connection the
server has closed is noticed before use (its socket has something to read while it
should be idle) and the pool is refilled; while the server is unreachable, every
operation tries one direct connection and fails at once with its reason, and the first
that succeeds puts the pool back to work. ``psycopg`` and ``psycopg_pool`` are imported
when a store is opened, so a workflow that does not use PostgreSQL does not load them.
"""

from __future__ import annotations

import hashlib
import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import StoreError
from . import codec
from .base import (
    DEFAULT_CLEANUP_INTERVAL,
    Clock,
    SessionInfo,
    SessionStore,
    Snapshot,
    conflict,
)
from .postgres_url import INDEX_SUFFIX, LocationError, locate, one_line
from .urls import redacted

CONNECT_TIMEOUT = 5
"""Seconds to connect, and to wait for a pooled connection, before giving up."""
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 16
"""Connections per store: the server's default worker threads can each hold one."""
RETIRE_TIMEOUT = 1.0
"""Seconds to wait for the threads of a pool put away in an outage."""
LIST_PAGE_SIZE = 500

BUILD_TABLE = """
    CREATE TABLE IF NOT EXISTS {table} (
        id text COLLATE "C" PRIMARY KEY,
        data text NOT NULL,
        version bigint NOT NULL,
        last_used double precision NOT NULL,
        expires_at double precision NOT NULL
    )
"""
BUILD_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at)"
READ_COMMITTED = "SET default_transaction_isolation = 'read committed'"
"""Run on every new connection: a save relies on READ COMMITTED re-checking its ``WHERE``
on the newest row after waiting for a concurrent save, where REPEATABLE READ or
SERIALIZABLE (a database's or a role's default) would fail the statement instead."""
FIND_TABLE = "SELECT to_regclass(%(table)s) IS NOT NULL, to_regclass(%(index)s) IS NOT NULL"
LOCK_TABLE = "SELECT pg_advisory_xact_lock(%(key)s)"
CHECK = "SELECT 1 FROM {table} LIMIT 0"
LOAD = "SELECT data, version, expires_at FROM {table} WHERE id = %(id)s AND expires_at > %(now)s"
CREATE = """
    INSERT INTO {table} AS stored (id, data, version, last_used, expires_at)
    VALUES (%(id)s, %(data)s, 1, %(now)s, %(expires_at)s)
    ON CONFLICT (id) DO UPDATE SET
        data = excluded.data,
        version = stored.version + 1,
        last_used = excluded.last_used,
        expires_at = excluded.expires_at
    WHERE stored.expires_at <= %(now)s
    RETURNING version
"""
UPDATE = """
    UPDATE {table}
    SET data = %(data)s, version = version + 1, last_used = %(now)s, expires_at = %(expires_at)s
    WHERE id = %(id)s AND version = %(version)s AND expires_at > %(now)s
    RETURNING version
"""
TOUCH = """
    UPDATE {table} SET last_used = %(now)s, expires_at = %(expires_at)s
    WHERE id = %(id)s AND expires_at > %(now)s
"""
DELETE = "DELETE FROM {table} WHERE id = %(id)s RETURNING expires_at > %(now)s"
PURGE = """
    DELETE FROM {table} WHERE id IN (
        SELECT id FROM {table} WHERE expires_at <= %(now)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    )
"""
LIST = """
    SELECT id, last_used, expires_at, data FROM {table}
    WHERE expires_at > %(now)s AND (expires_at, id) > (%(after_expiry)s, %(after_id)s)
    ORDER BY expires_at, id
    LIMIT %(limit)s
"""
_RETURNING_ROWS = frozenset({"check", "load", "create", "update", "delete", "list"})
_STATEMENTS = {
    "check": CHECK,
    "load": LOAD,
    "create": CREATE,
    "update": UPDATE,
    "touch": TOUCH,
    "delete": DELETE,
    "purge": PURGE,
    "list": LIST,
}


def _psycopg() -> tuple[Any, Any]:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise StoreError(
            "session store type postgres needs the psycopg and psycopg-pool packages "
            "(pip install 'psycopg[binary]' psycopg-pool)"
        ) from exc
    return psycopg, psycopg_pool


def _readable(fileno: int) -> bool:
    """Whether the socket ``fileno`` has something to read right now."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fileno], [], [], 0)[0])


def _read_committed(connection: Any) -> None:
    connection.execute(READ_COMMITTED)


class PostgresStore(SessionStore):
    """Sessions in a table of the PostgreSQL database at ``url``.

    ``url`` is a libpq URL (``postgresql://user:password@host:port/database?sslmode=…``);
    ``schema`` and ``table`` place the table (default ``kdeps_sessions`` on the
    connection's ``search_path``), so several workflows or test runs can share one
    database. With ``must_exist`` a missing table is an error instead of being created.
    """

    kind = "postgres"

    def __init__(
        self,
        url: str,
        ttl: float,
        clock: Clock = time.time,
        *,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
        schema: str | None = None,
        table: str | None = None,
        must_exist: bool = False,
    ) -> None:
        super().__init__(ttl, clock, cleanup_interval=cleanup_interval)
        psycopg, psycopg_pool = _psycopg()
        self.url = redacted(url)
        try:
            location = locate(url, schema=schema, table=table)
        except LocationError as exc:
            raise StoreError(f"session store {self.url}: {exc.reason}") from exc
        self.schema, self.table = location.schema, location.table
        self._location = location
        self._psycopg = psycopg
        self._undefined_table: type[Exception] = psycopg.errors.UndefinedTable
        names = [location.schema] if location.schema else []
        table_name = psycopg.sql.Identifier(*names, location.table)
        index_name = psycopg.sql.Identifier(location.table + INDEX_SUFFIX)
        self._sql = {
            name: psycopg.sql.SQL(text).format(table=table_name, index=index_name).as_string()
            for name, text in {
                **_STATEMENTS,
                "build_table": BUILD_TABLE,
                "build_index": BUILD_INDEX,
            }.items()
        }
        self._names = {
            "table": table_name.as_string(),
            "index": psycopg.sql.Identifier(*names, location.table + INDEX_SUFFIX).as_string(),
        }
        self._must_exist = must_exist
        self._ready = False
        """Whether the table is known to exist (it is made on first use)."""
        self._ready_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._closed = False
        self._down: str | None = None
        """Why the server was unreachable at the last try; ``None`` while it answers."""
        pool_logger = logging.getLogger("psycopg.pool")
        if pool_logger.level == logging.NOTSET:
            pool_logger.setLevel(logging.WARNING)  # it logs every borrowed connection at INFO
        self._pool_class = psycopg_pool.ConnectionPool
        self._pool_unavailable: tuple[type[Exception], ...] = (
            psycopg_pool.PoolTimeout,
            psycopg_pool.PoolClosed,
        )
        self._pool = self._new_pool()

    def _connect_options(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
            "fallback_application_name": "kdeps_expr sessions",
        }

    def _new_pool(self) -> Any:
        """A pool for this store, not yet open (so not yet connecting)."""
        return self._pool_class(
            self._location.conninfo,
            min_size=POOL_MIN_SIZE,
            max_size=POOL_MAX_SIZE,
            kwargs=self._connect_options(),
            configure=_read_committed,
            open=False,
            timeout=CONNECT_TIMEOUT,
            name=f"kdeps-sessions-{self._location.shown}",
        )

    # -- connections -----------------------------------------------------------------------
    #
    # While the server answers, statements run on pooled connections. When it stops
    # answering, the pool is put away (so nothing keeps reconnecting in the background)
    # and each statement tries one direct connection, failing at once with the reason;
    # the first that connects opens a fresh pool.

    def _unreachable(self, reason: str) -> StoreError:
        return StoreError(f"session store {self.url} is unreachable: {reason}")

    def _connect(self) -> Any:
        """A new connection outside the pool; ``StoreError`` saying why there is none."""
        try:
            connection = self._psycopg.connect(self._location.conninfo, **self._connect_options())
            _read_committed(connection)
        except self._psycopg.Error as exc:
            reason = one_line(str(exc))
            self._outage(reason)
            raise self._unreachable(reason) from exc
        if self._down is not None:
            self._recovered()
        return connection

    def _outage(self, reason: str) -> None:
        """The server is unreachable: put the pool away for a fresh one, opened later."""
        retired = None
        with self._pool_lock:
            if self._down is None:
                retired, self._pool = self._pool, self._new_pool()
            self._down = reason
        if retired is not None:
            retired.close(timeout=RETIRE_TIMEOUT)  # borrowed connections close when given back

    def _recovered(self) -> None:
        """The server answers again: open the fresh pool."""
        with self._pool_lock:
            if self._down is not None and not self._closed:
                self._down = None
                self._pool.open()

    def _prepare(self) -> None:
        """Create the table and its index unless they exist, then open the pool."""
        with self._ready_lock:
            if self._ready:
                return
            connection = self._connect()
            try:
                self._build(connection)
            except self._psycopg.Error as exc:
                raise StoreError(f"session store {self.url}: {one_line(str(exc))}") from exc
            finally:
                connection.close()
            with self._pool_lock:
                if not self._closed:
                    self._pool.open()
            self._ready = True

    def _build(self, connection: Any) -> None:
        (table_found, index_found), *_ = connection.execute(FIND_TABLE, self._names).fetchall()
        if table_found and index_found:
            return
        if self._must_exist and not table_found:
            raise StoreError(
                f"no session store at {self.url} (table {self._location.shown}): "
                "nothing has been stored there"
            )
        name = f"kdeps_expr sessions {self._names['table']}".encode()
        key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
        with connection.transaction():
            connection.execute(LOCK_TABLE, {"key": key})
            connection.execute(self._sql["build_table"])
            connection.execute(self._sql["build_index"])

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection for one statement: pooled while the server answers, else direct."""
        if self._closed:
            raise StoreError(f"session store {self.url} is closed")
        if not self._ready:
            self._prepare()
        pool = self._pool
        connection = None if self._down is not None else self._pooled(pool)
        if connection is not None:
            try:
                yield connection
            finally:
                pool.putconn(connection)
            return
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    def _pooled(self, pool: Any) -> Any | None:
        """A live connection of ``pool``, or ``None`` when a direct one should be tried."""
        try:
            connection = pool.getconn()
        except self._pool_unavailable:  # none free in time, or the pool was put away
            return None
        if connection.closed or _readable(connection.pgconn.socket):
            # An idle connection has nothing to read unless the server closed it (it went
            # away, restarted or failed over): so have, most likely, the other idle ones.
            connection.close()
            pool.putconn(connection)
            pool.drain()
            return None
        return connection

    def _run(
        self, name: str, params: dict[str, Any], *, repeatable: bool = True
    ) -> tuple[list[Any], int]:
        """Run one statement; its rows and its row count.

        A statement whose connection is lost on the way is run once more when
        ``repeatable`` (running it twice does what running it once does); a save is not,
        since the first may have been committed before the connection went. A table that
        disappeared (a server restored empty) is created again and the statement re-run.
        """
        query = self._sql[name]
        for attempt in (1, 2):
            connection: Any = None
            try:
                with self._connection() as connection:
                    cursor = connection.execute(query, params)
                    rows = cursor.fetchall() if name in _RETURNING_ROWS else []
                    return rows, cursor.rowcount
            except self._undefined_table as exc:
                self._ready = False
                if attempt == 2 or self._must_exist:
                    raise StoreError(f"session store {self.url}: {one_line(str(exc))}") from exc
            except self._psycopg.OperationalError as exc:
                if connection is None or not connection.broken:
                    raise StoreError(f"session store {self.url}: {one_line(str(exc))}") from exc
                reason = one_line(str(exc))
                self._outage(reason)
                if attempt == 2 or not repeatable:
                    raise self._unreachable(reason) from exc
            except self._psycopg.Error as exc:
                raise StoreError(f"session store {self.url}: {one_line(str(exc))}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the contract ----------------------------------------------------------------------

    def load(self, session_id: str) -> Snapshot | None:
        rows, _ = self._run("load", {"id": session_id, "now": self.clock()})
        if not rows:
            return None
        text, version, expires_at = rows[0]
        return Snapshot(codec.decode(session_id, text), int(version), float(expires_at))

    def save(self, session_id: str, data: dict[str, Any], version: int) -> int:
        now = self.clock()
        params = {
            "id": session_id,
            "data": codec.encode(session_id, data),
            "now": now,
            "expires_at": now + self.ttl,
            "version": version,
        }
        rows, _ = self._run("update" if version else "create", params, repeatable=False)
        if not rows:
            raise conflict(session_id, version)
        return int(rows[0][0])

    def touch(self, session_id: str) -> bool:
        now = self.clock()
        _, count = self._run("touch", {"id": session_id, "now": now, "expires_at": now + self.ttl})
        return count == 1

    def delete(self, session_id: str) -> bool:
        rows, _ = self._run("delete", {"id": session_id, "now": self.clock()})
        return bool(rows and rows[0][0])

    def purge_batch(self, limit: int) -> int:
        _, count = self._run("purge", {"now": self.clock(), "limit": limit})
        return count

    def sessions(self) -> Iterator[SessionInfo]:
        now = self.clock()
        after: tuple[float, str] = (now, "")
        while True:
            params = {"now": now, "after_expiry": after[0], "after_id": after[1]}
            rows, _ = self._run("list", {**params, "limit": LIST_PAGE_SIZE})
            for session_id, last_used, expires_at, text in rows:
                keys = codec.key_count(session_id, text)
                yield SessionInfo(session_id, float(last_used), float(expires_at), keys)
            if len(rows) < LIST_PAGE_SIZE:
                return
            after = (rows[-1][2], rows[-1][0])

    def check(self) -> None:
        """Reach the server, creating the table on first use: ``StoreError`` when it cannot."""
        self._run("check", {})

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            self._pool.close()
