"""The serving benchmark's parts that can be checked fast: every server it measures does the
cart's work and answers kdeps' document, ``--only`` picks rows, and the table reads right.

Each store's servers (kdeps, the hand-written floor and the peers that have that store)
are started by the benchmark's own code on real SQLite, Redis and PostgreSQL, and pass
``cart_shape.check_cart`` (two adds give count 2, the view their total 5.0), which the
benchmark also runs before it measures.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from session_backends import POSTGRES_URL, REDIS_URL, require_postgres, require_redis

from benchmarks import bench_server
from benchmarks.bench_server import FLOOR, KDEPS, KDEPS_2, STARSESSIONS, Places, Row
from benchmarks.server_load import Result


def _places(folder: Path) -> Places:
    run = uuid.uuid4().hex[:8]
    return Places(folder, REDIS_URL, f"kdeps-bench-test-{run}:", POSTGRES_URL, f"bench_test_{run}")


@pytest.mark.parametrize("store", ["sqlite", "redis", "postgres"])
def test_every_server_does_the_carts_work(store: str, tmp_path: Path) -> None:
    if store == "redis":
        require_redis().close()
    if store == "postgres":
        require_postgres().close()
    places = _places(tmp_path)
    rows = [row for row in bench_server.rows(places, False) if row.store == store]
    runnable = [row for row in rows if not row.missing]
    assert [row.label for row in runnable] == {
        "sqlite": [KDEPS, FLOOR, "Django sessions (db)", "Flask-Session (sqlalchemy)"],
        "redis": [KDEPS, FLOOR, STARSESSIONS, "Django sessions (cache)", "Flask-Session (redis)"],
        "postgres": [KDEPS, FLOOR, "Django sessions (db)", "Flask-Session (sqlalchemy)"],
    }[store]
    with ExitStack() as stack:
        if store == "redis":
            stack.callback(bench_server.clean_redis, REDIS_URL, places.prefix)
        if store == "postgres":
            stack.enter_context(bench_server.postgres_schema(POSTGRES_URL, places.schema))
        servers = stack.enter_context(bench_server.running_servers(runnable, tmp_path))
        assert list(servers) == runnable


def test_rows_say_what_is_not_available(tmp_path: Path) -> None:
    missing = {
        (row.store, row.server): row.missing
        for row in bench_server.rows(_places(tmp_path), False)
        if row.missing
    }
    assert missing == {
        ("sqlite", KDEPS_2): "not available: serve has no --workers",
        ("sqlite", STARSESSIONS): "no SQLite store shipped",
        ("redis", KDEPS_2): "not available: serve has no --workers",
        ("postgres", KDEPS_2): "not available: serve has no --workers",
        ("postgres", STARSESSIONS): "no PostgreSQL store shipped",
    }


def test_only_keeps_the_rows_holding_every_word_of_a_filter() -> None:
    kdeps_redis = Row(KDEPS, "redis")
    flask_sqlite = Row("Flask-Session", "sqlite")
    assert bench_server.selected([], "add", flask_sqlite)
    assert bench_server.selected(["add redis"], "add", kdeps_redis)
    assert not bench_server.selected(["add redis"], "view", kdeps_redis)
    assert not bench_server.selected(["add redis"], "add", flask_sqlite)
    assert bench_server.selected(["kdeps", "flask-session (sqlalchemy)"], "view", flask_sqlite)


def test_table_rows_compare_kdeps_with_the_floor_and_the_best_peer() -> None:
    rows = [Row(KDEPS, "redis"), Row(FLOOR, "redis"), Row(STARSESSIONS, "redis")]
    rows += [Row(STARSESSIONS, "sqlite", missing="no SQLite store shipped")]
    shown = [("add", row) for row in rows]
    # 1000 requests each; latencies 1..1000 ms, so p50 501 ms, p99 991 ms, max 1000 ms
    latencies = [number / 1000 for number in range(1, 1001)]
    seconds = {KDEPS: 0.5, FLOOR: 0.4, STARSESSIONS: 0.8}
    measured = {
        ("add", row): Result(1000, seconds[row.server], 0.25, latencies, {200: 1000})
        for row in rows[:3]
    }
    args = bench_server.parse(["--rounds", "1", "--requests", "10", "--concurrency", "100"])
    assert bench_server.table(measured, shown, args).splitlines()[4:] == [
        "| add | Redis | kdeps | 2,000 | 250 | 501.0 | 991.0 | 1000.0 | 0.80 | 1.60 ✓ |",
        "| add | Redis | hand-written floor | 2,500 | 250 | 501.0 | 991.0 | 1000.0 |  |  |",
        "| add | Redis | Starlette + starsessions | 1,250 | 250 | 501.0 | 991.0 | 1000.0 "
        "| 0.50 |  |",
        "| add | SQLite | Starlette + starsessions (no SQLite store shipped) "
        "| – | – | – | – | – | | |",
    ]
