"""Running httpClient, sql, exec and python blocks: each field rendered for the request, the
executor called, its output returned (SPEC §12).

:class:`Executors` belongs to one runner: it holds the workflow's named databases
(``settings.sqlConnections``) and the process's :class:`Connections`, one pool per
database and one HTTP client per proxy and TLS setting, opened on first use. A runner
made without them owns its own and :meth:`Executors.close` disposes of them; ``serve``
makes one set for the process and shares it with the runner of every workflow a reload
loads, so a reload opens no second pool of the same database. The executors block; the
runner runs on the server's worker threads, so a 2 s ``exec`` never holds up the event
loop.

Every field is rendered here, per request, from its compiled value: scripts and queries
through their :class:`~.scripts.Script` (values as data), everything else by the value
rule. A rendered value the executor cannot use (a ``timeout`` that is not a duration,
``headers`` that are not a map) fails like the executor does: an
:class:`~kdeps_expr.actions.failures.ExecutorError` naming the resource, status 500.
Relative paths (``workingDir``, ``scriptFile``, ``venvName``, TLS files, SQLite
databases) are read from the workflow's folder, which is also where programs run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...actions import exec as exec_action
from ...actions import http_client, python
from ...actions.exec import ExecSpec, run_exec
from ...actions.failures import ExecutorError
from ...actions.http_client import Auth, HttpClients, HttpSpec, Retry, Tls, run_http
from ...actions.python import PythonSpec, run_python
from ...actions.sql import (
    SqlConnection,
    SqlPools,
    SqlSpec,
    Statement,
    run_sql,
    sql_connection,
    sql_connections,
)
from ...actions.sql.connections import pool_of
from ...actions.sql.executor import DEFAULT_TIMEOUT as SQL_TIMEOUT
from ...actions.sql.executor import MAX_ROWS
from ...durations import parse_duration
from ...errors import WorkflowError
from ...language import values
from ...language.context import Context
from ..model import Action, ListValue, MapValue, Tracer, Value, Workflow
from .scripts import Rendered, Script


class Connections:
    """The SQL pools and HTTP clients the executors open on first use (one per database,
    one per proxy and TLS setting); :meth:`close` disposes of them."""

    def __init__(self) -> None:
        self.pools = SqlPools()
        self.clients = HttpClients()

    def close(self) -> None:
        """Dispose of every SQL pool and HTTP client (the process stops serving)."""
        self.pools.close()
        self.clients.close()


class Executors:
    """What a runner's executors share: the workflow's named databases, and the
    :class:`Connections` (its own unless it is given some)."""

    def __init__(self, workflow: Workflow, connections: Connections | None = None) -> None:
        self.root = workflow.root
        self.databases = sql_connections(workflow.settings.get("sqlConnections"), self.root)
        self._owned = connections is None
        self.connections = Connections() if connections is None else connections

    def run(self, action: Action, context: Context, trace: Tracer | None) -> Any:
        """Run one executor block for the request; its output (``get('<actionId>')``)."""
        output = _RUN[action.kind](self, _Fields(action, context, trace, self.root))
        if trace is not None:
            trace.record("output", output)
        return output

    def close(self) -> None:
        """Dispose of the connections when they are this runner's own."""
        if self._owned:
            self.connections.close()


class _Fields:
    """One executor block's fields, rendered on demand for one request."""

    def __init__(self, action: Action, context: Context, trace: Tracer | None, root: Path):
        self.kind = action.kind
        self.values = dict(action.fields)
        self.context = context
        self.trace = trace
        self.root = root

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def action_id(self) -> str:
        return self.context.action_id

    def fail(self, what: str) -> ExecutorError:
        return ExecutorError(self.kind, self.action_id, what)

    def evaluate(self, value: Value) -> Any:
        return value.evaluate(self.context, self.trace)

    def value(self, name: str, default: Any = None) -> Any:
        found = self.values.get(name)
        return default if found is None else self.evaluate(found)

    def text(self, name: str) -> str | None:
        """The field's rendered text; ``None`` when it is absent or nil."""
        value = self.value(name)
        return None if value is None else values.render(value)

    def path(self, name: str) -> str | None:
        """A path field, relative to the workflow's folder."""
        text = self.text(name)
        return str(self.root / text) if text else None

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.value(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{name} must be a map, not {values.type_name(value)}")
        return value

    def items(self, name: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{name} must be a list, not {values.type_name(value)}")
        return value

    def seconds(self, default: float, value: Any = None, name: str = "timeout") -> float:
        """A duration in seconds: ``value``, else the block's timeoutDuration or timeout."""
        if value is None and name == "timeout":
            value = self.value("timeoutDuration", self.value("timeout"))
        if value is None:
            return default
        text = values.render(value)
        try:
            return parse_duration(text)
        except WorkflowError:
            raise self.fail(f"{name} {text!r} is not a duration such as 30s") from None

    def count(self, value: Any, name: str) -> int:
        text = values.render(value).strip()
        if not (text.isascii() and text.isdigit() and int(text) >= 1):
            raise self.fail(f"{name} must be a whole number of at least 1, not {text!r}")
        return int(text)

    def code(self, value: Value, first: int = 1) -> Rendered:
        """A script or query for this request (one without blocks is its text)."""
        if isinstance(value, Script):
            return value.rendered(self.context, self.trace, first)
        return Rendered(values.render(self.evaluate(value)))


def _flag(value: Any, default: bool) -> bool:
    """A boolean field: YAML's true/false, the strings 'true'/'false', else truthiness."""
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return values.truthy(value)


# ---- httpClient -------------------------------------------------------------------------------


def _http(executors: Executors, fields: _Fields) -> Any:
    data = fields.value("data") if "data" in fields else fields.value("body")
    spec = HttpSpec(
        fields.action_id,
        url=fields.text("url") or "",
        method=fields.text("method") or "GET",
        headers={str(k): values.render(v) for k, v in fields.mapping("headers").items()},
        params=fields.mapping("params"),
        data=data,
        timeout=fields.seconds(http_client.DEFAULT_TIMEOUT),
        retry=_retry(fields) if "retry" in fields else None,
        follow_redirects=_flag(fields.value("followRedirects"), True),
        auth=_auth(fields) if "auth" in fields else None,
        proxy=fields.text("proxy") or None,
        tls=_tls(fields) if "tls" in fields else None,
    )
    return run_http(spec, executors.connections.clients)


def _retry(fields: _Fields) -> Retry:
    given = fields.mapping("retry")
    attempts = given.get("maxAttempts")
    retry_on = fields.items("retry.retryOn", given.get("retryOn"))
    return Retry(
        max_attempts=1 if attempts is None else fields.count(attempts, "retry.maxAttempts"),
        backoff=fields.seconds(1.0, given.get("backoff"), "retry.backoff"),
        max_backoff=(
            None
            if given.get("maxBackoff") is None
            else fields.seconds(0.0, given["maxBackoff"], "retry.maxBackoff")
        ),
        retry_on=(
            frozenset(fields.count(status, "retry.retryOn") for status in retry_on)
            if retry_on
            else None
        ),
    )


def _auth(fields: _Fields) -> Auth:
    given = fields.mapping("auth")

    def text(key: str) -> str:
        return values.render(given.get(key))

    return Auth(
        text("type"), text("username"), text("password"), text("token"), text("key"), text("value")
    )


def _tls(fields: _Fields) -> Tls:
    given = fields.mapping("tls")

    def path(key: str) -> str | None:
        text = values.render(given.get(key))
        return str(fields.root / text) if text else None

    return Tls(
        insecure_skip_verify=_flag(given.get("insecureSkipVerify"), False),
        cert_file=path("certFile"),
        key_file=path("keyFile"),
        ca_file=path("caFile"),
    )


# ---- sql --------------------------------------------------------------------------------------


def _sql(executors: Executors, fields: _Fields) -> Any:
    queries = fields.values.get("queries")
    if isinstance(queries, ListValue):
        statements = tuple(_queries_item(fields, item) for item in queries.items)
    else:
        query = fields.values.get("query")
        if query is None:
            raise fields.fail("there is no query to run")
        statements = (_statement(fields, query, fields.value("params"), None),)
    rows = fields.value("maxRows")
    spec = SqlSpec(
        fields.action_id,
        _connection(executors, fields),
        statements,
        many=isinstance(queries, ListValue),
        format=fields.text("format") or "json",
        max_rows=MAX_ROWS if rows is None else fields.count(rows, "maxRows"),
        timeout=fields.seconds(SQL_TIMEOUT),
    )
    return run_sql(spec, executors.connections.pools)


def _queries_item(fields: _Fields, item: Value) -> Statement:
    parts = dict(item.items) if isinstance(item, MapValue) else {}
    query = parts.get("query")
    if query is None:
        raise fields.fail("each of queries needs a query")
    params = parts.get("params")
    batch = parts.get("paramsBatch")
    return _statement(
        fields,
        query,
        None if params is None else fields.evaluate(params),
        None if batch is None else fields.evaluate(batch),
    )


def _statement(fields: _Fields, query: Value, params: Any, batch: Any) -> Statement:
    """One statement; a template block in the query is bound after the given values."""
    given = fields.items("params", params)
    if batch is None:
        rendered = fields.code(query, len(given) + 1)
        return Statement(rendered.text, (*given, *rendered.values))
    rows = [fields.items("paramsBatch item", row) for row in fields.items("paramsBatch", batch)]
    rendered = fields.code(query, (len(rows[0]) if rows else 0) + 1)
    extra = tuple(rendered.values)
    return Statement(rendered.text, (), tuple((*row, *extra) for row in rows))


def _connection(executors: Executors, fields: _Fields) -> SqlConnection:
    name = fields.text("connectionName")
    if name:
        connection = executors.databases.get(name)
        if connection is None:
            known = ", ".join(sorted(executors.databases)) or "none"
            raise fields.fail(f"unknown connection {name!r} (settings.sqlConnections: {known})")
    else:
        url = fields.text("connection")
        if not url:
            raise fields.fail("neither connectionName nor connection is given")
        try:
            connection = sql_connection(url, fields.root)
        except WorkflowError as exc:
            raise fields.fail(exc.message) from None
    pool = fields.value("pool")
    if pool is not None:
        try:
            connection = dataclasses.replace(connection, pool=pool_of(pool, "pool"))
        except WorkflowError as exc:
            raise fields.fail(exc.message) from None
    return connection


# ---- exec and python --------------------------------------------------------------------------


def _exec(executors: Executors, fields: _Fields) -> Any:
    env = {str(k): values.render(v) for k, v in fields.mapping("env").items()}
    listed = fields.values.get("args")
    args: list[str] = []
    if isinstance(listed, ListValue) and listed.items:
        command = fields.text("command") or ""
        for item in listed.items:
            rendered = fields.code(item)
            args.append(rendered.text)
            env.update(rendered.variables)
    else:
        rendered = fields.code(fields.values["command"])
        command = rendered.text
        env.update(rendered.variables)
    spec = ExecSpec(
        fields.action_id,
        command,
        tuple(args),
        env=env,
        working_dir=fields.path("workingDir") or str(executors.root),
        timeout=fields.seconds(exec_action.DEFAULT_TIMEOUT),
    )
    return run_exec(spec)


def _python(executors: Executors, fields: _Fields) -> Any:
    script_file = fields.text("scriptFile") or fields.text("file")
    script = fields.values.get("script")
    args = fields.items("args", fields.value("args"))
    spec = PythonSpec(
        fields.action_id,
        script=None if script_file or script is None else fields.code(script).text,
        script_file=script_file,
        args=tuple(values.render(value) for value in args),
        venv=fields.path("venvName"),
        working_dir=str(executors.root),
        timeout=fields.seconds(python.DEFAULT_TIMEOUT),
    )
    return run_python(spec)


_RUN: dict[str, Callable[[Executors, _Fields], Any]] = {
    "httpClient": _http,
    "sql": _sql,
    "exec": _exec,
    "python": _python,
}
