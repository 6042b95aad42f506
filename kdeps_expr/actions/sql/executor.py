"""The ``sql`` executor: statements with bound parameters, in one transaction, with a deadline.

A ``query`` gives one output; ``queries`` (KDeps' ``transaction: true`` list) give a list
of outputs, one per statement, all run in one transaction: any failure rolls every
statement back. A single ``query`` runs in a transaction of its own too. Outputs
(KDeps' documentation, resources/sql.md):

* a statement that returns rows (``SELECT``, ``WITH``, ``… RETURNING``, ``PRAGMA``):
  the rows as a list of ``{column: value}`` maps (``format: json``, the default; at most
  ``maxRows``), or CSV or ASCII-table text (``format: csv`` / ``table``);
* any other statement: ``{"rowsAffected": n, "lastInsertID": id, "success": true}``;
* a ``paramsBatch`` statement: a list, one output per parameter list.

The deadline covers the whole action: when it passes, the running statement is
cancelled on the server (PostgreSQL) or interrupted (SQLite), and the action fails with
504. Failures name the resource and never show the connection's password or the
parameters' values.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Connection, CursorResult, Engine

from ...language.values import to_json
from ..failures import INTERNAL, TIMEOUT, UPSTREAM, ExecutorError, seconds
from .connections import POOLS, SqlConnection, SqlPools
from .placeholders import PlaceholderError, bind
from .results import FORMATS, formatted, row_maps

DEFAULT_TIMEOUT = 30.0
MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its text, its parameters, or a batch of parameter lists."""

    query: str
    params: tuple[Any, ...] = ()
    batch: tuple[tuple[Any, ...], ...] | None = None


@dataclass(frozen=True, slots=True)
class SqlSpec:
    """One ``sql`` run, every value already rendered.

    ``many`` is true for ``queries`` (the output is a list, one entry per statement).
    """

    action_id: str
    connection: SqlConnection
    statements: tuple[Statement, ...]
    many: bool = False
    format: str = "json"
    max_rows: int = MAX_ROWS
    timeout: float = DEFAULT_TIMEOUT


def run_sql(spec: SqlSpec, pools: SqlPools = POOLS) -> Any:
    """Run ``spec``'s statements in one transaction; their output, or :class:`ExecutorError`."""
    if spec.format not in FORMATS:
        raise _fail(spec, f"unknown format {spec.format!r} (json, csv, table)")
    if not spec.statements:
        raise _fail(spec, "there is no query to run")
    with (
        pools.turn(spec.connection) as engine,
        _connected(spec, engine) as connection,
        _deadline(connection, spec.timeout) as expired,
    ):
        try:
            with connection.begin():
                outputs = [_statement(connection, spec, s) for s in spec.statements]
        except PlaceholderError as exc:
            raise _fail(spec, str(exc)) from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            if expired.is_set():
                raise _fail(spec, f"timed out after {seconds(spec.timeout)}", TIMEOUT) from None
            invalidated = getattr(exc, "connection_invalidated", False)
            status = UPSTREAM if invalidated else INTERNAL
            raise _fail(spec, f"query failed: {_driver_text(exc)}", status) from None
    return outputs if spec.many else outputs[0]


def _statement(connection: Connection, spec: SqlSpec, statement: Statement) -> Any:
    if statement.batch is not None:
        return [_execute(connection, spec, statement.query, p) for p in statement.batch]
    return _execute(connection, spec, statement.query, statement.params)


def _execute(connection: Connection, spec: SqlSpec, query: str, params: tuple[Any, ...]) -> Any:
    dialect = connection.dialect
    text, arguments = bind(query, [_bound(v) for v in params], dialect.paramstyle, dialect.name)
    result = connection.exec_driver_sql(text, arguments)
    if result.returns_rows:
        columns = list(result.keys())
        rows = row_maps(columns, result.fetchmany(spec.max_rows))
        result.close()
        return formatted(columns, rows, spec.format)
    return {
        "rowsAffected": max(result.rowcount, 0),
        "lastInsertID": _last_id(result),
        "success": True,
    }


def _last_id(result: CursorResult[Any]) -> Any:
    """The row id an insert made, when the driver tells (SQLite, MySQL); else 0."""
    try:
        return result.lastrowid or 0
    except AttributeError:  # psycopg has no lastrowid; PostgreSQL users write RETURNING
        return 0


def _bound(value: Any) -> Any:
    """A parameter as the driver takes it: lists and maps as JSON text."""
    return to_json(value) if isinstance(value, list | dict) else value


@contextmanager
def _connected(spec: SqlSpec, engine: Engine) -> Iterator[Connection]:
    """A pooled connection of ``engine``; every way of not getting one told as a failure."""
    try:
        connection = engine.connect()
    except sqlalchemy.exc.TimeoutError:
        wait = seconds(spec.connection.pool.connection_timeout)
        what = f"no free connection to {spec.connection.shown} within {wait}"
        raise _fail(spec, what, TIMEOUT) from None
    except (sqlalchemy.exc.DBAPIError, ImportError) as exc:
        what = f"cannot connect to {spec.connection.shown}: {_driver_text(exc)}"
        raise _fail(spec, what, UPSTREAM) from None
    with connection:
        yield connection


@contextmanager
def _deadline(connection: Connection, timeout: float) -> Iterator[threading.Event]:
    """Cancel the connection's running statement when ``timeout`` passes; the event says so.

    The cancel and the end of the block take one lock, so a late timer never touches the
    connection once it went back to the pool."""
    expired = threading.Event()
    lock = threading.Lock()
    done = False
    raw = connection.connection.dbapi_connection
    stop = getattr(raw, "cancel_safe", None) or getattr(raw, "cancel", None)
    stop = stop or getattr(raw, "interrupt", None)  # psycopg, then sqlite3

    def cancel() -> None:
        with lock:
            if done:
                return
            expired.set()
            if stop is not None:
                with suppress(Exception):  # a failed cancel leaves the driver's own errors
                    stop()

    timer = threading.Timer(timeout, cancel)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        with lock:
            done = True
        timer.cancel()


def _driver_text(exc: BaseException) -> str:
    """The driver's own message, first line: never SQLAlchemy's text, which shows parameters."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip() or type(original).__name__
    return text.split("\n", 1)[0]


def _fail(spec: SqlSpec, what: str, status: int = INTERNAL) -> ExecutorError:
    return ExecutorError("sql", spec.action_id, what, status=status)
