"""Scope-aware built-ins (SPEC §3): ``get``, ``set``, ``unset``, ``clear``, ``session``,
``info``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..context import Context, ItemFrame
from .base import builtin, closest, key_arg, need

SOURCES = (
    "memory",
    "session",
    "output",
    "query",
    "body",
    "param",
    "header",
    "info",
    "item",
    "itemvalues",
)
SCOPES = ("memory", "session")
_MISSING: Any = object()


_INFO: dict[str, Callable[[Context], Any]] = {
    "sessionId": lambda ctx: ctx.session.id,
    "requestId": lambda ctx: ctx.request.request_id,
    "timestamp": lambda ctx: ctx.request.timestamp,
    "method": lambda ctx: ctx.request.method,
    "path": lambda ctx: ctx.request.path,
    "ip": lambda ctx: ctx.request.ip,
    "actionId": lambda ctx: ctx.action_id,
    "workflow.name": lambda ctx: ctx.workflow.name,
    "workflow.version": lambda ctx: ctx.workflow.version,
}
"""How ``info(field)`` reads each field from the request context."""

INFO_FIELDS = tuple(_INFO)
INFO_ALIASES = {
    "session_id": "sessionId",
    "request_id": "requestId",
    "ID": "requestId",
    "IP": "ip",
    "current_time": "timestamp",
}


def _item_value(frame: ItemFrame, key: str) -> Any:
    """``get(key, 'item')`` in an iteration: ``current`` (``item``), ``prev``, ``next``,
    ``index``, ``count``, ``all`` (``items``); ``_MISSING`` for another key."""
    items, index = frame.items, frame.index
    if key in ("current", "item"):
        return items[index]
    if key == "prev":
        return items[index - 1] if index > 0 else None
    if key == "next":
        return items[index + 1] if index + 1 < len(items) else None
    if key == "index":
        return index
    if key == "count":
        return len(items)
    if key in ("all", "items"):
        return list(items)
    return _MISSING


ITEM_KEYS = frozenset({"current", "prev", "next", "index", "count", "all"})
"""The keys an unqualified ``get`` finds in the item context first, inside ``items``."""


def _from(source: str, key: str, ctx: Context) -> Any:
    """The value of ``key`` in one source, or ``_MISSING``."""
    if source == "memory":
        return ctx.memory.get(key, _MISSING)
    if source == "session":
        return ctx.session.data.get(key, _MISSING)
    if source == "output":
        return ctx.outputs.get(key, _MISSING)
    if source == "query":
        return ctx.request.query.get(key, _MISSING)
    if source == "body":
        body = ctx.request.body
        return body.get(key, _MISSING) if type(body) is dict else _MISSING
    if source == "param":
        found = _from("query", key, ctx)
        return _from("body", key, ctx) if found is _MISSING else found
    if source == "header":
        return ctx.request.headers.get(key.lower(), _MISSING)
    if source == "item":
        return _MISSING if ctx.item is None else _item_value(ctx.item, key)
    if source == "itemvalues":
        found = ctx.outputs.get(key)
        return found if isinstance(found, list) else _MISSING
    field = _INFO.get(INFO_ALIASES.get(key, key))
    return _MISSING if field is None else field(ctx)


def _search(key: str, ctx: Context) -> Any:
    """SPEC §3's unqualified search: memory, outputs, query, body, headers; never the session.
    Inside ``items`` the item context comes first (SPEC §10: ``get('current')``).

    Written out rather than looped over ``_from``, with ``in`` tests (cheaper than ``get``
    on a miss, and most sources miss): it is the hottest path of the language.
    """
    if ctx.item is not None and key in ITEM_KEYS:
        return _item_value(ctx.item, key)
    if key in ctx.action_ids:
        return ctx.outputs.get(key)
    memory = ctx.memory
    if key in memory:
        return memory[key]
    outputs = ctx.outputs
    if key in outputs:
        return outputs[key]
    request = ctx.request
    query = request.query
    if key in query:
        return query[key]
    body = request.body
    if type(body) is dict and key in body:
        return body[key]
    return request.headers.get(key.lower())


def _or_default(found: Any, default: Any) -> Any:
    return default if found is _MISSING or found is None or found == "" else found


def _session_value(key: str, ctx: Context) -> Any:
    """``get(key, 'session')``: the session's value, nil when missing."""
    return ctx.session.data.get(key)


def _specialize_get(args: tuple[Any, ...]) -> Callable[[Context], Any] | None:
    """``get('key')`` and ``get('key', 'session')`` with literal arguments: the lookup itself,
    as a ``partial`` (a call of it costs no Python frame of its own)."""
    if not args or type(args[0]) is not str:
        return None
    key = args[0]
    if len(args) == 1:
        return partial(_search, key)
    if len(args) == 2 and args[1] == "session":
        return partial(_session_value, key)
    return None


@builtin("get", pass_context=True, specialize=_specialize_get)
def get(ctx: Context, key: Any, source: Any = _MISSING, default: Any = _MISSING) -> Any:
    """``get(key)``, ``get(key, source)``, ``get(key, default)``, ``get(key, source, default)``."""
    if type(key) is not str:
        key = key_arg("get", key)
    if source is _MISSING:
        return _search(key, ctx)
    if default is not _MISSING:
        if source not in SOURCES:
            raise EvaluationError(
                f"unknown get source {v.render(source)!r}{closest(str(source), SOURCES)}; "
                f"sources are {', '.join(SOURCES)}"
            )
        return _or_default(_from(source, key, ctx), default)
    if type(source) is str and source in SOURCES:
        found = _from(source, key, ctx)
        return None if found is _MISSING else found
    return _or_default(_search(key, ctx), source)


def _scope(function: str, scope: Any) -> str:
    if scope not in SCOPES:
        raise EvaluationError(
            f"{function}(): unknown scope {v.render(scope)!r}{closest(str(scope), SCOPES)}; "
            f"scopes are {', '.join(SCOPES)}"
        )
    return str(scope)


@builtin("set", pass_context=True)
def set_(ctx: Context, key: Any, value: Any, scope: Any = "memory") -> Any:
    """Store ``value`` under ``key`` in request memory or the session; returns ``value``."""
    key = key_arg("set", key)
    if key in ctx.action_ids:
        raise EvaluationError(f"set(): {key!r} is the actionId of a resource and cannot be set")
    if _scope("set", scope) == "session":
        ctx.session.set(key, value)
    else:
        ctx.memory[key] = value
    return value


@builtin("unset", pass_context=True)
def unset(ctx: Context, key: Any, scope: Any = "memory") -> None:
    """Remove one key from request memory or the session."""
    key = key_arg("unset", key)
    if _scope("unset", scope) == "session":
        ctx.session.unset(key)
    else:
        ctx.memory.pop(key, None)


@builtin("clear", pass_context=True)
def clear(ctx: Context, scope: Any) -> None:
    """Empty the session (``clear('session')``, a logout) or request memory."""
    if _scope("clear", scope) == "session":
        ctx.session.clear()
    else:
        ctx.memory.clear()


@builtin("session", pass_context=True)
def session(ctx: Context) -> dict[str, Any]:
    """The whole session as a map."""
    return dict(ctx.session.data)


@builtin("info", pass_context=True)
def info(ctx: Context, field: Any) -> Any:
    """Facts about the request: ``sessionId``, ``requestId``, ``timestamp`` and the rest."""
    if type(field) is not str:
        raise need("info", "a field name (a string)", field)
    name = INFO_ALIASES.get(field, field)
    if name not in _INFO:
        raise EvaluationError(
            f"unknown info field {v.render(field)!r}{closest(str(field), _INFO)}; "
            f"fields are {', '.join(INFO_FIELDS)}"
        )
    return _INFO[name](ctx)
