"""Session transactions under concurrency: no lost update, no waiting, no partial write.

The visit counter of the KDeps session page, ``set('visits', get('visits', 'session') + 1,
'session')``, runs through the real engine from many threads and from separate processes
sharing one SQLite file, one Redis or one PostgreSQL table, and must end at exactly the
number of requests.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from session_backends import (
    BACKENDS,
    POSTGRES_URL,
    REDIS_URL,
    SHARED_BACKENDS,
    Backend,
    open_backend,
)

from kdeps_expr.errors import EvaluationError, StoreError
from kdeps_expr.language.context import Context, Request
from kdeps_expr.language.engine import Engine
from kdeps_expr.sessions import SessionState, SessionStore, SqliteStore, open_store, transact

ROOT = Path(__file__).resolve().parent.parent
VISIT_SOURCE = "set('visits', get('visits', 'session') + 1, 'session')"
VISIT = Engine().compile(VISIT_SOURCE)
THREADS, PROCESSES, REQUESTS = 8, 4, 50


def visit(state: SessionState) -> tuple[Any, bool]:
    """One request of the visit counter."""
    return VISIT(Context(session=state)), True


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=SHARED_BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


def visits(store: SessionStore, session_id: str) -> tuple[Any, int]:
    snapshot = store.load(session_id)
    assert snapshot is not None
    return snapshot.data.get("visits"), snapshot.version


VISIT_WORKER = """
import json, sys
from pathlib import Path
from kdeps_expr.language.context import Context
from kdeps_expr.language.engine import Engine
from kdeps_expr.sessions import open_store, transact

config, session_id, count, source = sys.argv[1:]
store = open_store(json.loads(config), Path.cwd())
visit = Engine().compile(source)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(count)):
    transact(store, session_id, lambda state: (visit(Context(session=state)), True))
store.close()
"""


class TestNoLostUpdate:
    def test_threads(self, backend: Backend) -> None:
        store = backend.make()
        store.save("s1", {}, 0)
        start = threading.Barrier(THREADS)
        errors: list[BaseException] = []

        def client() -> None:
            start.wait()
            try:
                for _ in range(REQUESTS):
                    transact(store, "s1", visit)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=client) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert visits(store, "s1") == (THREADS * REQUESTS, THREADS * REQUESTS + 1)

    def test_processes(self, shared: Backend) -> None:
        config: dict[str, Any]
        if shared.name == "sqlite":
            config = {"type": "sqlite", "path": str(shared.db_path)}
        elif shared.name == "postgres":
            config = {"type": "postgres", "url": POSTGRES_URL, "schema": shared.schema}
        else:
            config = {"type": "redis", "url": REDIS_URL, "keyPrefix": shared.key_prefix}
        store = open_store(config, ROOT)
        store.save("s1", {}, 0)
        arguments = [json.dumps(config), "s1", str(REQUESTS), VISIT_SOURCE]
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", VISIT_WORKER, *arguments],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        errors = [worker.communicate(timeout=60)[1] for worker in workers]
        assert ([worker.returncode for worker in workers], errors) == (
            [0] * PROCESSES,
            [""] * PROCESSES,
        )
        assert visits(store, "s1") == (PROCESSES * REQUESTS, PROCESSES * REQUESTS + 1)
        store.close()


class TestNoWaiting:
    """A request held open blocks no other request; on its own session it then re-runs."""

    def hold(self, store: SessionStore, session_id: str) -> tuple[threading.Thread, Any]:
        """Start a request on ``session_id`` that stops half-way; returns it and its controls."""
        held, release = threading.Event(), threading.Event()
        runs: list[int] = []

        def slow(state: SessionState) -> tuple[Any, bool]:
            result, _ = visit(state)
            runs.append(result)
            held.set()
            release.wait(10)
            return result, True

        thread = threading.Thread(target=transact, args=(store, session_id, slow))
        thread.start()
        assert held.wait(5)
        return thread, (release, runs)

    def test_other_session_completes(self, backend: Backend) -> None:
        store = backend.make()
        for session_id in ("a", "b"):
            store.save(session_id, {}, 0)
        thread, (release, runs) = self.hold(store, "a")
        started = time.monotonic()
        transact(store, "b", visit)
        elapsed = time.monotonic() - started
        assert thread.is_alive()
        release.set()
        thread.join(10)
        assert elapsed < 1
        assert (visits(store, "a"), visits(store, "b"), runs) == ((1, 2), (1, 2), [1])

    def test_same_session_completes_and_the_held_request_runs_again(self, backend: Backend) -> None:
        store = backend.make()
        store.save("a", {}, 0)
        thread, (release, runs) = self.hold(store, "a")
        transact(store, "a", visit)
        assert thread.is_alive()
        release.set()
        thread.join(10)
        assert (visits(store, "a"), runs) == ((2, 3), [1, 2])


class TestTransact:
    """What one request writes: once at the end, only on success, only when it used the session."""

    @pytest.mark.parametrize(
        ("source", "ok"),
        [
            pytest.param(VISIT_SOURCE, False, id="failed-request"),
            pytest.param("clear('session')", False, id="failed-logout"),
            pytest.param("[set('visits', 99, 'session'), 1 / 0][0]", True, id="error-half-way"),
        ],
    )
    def test_failure_leaves_the_session_as_it_was(
        self, backend: Backend, source: str, ok: bool
    ) -> None:
        store = backend.make()
        store.save("s1", {"visits": 7, "cart": [{"price": 1.5}]}, 0)
        before = backend.raw(store, "s1")
        expression = Engine().compile(source)
        backend.advance(0.01)

        def work(state: SessionState) -> tuple[Any, bool]:
            return expression(Context(session=state)), ok

        if ok:
            with pytest.raises(EvaluationError):
                transact(store, "s1", work)
        else:
            transact(store, "s1", work)
        assert backend.raw(store, "s1") == before

    @pytest.mark.parametrize(
        ("source", "listed"),
        [
            pytest.param("1 + 1", [], id="untouched"),
            pytest.param("get('visits', 'session')", [], id="read-of-a-new-session"),
            pytest.param("info('sessionId')", [0], id="id-read"),
            pytest.param("info('session_id') + ''", [0], id="id-read-alias"),
            pytest.param(VISIT_SOURCE, [1], id="write"),
            pytest.param("clear('session')", [], id="logout-without-a-session"),
            pytest.param("[set('x', 1, 'session'), unset('x', 'session')]", [], id="write-undone"),
            pytest.param("[clear('session'), info('sessionId')]", [0], id="cleared-and-id-read"),
            pytest.param("set('x', {}, 'session')", [1], id="write-of-an-empty-map"),
        ],
    )
    def test_only_a_used_session_is_stored(
        self, backend: Backend, source: str, listed: list[int]
    ) -> None:
        store = backend.make()
        expression = Engine().compile(source)
        _, state = transact(store, None, lambda state: (expression(Context(session=state)), True))
        assert [info.keys for info in store.sessions()] == listed
        if listed:
            assert state.existing_id == next(store.sessions()).session_id
            assert state.id_used

    @pytest.mark.parametrize("known", [False, True], ids=["unknown-id", "expired-id"])
    def test_an_id_the_store_does_not_know_is_never_adopted(
        self, backend: Backend, known: bool
    ) -> None:
        store = backend.make(ttl=0.3)
        if known:
            store.save("stale", {"visits": 5}, 0)
            backend.advance(0.5)
        _, state = transact(store, "stale", visit)
        assert state.existing_id not in (None, "stale")
        assert store.load("stale") is None
        assert [(info.session_id, info.keys) for info in store.sessions()] == [
            (state.existing_id, 1)
        ]

    def test_a_read_pushes_the_expiry(self, backend: Backend) -> None:
        store = backend.make(ttl=0.8)
        store.save("s1", {"visits": 1}, 0)
        backend.advance(0.5)
        value, state = transact(
            store,
            "s1",
            lambda state: (
                Engine().evaluate("get('visits', 'session')", Context(session=state)),
                True,
            ),
        )
        backend.advance(0.5)
        assert (value, state.existing_id, visits(store, "s1")) == (1, "s1", (1, 1))

    def test_reads_in_a_burst_write_the_expiry_once(self, backend: Backend) -> None:
        store = backend.make(ttl=60)  # resolution 0.6 s
        store.save("s1", {"visits": 1}, 0)
        stored = backend.raw(store, "s1")

        def read(state: SessionState) -> tuple[Any, bool]:
            return Engine().evaluate("get('visits', 'session')", Context(session=state)), True

        backend.advance(0.3)
        assert transact(store, "s1", read)[0] == 1
        assert backend.raw(store, "s1") == stored
        backend.advance(0.4)
        low = backend.clock() + 60
        assert transact(store, "s1", read)[0] == 1
        assert backend.raw(store, "s1") != stored
        snapshot = store.load("s1")
        assert snapshot is not None and low <= snapshot.expires_at <= backend.clock() + 60

    def test_request_input_never_reaches_the_session(self, backend: Backend) -> None:
        store = backend.make()
        request = Request(query={"visits": "100"})
        _, state = transact(
            store, None, lambda state: (VISIT(Context(request, session=state)), True)
        )
        assert visits(store, state.id) == (1, 1)

    def test_gives_up_after_every_attempt_conflicts(self, backend: Backend) -> None:
        store = backend.make()
        store.save("s1", {}, 0)
        runs: list[int] = []

        def meddling(state: SessionState) -> tuple[Any, bool]:
            result, _ = visit(state)
            store.save("s1", {"visits": 0}, state.version)
            runs.append(result)
            return result, True

        with pytest.raises(StoreError) as caught:
            transact(store, "s1", meddling, attempts=3)
        assert str(caught.value) == (
            "session 's1' was changed by other requests during each of 3 attempts to save "
            "it; giving up"
        )
        assert (runs, visits(store, "s1")) == ([1, 1, 1], (0, 4))


STREAM_WORKER = """
import sys
from kdeps_expr.sessions import SqliteStore, transact

store = SqliteStore(sys.argv[1], 3600)
number = 0
while True:
    number += 1
    def work(state, number=number):
        state.set("n", number)
        state.set("padding", "x" * (number % 500))
        return None, True
    _, state = transact(store, None, work)
    sys.stdout.write(f"{state.id} {number}\\n")
    sys.stdout.flush()
"""


@pytest.mark.parametrize("after", [1, 150, 600], ids=["first", "early", "later"])
def test_sigkill_loses_no_completed_request(tmp_path: Path, after: int) -> None:
    path = tmp_path / "sessions.db"
    SqliteStore(path, 3600).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", STREAM_WORKER, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    reported = [writer.stdout.readline() for _ in range(after)]
    os.kill(writer.pid, signal.SIGKILL)
    reported += writer.stdout.readlines()
    writer.wait()
    completed = [line for line in reported if line.endswith("\n")]  # not a line cut short
    assert writer.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    store = SqliteStore(path, 3600)
    for line in completed:
        session_id, number = line.split()
        snapshot = store.load(session_id)
        assert snapshot is not None
        assert snapshot.data == {"n": int(number), "padding": "x" * (int(number) % 500)}
    assert len(list(store.sessions())) >= len(completed) >= after
    store.close()
