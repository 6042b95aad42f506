"""PostgreSQL store URLs: the server to connect to, and the schema and table of the sessions.

A store URL is a libpq URL (``postgresql://user:password@host:port/database?sslmode=…``)
that may also carry the store's own ``schema`` and ``table`` parameters, which are taken
out before libpq sees it. Everything here is checked without connecting, so ``kdeps-expr
check`` refuses a malformed setting before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from .urls import redacted

DEFAULT_TABLE = "kdeps_sessions"
SCHEMES = ("postgresql", "postgres")
STORE_PARAMETERS = ("schema", "table")
"""Query parameters of a store URL that are the store's, not libpq's."""
MAX_NAME_LENGTH = 63
"""PostgreSQL's longest identifier, in bytes."""
INDEX_SUFFIX = "_expires_at"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LocationError(ValueError):
    """A store URL, schema or table that cannot be used; ``key`` says which one."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Location:
    """Where a store's sessions live: the server (a libpq URL) and the table."""

    conninfo: str
    schema: str | None
    table: str

    @property
    def shown(self) -> str:
        """The table as SQL would name it, for messages."""
        return f"{self.schema}.{self.table}" if self.schema else self.table


def one_line(text: str) -> str:
    """A libpq message on one line: its tab-indented hints dropped, its lines joined."""
    lines = [line.strip() for line in text.splitlines() if not line.startswith("\t")]
    return "; ".join(line for line in lines if line)


def _name(key: str, value: str, longest: int) -> str:
    if not _NAME.fullmatch(value) or len(value) > longest:
        raise LocationError(
            key,
            f"{value!r} is not a usable {key} name (letters, digits and _, not starting "
            f"with a digit, at most {longest} characters)",
        )
    return value


def locate(url: str, *, schema: str | None = None, table: str | None = None) -> Location:
    """Check ``url`` (``postgresql://user@host:port/database``) and the table it names.

    The schema and table come from the arguments or from the URL's own ``?schema=`` and
    ``?table=`` parameters (not both); the table defaults to ``kdeps_sessions`` and the
    schema to the first of the connection's ``search_path``. Raises ``LocationError``.
    """
    scheme, _, rest = url.partition("://")
    if scheme not in SCHEMES or not rest:
        raise LocationError(
            "url",
            f"{redacted(url)!r} is not a PostgreSQL URL (use postgresql://user@host:port/database)",
        )
    base, mark, query = url.partition("?")
    kept: list[str] = []
    named = {"schema": schema, "table": table}
    for part in query.split("&") if mark else []:
        key, _, value = part.partition("=")
        if key not in STORE_PARAMETERS:
            kept.append(part)
        elif named[key] is not None:
            raise LocationError(key, f"the url already names the {key}; give it in one place")
        else:
            named[key] = unquote(value)
    conninfo = base + ("?" + "&".join(kept) if kept else "")
    _check_conninfo(conninfo)
    chosen_schema = named["schema"]
    if chosen_schema is not None:
        _name("schema", chosen_schema, MAX_NAME_LENGTH)
    table_name = DEFAULT_TABLE if named["table"] is None else named["table"]
    chosen_table = _name("table", table_name, MAX_NAME_LENGTH - len(INDEX_SUFFIX))
    return Location(conninfo, chosen_schema, chosen_table)


def _check_conninfo(conninfo: str) -> None:
    """Let libpq read the URL (its parameters, its escapes) and check each port."""
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # the store itself will say what is missing
        return
    try:
        parameters = conninfo_to_dict(conninfo)
    except ProgrammingError as exc:
        raise LocationError("url", one_line(str(exc))) from exc
    for port in str(parameters.get("port", "")).split(","):
        if port and not port.isdigit():
            raise LocationError("url", f"the port {port!r} is not a number")
