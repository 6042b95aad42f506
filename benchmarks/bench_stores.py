"""Session store benchmark: round trips against raw floors, store size, purge latency.

One run prints one table with three checks:

- **Round trips per second** for each backend: one round trip is a whole request's
  session transaction (:func:`~kdeps_expr.sessions.transact`: load, change one key,
  commit), on 1,000 sessions in turn. Next to SQLite and Redis stands the raw floor
  measured in the same run: a bare ``sqlite3`` select + upsert of the same JSON text on
  the same schema with the same settings (WAL, ``synchronous=NORMAL``, autocommit), and a
  bare redis-py ``GET`` + ``SET … PX`` on the same server. Target: at least 50% of it.
- **Store size**: microseconds per round trip on 1,000 active sessions when the store
  holds 1,000 sessions and when it holds 1,000,000 (the active ones among them), on
  SQLite and Redis. Target: less than 1.5x apart. An informational row shows SQLite
  round trips on sessions picked at random among all 1,000,000, which mostly measures
  the page cache rather than the store.
- **Purge**: p99 latency of round trips while no purge runs, then while 100,000 expired
  sessions are purged the way a server's :class:`~kdeps_expr.sessions.Cleaner` does it (a
  thread, batches of 500, writing at most 5% of the time). Redis expires keys itself, so
  its row measures round trips while Redis expires 100,000 keys. Target: less than 2x.

Throughput figures are the best of several interleaved repetitions, so a noisy machine
lowers both sides of a ratio alike. Usage::

    .venv/bin/python -m benchmarks.bench_stores [--quick] [--redis-url URL]

``--quick`` shrinks the store-size check to 100,000 sessions and the purge to 20,000.
Redis keys go under a prefix unique to the run and are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from kdeps_expr.sessions import (
    MemoryStore,
    RedisStore,
    SessionState,
    SessionStore,
    SqliteStore,
    transact,
)
from kdeps_expr.sessions.base import CLEANER_DUTY, PURGE_BATCH_SIZE
from kdeps_expr.sessions.sqlite import BUILD_INDEX, BUILD_TABLE

TTL = 3600.0
ACTIVE = 1_000
DATA = {"user": "alice", "theme": "dark", "visits": 0}
TEXT = json.dumps(DATA, separators=(",", ":"))
REPEATS = 5


@dataclass
class Row:
    """One line of the table."""

    backend: str
    check: str
    measured: str
    reference: str = ""
    ratio: str = ""
    target: str = ""


def visit(state: SessionState) -> tuple[None, bool]:
    """The modification of a round trip: one key changed."""
    state.set("visits", (state.get("visits") or 0) + 1)
    return None, True


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best_of(*runs: Callable[[], None]) -> list[float]:
    """The fastest of ``REPEATS`` interleaved timings of each run, in seconds."""
    best = [float("inf")] * len(runs)
    for _ in range(REPEATS):
        for index, run in enumerate(runs):
            best[index] = min(best[index], timed(run))
    return best


def round_trips(store: SessionStore, ids: Sequence[str], count: int) -> Callable[[], None]:
    def run() -> None:
        for number in range(count):
            transact(store, ids[number % len(ids)], visit)

    return run


def seed(store: SessionStore, count: int) -> list[str]:
    ids = [secrets.token_urlsafe(32) for _ in range(count)]
    for session_id in ids:
        store.save(session_id, dict(DATA), 0)
    return ids


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
    rows.append(_versus("sqlite", count, store_seconds, raw_seconds, "bare sqlite3"))
    sqlite_store.close()

    client = redis.Redis.from_url(url)
    redis_store = RedisStore(url, TTL, key_prefix=prefix + "trips:")
    ids = seed(redis_store, ACTIVE)
    store_run = round_trips(redis_store, ids, count)
    raw_run = raw_redis(client, prefix + "raw:", ids, count)
    store_seconds, raw_seconds = best_of(store_run, raw_run)
    rows.append(_versus("redis", count, store_seconds, raw_seconds, "bare redis-py"))
    redis_store.close()
    return rows


def _versus(backend: str, count: int, store_seconds: float, raw_seconds: float, raw: str) -> Row:
    store_rate, raw_rate = count / store_seconds, count / raw_seconds
    return Row(
        backend,
        "round trips/s",
        f"{store_rate:,.0f}",
        f"{raw_rate:,.0f} {raw}",
        f"{store_rate / raw_rate:.0%}",
        ">= 50%",
    )


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
        _size_row("sqlite", big, small / count * 1e6, large / count * 1e6),
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
    rows.append(_size_row("redis", big, min(before, after) / count * 1e6, large / count * 1e6))
    return rows


def _size_row(backend: str, big: int, small_us: float, large_us: float) -> Row:
    return Row(
        backend,
        f"us/round trip, {ACTIVE:,} active of {big:,}",
        f"{large_us:.0f} us",
        f"{small_us:.0f} us of {ACTIVE:,}",
        f"{large_us / small_us:.2f}x",
        "< 1.5x",
    )


def latencies(store: SessionStore, ids: Sequence[str], until: Callable[[], bool]) -> list[float]:
    """Seconds per round trip, one after another, until ``until()`` is true."""
    measured = []
    number = 0
    while not until():
        session_id = ids[number % len(ids)]
        started = time.perf_counter()
        transact(store, session_id, visit)
        measured.append(time.perf_counter() - started)
        number += 1
    return measured


def p99(measured: list[float]) -> float:
    ordered = sorted(measured)
    return ordered[int(len(ordered) * 0.99)] * 1e6


def for_seconds(seconds: float) -> Callable[[], bool]:
    deadline = time.perf_counter() + seconds
    return lambda: time.perf_counter() >= deadline


def _purge_row(backend: str, quiet: list[float], busy: list[float], what: str) -> Row:
    return Row(
        backend,
        f"p99 us during {what}",
        f"{p99(busy):.0f} us ({len(busy):,} trips)",
        f"{p99(quiet):.0f} us without ({len(quiet):,})",
        f"{p99(busy) / p99(quiet):.2f}x",
        "< 2x",
    )


def purge_for(store: SessionStore, ids: Sequence[str], window: float) -> tuple[list[float], int]:
    """Round trips for ``window`` seconds while a Cleaner-style purge runs beside them.

    Returns the latencies and how many sessions the purge deleted; the purge is stopped
    at the end of the window, or ends earlier when nothing expired is left.
    """
    stop = threading.Event()
    counts: list[int] = []

    def purge() -> None:
        counts.append(store.purge_expired(PURGE_BATCH_SIZE, duty=CLEANER_DUTY, stop=stop))

    thread = threading.Thread(target=purge)
    thread.start()
    window_over = for_seconds(window)
    busy = latencies(store, ids, lambda: window_over() or not thread.is_alive())
    stop.set()
    thread.join()
    return busy, counts[0]


def purge_while_running(store: SessionStore, ids: Sequence[str], window: float) -> Row:
    """p99 without a purge and during a Cleaner-style purge, in alternating windows.

    Each round runs requests for ``window`` seconds alone, then up to ``window`` seconds
    beside the purge, until the purge finds nothing left; alternating keeps the load of
    other programs on the machine from favouring one side.
    """
    quiet: list[float] = []
    busy: list[float] = []
    purged = 0
    purging = 0.0
    while True:
        quiet += latencies(store, ids, for_seconds(window))
        started = time.perf_counter()
        measured, count = purge_for(store, ids, window)
        purging += time.perf_counter() - started
        busy += measured
        purged += count
        if count == 0:
            break
    return _purge_row(store.kind, quiet, busy, f"purge of {purged:,} ({purging:.1f}s)")


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
    rows.append(_purge_row("redis", quiet_trips, busy, f"expiry of {gone:,} keys"))
    redis_store.close()
    return rows


# --- output ----------------------------------------------------------------------------------


def render(rows: list[Row]) -> str:
    head = Row("backend", "check", "measured", "reference", "ratio", "target")
    table = [head, *rows]
    columns = ("backend", "check", "measured", "reference", "ratio", "target")
    widths = {name: max(len(getattr(row, name)) for row in table) for name in columns}
    lines = []
    for row in table:
        cells = (getattr(row, name).ljust(widths[name]) for name in columns)
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
    big, expired, trips, window = (
        (100_000, 20_000, 2_000, 1.0) if args.quick else (1_000_000, 100_000, 5_000, 2.0)
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, redis_prefix(args.redis_url) as prefix:
        rows += check_round_trips(Path(folder), args.redis_url, prefix, trips)
        rows += check_store_size(Path(folder), args.redis_url, prefix, big, trips)
        rows += check_purge(Path(folder), args.redis_url, prefix, expired, window)
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
