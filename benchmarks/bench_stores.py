"""Session store benchmark: round trips against raw floors, store size, purge latency.

One run prints one table with three checks:

- **Round trips per second** for each backend: one round trip is a whole request's
  session transaction (:func:`~kdeps_expr.sessions.transact`: load, change one key,
  commit), on 1,000 sessions in turn. Next to SQLite, Redis and PostgreSQL stands the
  raw floor measured in the same run: a bare ``sqlite3`` select + upsert of the same JSON
  text on the same schema with the same settings (WAL, ``synchronous=NORMAL``,
  autocommit), a bare redis-py ``GET`` + ``SET … PX`` on the same server, and a bare
  psycopg ``SELECT`` + ``INSERT … ON CONFLICT DO UPDATE`` on the same server and schema.
  Target: at least 50% of it (60% for PostgreSQL).
- **Store size**: microseconds per round trip on 1,000 active sessions when the store
  holds 1,000 sessions and when it holds 1,000,000 (the active ones among them), on
  SQLite, Redis and PostgreSQL. Target: less than 1.5x apart. An informational row shows SQLite
  round trips on sessions picked at random among all 1,000,000, which mostly measures
  the page cache rather than the store.
- **Purge**: p99 latency of round trips while no purge runs, then while 100,000 expired
  sessions are purged the way a server's :class:`~kdeps_expr.sessions.Cleaner` does it (a
  thread, batches of 500, writing at most 5% of the time). Redis expires keys itself, so
  its row measures round trips while Redis expires 100,000 keys. Target: less than 2x.

Throughput figures are the best of several interleaved repetitions, so a noisy machine
lowers both sides of a ratio alike. Usage::

    .venv/bin/python -m benchmarks.bench_stores [--quick] [--redis-url URL] [--postgres-url URL]

``--quick`` shrinks the store-size check to 100,000 sessions and the purge to 20,000.
Redis keys go under a prefix unique to the run and are removed at the end; PostgreSQL
tables go in a schema made for the run and dropped at the end (``postgres_rows``).
"""

from __future__ import annotations

import argparse
import random
import secrets
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis

from kdeps_expr.sessions import MemoryStore, RedisStore, SqliteStore
from kdeps_expr.sessions.sqlite import BUILD_INDEX, BUILD_TABLE

from .postgres_rows import postgres_rows
from .store_timing import (
    ACTIVE,
    DATA,
    TEXT,
    TTL,
    Row,
    best_of,
    for_seconds,
    latencies,
    purge_row,
    purge_while_running,
    render,
    round_trips,
    seed,
    size_row,
    versus,
)

# --- raw floors ----------------------------------------------------------------------------


def raw_sqlite(path: Path, ids: Sequence[str], count: int) -> Callable[[], None]:
    """Bare sqlite3: select the data, upsert it back; the store's schema and settings."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(BUILD_TABLE)
    connection.execute(BUILD_INDEX)
    now = time.time()
    rows = [(session_id, TEXT, now, now + TTL) for session_id in ids]
    connection.executemany("INSERT INTO sessions VALUES (?, ?, 1, ?, ?)", rows)
    select = "SELECT data FROM sessions WHERE id = ?"
    upsert = (
        "INSERT INTO sessions VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "data = excluded.data, version = sessions.version + 1, "
        "last_used = excluded.last_used, expires_at = excluded.expires_at"
    )

    def run() -> None:
        for number in range(count):
            session_id = ids[number % len(ids)]
            connection.execute(select, (session_id,)).fetchone()
            moment = time.time()
            connection.execute(upsert, (session_id, TEXT, moment, moment + TTL))

    return run


def raw_redis(
    client: redis.Redis, prefix: str, ids: Sequence[str], count: int
) -> Callable[[], None]:
    """Bare redis-py: GET the value, SET it back with the ttl."""
    milliseconds = int(TTL * 1000)
    for session_id in ids:
        client.set(prefix + session_id, TEXT, px=milliseconds)

    def run() -> None:
        for number in range(count):
            key = prefix + ids[number % len(ids)]
            client.get(key)
            client.set(key, TEXT, px=milliseconds)

    return run


# --- filling big stores quickly --------------------------------------------------------------


def fill_sqlite(path: Path, count: int, expires_at: float) -> list[str]:
    """``count`` sessions written in one transaction; returns their ids."""
    ids = [secrets.token_urlsafe(32) for _ in range(count)]
    connection = sqlite3.connect(path, isolation_level=None)
    used = expires_at - TTL
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO sessions VALUES (?, ?, 1, ?, ?)",
        ((session_id, TEXT, used, expires_at) for session_id in ids),
    )
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return ids


FILL_REDIS = """
for i = 1, tonumber(ARGV[1]) do
    local key = KEYS[1] .. ARGV[2] .. i
    redis.call('HSET', key, 'd', ARGV[3], 'v', 1, 'u', ARGV[4])
    redis.call('PEXPIRE', key, ARGV[5])
end
"""


def fill_redis(client: redis.Redis, prefix: str, count: int, milliseconds: int) -> None:
    """``count`` session hashes written by a server-side script, 10,000 per call."""
    chunk = 10_000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        client.eval(FILL_REDIS, 1, prefix, size, f"fill{start}-", TEXT, time.time(), milliseconds)


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    batch: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*", count=5000):
        batch.append(key)
        if len(batch) == 5000:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


# --- checks ----------------------------------------------------------------------------------


def check_round_trips(folder: Path, url: str, prefix: str, count: int) -> list[Row]:
    rows = []
    memory = MemoryStore(TTL)
    (seconds,) = best_of(round_trips(memory, seed(memory, ACTIVE), count))
    rows.append(Row("memory", "round trips/s", f"{count / seconds:,.0f}"))

    sqlite_store = SqliteStore(folder / "trips.db", TTL)
    ids = seed(sqlite_store, ACTIVE)
    store_run = round_trips(sqlite_store, ids, count)
    raw_run = raw_sqlite(folder / "raw.db", ids, count)
    store_seconds, raw_seconds = best_of(store_run, raw_run)
    rows.append(versus("sqlite", count, store_seconds, raw_seconds, "bare sqlite3"))
    sqlite_store.close()

    client = redis.Redis.from_url(url)
    redis_store = RedisStore(url, TTL, key_prefix=prefix + "trips:")
    ids = seed(redis_store, ACTIVE)
    store_run = round_trips(redis_store, ids, count)
    raw_run = raw_redis(client, prefix + "raw:", ids, count)
    store_seconds, raw_seconds = best_of(store_run, raw_run)
    rows.append(versus("redis", count, store_seconds, raw_seconds, "bare redis-py"))
    redis_store.close()
    return rows


def check_store_size(folder: Path, url: str, prefix: str, big: int, count: int) -> list[Row]:
    """SQLite: two files, timed interleaved. Redis has one keyspace, so the big store is
    timed between two timings of the small one (before the fill, after its removal)."""
    small_path, big_path = folder / "small.db", folder / "big.db"
    small_store, big_store = SqliteStore(small_path, TTL), SqliteStore(big_path, TTL)
    small_ids = fill_sqlite(small_path, ACTIVE, time.time() + TTL)
    big_ids = fill_sqlite(big_path, big, time.time() + TTL)
    spread = random.Random(7).sample(big_ids, count)
    small, large, uniform = best_of(
        round_trips(small_store, small_ids, count),
        round_trips(big_store, big_ids[:ACTIVE], count),
        round_trips(big_store, spread, count),
    )
    small_store.close()
    big_store.close()
    rows = [
        size_row("sqlite", big, small / count * 1e6, large / count * 1e6),
        Row(
            "sqlite",
            f"us/round trip, {count:,} spread over {big:,}",
            f"{uniform / count * 1e6:.0f} us",
            f"{small / count * 1e6:.0f} us with {ACTIVE:,}",
            f"{uniform / small:.2f}x",
            "(info)",
        ),
    ]

    client = redis.Redis.from_url(url)
    store = RedisStore(url, TTL, key_prefix=prefix + "size:")
    run = round_trips(store, seed(store, ACTIVE), count)
    (before,) = best_of(run)
    fill_redis(client, prefix + "size:fill", big - ACTIVE, int(TTL * 1000))
    (large,) = best_of(run)
    delete_prefix(client, prefix + "size:fill")
    (after,) = best_of(run)
    store.close()
    rows.append(size_row("redis", big, min(before, after) / count * 1e6, large / count * 1e6))
    return rows


def check_purge(folder: Path, url: str, prefix: str, expired: int, window: float) -> list[Row]:
    rows = []
    path = folder / "purge.db"
    sqlite_store = SqliteStore(path, TTL)
    ids = seed(sqlite_store, ACTIVE)
    fill_sqlite(path, expired, time.time() - 1)
    rows.append(purge_while_running(sqlite_store, ids, window))
    sqlite_store.close()

    clock_offset = [0.0]
    memory = MemoryStore(TTL, lambda: time.time() + clock_offset[0])
    for _ in range(expired):
        memory.save(secrets.token_urlsafe(32), dict(DATA), 0)
    clock_offset[0] = TTL + 1
    rows.append(purge_while_running(memory, seed(memory, ACTIVE), window))

    client = redis.Redis.from_url(url)
    redis_store = RedisStore(url, TTL, key_prefix=prefix + "purge:")
    ids = seed(redis_store, ACTIVE)
    settle = 1.0
    fill_redis(client, prefix + "purge:", expired, int((settle + window) * 1000))
    expires = time.perf_counter() + settle + window
    time.sleep(settle)
    before = int(client.info("stats")["expired_keys"])
    quiet_trips = latencies(redis_store, ids, lambda: time.perf_counter() >= expires)
    busy = latencies(redis_store, ids, for_seconds(window))
    gone = int(client.info("stats")["expired_keys"]) - before
    rows.append(purge_row("redis", quiet_trips, busy, f"expiry of {gone:,} keys"))
    redis_store.close()
    return rows


# --- output ----------------------------------------------------------------------------------


@contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        sys.exit(f"Redis at {url} is unreachable: {exc}")
    prefix = f"kdeps-bench:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        delete_prefix(client, prefix)
        client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller stores, shorter runs")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    big, expired, trips, window = (
        (100_000, 20_000, 2_000, 1.0) if args.quick else (1_000_000, 100_000, 5_000, 2.0)
    )
    with tempfile.TemporaryDirectory() as folder, redis_prefix(args.redis_url) as prefix:
        trip_rows = check_round_trips(Path(folder), args.redis_url, prefix, trips)
        size_rows = check_store_size(Path(folder), args.redis_url, prefix, big, trips)
        purge_rows = check_purge(Path(folder), args.redis_url, prefix, expired, window)
    postgres = postgres_rows(args.postgres_url, big, expired, trips, window)
    print(render([*trip_rows, postgres[0], *size_rows, postgres[1], *purge_rows, postgres[2]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
