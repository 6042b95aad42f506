"""Test support for the session stores: one way to open, age and inspect every backend.

The store tests are written once and run against each backend through :class:`Backend`.
SQLite and memory stores run on a :class:`FakeClock`, so their expiry tests take no time;
Redis expires keys on its own clock, so its backend uses the real clock and sleeps.
PostgreSQL compares the expiry stored in its table with the store's clock, as SQLite does,
so it runs on a fake clock too. The Redis tests need the server at ``REDIS_URL`` and the
PostgreSQL tests the database at ``POSTGRES_URL``: without them they are skipped, except
under ``CI=true``, where they fail. Each PostgreSQL backend works in a schema of its own,
dropped at the end, so tests never see each other's sessions.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql

from kdeps_expr.sessions import MemoryStore, PostgresStore, RedisStore, SessionStore, SqliteStore

REDIS_URL = os.environ.get("KDEPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "KDEPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("memory", "sqlite", "redis", "postgres")
SHARED_BACKENDS = ("sqlite", "redis", "postgres")


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def require_redis() -> redis.Redis:
    """A client of the test Redis; skips the test (fails it under ``CI=true``) without one."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return client


def require_postgres() -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to the test database; skips the test (fails it under
    ``CI=true``) without one."""
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2)
    except psycopg.Error as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def postgres_schema() -> Iterator[tuple[psycopg.Connection[tuple[Any, ...]], str]]:
    """A connection to the test database and a new schema of its own, dropped at the end."""
    connection = require_postgres()
    schema = f"kdeps_test_{uuid.uuid4().hex}"
    connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield connection, schema
    finally:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        connection.close()


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


@dataclass
class Backend:
    """One backend under test: ``make`` opens stores on the same sessions, ``advance`` ages them."""

    name: str
    folder: Path
    clock: Callable[[], float]
    advance: Callable[[float], None]
    redis_client: redis.Redis | None = None
    key_prefix: str = ""
    postgres: psycopg.Connection[tuple[Any, ...]] | None = None
    schema: str = ""
    stores: list[SessionStore] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.folder / "sessions.db"

    def make(self, ttl: float = 60.0) -> SessionStore:
        """A new store object; two stores of one backend share sessions (except memory)."""
        store: SessionStore
        if self.name == "memory":
            store = MemoryStore(ttl, self.clock)
        elif self.name == "sqlite":
            store = SqliteStore(self.db_path, ttl, self.clock)
        elif self.name == "postgres":
            store = PostgresStore(POSTGRES_URL, ttl, self.clock, schema=self.schema)
        else:
            store = RedisStore(REDIS_URL, ttl, self.clock, key_prefix=self.key_prefix)
        self.stores.append(store)
        return store

    def raw(self, store: SessionStore, session_id: str) -> object:
        """Everything stored for one session, as the backend holds it."""
        if self.name == "sqlite":
            with sqlite3.connect(self.db_path) as connection:
                query = "SELECT * FROM sessions WHERE id = ?"
                return connection.execute(query, (session_id,)).fetchall()
        if self.name == "redis":
            assert self.redis_client is not None
            return self.redis_client.hgetall(self.key_prefix + session_id)
        if self.name == "postgres":
            if self.sql(
                sql.SQL("SELECT to_regclass(%s) IS NULL"), (f"{self.schema}.kdeps_sessions",)
            )[0][0]:
                return []  # the stores have not used it yet: nothing stored
            query = sql.SQL("SELECT * FROM {} WHERE id = %s").format(self.table)
            return self.sql(query, (session_id,))
        listed = [info for info in store.sessions() if info.session_id == session_id]
        return store.load(session_id), listed

    def corrupt(self, session_id: str, data: str) -> None:
        """Store ``data`` as the raw data text of ``session_id``, version 1, live for a minute."""
        now = self.clock()
        if self.name == "sqlite":
            with sqlite3.connect(self.db_path) as connection:
                connection.execute(
                    "INSERT OR REPLACE INTO sessions VALUES (?, ?, 1, ?, ?)",
                    (session_id, data, now, now + 60),
                )
        elif self.name == "postgres":
            query = sql.SQL(
                "INSERT INTO {} VALUES (%s, %s, 1, %s, %s) ON CONFLICT (id) DO UPDATE SET "
                "data = excluded.data, version = 1, last_used = excluded.last_used, "
                "expires_at = excluded.expires_at"
            ).format(self.table)
            self.sql(query, (session_id, data, now, now + 60))
        else:
            assert self.redis_client is not None
            key = self.key_prefix + session_id
            self.redis_client.hset(key, mapping={"d": data, "v": 1, "u": now})
            self.redis_client.pexpire(key, 60_000)

    @property
    def table(self) -> sql.Identifier:
        """The PostgreSQL table of the stores, in this backend's schema."""
        return sql.Identifier(self.schema, "kdeps_sessions")

    def sql(self, query: sql.Composable, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run ``query`` on the test database; its rows (none for a statement without)."""
        assert self.postgres is not None
        cursor = self.postgres.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        for store in self.stores:
            store.close()
        if self.redis_client is not None:
            delete_prefix(self.redis_client, self.key_prefix)
            self.redis_client.close()


@contextmanager
def open_backend(name: str, folder: Path) -> Iterator[Backend]:
    """The backend ``name`` with its own folder (and, for Redis, its own key prefix)."""
    if name == "redis":
        client = require_redis()
        prefix = f"kdeps-test:{uuid.uuid4().hex}:"
        backend = Backend(name, folder, time.time, time.sleep, client, prefix)
    elif name == "postgres":
        with postgres_schema() as (connection, schema):
            clock = FakeClock()
            backend = Backend(
                name, folder, clock, clock.advance, postgres=connection, schema=schema
            )
            try:
                yield backend
            finally:
                backend.close()
        return
    else:
        clock = FakeClock()
        backend = Backend(name, folder, clock, clock.advance)
    try:
        yield backend
    finally:
        backend.close()
