"""Timing helpers of the store benchmark: round trips, best-of timings, p99, the table.

Shared by ``bench_stores`` and its PostgreSQL rows (``postgres_rows``); see the docstring
of ``benchmarks.bench_stores`` for what each row measures.
"""

from __future__ import annotations

import itertools
import json
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kdeps_expr.sessions import SessionState, SessionStore, transact
from kdeps_expr.sessions.base import CLEANER_DUTY, PURGE_BATCH_SIZE

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


def median_of_chunks(*runs: Callable[[], None], chunks: int) -> list[float]:
    """The median of ``chunks`` alternating timings of each run, in seconds.

    On a database server shared with other work, a commit waits for a disk that other
    programs use too, and the time of a whole run swings severalfold from one second to
    the next. Timing the sides in short alternating chunks, and taking each side's
    median, compares them under the same conditions.
    """
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(chunks):
        for index, run in enumerate(runs):
            timings[index].append(timed(run))
    return [statistics.median(taken) for taken in timings]


def round_trips(store: SessionStore, ids: Sequence[str], count: int) -> Callable[[], None]:
    """A run of ``count`` round trips; each run goes on where the previous one stopped."""
    sessions = itertools.cycle(ids)

    def run() -> None:
        for _ in range(count):
            transact(store, next(sessions), visit)

    return run


def seed(store: SessionStore, count: int) -> list[str]:
    ids = [secrets.token_urlsafe(32) for _ in range(count)]
    for session_id in ids:
        store.save(session_id, dict(DATA), 0)
    return ids


def versus(
    backend: str,
    count: int,
    store_seconds: float,
    raw_seconds: float,
    raw: str,
    target: float = 0.5,
) -> Row:
    """A round-trip row: the store's rate against the raw floor's, and the target share."""
    store_rate, raw_rate = count / store_seconds, count / raw_seconds
    return Row(
        backend,
        "round trips/s",
        f"{store_rate:,.0f}",
        f"{raw_rate:,.0f} {raw}",
        f"{store_rate / raw_rate:.0%}",
        f">= {target:.0%}",
    )


def size_row(backend: str, big: int, small_us: float, large_us: float) -> Row:
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


def purge_row(backend: str, quiet: list[float], busy: list[float], what: str) -> Row:
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
    return purge_row(store.kind, quiet, busy, f"purge of {purged:,} ({purging:.1f}s)")


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
