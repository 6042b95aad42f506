"""What the PostgreSQL store adds to the contract: its table, its options, losing the server.

The contract itself (tests/test_stores.py, tests/test_session_concurrency.py) runs against
PostgreSQL like every other backend. These tests use the test database, each in a schema
of its own; the server "going away" is a TCP proxy in front of it that the test cuts, so
the shared server is never touched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from _proxy import Proxy
from psycopg import sql
from session_backends import POSTGRES_URL, FakeClock, postgres_schema

from kdeps_expr.cli import main
from kdeps_expr.errors import ConflictError, StoreError
from kdeps_expr.sessions import (
    PostgresStore,
    SessionState,
    open_store,
    open_store_url,
    transact,
)

Connection = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def database() -> Iterator[tuple[Connection, str]]:
    """An autocommit connection to the test database and a schema of the test's own."""
    with postgres_schema() as opened:
        yield opened


def rows(connection: Connection, query: str, *params: object) -> list[tuple[Any, ...]]:
    return connection.execute(query, params).fetchall()  # type: ignore[arg-type]


def via(proxy: Proxy) -> str:
    """``POSTGRES_URL`` with its host and port replaced by the proxy's."""
    parts = urlsplit(POSTGRES_URL)
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}127.0.0.1:{proxy.port}{parts.path}"


def target() -> tuple[str, int]:
    parts = urlsplit(POSTGRES_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


class TestTable:
    def test_made_on_first_use_with_an_indexed_expiry(
        self, database: tuple[Connection, str]
    ) -> None:
        connection, schema = database
        store = PostgresStore(POSTGRES_URL, 60, schema=schema)
        exists = "SELECT to_regclass(%s) IS NOT NULL"
        assert rows(connection, exists, f"{schema}.kdeps_sessions") == [(False,)]
        store.check()
        columns = rows(
            connection,
            "SELECT column_name, data_type, is_nullable, collation_name "
            "FROM information_schema.columns WHERE table_schema = %s ORDER BY ordinal_position",
            schema,
        )
        assert columns == [
            ("id", "text", "NO", "C"),
            ("data", "text", "NO", None),
            ("version", "bigint", "NO", None),
            ("last_used", "double precision", "NO", None),
            ("expires_at", "double precision", "NO", None),
        ]
        indexes = rows(
            connection,
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY indexname",
            schema,
        )
        assert indexes == [
            (
                f"CREATE INDEX kdeps_sessions_expires_at ON {schema}.kdeps_sessions "
                "USING btree (expires_at)",
            ),
            (
                f"CREATE UNIQUE INDEX kdeps_sessions_pkey ON {schema}.kdeps_sessions "
                "USING btree (id)",
            ),
        ]
        store.close()

    def test_stores_starting_together_make_it_once(self, database: tuple[Connection, str]) -> None:
        """Concurrent ``CREATE TABLE IF NOT EXISTS`` can fail on PostgreSQL's catalog; the
        advisory lock around it makes stores (of many processes) take turns."""
        _, schema = database
        stores = [PostgresStore(POSTGRES_URL, 60, schema=schema) for _ in range(8)]
        start = threading.Barrier(len(stores))
        errors: list[BaseException] = []

        def first_use(store: PostgresStore, number: int) -> None:
            start.wait()
            try:
                store.save(f"s{number}", {"n": number}, 0)
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=first_use, args=(store, number))
            for number, store in enumerate(stores)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(info.session_id for info in stores[0].sessions()) == [
            f"s{number}" for number in range(8)
        ]
        for store in stores:
            store.close()

    def test_a_table_dropped_while_in_use_is_made_again(
        self, database: tuple[Connection, str]
    ) -> None:
        """A server restored empty (no volume, a new replica) is used again, without a restart."""
        connection, schema = database
        store = PostgresStore(POSTGRES_URL, 60, schema=schema)
        store.save("s1", {"a": 1}, 0)
        connection.execute(sql.SQL("DROP TABLE {}.kdeps_sessions").format(sql.Identifier(schema)))
        assert store.load("s1") is None
        assert store.save("s1", {"a": 2}, 0) == 1
        store.close()

    def test_an_inspection_never_makes_one(self, database: tuple[Connection, str]) -> None:
        connection, schema = database
        url = f"{POSTGRES_URL}?schema={schema}"
        with pytest.raises(StoreError) as caught:
            open_store_url(url, must_exist=True).load("s1")
        assert str(caught.value) == (
            f"no session store at {url} (table {schema}.kdeps_sessions): "
            "nothing has been stored there"
        )
        assert rows(connection, "SELECT to_regclass(%s)", f"{schema}.kdeps_sessions") == [(None,)]


class TestPlaces:
    """``schema`` and ``table`` let workflows (and test runs) share one database."""

    def test_tables_do_not_share_sessions(self, database: tuple[Connection, str]) -> None:
        _, schema = database
        shop = PostgresStore(POSTGRES_URL, 60, schema=schema, table="shop_sessions")
        blog = PostgresStore(POSTGRES_URL, 60, schema=schema, table="blog_sessions")
        shop.save("s1", {"cart": []}, 0)
        assert blog.load("s1") is None
        assert blog.save("s1", {"posts": 1}, 0) == 1
        by_url = open_store_url(f"{POSTGRES_URL}?schema={schema}&table=shop_sessions")
        snapshot = by_url.load("s1")
        assert snapshot is not None and snapshot.data == {"cart": []}
        for store in (shop, blog, by_url):
            store.close()

    def test_settings(self, database: tuple[Connection, str], tmp_path: Path) -> None:
        _, schema = database
        config = {
            "type": "postgres",
            "url": POSTGRES_URL,
            "schema": schema,
            "table": "app_sessions",
            "ttl": "2h",
            "cleanupInterval": "1m",
        }
        store = open_store(config, tmp_path)
        assert isinstance(store, PostgresStore)
        assert (store.kind, store.ttl, store.cleanup_interval, store.schema, store.table) == (
            "postgres",
            7200.0,
            60.0,
            schema,
            "app_sessions",
        )
        store.save("s1", {}, 0)
        assert [info.session_id for info in store.sessions()] == ["s1"]
        store.close()


def test_a_stricter_default_isolation_still_loses_no_update(
    database: tuple[Connection, str],
) -> None:
    """Under REPEATABLE READ (a database's or a role's default) a save that waited for a
    concurrent one would fail instead of re-checking its version: the store's connections
    run at READ COMMITTED whatever the default, so the visits all count, none fails."""
    _, schema = database
    strict = "?options=-c%20default_transaction_isolation%3Drepeatable%5C%20read"
    store = PostgresStore(POSTGRES_URL + strict, 60, schema=schema)
    store.save("s1", {}, 0)
    errors: list[BaseException] = []

    def visit(state: SessionState) -> tuple[None, bool]:
        state.set("visits", (state.get("visits") or 0) + 1)
        return None, True

    def client() -> None:
        for _ in range(25):
            try:
                transact(store, "s1", visit)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = store.load("s1")
    assert (errors, snapshot is not None and snapshot.data) == ([], {"visits": 100})
    store.close()


class TestLosingTheServer:
    """A server that goes away and comes back is used again without a restart."""

    def test_connections_the_server_closed_are_replaced_before_use(
        self, database: tuple[Connection, str]
    ) -> None:
        _, schema = database
        with Proxy(target()) as proxy:
            store = PostgresStore(via(proxy), 60, schema=schema)
            assert store.save("s1", {"n": 1}, 0) == 1
            proxy.drop()  # as a restart does: every pooled connection is now dead
            assert store.save("s2", {}, 0) == 1  # a save is not repeated: it must get a live one
            snapshot = store.load("s1")
            assert snapshot is not None and snapshot.data == {"n": 1}
            assert store.save("s1", {"n": 2}, 1) == 2
            store.close()

    def test_an_outage_fails_each_request_and_recovery_needs_no_restart(
        self, database: tuple[Connection, str]
    ) -> None:
        connection, schema = database
        raw = sql.SQL("SELECT * FROM {}.kdeps_sessions").format(sql.Identifier(schema))
        with Proxy(target()) as proxy:
            url = via(proxy)
            store = PostgresStore(url, 60, schema=schema)
            store.save("s1", {"visits": 1}, 0)
            before = connection.execute(raw).fetchall()
            proxy.cut()
            message = (
                f"session store {url} is unreachable: connection failed: connection to server "
                f'at "127.0.0.1", port {proxy.port} failed: Connection refused'
            )
            for action in (
                lambda: store.load("s1"),
                lambda: store.save("s1", {"visits": 2}, 1),
                lambda: transact(store, "s1", lambda state: (state.set("visits", 3), True)),
                lambda: store.touch("s1"),
                lambda: store.delete("s1"),
                lambda: list(store.sessions()),
                lambda: store.purge_expired(),
                store.check,
            ):
                with pytest.raises(StoreError) as caught:
                    action()
                assert str(caught.value) == message
            assert connection.execute(raw).fetchall() == before
            proxy.restore()
            _, state = transact(store, "s1", lambda state: (state.set("visits", 2), True))
            assert state.existing_id == "s1"
            snapshot = store.load("s1")
            assert snapshot is not None and (snapshot.data, snapshot.version) == ({"visits": 2}, 2)
            with pytest.raises(ConflictError):
                store.save("s1", {"visits": 0}, 1)
            store.close()

    def test_unreachable_at_start(self) -> None:
        store = PostgresStore("postgresql://kdeps:pw@127.0.0.1:1/test?table=t1", 60)
        with pytest.raises(StoreError) as caught:
            store.check()
        assert str(caught.value) == (
            "session store postgresql://kdeps:***@127.0.0.1:1/test?table=t1 is unreachable: "
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused"
        )
        store.close()


def test_cleanup_by_several_processes_deletes_each_session_once(
    database: tuple[Connection, str],
) -> None:
    """Purges running at once (a Cleaner per server process) skip each other's rows."""
    _, schema = database
    clock = FakeClock()
    stores = [PostgresStore(POSTGRES_URL, 10, clock, schema=schema) for _ in range(3)]
    for number in range(600):
        stores[0].save(f"s{number}", {}, 0)
    stores[0].save("live", {}, 0)
    clock.advance(5)
    stores[0].save("later", {}, 0)
    clock.advance(6)
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda store=store: counts.append(store.purge_expired(25)))
        for store in stores
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 601
    assert [info.session_id for info in stores[1].sessions()] == ["later"]
    for store in stores:
        store.close()


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        pytest.param(
            ["type: postgres", "url: mysql://db.internal/app"],
            "workflow.yaml:8:10: settings.session.url: 'mysql://db.internal/app' is not a "
            "PostgreSQL URL (use postgresql://user@host:port/database)\n"
            " |     url: mysql://db.internal/app\n"
            " | .........^\n",
            id="scheme",
        ),
        pytest.param(
            ["type: postgres", "url: postgresql://db.internal/app?sslmod=require"],
            "workflow.yaml:8:10: settings.session.url: invalid URI query parameter: "
            '"sslmod"\n'
            " |     url: postgresql://db.internal/app?sslmod=require\n"
            " | .........^\n",
            id="libpq-parameter",
        ),
        pytest.param(
            ["type: postgres", "url: postgresql://db.internal:54o2/app"],
            "workflow.yaml:8:10: settings.session.url: the port '54o2' is not a number\n"
            " |     url: postgresql://db.internal:54o2/app\n"
            " | .........^\n",
            id="port",
        ),
        pytest.param(
            ["type: postgres", "url: postgresql://db.internal/app", "table: shop-sessions"],
            "workflow.yaml:9:12: settings.session.table: 'shop-sessions' is not a usable "
            "table name (letters, digits and _, not starting with a digit, at most 52 "
            "characters)\n"
            " |     table: shop-sessions\n"
            " | ...........^\n",
            id="table",
        ),
        pytest.param(
            ["type: postgres", "url: postgresql://db.internal/app?schema=a", "schema: b"],
            "workflow.yaml:9:13: settings.session.schema: the url already names the schema; "
            "give it in one place\n"
            " |     schema: b\n"
            " | ............^\n",
            id="schema-twice",
        ),
        pytest.param(
            ["type: postgres", "url: postgresql://db.internal/app", "keyPrefix: shop"],
            "workflow.yaml:9:5: settings.session.keyPrefix does not apply to type postgres\n"
            " |     keyPrefix: shop\n"
            " | ....^\n",
            id="key-of-another-type",
        ),
    ],
)
def test_check_places_a_malformed_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], error: str
) -> None:
    session = "".join(f"    {line}\n" for line in lines)
    (tmp_path / "workflow.yaml").write_text(
        "metadata:\n"
        "  name: shop\n"
        "  targetActionId: hello\n"
        "settings:\n"
        "  apiServerMode: true\n"
        "  session:\n" + session
    )
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "hello.yaml").write_text(
        "metadata:\n  actionId: hello\nrun:\n  expr:\n    - set('seen', true, 'session')\n"
    )
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out == f"{tmp_path}/{error}{tmp_path}: 1 resource, 1 error, 0 warnings\n"
