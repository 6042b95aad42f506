"""Loading httpClient, sql, exec and python blocks: scripts read for their language, and the
literal values the executor would refuse checked at their place in the file.

The schema has checked the keys and their types. Here, once per load:

- every script is read for the language it is written in (:class:`.scripts.Script`):
  ``exec.command`` when there are no ``args`` (and, with ``command: sh`` and ``args:
  [-c, …]``, the script argument), ``python.script``, ``sql.query`` and each
  ``queries[].query``; a block that cannot stand where it is, is an error at the block;
- what a request could never get past is an error: a block without the key it needs
  (``exec.command``, ``python.script``/``scriptFile``, ``sql.query``/``queries``, a
  connection, ``httpClient.url``), a ``connectionName`` that ``settings.sqlConnections``
  does not name, and a literal URL, method, auth type, format, row count or pool that the
  executor would refuse; templated values are checked when they are rendered;
- a key that does nothing beside another one is a warning (``body`` beside ``data``,
  ``script`` beside ``scriptFile``, ``query`` beside ``queries``).

``settings.sqlConnections`` is checked where ``workflow.yaml`` is read
(:func:`check_sql_connections`), each error at its entry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...actions.exec import script_argument
from ...actions.http_client import AUTH_TYPES, METHODS
from ...actions.python_source import PythonScript
from ...actions.shell import ShellScript
from ...actions.sql import QueryTemplate, sql_connection
from ...actions.sql.connections import pool_of
from ...actions.sql.results import FORMATS
from ...errors import WorkflowError
from ...language.engine import Template
from ..fields import FieldReader
from ..model import Constant, Dynamic, ListValue, MapValue, Value
from ..yamlsource import Mapping as YamlMapping
from ..yamlsource import Node, Scalar, Sequence
from .scripts import Code, Script

EXECUTOR_KINDS = frozenset({"httpClient", "sql", "exec", "python"})

Fields = tuple[tuple[str, Value], ...]


def read_executor(kind: str, node: YamlMapping, fields: Fields, reader: FieldReader) -> Fields:
    """The compiled ``fields`` of an executor block, its scripts read for their language
    and its literal values checked (errors and warnings go to ``reader``)."""
    block = _Block(kind, node, dict(fields), reader)
    _READERS[kind](block)
    return tuple((key, block.fields[key]) for key, _ in fields)


def check_sql_connections(settings: Node | None, reader: FieldReader) -> None:
    """``settings.sqlConnections``: each entry's URL and pool, as the sql executor reads them."""
    connections = settings.get("sqlConnections") if isinstance(settings, YamlMapping) else None
    if not isinstance(connections, YamlMapping):
        return
    for name, (_, entry) in connections.entries.items():
        where = f"settings.sqlConnections.{name}"
        if not isinstance(entry, YamlMapping):
            continue  # the schema has reported it
        url = entry.get("connection")
        if url is None:
            reader.error(entry.error(f"{where} needs a connection (a database URL)"))
        elif isinstance(url, Scalar) and isinstance(url.value, str):
            _check_url(url, url.value, where, reader)
        pool = entry.get("pool")
        if isinstance(pool, YamlMapping):
            _check_pool(pool, f"{where}.pool", reader)


def _check_url(node: Node, text: str, where: str, reader: FieldReader) -> None:
    try:
        sql_connection(text, Path("."), where=where)
    except WorkflowError as exc:
        reader.error(node.error(exc.message))


def _check_pool(node: YamlMapping, where: str, reader: FieldReader) -> None:
    """Each pool setting on its own, its error at its value (the schema has checked the
    keys and the durations; an error both find is reported once)."""
    for key, (_, value) in node.entries.items():
        try:
            pool_of({key: value.to_python()}, where)
        except WorkflowError as exc:
            reader.error(value.error(exc.message))


class _Block:
    """One executor block being read: its YAML node, its compiled fields, the reader."""

    def __init__(
        self, kind: str, node: YamlMapping, fields: dict[str, Value], reader: FieldReader
    ) -> None:
        self.kind = kind
        self.node = node
        self.fields = fields
        self.reader = reader

    def error(self, node: Node, message: str) -> None:
        self.reader.error(node.error(message))

    def warn_ignored(self, key: str, winner: str, why: str = "") -> None:
        """``key`` does nothing because ``winner`` is given."""
        if key in self.fields and winner in self.fields:
            message = f"{self.kind}.{key} is ignored: {winner} is given and wins{why}"
            self.reader.warn(self.node.key(key), message)

    def literal(self, key: str, within: Value | None = None) -> Any:
        """The value of ``key`` (of the block, or of a map ``within`` it) when it is written
        as a literal; ``None`` when it is absent or computed for each request."""
        holder = self.fields if within is None else _items(within)
        value = holder.get(key)
        return value.value if isinstance(value, Constant) else None

    def scripted(self, value: Value, read: Callable[[Template], Code]) -> Value:
        """``value`` as a :class:`Script` when it holds template blocks; an error at a block
        that cannot stand where it is."""
        if not isinstance(value, Dynamic) or value.reading.template is None:
            return value
        try:
            return Script(value, read(value.reading.template))
        except WorkflowError as exc:
            self.reader.error(value.site.place(exc))
            return value


def _items(value: Value | None) -> dict[str, Value]:
    return dict(value.items) if isinstance(value, MapValue) else {}


# ---- exec -------------------------------------------------------------------------------------


def _exec(block: _Block) -> None:
    written = block.node.get("command")
    if written is None or (isinstance(written, Scalar) and not str(written.value or "").strip()):
        message = "exec needs a command (a shell script, or a program with args)"
        block.error(written or block.node, message)
        return
    command = block.literal("command")
    args = block.fields.get("args")
    if not (isinstance(args, ListValue) and args.items):
        block.fields["command"] = block.scripted(block.fields["command"], ShellScript)
        return
    if not isinstance(command, str):
        return  # a program chosen per request: its arguments are plain values
    literals = [str(item.value) if isinstance(item, Constant) else "" for item in args.items]
    index = script_argument(command, literals)
    nodes = block.node.get("args")
    if index is None or not isinstance(nodes, Sequence):
        return
    scalar = nodes.items[index]
    if not isinstance(scalar, Scalar):
        return
    # The script argument of `sh -c` is a shell script: read it as one, like command.
    reader = block.reader
    reader.values = [value for value in reader.values if value.site.scalar is not scalar]
    script = block.scripted(reader.script(scalar), ShellScript)
    items = list(args.items)
    items[index] = script
    block.fields["args"] = ListValue(tuple(items))


# ---- python -----------------------------------------------------------------------------------


def _python(block: _Block) -> None:
    fields = block.fields
    if not any(key in fields for key in ("script", "scriptFile", "file")):
        block.error(block.node, "python needs a script, or a scriptFile")
        return
    block.warn_ignored("file", "scriptFile", " (file is its other name)")
    for name in ("scriptFile", "file"):
        block.warn_ignored("script", name, " (as in KDeps)")
    if "script" in fields:
        fields["script"] = block.scripted(fields["script"], PythonScript)


# ---- sql --------------------------------------------------------------------------------------


def _sql(block: _Block) -> None:
    fields = block.fields
    if "query" not in fields and "queries" not in fields:
        block.error(block.node, "sql needs a query, or queries")
    block.warn_ignored("query", "queries", " (its statements run, in one transaction)")
    block.warn_ignored("params", "queries", " (each of queries has its own params)")
    if "query" in fields:
        fields["query"] = block.scripted(fields["query"], QueryTemplate)
    queries = fields.get("queries")
    if isinstance(queries, ListValue):
        fields["queries"] = ListValue(tuple(_statement(block, item) for item in queries.items))
        nodes = block.node.get("queries")
        for item in nodes.items if isinstance(nodes, Sequence) else ():
            if isinstance(item, YamlMapping) and item.get("query") is None:
                block.error(item, "each of sql.queries needs a query")
    _connection(block)
    form = block.literal("format")
    if isinstance(form, str) and form not in FORMATS:
        block.error(_at(block, "format"), f"unknown sql format {form!r} ({', '.join(FORMATS)})")
    rows = block.literal("maxRows")
    if rows is not None and not _at_least_one(rows):
        block.error(_at(block, "maxRows"), "sql.maxRows must be a whole number of at least 1")
    pool = block.node.get("pool")
    if isinstance(pool, YamlMapping):
        _check_pool(pool, "sql.pool", block.reader)


def _statement(block: _Block, item: Value) -> Value:
    if not isinstance(item, MapValue):
        return item
    return MapValue(
        tuple(
            (key, block.scripted(value, QueryTemplate) if key == "query" else value)
            for key, value in item.items
        )
    )


def _connection(block: _Block) -> None:
    fields = block.fields
    name = block.literal("connectionName")
    known = block.reader.settings.get("sqlConnections")
    known = known if isinstance(known, Mapping) else {}
    if isinstance(name, str) and name not in known:
        block.error(_at(block, "connectionName"), _unknown_connection(name, known))
    elif "connectionName" not in fields and "connection" not in fields:
        block.error(
            block.node,
            "sql needs a connectionName (a name in settings.sqlConnections) or a connection URL",
        )
    url = block.literal("connection")
    if isinstance(url, str) and "connectionName" not in fields:
        _check_url(_at(block, "connection"), url, "sql.connection", block.reader)


def _unknown_connection(name: str, known: Mapping[str, Any]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(names) if names else "none"
    return f"unknown connection {name!r}{hint} (settings.sqlConnections: {listing})"


# ---- httpClient -------------------------------------------------------------------------------


def _http(block: _Block) -> None:
    fields = block.fields
    if "url" not in fields:
        block.error(block.node, "httpClient needs a url")
    url = block.literal("url")
    if isinstance(url, str) and not url.strip().lower().startswith(("http://", "https://")):
        block.error(_at(block, "url"), "httpClient.url must start with http:// or https://")
    method = block.literal("method")
    if isinstance(method, str) and method.upper() not in METHODS:
        known = ", ".join(sorted(METHODS))
        block.error(_at(block, "method"), f"unknown HTTP method {method!r} ({known})")
    block.warn_ignored("body", "data", " (body is its other name)")
    auth = fields.get("auth")
    kind = block.literal("type", auth)
    if isinstance(kind, str) and kind.lower() not in AUTH_TYPES:
        where = _at(block, "auth", "type")
        block.error(where, f"unknown auth type {kind!r} ({', '.join(AUTH_TYPES)})")
    attempts = block.literal("maxAttempts", fields.get("retry"))
    if attempts is not None and not _at_least_one(attempts):
        where = _at(block, "retry", "maxAttempts")
        block.error(where, "httpClient.retry.maxAttempts must be a whole number of at least 1")


def _at_least_one(value: Any) -> bool:
    """A count as the executors read it: an integer, or a string of digits, of at least 1."""
    if isinstance(value, str) and value.strip().isdigit() and value.isascii():
        value = int(value)
    return type(value) is int and value >= 1


def _at(block: _Block, *path: str) -> Node:
    """The node at ``path`` inside the block (the nearest one that exists)."""
    node: Node = block.node
    for key in path:
        found = node.get(key) if isinstance(node, YamlMapping) else None
        if found is None:
            break
        node = found
    return node


_READERS: dict[str, Callable[[_Block], None]] = {
    "httpClient": _http,
    "sql": _sql,
    "exec": _exec,
    "python": _python,
}
