"""Query placeholders: KDeps' ``$1, $2…`` (and ``?``) rewritten for the database's driver.

KDeps passes the query text to its Go driver untouched, and its documents write
PostgreSQL's ``$1, $2…`` (a number may repeat: ``WHERE a ILIKE $1 OR b ILIKE $1``).
Python drivers each want their own style, so the query is rewritten for the driver's
``paramstyle``; the values stay apart from the text and the driver binds them. ``?``
(SQLite's and MySQL's style, in order) is read too, except on PostgreSQL, where ``?`` is a
JSON operator. String literals, quoted names, comments and PostgreSQL's dollar-quoted
bodies are copied as they are; for ``format``/``pyformat`` drivers every ``%`` is doubled,
as they require.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_NUMBER = re.compile(r"\$([0-9]+)")


class PlaceholderError(ValueError):
    """The query's placeholders do not match its parameters."""


def bind(
    query: str, params: Sequence[Any], paramstyle: str, dialect: str
) -> tuple[str, tuple[Any, ...] | dict[str, Any]]:
    """``query`` in the driver's style and the parameters to hand it with."""
    pieces: list[str] = []
    used: list[int] = []  # the parameter (0-based) of each placeholder, in order
    style: str | None = None
    postgres = dialect == "postgresql"
    percent = "%%" if paramstyle in ("format", "pyformat") else "%"
    i = 0
    start = 0
    length = len(query)
    while i < length:
        char = query[i]
        skip = skip_quoted(query, i, postgres)
        if skip > i:
            i = skip
            continue
        number = _NUMBER.match(query, i) if char == "$" else None
        if number is not None and not in_word(query, i):
            found, index = "$", int(number.group(1)) - 1
            end = number.end()
        elif char == "?" and not postgres:
            found, index, end = "?", len(used), i + 1
        else:
            i += 1
            continue
        if style is not None and found != style:
            raise PlaceholderError("the query mixes $1-style and ?-style placeholders")
        if index < 0:
            raise PlaceholderError("placeholders are numbered from $1")
        style = found
        used.append(index)
        pieces.append(query[start:i].replace("%", percent) + _marker(paramstyle, dialect, index))
        i = start = end
    pieces.append(query[start:].replace("%", percent))
    _check_count(used, len(params), style)
    return "".join(pieces), _arguments(paramstyle, dialect, used, params)


def skip_quoted(query: str, i: int, postgres: bool) -> int:
    """The end of the literal, quoted name or comment starting at ``i`` (``i`` if none)."""
    char = query[i]
    if char in "'\"`":
        escapes = char == "'" and i > 0 and query[i - 1] in "eE" and not in_word(query, i - 1)
        j = i + 1
        while j < len(query):
            if escapes and query[j] == "\\":
                j += 2
                continue
            if query[j] == char:
                if query.startswith(char * 2, j):
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(query)
    if query.startswith("--", i):
        end = query.find("\n", i)
        return len(query) if end == -1 else end
    if query.startswith("/*", i):
        depth = 0
        j = i
        while j < len(query):
            if query.startswith("/*", j):
                depth += 1
                j += 2
            elif query.startswith("*/", j):
                depth -= 1
                j += 2
                if depth == 0:
                    return j
            else:
                j += 1
        return len(query)
    if postgres and char == "$" and not in_word(query, i):
        tag = _DOLLAR_TAG.match(query, i)
        if tag is not None:
            end = query.find(tag.group(0), tag.end())
            return len(query) if end == -1 else end + len(tag.group(0))
    return i


def in_word(query: str, i: int) -> bool:
    """True when the character before ``i`` continues a name (``a$1`` is one name)."""
    return i > 0 and (query[i - 1].isalnum() or query[i - 1] in "_$")


def _marker(paramstyle: str, dialect: str, index: int) -> str:
    if paramstyle == "qmark":
        return f"?{index + 1}" if dialect == "sqlite" else "?"
    if paramstyle == "numeric":
        return f":{index + 1}"
    if paramstyle == "named":
        return f":p{index + 1}"
    if paramstyle == "format":
        return "%s"
    return f"%(p{index + 1})s"  # pyformat


def _check_count(used: list[int], given: int, style: str | None) -> None:
    wanted = max(used) + 1 if used else 0
    if wanted == given:
        return
    if not used:
        shown = "no placeholder"
    elif style == "$":
        shown = f"${wanted}"
    else:
        shown = f"{wanted} placeholder{'' if wanted == 1 else 's'}"
    if wanted > given:
        raise PlaceholderError(f"the query uses {shown} but {_count(given)} given")
    raise PlaceholderError(f"{_count(given)} given but the query uses {shown}")


def _count(number: int) -> str:
    return f"{number} parameter{' is' if number == 1 else 's are'}"


def _arguments(
    paramstyle: str, dialect: str, used: list[int], params: Sequence[Any]
) -> tuple[Any, ...] | dict[str, Any]:
    if paramstyle in ("named", "pyformat"):
        return {f"p{index + 1}": value for index, value in enumerate(params)}
    if paramstyle in ("numeric",) or (paramstyle == "qmark" and dialect == "sqlite"):
        return tuple(params)
    return tuple(params[index] for index in used)  # one value per placeholder, in order
