"""Scope-aware built-ins (SPEC §3): ``get``, ``set``, ``unset``, ``clear``, ``session``,
``info``, and KDeps' ``input`` and ``output``."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..context import Context, UploadedFile
from ..limits import MAX_SIZE
from . import uploads
from .base import builtin, closest, kdeps_object, key_arg, need
from .iteration import ITEM_FIELDS, item_field, item_outputs

_MISSING: Any = object()


def _item(field: str, ctx: Context) -> Any:
    return item_field(ctx, field)


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
    "workflow.description": lambda ctx: ctx.workflow.description,
    "files": lambda ctx: [upload.path for upload in ctx.request.files],
    "filenames": lambda ctx: [upload.filename for upload in ctx.request.files],
    "filetypes": lambda ctx: [upload.content_type for upload in ctx.request.files],
    "filecount": lambda ctx: len(ctx.request.files),
    **{field: partial(_item, field) for field in ITEM_FIELDS if field != "all"},
}
"""How ``info(field)`` reads each field from the request context (the item fields are nil
outside an ``items`` iteration)."""

INFO_FIELDS = tuple(_INFO)
INFO_ALIASES = {
    "session_id": "sessionId",
    "request_id": "requestId",
    "ID": "requestId",
    "request.ID": "requestId",
    "request.id": "requestId",
    "IP": "ip",
    "clientIp": "ip",
    "request.IP": "ip",
    "request.method": "method",
    "request.path": "path",
    "current_time": "timestamp",
    "name": "workflow.name",
    "version": "workflow.version",
    "description": "workflow.description",
}
"""KDeps' spellings of the fields (SPEC §3)."""


def _body(ctx: Context, key: str) -> Any:
    body = ctx.request.body
    return body.get(key, _MISSING) if type(body) is dict else _MISSING


def _param(ctx: Context, key: str) -> Any:
    found = ctx.request.query.get(key, _MISSING)
    return _body(ctx, key) if found is _MISSING else found


def _header(ctx: Context, key: str) -> Any:
    return ctx.request.headers.get(key.lower(), _MISSING)


def _loop(ctx: Context, key: str) -> Any:
    return _MISSING if ctx.loop is None else ctx.loop.scope.get(key, _MISSING)


def _info(ctx: Context, key: str) -> Any:
    field = _INFO.get(INFO_ALIASES.get(key, key))
    return _MISSING if field is None else field(ctx)


ERROR_KEY = "error"
"""The request-memory key where the runner puts a failure while ``onError`` runs."""


@kdeps_object("error")
def error_object(ctx: Context) -> Any:
    """``error`` in ``onError``'s ``when``, ``expr`` and ``fallback`` (KDeps' object: its
    ``message``, ``type``, ``code``): request memory's ``error``, nil when there is none."""
    return ctx.memory.get(ERROR_KEY)


_ITEM_ALIASES = {"item": "current", "items": "all"}


def _item_source(ctx: Context, key: str) -> Any:
    """``get(key, 'item')`` inside ``items``: ``current`` (``item``), ``prev``, ``next``,
    ``index``, ``count``, ``all`` (``items``); missing outside an iteration."""
    field = _ITEM_ALIASES.get(key, key)
    if ctx.item is None or field not in ITEM_FIELDS:
        return _MISSING
    return item_field(ctx, field)


def _item_values(ctx: Context, key: str) -> Any:
    """``get(actionId, 'itemvalues')``: the per-item outputs of an ``items`` resource (its
    output, SPEC §10); missing when it has not run or its output is not a list."""
    found = item_outputs(ctx, key)
    return _MISSING if found is None else found


def _upload(read: Callable[[UploadedFile], Any]) -> Callable[[Context, str], Any]:
    def source(ctx: Context, key: str) -> Any:
        upload = uploads.find(ctx, key)
        return _MISSING if upload is None else read(upload)

    return source


_SOURCES: dict[str, Callable[[Context, str], Any]] = {
    "memory": lambda ctx, key: ctx.memory.get(key, _MISSING),
    "session": lambda ctx, key: ctx.session.data.get(key, _MISSING),
    "output": lambda ctx, key: ctx.outputs.get(key, _MISSING),
    "query": lambda ctx, key: ctx.request.query.get(key, _MISSING),
    "body": _body,
    "param": _param,
    "header": _header,
    "info": _info,
    "data": _body,
    "loop": _loop,
    "item": _item_source,
    "itemvalues": _item_values,
    "env": lambda ctx, key: os.environ.get(key, _MISSING),
    "file": _upload(lambda upload: uploads.content(upload, MAX_SIZE)),
    "filepath": _upload(lambda upload: upload.path),
    "filetype": _upload(lambda upload: upload.content_type),
}
"""How ``get(key, source)`` reads each source: the value, or ``_MISSING``. ``data`` is
KDeps' name for the body, ``env`` the process environment, ``item`` the running ``items``
iteration, ``itemvalues`` an items resource's per-item outputs; ``file``, ``filepath`` and
``filetype`` read the file uploaded in the form field ``key`` (its text, where it was
stored, its MIME type)."""

SOURCES = tuple(_SOURCES)
SCOPES = ("memory", "session", "loop")


def lookup(ctx: Context, source: str, key: str) -> Any:
    """``get(key, source)``: the value of ``key`` in one source, nil when it is missing."""
    found = _SOURCES[source](ctx, key)
    return None if found is _MISSING else found


_ITEM_KEYS = frozenset(ITEM_FIELDS)
"""What an unqualified ``get`` finds in the item context first, inside ``items`` (SPEC §10)."""


def _search(key: str, ctx: Context) -> Any:
    """SPEC §3's unqualified search: memory, outputs, query, body, headers; never the session.
    Inside ``items`` the item context comes first (``get('current')``, SPEC §10).

    Written out rather than looped over the sources, with ``in`` tests (cheaper than ``get``
    on a miss, and most sources miss): it is the hottest path of the language.
    """
    if ctx.item is not None and key in _ITEM_KEYS:
        return item_field(ctx, key)
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


def _element(container: Any, key: Any) -> Any:
    """expr-lang's ``get(list or map, key)``: the item or entry, nil when there is none."""
    if type(container) is list and type(key) is int and not -len(container) <= key < len(container):
        return None
    return v.index(container, key)


@builtin("get", pass_context=True, specialize=_specialize_get)
def get(ctx: Context, key: Any, source: Any = _MISSING, default: Any = _MISSING) -> Any:
    """``get(key)``, ``get(key, source)``, ``get(key, default)``, ``get(key, source, default)``;
    and expr-lang's ``get(list or map, key)``."""
    if type(key) is not str:
        if (
            source is not _MISSING
            and default is _MISSING
            and (key is None or type(key) in (list, dict))
        ):
            return _element(key, source)
        key = key_arg("get", key)
    if source is _MISSING:
        return _search(key, ctx)
    if default is not _MISSING:
        if type(source) is not str or source not in _SOURCES:
            raise EvaluationError(
                f"unknown get source {v.render(source)!r}{closest(str(source), SOURCES)}; "
                f"sources are {', '.join(SOURCES)}"
            )
        return _or_default(_SOURCES[source](ctx, key), default)
    if type(source) is str and source in _SOURCES:
        return lookup(ctx, source, key)
    return _or_default(_search(key, ctx), source)


def _scope(function: str, scope: Any) -> str:
    if scope not in SCOPES:
        raise EvaluationError(
            f"{function}(): unknown scope {v.render(scope)!r}{closest(str(scope), SCOPES)}; "
            f"scopes are {', '.join(SCOPES)}"
        )
    return str(scope)


def _store(ctx: Context, function: str, scope: Any) -> dict[str, Any] | None:
    """The mapping ``scope`` names: request memory, the running loop's scope, or ``None``
    for the session (written through :class:`SessionState`, which tracks its changes)."""
    scope = _scope(function, scope)
    if scope == "memory":
        return ctx.memory
    if scope == "loop":
        if ctx.loop is None:
            raise EvaluationError(f"{function}(): the 'loop' scope exists only inside a loop")
        return ctx.loop.scope
    return None


@builtin("set", pass_context=True)
def set_(ctx: Context, key: Any, value: Any, scope: Any = "memory") -> Any:
    """Store ``value`` under ``key`` in request memory, the session or the loop's scope;
    returns ``value``."""
    key = key_arg("set", key)
    if key in ctx.action_ids:
        raise EvaluationError(f"set(): {key!r} is the actionId of a resource and cannot be set")
    store = _store(ctx, "set", scope)
    if store is None:
        ctx.session.set(key, value)
    else:
        store[key] = value
    return value


@builtin("unset", pass_context=True)
def unset(ctx: Context, key: Any, scope: Any = "memory") -> None:
    """Remove one key from request memory, the session or the loop's scope."""
    key = key_arg("unset", key)
    store = _store(ctx, "unset", scope)
    if store is None:
        ctx.session.unset(key)
    else:
        store.pop(key, None)


@builtin("clear", pass_context=True)
def clear(ctx: Context, scope: Any) -> None:
    """Empty the session (``clear('session')``, a logout), request memory or the loop's scope."""
    store = _store(ctx, "clear", scope)
    if store is None:
        ctx.session.clear()
    else:
        store.clear()


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


_INPUT_TYPES: dict[str, tuple[str, ...]] = {
    "param": ("param",),
    "query": ("param",),
    "header": ("header",),
    "body": ("body",),
    "data": ("body",),
}


@builtin("input", pass_context=True)
def input_(ctx: Context, name: Any, kind: Any = None) -> Any:
    """KDeps' ``input(name)``: a query parameter, else a header, else a body field; with a
    type (``param``, ``query``, ``header``, ``body``, ``data``) that source only."""
    name = key_arg("input", name)
    if kind is None:
        sources: tuple[str, ...] = ("query", "header", "body")
    elif type(kind) is str and kind in _INPUT_TYPES:
        sources = _INPUT_TYPES[kind]
    else:
        raise EvaluationError(
            f"input(): unknown type {v.render(kind)!r}{closest(str(kind), _INPUT_TYPES)}; "
            f"types are {', '.join(_INPUT_TYPES)}"
        )
    for source in sources:
        found = _SOURCES[source](ctx, name)
        if found is not _MISSING:
            return found
    return None


@builtin("output", pass_context=True)
def output(ctx: Context, action_id: Any) -> Any:
    """KDeps' ``output(actionId)``: that resource's output, nil when it has not run."""
    return ctx.outputs.get(key_arg("output", action_id))
