"""The session store contract, run unchanged against memory, SQLite, Redis and PostgreSQL;
store opening."""

from __future__ import annotations

import functools
import logging
import math
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from session_backends import (
    BACKENDS,
    REDIS_URL,
    SHARED_BACKENDS,
    Backend,
    FakeClock,
    delete_prefix,
    open_backend,
    require_redis,
)

from kdeps_expr.errors import ConflictError, StoreError, WorkflowError
from kdeps_expr.sessions import (
    Cleaner,
    MemoryStore,
    RedisStore,
    Snapshot,
    SqliteStore,
    open_store,
    open_store_url,
)
from kdeps_expr.sessions.codec import json_problem
from kdeps_expr.sessions.redis import redacted

TTL = 0.8
"""The ttl of expiry tests: short, because Redis ages keys on the real clock."""

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=SHARED_BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path) as opened:
        yield opened


def expires_between(
    backend: Backend, save: Callable[[], object], ttl: float
) -> tuple[float, float]:
    """Run ``save()`` and return the bounds its expiry must lie in."""
    before = backend.clock()
    save()
    return before + ttl, backend.clock() + ttl


class TestContract:
    """What every store promises (sessions/base.py)."""

    def test_unknown_session_is_none(self, backend: Backend) -> None:
        assert backend.make().load("nobody") is None

    def test_create_then_load(self, backend: Backend) -> None:
        store = backend.make(ttl=60)
        low, high = expires_between(backend, lambda: store.save("s1", {"a": 1}, 0), 60)
        snapshot = store.load("s1")
        assert snapshot is not None
        assert (snapshot.data, snapshot.version) == ({"a": 1}, 1)
        assert low <= snapshot.expires_at <= high

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param({"n": 7, "f": 2.0, "big": 2**70}, id="ints-stay-ints"),
            pytest.param({"z": 1, "a": 2, "m": {"y": 1, "b": 2}}, id="key-order-kept"),
            pytest.param({"t": "héllo ✓ 日本"}, id="unicode"),
            pytest.param({"t": "\ud800"}, id="lone-surrogate"),
            pytest.param({"nil": None, "yes": True, "no": False}, id="nil-and-bools"),
            pytest.param({"l": [], "m": {}, "s": ""}, id="empty-values"),
            pytest.param({"cart": [{"price": 1.5, "qty": 2}]}, id="nested"),
            pytest.param({}, id="empty-session"),
        ],
    )
    def test_values_round_trip(self, backend: Backend, data: dict[str, Any]) -> None:
        store = backend.make()
        store.save("s1", data, 0)
        snapshot = store.load("s1")
        assert snapshot is not None
        assert repr(snapshot.data) == repr(data)

    def test_loaded_data_is_a_copy(self, backend: Backend) -> None:
        store = backend.make()
        data: dict[str, Any] = {"cart": [1]}
        store.save("s1", data, 0)
        data["cart"].append(2)
        first = store.load("s1")
        assert first is not None
        first.data["cart"].append(3)
        assert store.load("s1") == Snapshot({"cart": [1]}, 1, first.expires_at)

    def test_each_save_bumps_the_version(self, backend: Backend) -> None:
        store = backend.make()
        assert [
            store.save("s1", {"n": 1}, 0),
            store.save("s1", {"n": 2}, 1),
            store.save("s1", {"n": 3}, 2),
        ] == [1, 2, 3]
        snapshot = store.load("s1")
        assert snapshot is not None
        assert (snapshot.data, snapshot.version) == ({"n": 3}, 3)

    @pytest.mark.parametrize(
        ("saves", "version"),
        [
            pytest.param(2, 1, id="stale-version"),
            pytest.param(1, 0, id="create-over-existing"),
            pytest.param(0, 3, id="update-of-missing"),
            pytest.param(1, 2, id="version-from-the-future"),
        ],
    )
    def test_conflict_writes_nothing(self, backend: Backend, saves: int, version: int) -> None:
        store = backend.make()
        for done in range(saves):
            store.save("s1", {"n": done}, done)
        before = backend.raw(store, "s1")
        with pytest.raises(ConflictError) as caught:
            store.save("s1", {"n": "lost"}, version)
        assert str(caught.value) == (
            f"session 's1' was changed by another request since version {version}"
        )
        assert backend.raw(store, "s1") == before

    @pytest.mark.parametrize(
        ("data", "problem"),
        [
            pytest.param({1: "a"}, "the map key 1 is not a string", id="int-key"),
            pytest.param(
                {"x": {"y": {None: 1}}},
                "at ['x']['y']: the map key None is not a string",
                id="deep",
            ),
            pytest.param(
                {"a": [1, math.nan]}, "at ['a'][1]: the float nan is not a JSON number", id="nan"
            ),
            pytest.param(
                {"a": -math.inf}, "at ['a']: the float -inf is not a JSON number", id="inf"
            ),
            pytest.param(
                {"f": len},
                "at ['f']: a value of type builtin_function_or_method is not JSON",
                id="fn",
            ),
            pytest.param({"t": (1, 2)}, "at ['t']: a value of type tuple is not JSON", id="tuple"),
            pytest.param({"b": b"x"}, "at ['b']: a value of type bytes is not JSON", id="bytes"),
        ],
    )
    def test_unstorable_value_writes_nothing(
        self, backend: Backend, data: dict[Any, Any], problem: str
    ) -> None:
        store = backend.make()
        store.save("s1", {"kept": 1}, 0)
        before = backend.raw(store, "s1")
        for session_id, version in (("s1", 1), ("s2", 0)):
            with pytest.raises(StoreError) as caught:
                store.save(session_id, data, version)
            assert str(caught.value) == f"session {session_id!r} cannot be stored: {problem}"
        assert backend.raw(store, "s1") == before
        assert store.load("s2") is None

    def test_touch_pushes_expiry(self, backend: Backend) -> None:
        store = backend.make(ttl=TTL)
        store.save("s1", {"a": 1}, 0)
        backend.advance(TTL * 0.6)
        low, high = expires_between(backend, lambda: store.touch("s1"), TTL)
        backend.advance(TTL * 0.6)
        snapshot = store.load("s1")
        assert snapshot is not None
        assert (snapshot.data, snapshot.version) == ({"a": 1}, 1)
        assert low <= snapshot.expires_at <= high

    def test_refresh_pushes_expiry_only_once_it_trails_by_the_resolution(
        self, backend: Backend
    ) -> None:
        store = backend.make(ttl=60)  # resolution: 1% of the ttl, 0.6 s
        store.save("s1", {"a": 1}, 0)
        loaded = store.load("s1")
        assert loaded is not None
        stored = backend.raw(store, "s1")
        assert store.refresh("s1", loaded.expires_at) is True
        assert backend.raw(store, "s1") == stored  # pushed a moment ago: nothing written
        backend.advance(0.7)
        low, high = expires_between(backend, lambda: store.refresh("s1", loaded.expires_at), 60)
        refreshed = store.load("s1")
        assert refreshed is not None
        assert (refreshed.data, refreshed.version) == ({"a": 1}, 1)
        assert low <= refreshed.expires_at <= high
        assert store.refresh("nobody", loaded.expires_at) is False

    def test_touch_of_unknown_or_expired_is_false(self, backend: Backend) -> None:
        store = backend.make(ttl=TTL)
        store.save("s1", {}, 0)
        backend.advance(TTL * 1.5)
        assert (store.touch("s1"), store.touch("nobody")) == (False, False)
        assert store.load("s1") is None

    def test_expired_session_is_invisible_before_any_cleanup(self, backend: Backend) -> None:
        store = backend.make(ttl=TTL)
        store.save("old", {"a": 1}, 0)
        backend.advance(TTL * 0.6)
        store.save("new", {"b": 2}, 0)
        backend.advance(TTL * 0.6)
        assert store.load("old") is None
        assert [info.session_id for info in store.sessions()] == ["new"]
        with pytest.raises(ConflictError):
            store.save("old", {"a": 2}, 1)
        assert store.delete("old") is False

    def test_expired_session_can_be_created_again(self, backend: Backend) -> None:
        store = backend.make(ttl=TTL)
        store.save("s1", {"a": 1}, 0)
        backend.advance(TTL * 1.5)
        version = store.save("s1", {"b": 2}, 0)
        snapshot = store.load("s1")
        assert snapshot is not None
        assert (snapshot.data, snapshot.version) == ({"b": 2}, version)

    def test_delete(self, backend: Backend) -> None:
        store = backend.make()
        store.save("s1", {}, 0)
        assert (store.delete("s1"), store.delete("s1"), store.delete("nobody")) == (
            True,
            False,
            False,
        )
        assert store.load("s1") is None

    @pytest.mark.parametrize("duty", [1.0, 0.5], ids=["flat-out", "paced"])
    def test_purge_removes_expired_only(self, backend: Backend, duty: float) -> None:
        store = backend.make(ttl=TTL)
        for session_id in ("a", "b", "c"):
            store.save(session_id, {}, 0)
        backend.advance(TTL * 0.6)
        for session_id in ("d", "e"):
            store.save(session_id, {}, 0)
        backend.advance(TTL * 0.6)
        purged = store.purge_expired(batch_size=2, duty=duty)
        assert purged == {"memory": 3, "sqlite": 3, "redis": 0, "postgres": 3}[store.kind]
        assert [info.session_id for info in store.sessions()] == ["d", "e"]
        assert store.purge_expired() == 0

    def test_purge_stops_after_a_batch_when_asked(self, backend: Backend) -> None:
        store = backend.make(ttl=TTL)
        for session_id in ("a", "b", "c"):
            store.save(session_id, {}, 0)
        backend.advance(TTL * 1.5)
        stop = threading.Event()
        stop.set()
        first = store.purge_expired(batch_size=2, stop=stop)
        assert (first, store.purge_expired(batch_size=2)) == {
            "memory": (2, 1),
            "sqlite": (2, 1),
            "redis": (0, 0),
            "postgres": (2, 1),
        }[store.kind]

    def test_check_passes_on_a_working_store(self, backend: Backend) -> None:
        store = backend.make()
        store.check()

    @pytest.mark.parametrize("duty", [0.0, -1.0, 1.5])
    def test_purge_duty_must_be_a_share(self, duty: float) -> None:
        with pytest.raises(ValueError) as caught:
            MemoryStore(60).purge_expired(duty=duty)
        assert str(caught.value) == f"duty must be in (0, 1], not {duty!r}"

    def test_sessions_lists_live_sessions_soonest_expiry_first(self, backend: Backend) -> None:
        store = backend.make(ttl=60)
        bounds = {}
        for session_id, data in (("b", {"x": 1}), ("a", {}), ("c", {"x": 1, "y": 2})):
            save = functools.partial(store.save, session_id, data, 0)
            bounds[session_id] = expires_between(backend, save, 60)
            backend.advance(0.01)
        store.save("gone", {}, 0)
        store.delete("gone")
        listed = list(store.sessions())
        assert [(info.session_id, info.keys) for info in listed] == [("b", 1), ("a", 0), ("c", 2)]
        for info in listed:
            low, high = bounds[info.session_id]
            assert low - 0.01 <= info.expires_at <= high + 0.01
            assert low - 60 <= info.last_used <= high - 60

    def test_stores_on_one_place_share_sessions(self, shared: Backend) -> None:
        first, second = shared.make(), shared.make()
        first.save("s1", {"by": "first"}, 0)
        snapshot = second.load("s1")
        assert snapshot is not None
        second.save("s1", {"by": "second"}, snapshot.version)
        with pytest.raises(ConflictError):
            first.save("s1", {"by": "first again"}, 1)
        assert [(info.session_id, info.keys) for info in first.sessions()] == [("s1", 1)]


class TestUnreadableData:
    """A corrupted or foreign entry is a clear error naming its session; others stay readable."""

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            pytest.param("{not json", "its data is not JSON", id="broken-json"),
            pytest.param("NaN", "its data is not JSON", id="nan-literal"),
            pytest.param("[1, 2]", "its data is a JSON list, not a map", id="list"),
            pytest.param('"text"', "its data is a JSON string, not a map", id="string"),
            pytest.param("42", "its data is a JSON number, not a map", id="number"),
            pytest.param("null", "its data is a JSON null, not a map", id="null"),
        ],
    )
    def test_bad_data(self, shared: Backend, data: str, reason: str) -> None:
        store = shared.make()
        store.save("good", {"a": 1}, 0)
        shared.corrupt("bad", data)
        with pytest.raises(StoreError) as caught:
            store.load("bad")
        assert str(caught.value) == f"session 'bad' is unreadable: {reason}"
        snapshot = store.load("good")
        assert snapshot is not None and snapshot.data == {"a": 1}
        assert {(info.session_id, info.keys) for info in store.sessions()} == {
            ("good", 1),
            ("bad", None),
        }
        assert store.delete("bad") is True
        assert store.load("bad") is None

    def test_sqlite_foreign_row_types(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "s.db", 60)
        store.save("good", {"a": 1}, 0)
        with sqlite3.connect(tmp_path / "s.db") as connection:
            connection.execute(
                "INSERT INTO sessions VALUES ('typed', '{}', 'one', 'yesterday', 'never')"
            )
            connection.execute("INSERT INTO sessions VALUES ('blob', x'00ff', 1, 0, 9e99)")
        messages = []
        for session_id in ("typed", "blob"):
            with pytest.raises(StoreError) as caught:
                store.load(session_id)
            messages.append(str(caught.value))
        assert messages == [
            "session 'typed' is unreadable: its version or expiry is not a number",
            "session 'blob' is unreadable: its data is not JSON",
        ]
        assert [(info.session_id, info.keys) for info in store.sessions()] == [
            ("good", 1),
            ("blob", None),
            ("typed", 0),
        ]
        store.close()

    def test_redis_key_of_another_type(self, tmp_path: Path) -> None:
        with open_backend("redis", tmp_path) as backend:
            store = backend.make()
            assert backend.redis_client is not None
            backend.redis_client.set(backend.key_prefix + "foreign", "hello")
            store.save("good", {}, 0)
            for action in (store.load, store.touch, lambda sid: store.save(sid, {}, 1)):
                with pytest.raises(StoreError) as caught:
                    action("foreign")
                assert str(caught.value) == (
                    "session 'foreign' is unreadable: its Redis key is not a hash"
                )
            listed = [(info.session_id, info.keys, info.expires_at) for info in store.sessions()]
            assert listed[0][:2] == ("good", 0)
            assert listed[1] == ("foreign", None, math.inf)


class TestOpenStore:
    """settings.session (SPEC §8) and --store URLs."""

    @pytest.mark.parametrize(
        ("config", "kind", "ttl", "interval", "where"),
        [
            pytest.param(None, "sqlite", 1800.0, 300.0, ".kdeps/sessions.db", id="defaults"),
            pytest.param({}, "sqlite", 1800.0, 300.0, ".kdeps/sessions.db", id="empty"),
            pytest.param(
                {"type": "sqlite", "path": "data/s.db", "ttl": "24h", "cleanupInterval": "1h"},
                "sqlite",
                86400.0,
                3600.0,
                "data/s.db",
                id="sqlite",
            ),
            pytest.param(
                {"type": "memory", "ttl": "30s", "cleanupInterval": "250ms"},
                "memory",
                30.0,
                0.25,
                None,
                id="memory",
            ),
        ],
    )
    def test_valid(
        self,
        tmp_path: Path,
        config: dict[str, Any] | None,
        kind: str,
        ttl: float,
        interval: float,
        where: str | None,
    ) -> None:
        store = open_store(config, tmp_path)
        assert (store.kind, store.ttl, store.cleanup_interval) == (kind, ttl, interval)
        if where is not None:
            assert isinstance(store, SqliteStore)
            assert store.path == tmp_path / where
            assert store.path.is_file()
        store.close()

    def test_sqlite_in_memory_path_is_a_memory_store_and_makes_no_file(
        self, tmp_path: Path
    ) -> None:
        store = open_store({"type": "sqlite", "path": ":memory:", "ttl": "1m"}, tmp_path)
        assert isinstance(store, MemoryStore)
        assert (store.kind, store.ttl) == ("memory", 60.0)
        assert list(tmp_path.iterdir()) == []
        store.close()

    def test_absolute_sqlite_path(self, tmp_path: Path) -> None:
        path = tmp_path / "abs" / "s.db"
        store = open_store({"path": str(path)}, tmp_path / "elsewhere")
        assert isinstance(store, SqliteStore) and store.path == path
        store.close()

    def test_redis(self, tmp_path: Path) -> None:
        config = {"type": "redis", "url": "redis://127.0.0.1:6379/0", "keyPrefix": "app:"}
        store = open_store(config, tmp_path)
        assert isinstance(store, RedisStore)
        assert (store.url, store.key_prefix, store.ttl) == (
            "redis://127.0.0.1:6379/0",
            "app:",
            1800,
        )
        store.close()

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            pytest.param(
                {"type": "mysql"},
                "settings.session.type: unknown store type 'mysql' "
                "(use sqlite, memory, redis or postgres)",
                id="unknown-type",
            ),
            pytest.param(
                {"type": ["sqlite"]},
                "settings.session.type: unknown store type ['sqlite'] "
                "(use sqlite, memory, redis or postgres)",
                id="type-not-text",
            ),
            pytest.param(
                {"tll": "5m"},
                "settings.session: unknown key 'tll' (known keys: type, path, url, ttl, "
                "cleanupInterval, keyPrefix, schema, table, renewOn, cookieName)",
                id="unknown-key",
            ),
            pytest.param(
                {"type": "redis", "path": "x.db", "url": "redis://h"},
                "settings.session.path does not apply to type redis",
                id="path-for-redis",
            ),
            pytest.param(
                {"type": "memory", "url": "redis://h"},
                "settings.session.url does not apply to type memory",
                id="url-for-memory",
            ),
            pytest.param(
                {"type": "redis"},
                "settings.session.url must be a non-empty string, not None",
                id="redis-without-url",
            ),
            pytest.param(
                {"path": 5},
                "settings.session.path must be a non-empty string, not 5",
                id="path-not-text",
            ),
            pytest.param(
                {"type": "postgres", "path": "x.db", "url": "postgresql://h/db"},
                "settings.session.path does not apply to type postgres",
                id="path-for-postgres",
            ),
            pytest.param(
                {"type": "postgres", "url": "redis://h/0"},
                "settings.session.url: 'redis://h/0' is not a PostgreSQL URL "
                "(use postgresql://user@host:port/database)",
                id="postgres-url-of-another-store",
            ),
            pytest.param(
                {"type": "postgres", "url": "postgres://u:pw@h/db", "table": "1st"},
                "settings.session.table: '1st' is not a usable table name (letters, digits and "
                "_, not starting with a digit, at most 52 characters)",
                id="postgres-table-name",
            ),
            pytest.param(
                {"type": "postgres", "url": "postgresql://h/db", "schema": "a" * 64},
                f"settings.session.schema: {'a' * 64!r} is not a usable schema name (letters, "
                "digits and _, not starting with a digit, at most 63 characters)",
                id="postgres-schema-too-long",
            ),
            pytest.param(
                {"ttl": "30 minutes"},
                "settings.session.ttl: invalid duration '30 minutes': use one or more "
                "<number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'",
                id="bad-ttl",
            ),
            pytest.param(
                {"cleanupInterval": 60},
                "settings.session.cleanupInterval: invalid duration 60: a duration needs a "
                "unit; use one or more <number><unit> with units ms, s, m, h, d, such as "
                "'30m' or '1h30m'",
                id="interval-without-unit",
            ),
            pytest.param(
                {"ttl": "0s"},
                "settings.session.ttl must be longer than zero, not '0s'",
                id="zero-ttl",
            ),
            pytest.param(
                ["sqlite"], "settings.session must be a map, not ['sqlite']", id="not-a-map"
            ),
        ],
    )
    def test_invalid(self, tmp_path: Path, config: Any, message: str) -> None:
        with pytest.raises(WorkflowError) as caught:
            open_store(config, tmp_path)
        assert str(caught.value) == message
        assert not (tmp_path / ".kdeps").exists()

    @pytest.mark.parametrize(
        ("url", "kind", "where"),
        [
            pytest.param("sqlite://{tmp}/a.db", "sqlite", "{tmp}/a.db", id="sqlite-absolute"),
            pytest.param("sqlite:rel/b.db", "sqlite", "rel/b.db", id="sqlite-relative"),
            pytest.param("memory:", "memory", None, id="memory"),
            pytest.param(
                "redis://127.0.0.1:6379/0", "redis", "redis://127.0.0.1:6379/0", id="redis"
            ),
        ],
    )
    def test_urls(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        url: str,
        kind: str,
        where: str | None,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        store = open_store_url(url.format(tmp=tmp_path))
        assert (store.kind, store.ttl) == (kind, 1800.0)
        if isinstance(store, SqliteStore):
            assert str(store.path) == str(where).format(tmp=tmp_path)
        if isinstance(store, RedisStore):
            assert store.url == where
        store.close()

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            pytest.param("mysql://db/x", "'mysql://db/x'", id="other-scheme"),
            pytest.param("postgresql:db", "'postgresql:db'", id="postgres-without-slashes"),
            pytest.param("sqlite:", "'sqlite:'", id="sqlite-without-path"),
            pytest.param("sqlite://host/x.db", "'sqlite://host/x.db'", id="sqlite-with-host"),
            pytest.param("memory:x", "'memory:x'", id="memory-with-name"),
            pytest.param("http://u:pw@h/x", "'http://u:***@h/x'", id="password-hidden"),
        ],
    )
    def test_bad_urls(self, url: str, shown: str) -> None:
        with pytest.raises(StoreError) as caught:
            open_store_url(url)
        assert str(caught.value) == (
            f"unsupported store URL {shown} (use sqlite:///abs/path.db, sqlite:relative.db, "
            "memory:, redis://host:port/db or postgresql://user@host:port/database)"
        )


class TestStoreFailures:
    """Failures of the store itself are StoreErrors with a clear message, never tracebacks."""

    def test_sqlite_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("hello, this is not a database" * 100)
        with pytest.raises(StoreError) as caught:
            SqliteStore(path, 60)
        assert str(caught.value) == f"session store {path}: file is not a database"

    def test_sqlite_path_that_is_a_folder(self, tmp_path: Path) -> None:
        with pytest.raises(StoreError) as caught:
            SqliteStore(tmp_path, 60)
        assert str(caught.value) == f"session store {tmp_path}: unable to open database file"

    def test_sqlite_in_memory_is_refused(self) -> None:
        with pytest.raises(StoreError) as caught:
            SqliteStore(":memory:", 60)
        assert str(caught.value) == "session store path ':memory:' is not a file; use type memory"

    def test_sqlite_closed_store(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "s.db", 60)
        store.close()
        with pytest.raises(StoreError) as caught:
            store.load("s1")
        assert str(caught.value) == f"session store {tmp_path / 's.db'} is closed"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            pytest.param(
                "redis://127.0.0.1:1/0",
                "session store redis://127.0.0.1:1/0 is unreachable: "
                "Error 111 connecting to 127.0.0.1:1. Connection refused.",
                id="refused",
            ),
            pytest.param(
                "redis://:hunter2@127.0.0.1:1/0",
                "session store redis://:***@127.0.0.1:1/0 is unreachable: "
                "Error 111 connecting to 127.0.0.1:1. Connection refused.",
                id="password-hidden",
            ),
        ],
    )
    def test_redis_unreachable(self, url: str, message: str) -> None:
        store = RedisStore(url, 60)
        for action in (store.load, store.touch, store.delete, lambda sid: store.save(sid, {}, 0)):
            with pytest.raises(StoreError) as caught:
                action("s1")
            assert str(caught.value) == message
        with pytest.raises(StoreError) as caught:
            list(store.sessions())
        assert str(caught.value) == message
        with pytest.raises(StoreError) as caught:
            store.check()
        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("url", "database"),
        [
            pytest.param("redis://127.0.0.1:6379/abc", "abc", id="word"),
            pytest.param("redis://127.0.0.1:6379/1/2", "1/2", id="two-segments"),
            pytest.param("redis://127.0.0.1:6379/-1", "-1", id="negative"),
            pytest.param("rediss://:pw@127.0.0.1:6379/ 3", " 3", id="space"),
        ],
    )
    def test_redis_url_database_that_is_not_a_number(self, url: str, database: str) -> None:
        """redis-py ignores a path it cannot read (``/abc`` is database 0, ``/1/2`` is 12)."""
        with pytest.raises(StoreError) as caught:
            RedisStore(url, 60)
        assert str(caught.value) == (
            f"session store {redacted(url)}: the database {database!r} in the URL is not a "
            "number (use redis://host:port/0)"
        )

    @pytest.mark.parametrize(
        "url",
        ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/15"],
    )
    def test_redis_url_database_forms(self, url: str) -> None:
        RedisStore(url, 60).close()

    def test_redis_ttl_beyond_what_redis_can_expire(self) -> None:
        """PEXPIRE refuses it, after the save script has written the data: a key with no
        expiry would be left behind at every request, so the store refuses to open."""
        with pytest.raises(StoreError) as caught:
            RedisStore("redis://127.0.0.1:6379/0", 1e17)
        assert str(caught.value) == (
            "session store redis://127.0.0.1:6379/0: a ttl of 1e+17 seconds is longer "
            "than Redis can keep a key"
        )

    def test_redis_longest_ttl_still_expires(self) -> None:
        client = require_redis()
        prefix = f"kdeps-test-{uuid.uuid4().hex}:"
        store = RedisStore(REDIS_URL, 1e14, key_prefix=prefix)
        try:
            assert store.save("s1", {"a": 1}, 0) == 1
            assert client.pttl(prefix + "s1") > 0
        finally:
            delete_prefix(client, prefix)
            store.close()

    @pytest.mark.parametrize(
        ("package", "url", "message"),
        [
            pytest.param(
                "redis",
                "redis://127.0.0.1:6379/0",
                "session store type redis needs the redis package (pip install redis)",
                id="redis",
            ),
            pytest.param(
                "psycopg",
                "postgresql://127.0.0.1/test",
                "session store type postgres needs the psycopg and psycopg-pool packages "
                "(pip install 'psycopg[binary]' psycopg-pool)",
                id="psycopg",
            ),
            pytest.param(
                "psycopg_pool",
                "postgres://127.0.0.1/test",
                "session store type postgres needs the psycopg and psycopg-pool packages "
                "(pip install 'psycopg[binary]' psycopg-pool)",
                id="psycopg-pool",
            ),
        ],
    )
    def test_client_package_missing(self, package: str, url: str, message: str) -> None:
        code = (
            f"import sys; sys.modules[{package!r}] = None\n"
            "from kdeps_expr.sessions import open_store_url\n"
            "from kdeps_expr.errors import StoreError\n"
            f"try:\n    open_store_url({url!r})\n"
            "except StoreError as exc:\n    print(exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert done.stdout == message + "\n"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param({"a": [1, 2.5, "x", None, True, {"b": []}]}, None, id="json"),
        pytest.param(
            {"a": {"b": [0, {"c": {3: 1}}]}},
            "at ['a']['b'][1]['c']: the map key 3 is not a string",
            id="path",
        ),
        pytest.param([{1: 2}], "at [0]: the map key 1 is not a string", id="list-root"),
        pytest.param({1}, "a value of type set is not JSON", id="set-root"),
    ],
)
def test_json_problem(value: object, problem: str | None) -> None:
    assert json_problem(value) == problem


def test_the_expiry_resolution_is_one_second_at_most() -> None:
    clock = FakeClock()
    store = MemoryStore(3600.0, clock)  # 1% of the ttl would be 36 s
    store.save("s1", {}, 0)
    loaded = store.load("s1")
    assert loaded is not None
    clock.advance(0.9)
    assert store.refresh("s1", loaded.expires_at) is True
    assert store.load("s1") == loaded
    clock.advance(0.2)
    assert store.refresh("s1", loaded.expires_at) is True
    assert store.load("s1") == Snapshot({}, 1, clock() + 3600.0)


class TestCleaner:
    """The background purge of long-running processes."""

    def test_purges_every_interval(self) -> None:
        clock = FakeClock()
        store = MemoryStore(10, clock, cleanup_interval=0.01)
        for session_id in ("a", "b", "c"):
            store.save(session_id, {}, 0)
        clock.advance(11)
        store.save("d", {}, 0)
        with Cleaner(store) as cleaner:
            deadline = time.monotonic() + 5
            while cleaner.purged < 3 and time.monotonic() < deadline:
                time.sleep(0.005)
        assert (cleaner.interval, cleaner.purged) == (0.01, 3)
        assert store.purge_expired() == 0
        assert [info.session_id for info in store.sessions()] == ["d"]

    def test_failure_is_logged_and_retried(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = SqliteStore(tmp_path / "s.db", 60)
        store.close()
        with caplog.at_level(logging.WARNING, "kdeps_expr.sessions.cleaner"), Cleaner(store, 0.005):
            deadline = time.monotonic() + 5
            while len(caplog.records) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
        assert len(caplog.records) >= 2
        assert caplog.records[0].getMessage() == (
            f"session cleanup failed: session store {tmp_path / 's.db'} is closed"
        )

    @pytest.mark.parametrize("interval", [1e10, 200000 * 86400.0], ids=["1e10s", "200000d"])
    def test_an_interval_longer_than_a_thread_can_wait(self, interval: float) -> None:
        """``Event.wait`` overflows past ``threading.TIMEOUT_MAX``; the thread must live on."""
        cleaner = Cleaner(MemoryStore(10, cleanup_interval=interval)).start()
        time.sleep(0.1)
        assert cleaner.alive
        cleaner.stop(timeout=5)
        assert not cleaner.alive

    def test_stop_interrupts_a_paced_purge(self) -> None:
        clock = FakeClock()
        store = MemoryStore(10, clock)
        for number in range(2000):
            store.save(f"s{number}", {}, 0)
        clock.advance(11)
        cleaner = Cleaner(store, 0.001, batch_size=10, duty=0.001).start()
        time.sleep(0.1)
        started = time.monotonic()
        cleaner.stop(timeout=5)
        assert time.monotonic() - started < 1
        assert 0 < cleaner.purged < 2000
        assert store.purge_expired() == 2000 - cleaner.purged

    def test_stop_ends_the_thread(self) -> None:
        cleaner = Cleaner(MemoryStore(60), 3600).start()
        assert cleaner.alive
        started = time.monotonic()
        cleaner.stop(timeout=5)
        assert time.monotonic() - started < 1
        assert not cleaner.alive
