"""The PostgreSQL rows of ``benchmarks.bench_stores``.

- **Round trips per second** of the store against bare psycopg doing the same work on
  the same server in the same run: one connection in autocommit, ``SELECT data … WHERE
  id = %s`` then ``INSERT … ON CONFLICT (id) DO UPDATE`` of the same JSON text into a
  table of the store's schema. Target: at least 60% of it.
- **Store size**: microseconds per round trip on 1,000 active sessions in a table of
  1,000 and in a table of 1,000,000 (the active ones among them). Target: less than
  1.5x apart.

Both comparisons time the two sides in alternating chunks of 100 round trips and take
each side's median chunk (``store_timing.median_of_chunks``): every round trip commits,
and on a server shared with other work the commit's wait for the disk swings severalfold
from one second to the next, more than whole runs timed one after the other can absorb.
- **Purge**: p99 latency of round trips without a purge and during a Cleaner-style purge
  (batches of 500, duty 5%) of 100,000 expired sessions. Target: less than 2x.

Everything lives in a schema made for the run (``kdeps_bench_<hex>``) and dropped at the
end. Big tables are filled by the server itself (``INSERT … SELECT … FROM
generate_series``) and vacuumed, so the fill takes seconds, not minutes.
"""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from kdeps_expr.sessions import PostgresStore

from .store_timing import (
    ACTIVE,
    TEXT,
    TTL,
    Row,
    median_of_chunks,
    purge_while_running,
    round_trips,
    seed,
    size_row,
    versus,
)

Connection = psycopg.Connection[tuple[Any, ...]]
CHUNK = 100
"""Round trips per timed chunk; the sides of a comparison alternate chunk by chunk."""

FILL = """
    INSERT INTO {table} (id, data, version, last_used, expires_at)
    SELECT 'fill-' || number, %(data)s, 1, %(used)s, %(expires_at)s
    FROM generate_series(1, %(count)s) AS number
"""
SELECT = "SELECT data FROM {table} WHERE id = %s"
UPSERT = """
    INSERT INTO {table} AS stored (id, data, version, last_used, expires_at)
    VALUES (%s, %s, 1, %s, %s)
    ON CONFLICT (id) DO UPDATE SET
        data = excluded.data,
        version = stored.version + 1,
        last_used = excluded.last_used,
        expires_at = excluded.expires_at
"""


@contextmanager
def bench_schema(url: str) -> Iterator[tuple[Connection, str]]:
    """An autocommit connection and a schema of the run's own, dropped at the end."""
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        sys.exit(f"PostgreSQL at {url} is unreachable: {exc}")
    schema = f"kdeps_bench_{uuid.uuid4().hex}"
    connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield connection, schema
    finally:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        connection.close()


def _table(schema: str, table: str) -> sql.Identifier:
    return sql.Identifier(schema, table)


def _store(url: str, schema: str, table: str) -> PostgresStore:
    """A store on ``schema.table``, its table made now (it is made on first use)."""
    store = PostgresStore(url, TTL, schema=schema, table=table)
    store.check()
    return store


def fill(connection: Connection, schema: str, table: str, count: int, expires_at: float) -> None:
    """``count`` sessions written by the server in one statement, then vacuumed."""
    query = sql.SQL(FILL).format(table=_table(schema, table))
    params = {"data": TEXT, "used": expires_at - TTL, "expires_at": expires_at, "count": count}
    connection.execute(query, params)
    connection.execute(sql.SQL("VACUUM ANALYZE {}").format(_table(schema, table)))


def raw_postgres(
    url: str, connection: Connection, schema: str, ids: Sequence[str], count: int
) -> Callable[[], None]:
    """Bare psycopg: select the data, upsert it back, on a table of the store's schema."""
    _store(url, schema, "raw_sessions").close()
    table = _table(schema, "raw_sessions")
    now = time.time()
    with connection.cursor() as cursor:
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, 1, %s, %s)").format(table),
            [(session_id, TEXT, now, now + TTL) for session_id in ids],
        )
    select = sql.SQL(SELECT).format(table=table).as_string()
    upsert = sql.SQL(UPSERT).format(table=table).as_string()

    sessions = itertools.cycle(ids)

    def run() -> None:
        for _ in range(count):
            session_id = next(sessions)
            connection.execute(select, (session_id,)).fetchone()
            moment = time.time()
            connection.execute(upsert, (session_id, TEXT, moment, moment + TTL))

    return run


def round_trip_row(url: str, schema: str, count: int) -> Row:
    store = _store(url, schema, "trips")
    ids = seed(store, ACTIVE)
    raw = psycopg.connect(url, autocommit=True)
    store_seconds, raw_seconds = median_of_chunks(
        round_trips(store, ids, CHUNK),
        raw_postgres(url, raw, schema, ids, CHUNK),
        chunks=count // CHUNK,
    )
    raw.close()
    store.close()
    return versus("postgres", CHUNK, store_seconds, raw_seconds, "bare psycopg", target=0.6)


def store_size_row(url: str, connection: Connection, schema: str, big: int, count: int) -> Row:
    small, large = _store(url, schema, "small"), _store(url, schema, "big")
    small_ids, big_ids = seed(small, ACTIVE), seed(large, ACTIVE)
    fill(connection, schema, "small", 0, time.time() + TTL)  # vacuumed like the big one
    fill(connection, schema, "big", big - ACTIVE, time.time() + TTL)
    small_seconds, large_seconds = median_of_chunks(
        round_trips(small, small_ids, CHUNK),
        round_trips(large, big_ids, CHUNK),
        chunks=count // CHUNK,
    )
    small.close()
    large.close()
    return size_row("postgres", big, small_seconds / CHUNK * 1e6, large_seconds / CHUNK * 1e6)


def purge_row(url: str, connection: Connection, schema: str, expired: int, window: float) -> Row:
    store = _store(url, schema, "purge")
    ids = seed(store, ACTIVE)
    fill(connection, schema, "purge", expired, time.time() - 1)
    row = purge_while_running(store, ids, window)
    store.close()
    return row


def postgres_rows(
    url: str, big: int, expired: int, trips: int, window: float
) -> tuple[Row, Row, Row]:
    """The round-trip, store-size and purge rows, in a schema made for the run."""
    with bench_schema(url) as (connection, schema):
        return (
            round_trip_row(url, schema, trips),
            store_size_row(url, connection, schema, big, trips),
            purge_row(url, connection, schema, expired, window),
        )
