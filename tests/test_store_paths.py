"""What one request costs a store: Redis round trips per request, SQLite write turns and
busy waits (docs/stores.md: Redis, "Round trips per request"; SQLite, "Write turns")."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.connection
from session_backends import Backend, open_backend

from kdeps_expr.errors import StoreError
from kdeps_expr.sessions import SessionState, SqliteStore, transact
from kdeps_expr.sessions import sqlite as sqlite_module


def add_item(state: SessionState) -> tuple[None, bool]:
    state.set("cart", [*(state.get("cart") or []), {"name": "widget"}])
    return None, True


def view_cart(state: SessionState) -> tuple[Any, bool]:
    return state.get("cart"), True


@pytest.fixture
def redis_backend(tmp_path: Path) -> Iterator[Backend]:
    with open_backend("redis", tmp_path) as opened:
        yield opened


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every command redis-py sends from now on, one per round trip."""
    names: list[str] = []
    send = redis.connection.Connection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        packed = b"".join(command) if isinstance(command, list) else bytes(command)
        names.append(packed.split(b"\r\n")[2].decode())
        send(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    return names


class TestRedisRoundTrips:
    def test_an_add_is_a_read_and_one_script(self, redis_backend: Backend, sent: list[str]) -> None:
        store = redis_backend.make(ttl=60)
        _, state = transact(store, None, add_item)
        sent.clear()
        transact(store, state.existing_id, add_item)
        assert sent == ["HMGET", "EVALSHA"]

    def test_a_view_is_one_read(self, redis_backend: Backend, sent: list[str]) -> None:
        store = redis_backend.make(ttl=60)
        _, state = transact(store, None, add_item)
        sent.clear()
        for _ in range(3):
            transact(store, state.existing_id, view_cart)
        assert sent == ["HMGET", "HMGET", "HMGET"]

    def test_a_new_session_is_one_script(self, redis_backend: Backend, sent: list[str]) -> None:
        store = redis_backend.make(ttl=60)
        store.load("warm-up")  # connects: the handshake is the connection's, not the request's
        sent.clear()
        transact(store, None, add_item)
        assert sent == ["EVALSHA"]

    def test_each_thread_has_its_own_connection_and_close_closes_them(
        self, redis_backend: Backend
    ) -> None:
        watcher = redis_backend.redis_client
        assert watcher is not None
        store = redis_backend.make(ttl=60)
        store.check()  # the store's shared connection, for ping, listing and cleaning
        before = len(watcher.client_list())

        def visit() -> None:
            for _ in range(3):
                store.load("a" * 43)

        threads = [threading.Thread(target=visit) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(watcher.client_list()) == before + 3
        store.close()
        deadline = time.monotonic() + 5  # the server sees the connections close a moment later
        while len(watcher.client_list()) != before - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(watcher.client_list()) == before - 1


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """The file's write lock, held by a connection of its own (as another process's)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "sessions.db", ttl=60)
    yield opened
    opened.close()


class TestSqliteWriteTurns:
    def test_a_write_waits_for_another_writer_then_succeeds(self, store: SqliteStore) -> None:
        started = threading.Event()
        outcome: list[int] = []

        def save() -> None:
            started.set()
            outcome.append(store.save("a" * 43, {"n": 1}, 0))

        writer = threading.Thread(target=save)
        with write_lock_held(store.path):
            writer.start()
            started.wait()
        writer.join()
        assert outcome == [1]
        snapshot = store.load("a" * 43)
        assert snapshot is not None and snapshot.data == {"n": 1}

    def test_a_write_locked_out_too_long_fails_and_writes_nothing(
        self, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT", 0.05)
        with write_lock_held(store.path), pytest.raises(StoreError) as raised:
            store.save("a" * 43, {"n": 1}, 0)
        assert raised.value.message == f"session store {store.path}: database is locked"
        assert store.load("a" * 43) is None
        store.save("a" * 43, {"n": 2}, 0)  # the store works again once the lock is free

    def test_reads_do_not_wait_for_a_writer(self, store: SqliteStore) -> None:
        store.save("a" * 43, {"n": 1}, 0)
        with write_lock_held(store.path):
            snapshot = store.load("a" * 43)
        assert snapshot is not None and snapshot.data == {"n": 1}

    def test_stores_on_one_file_share_one_turn(self, tmp_path: Path) -> None:
        first = SqliteStore(tmp_path / "sessions.db", ttl=60)
        second = SqliteStore(tmp_path / "." / "sessions.db", ttl=60)
        other = SqliteStore(tmp_path / "other.db", ttl=60)
        assert first._turn is second._turn
        assert first._turn is not other._turn
        for store in (first, second, other):
            store.close()

    def test_the_wal_is_checkpointed_every_so_many_writes(
        self, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sqlite_module, "CHECKPOINT_EVERY", 10)
        sizes = []
        for number in range(10):
            store.save(f"{number:043d}", {"n": number}, 0)
            sizes.append(store.path.stat().st_size)
        # Until the tenth write everything is in the WAL only; then it reaches the file.
        assert sizes[:9] == [sizes[0]] * 9
        assert sizes[9] > sizes[0]
