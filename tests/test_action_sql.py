"""SPEC §12, sql: on a real SQLite file and the real PostgreSQL of this machine, values are
always bound parameters, ``queries`` run in one transaction, outputs are KDeps' (rows as
maps, CSV, table, rowsAffected), deadlines cancel the statement, pools open once.

PostgreSQL is ``KDEPS_TEST_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/test``);
each test uses tables named with a fresh uuid and drops only those. Without the server the
PostgreSQL cases are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from kdeps_expr import Context, Engine, Request
from kdeps_expr.actions.failures import ExecutorError
from kdeps_expr.actions.sql import (
    PoolSettings,
    SqlConnection,
    SqlPools,
    SqlSpec,
    Statement,
    run_sql,
    sql_connection,
    sql_connections,
)
from kdeps_expr.actions.sql.templated import QueryTemplate
from kdeps_expr.errors import WorkflowError

ENGINE = Engine()
POSTGRES_URL = os.environ.get("KDEPS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def require_postgres() -> None:
    """Skip the test (fail it under ``CI=true``) when PostgreSQL is unreachable."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Database:
    """A database under test: its connection, a fresh table name, and the pools in use."""

    kind: str
    connection: SqlConnection
    table: str
    pools: SqlPools

    def run(self, *statements: Statement | str, **spec: Any) -> Any:
        made = tuple(s if isinstance(s, Statement) else Statement(s) for s in statements)
        many = spec.pop("many", len(made) > 1)
        return run_sql(SqlSpec("db", self.connection, made, many=many, **spec), self.pools)

    def q(self, query: str, *params: Any) -> Any:
        """Run one statement with ``params``; ``{t}`` in the query is the test's table."""
        return self.run(Statement(query.format(t=self.table), tuple(params)))

    def fails(self, *statements: Statement | str, **spec: Any) -> ExecutorError:
        with pytest.raises(ExecutorError) as caught:
            self.run(*statements, **spec)
        return caught.value


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    table = f"t_{uuid.uuid4().hex[:12]}"
    pools = SqlPools()
    if request.param == "sqlite":
        connection = sql_connection("sqlite:///data.db", tmp_path)
    else:
        require_postgres()
        connection = sql_connection(POSTGRES_URL, tmp_path)
    database = Database(request.param, connection, table, pools)
    try:
        yield database
    finally:
        for name in (table, f"{table}_b"):
            with pools.turn(connection) as engine, engine.begin() as raw:
                raw.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        pools.close()


def make_table(db: Database) -> None:
    key = "INTEGER PRIMARY KEY" if db.kind == "sqlite" else "SERIAL PRIMARY KEY"
    db.q(f"CREATE TABLE {{t}} (id {key}, name TEXT, score INTEGER)")


# ---- bound parameters ------------------------------------------------------------------------


def test_a_value_holding_sql_is_stored_as_text(db: Database) -> None:
    make_table(db)
    hostile = "'; DROP TABLE users; --"
    db.q("INSERT INTO {t} (name, score) VALUES ($1, $2)", hostile, 1)
    db.q("INSERT INTO {t} (name, score) VALUES ($1, $2)", "Robert'); DROP TABLE {t};--", 2)
    rows = db.q("SELECT name FROM {t} ORDER BY score")
    assert rows == [{"name": hostile}, {"name": "Robert'); DROP TABLE {t};--"}]


def test_insert_then_select_rows_as_maps(db: Database) -> None:
    make_table(db)
    first = db.q("INSERT INTO {t} (name, score) VALUES ($1, $2)", "Ada", 36)
    assert first == {
        "rowsAffected": 1,
        "lastInsertID": 1 if db.kind == "sqlite" else 0,
        "success": True,
    }
    db.q("INSERT INTO {t} (name, score) VALUES ($1, $2)", "Bob", None)
    assert db.q("SELECT id, name, score FROM {t} ORDER BY id") == [
        {"id": 1, "name": "Ada", "score": 36},
        {"id": 2, "name": "Bob", "score": None},
    ]
    assert db.q("SELECT name FROM {t} WHERE name = $1", "nobody") == []


def test_a_repeated_placeholder_binds_the_same_value(db: Database) -> None:
    make_table(db)
    db.q("INSERT INTO {t} (name, score) VALUES ($1, 1), ($2, 2)", "apple pie", "plum")
    rows = db.q("SELECT name FROM {t} WHERE name LIKE $1 OR name = $1 ORDER BY id", "%pie")
    assert rows == [{"name": "apple pie"}]


def test_percent_signs_and_placeholders_in_literals_are_text(db: Database) -> None:
    rows = db.q("SELECT '100%' || $1 AS a, '$1 ?' AS b /* $2 */ -- $3", "!")
    assert rows == [{"a": "100%!", "b": "$1 ?"}]


def test_returning_gives_rows(db: Database) -> None:
    make_table(db)
    rows = db.q("INSERT INTO {t} (name) VALUES ($1) RETURNING id, name", "Ada")
    assert rows == [{"id": 1, "name": "Ada"}]


def test_lists_and_maps_are_bound_as_json_text(db: Database) -> None:
    assert db.q("SELECT $1 AS v", {"a": [1, 2]}) == [{"v": '{"a":[1,2]}'}]


def test_question_marks_on_sqlite(tmp_path: Path) -> None:
    connection = sql_connection("sqlite:///:memory:", tmp_path)
    spec = SqlSpec("db", connection, (Statement("SELECT ? AS a, ? AS b", ("x", 2)),))
    assert run_sql(spec, SqlPools()) == [{"a": "x", "b": 2}]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgres_dollar_quoted_bodies_are_not_placeholders(db: Database) -> None:
    assert db.q("SELECT $$ $1 ? $$ AS body, $tag$it's$tag$ AS t, $1 AS v", "x") == [
        {"body": " $1 ? ", "t": "it's", "v": "x"}
    ]


@pytest.mark.parametrize(
    ("query", "params", "message"),
    [
        ("SELECT $2 AS a", ("x",), "sql failed in db: the query uses $2 but 1 parameter is given"),
        (
            "SELECT 1 AS a",
            ("x",),
            "sql failed in db: 1 parameter is given but the query uses no placeholder",
        ),
        ("SELECT $1 AS a", (), "sql failed in db: the query uses $1 but 0 parameters are given"),
    ],
)
def test_placeholders_must_match_the_params(
    db: Database, query: str, params: tuple[Any, ...], message: str
) -> None:
    error = db.fails(Statement(query, params))
    assert (error.status, error.message) == (500, message)


# ---- output formats and values ---------------------------------------------------------------


def test_csv_and_table_in_query_column_order(db: Database) -> None:
    make_table(db)
    db.q("INSERT INTO {t} (name, score) VALUES ($1, 36), ($2, NULL)", "Ada, L.", "Bob")
    query = Statement(f"SELECT score, name FROM {db.table} ORDER BY id")
    assert db.run(query, format="csv") == 'score,name\n36,"Ada, L."\n,Bob\n'
    assert db.run(query, format="table") == (
        "+-------+---------+\n"
        "| score | name    |\n"
        "+-------+---------+\n"
        "| 36    | Ada, L. |\n"
        "|       | Bob     |\n"
        "+-------+---------+\n"
    )


def test_max_rows_caps_the_rows(db: Database) -> None:
    query = "SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3"
    assert db.run(query, max_rows=2) == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgres_values_become_kdeps_values(db: Database) -> None:
    rows = db.run(
        "SELECT 30::numeric AS whole, 30.50::numeric(5,2) AS cents, true AS yes,"
        " DATE '2026-01-02' AS day, TIMESTAMPTZ '2026-01-02 03:04:05+00' AS moment,"
        " '{\"a\": [1]}'::jsonb AS doc, ARRAY[1, 2] AS list, 2.5::float8 AS f,"
        " '\\x6869'::bytea AS raw, 9007199254740993::bigint AS big"
    )
    assert rows == [
        {
            "whole": 30,
            "cents": 30.5,
            "yes": True,
            "day": "2026-01-02",
            "moment": "2026-01-02T03:04:05+00:00",
            "doc": {"a": [1]},
            "list": [1, 2],
            "f": 2.5,
            "raw": "hi",
            "big": 9007199254740993,
        }
    ]


# ---- transactions ----------------------------------------------------------------------------


def test_queries_run_in_one_transaction_with_one_output_each(db: Database) -> None:
    make_table(db)
    t = db.table
    outputs = db.run(
        Statement(f"INSERT INTO {t} (name, score) VALUES ($1, $2)", ("Ada", 1)),
        Statement(f"UPDATE {t} SET score = score + $1", (10,)),
        Statement(f"SELECT name, score FROM {t}"),
    )
    assert outputs == [
        {"rowsAffected": 1, "lastInsertID": 1 if db.kind == "sqlite" else 0, "success": True},
        {"rowsAffected": 1, "lastInsertID": 1 if db.kind == "sqlite" else 0, "success": True},
        [{"name": "Ada", "score": 11}],
    ]


def test_a_failing_statement_rolls_every_statement_back(db: Database) -> None:
    make_table(db)
    t = db.table
    error = db.fails(
        Statement(f"CREATE TABLE {t}_b (x INTEGER)"),
        Statement(f"INSERT INTO {t} (name) VALUES ($1)", ("kept?",)),
        Statement(f"INSERT INTO no_such_table_{uuid.uuid4().hex} VALUES (1)"),
    )
    assert error.status == 500
    assert error.message.startswith("sql failed in db: query failed: ")
    assert db.q("SELECT count(*) AS n FROM {t}") == [{"n": 0}]
    exists = (
        f"SELECT count(*) AS n FROM sqlite_master WHERE name = '{t}_b'"
        if db.kind == "sqlite"
        else f"SELECT count(*) AS n FROM pg_tables WHERE tablename = '{t}_b'"
    )
    assert db.run(exists) == [{"n": 0}]


def test_params_batch_runs_once_per_parameter_list(db: Database) -> None:
    make_table(db)
    batch = (("A", 1), ("B", 2), ("C", 3))
    insert = Statement(f"INSERT INTO {db.table} (name, score) VALUES ($1, $2)", batch=batch)
    outputs = db.run(insert, Statement(f"SELECT sum(score) AS total FROM {db.table}"))
    assert [entry["rowsAffected"] for entry in outputs[0]] == [1, 1, 1]
    assert outputs[1] == [{"total": 6}]


# ---- failures --------------------------------------------------------------------------------


def test_a_syntax_error_names_the_resource(db: Database) -> None:
    error = db.fails("SELEC 1")
    expected = {
        "sqlite": 'sql failed in db: query failed: near "SELEC": syntax error',
        "postgresql": 'sql failed in db: query failed: syntax error at or near "SELEC"',
    }
    assert (error.status, error.message) == (500, expected[db.kind])


def test_a_slow_statement_is_cancelled_at_the_deadline(db: Database) -> None:
    slow = {
        "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)"
        " SELECT max(n) AS n FROM c",
        "postgresql": "SELECT pg_sleep(10)",
    }
    started = time.monotonic()
    error = db.fails(slow[db.kind], timeout=0.5)
    assert time.monotonic() - started < 3
    assert (error.status, error.message) == (504, "sql failed in db: timed out after 0.5s")
    assert db.run("SELECT 1 AS n") == [{"n": 1}]  # the pooled connection still works


def test_an_unreachable_server_is_a_502_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = sql_connection(f"postgres://ada:s3cret@127.0.0.1:{port}/x", tmp_path)
    pools = SqlPools()
    try:
        with pytest.raises(ExecutorError) as caught:
            run_sql(SqlSpec("db", connection, (Statement("SELECT 1"),)), pools)
    finally:
        pools.close()
    error = caught.value
    assert error.status == 502
    assert error.message.startswith(
        f"sql failed in db: cannot connect to postgresql+psycopg://ada:***@127.0.0.1:{port}/x: "
    )
    assert "s3cret" not in error.message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"format": "xml"}, "sql failed in db: unknown format 'xml' (json, csv, table)"),
        ({"statements": ()}, "sql failed in db: there is no query to run"),
    ],
)
def test_specs_that_cannot_run(tmp_path: Path, spec: dict[str, Any], message: str) -> None:
    connection = sql_connection("sqlite:///:memory:", tmp_path)
    made = SqlSpec("db", connection, spec.pop("statements", (Statement("SELECT 1"),)), **spec)
    with pytest.raises(ExecutorError) as caught:
        run_sql(made, SqlPools())
    assert (caught.value.status, caught.value.message) == (500, message)


# ---- pools -----------------------------------------------------------------------------------


def test_one_pool_per_connection_shared_by_threads(db: Database) -> None:
    make_table(db)
    engine = db.pools.engine(db.connection)
    errors: list[BaseException] = []

    def insert(number: int) -> None:
        try:
            db.q("INSERT INTO {t} (name, score) VALUES ($1, $2)", f"n{number}", number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.q("SELECT count(*) AS n FROM {t}") == [{"n": 12}]
    assert db.pools.engine(db.connection) is engine


def test_an_in_memory_sqlite_database_lives_across_actions(tmp_path: Path) -> None:
    connection = sql_connection("sqlite:///:memory:", tmp_path)
    pools = SqlPools()
    try:
        run_sql(SqlSpec("a", connection, (Statement("CREATE TABLE m (x INTEGER)"),)), pools)
        run_sql(SqlSpec("b", connection, (Statement("INSERT INTO m VALUES ($1)", (7,)),)), pools)
        rows = run_sql(SqlSpec("c", connection, (Statement("SELECT x FROM m"),)), pools)
    finally:
        pools.close()
    assert rows == [{"x": 7}]


# ---- settings.sqlConnections -----------------------------------------------------------------


def test_settings_name_the_connections(tmp_path: Path) -> None:
    connections = sql_connections(
        {
            "main": {
                "connection": "postgres://ada:pw@db:5432/app?sslmode=disable",
                "pool": {"maxConnections": 5, "maxIdleTime": "30s", "connectionTimeout": "5s"},
            },
            "local": {"connection": "sqlite:///data/app.db"},
            "file": {"connection": "file:other.db?mode=rwc"},
        },
        tmp_path,
    )
    assert connections["main"] == SqlConnection(
        url="postgresql+psycopg://ada:pw@db:5432/app?sslmode=disable",
        pool=PoolSettings(max_connections=5, max_idle_time=30.0, connection_timeout=5.0),
        shown="main",
    )
    assert connections["local"].url == f"sqlite:///{tmp_path}/data/app.db"
    assert connections["file"].url == f"sqlite:///{tmp_path}/other.db"
    assert connections["local"].dialect == "sqlite"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([], "settings.sqlConnections must be a map of names to connections"),
        ({"main": {}}, "settings.sqlConnections.main needs a connection (a database URL)"),
        (
            {"main": {"connection": "sqlite://", "poll": {}}},
            "settings.sqlConnections.main: unknown key 'poll' (connection, pool)",
        ),
        (
            {"main": {"connection": "sqlite://", "pool": {"maxConnections": 0}}},
            "settings.sqlConnections.main.pool.maxConnections must be a whole number of at least 1",
        ),
        (
            {"main": {"connection": "sqlite://", "pool": {"maxIdleTime": "soon"}}},
            "settings.sqlConnections.main.pool: invalid duration 'soon': use one or more"
            " <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'",
        ),
        (
            {"main": {"connection": "not a url"}},
            "settings.sqlConnections.main: not a database URL: Could not parse SQLAlchemy URL"
            " from given URL string",
        ),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: Any, message: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        sql_connections(settings, tmp_path)
    assert str(caught.value) == message


# ---- templates in a query are bound parameters -----------------------------------------------


def templated(db: Database, source: str, params: tuple[Any, ...], **request: Any) -> Any:
    """Run ``source`` (``{t}`` is the table) as a template against a request's values."""
    template = QueryTemplate(ENGINE.compile_template(source.replace("{t}", db.table)))
    text, values = template.render(Context(Request(**request)), len(params) + 1)
    return db.run(Statement(text, (*params, *values)))


def test_a_template_in_a_query_is_bound_not_spliced(db: Database) -> None:
    make_table(db)
    hostile = "x' OR '1'='1"
    db.q("INSERT INTO {t} (name, score) VALUES ($1, 1), ($2, 2)", hostile, "other")
    query = "SELECT score FROM {t} WHERE name = '{{ get('q') }}' AND score >= $1"
    assert templated(db, query, (1,), query={"q": hostile}) == [{"score": 1}]
    assert templated(db, query, (1,), query={"q": "nobody' OR '1'='1"}) == []
    like = "SELECT name FROM {t} WHERE name LIKE '%{{ get('q') }}%' ORDER BY score"
    assert templated(db, like, (), query={"q": "OR '1"}) == [{"name": hostile}]
    code = "SELECT name FROM {t} WHERE score = {{ get('n') }} -- {{ get('n') }}"
    assert templated(db, code, (), body={"n": 2}) == [{"name": "other"}]
