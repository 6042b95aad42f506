"""Static checks of loaded resources: the warnings ``kdeps-expr check`` prints.

A warning is a likely mistake that still loads: the request would run, but not as the
author probably meant. Each one points at the character of the YAML file it is about.
The checks read only calls whose key and scope are written as string literals; a key
computed at run time is never guessed at.

- ``get('user')`` where ``'user'`` is a key some resource stores in the session: an
  unqualified ``get`` never reads the session (SPEC §3). Copying a request field into the
  session under its own name (``set('language', get('language', 'en'), 'session')``) is
  the intended pattern and is not reported.
- ``get('x', 'session')`` of a key no resource ever stores in the session (unless some
  resource stores keys whose names are computed).
- ``get(k, 'sesion')``: a second argument that is not a source but is close to one is read
  as a default value; ``set``/``unset``/``clear`` with a scope that does not exist.
- ``info('field')`` with a field ``info`` does not know.
- ``set('<actionId>', …)``: the actionIds of resources are reserved.
- A value string read as text although it almost was an expression (SPEC §5).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import ExprError
from ..language import nodes as n
from ..language.functions import INFO_ALIASES, INFO_FIELDS, SCOPES, SOURCES
from .model import Dynamic, ListValue, MapValue, Resource, Site, Value, ValueString


class WorkflowWarning(ExprError):
    """A likely mistake in a workflow that loads; reported by ``check``, never raised."""

    def __init__(self, message: str) -> None:
        super().__init__(f"warning: {message}")


@dataclass(frozen=True, slots=True)
class _Call:
    """A call found in a compiled expression, with the site of its text."""

    call: n.Call
    site: Site
    parents: tuple[n.Node, ...]

    def literal(self, index: int) -> str | None:
        """Argument ``index`` when it is a string literal."""
        args = self.call.args
        if index < len(args):
            arg = args[index]
            if isinstance(arg, n.Literal) and isinstance(arg.value, str):
                return arg.value
        return None

    def warn(self, message: str) -> WorkflowWarning:
        warning = WorkflowWarning(message)
        self.site.scalar.place(warning, self.call.start)
        return warning


def check_resources(
    resources: Iterable[Resource], value_strings: Iterable[ValueString] = ()
) -> list[ExprError]:
    """Every warning about ``resources``, in file order."""
    resources = list(resources)
    action_ids = {resource.action_id for resource in resources}
    calls = [call for resource in resources for call in _calls(resource)]
    session_sets = [c for c in calls if c.call.name == "set" and c.literal(2) == "session"]
    stored: dict[str, _Call] = {}
    for call in session_sets:
        key = call.literal(0)
        if key is not None:
            stored.setdefault(key, call)
    computed_keys = any(call.literal(0) is None for call in session_sets)
    warnings: list[ExprError] = []
    for call in calls:
        name = call.call.name
        if name == "get":
            warnings.extend(_check_get(call, stored, computed_keys))
        elif name in ("set", "unset", "clear"):
            warnings.extend(_check_scope(call, action_ids))
        elif name == "info":
            field = call.literal(0)
            if field is not None and field not in INFO_FIELDS and field not in INFO_ALIASES:
                known = ", ".join(INFO_FIELDS)
                warnings.append(call.warn(f"info({field!r}): unknown field (known: {known})"))
    for value in value_strings:
        if value.warning:
            warnings.append(value.site.scalar.place(WorkflowWarning(value.warning), None))
    warnings.sort(key=lambda w: (w.where or "", w.line or 0, w.column or 0))
    return warnings


def _check_get(call: _Call, stored: dict[str, _Call], computed_keys: bool) -> Iterator[ExprError]:
    key = call.literal(0)
    second = call.literal(1)
    if key is None:
        return
    if second is not None and second not in SOURCES and len(second) > 3:
        # a short default ('en', 'fr') is a value, not a misspelt source ('env')
        close = difflib.get_close_matches(second, SOURCES, n=1, cutoff=0.75)
        if close:
            yield call.warn(
                f"get({key!r}, {second!r}): {second!r} is not a source, so it is read as the "
                f"default value; did you mean the source {close[0]!r}?"
            )
            return
    if second == "session":
        if key not in stored and not computed_keys:
            yield call.warn(f"get({key!r}, 'session'): no resource stores {key!r} in the session")
        return
    unqualified = len(call.call.args) == 1 or (second is not None and second not in SOURCES)
    if unqualified and key in stored and not _copies_into_session(call, key):
        where = stored[key].site.scalar
        line, column = where.position(stored[key].call.start)
        yield call.warn(
            f"get({key!r}) never reads the session, where {key!r} is stored "
            f"({where.source.name}:{line}:{column}); write get({key!r}, 'session') to read it"
        )


def _copies_into_session(call: _Call, key: str) -> bool:
    """True when ``call`` sits in the value of ``set(key, …, 'session')`` of the same key."""
    for parent in call.parents:
        if isinstance(parent, n.Call) and parent.name == "set" and len(parent.args) == 3:
            first, _, scope = parent.args
            if (
                isinstance(first, n.Literal)
                and first.value == key
                and isinstance(scope, n.Literal)
                and scope.value == "session"
            ):
                return True
    return False


def _check_scope(call: _Call, action_ids: set[str]) -> Iterator[ExprError]:
    name = call.call.name
    scope_index = 0 if name == "clear" else 2 if name == "set" else 1
    scope = call.literal(scope_index)
    if scope is not None and scope not in SCOPES:
        known = ", ".join(repr(s) for s in SCOPES)
        yield call.warn(f"{name}(): {scope!r} is not a scope (known: {known}); this call fails")
    key = call.literal(0)
    if name == "set" and key in action_ids:
        yield call.warn(f"set({key!r}, …): {key!r} is the actionId of a resource; this call fails")


def _calls(resource: Resource) -> Iterator[_Call]:
    """Every call of every expression of ``resource``, with its enclosing nodes."""
    for expression, site in _expressions(resource):
        stack: list[tuple[n.Node, tuple[n.Node, ...]]] = [(expression, ())]
        while stack:
            node, parents = stack.pop()
            if isinstance(node, n.Call):
                yield _Call(node, site, parents)
            stack.extend((child, (node, *parents)) for child in reversed(node.children()))


def _expressions(resource: Resource) -> Iterator[tuple[n.Node, Site]]:
    steps = [
        *resource.skip_conditions,
        *(resource.preflight.validations if resource.preflight else ()),
        *resource.expr_before,
        *resource.expr,
        *resource.expr_after,
    ]
    for step in steps:
        yield step.expression.node, step.site
    value_fields: list[Value | None] = []
    if resource.preflight is not None:
        value_fields.append(resource.preflight.message)
    if resource.chat is not None:
        value_fields.extend((resource.chat.prompt, resource.chat.model))
    if resource.api_response is not None:
        api = resource.api_response
        value_fields.extend((api.success, api.data, *(value for _, value in api.headers)))
    for value in value_fields:
        yield from _value_expressions(value)


def _value_expressions(value: Value | None) -> Iterator[tuple[n.Node, Site]]:
    if isinstance(value, MapValue):
        for _, item in value.items:
            yield from _value_expressions(item)
    elif isinstance(value, ListValue):
        for item in value.items:
            yield from _value_expressions(item)
    elif isinstance(value, Dynamic):
        reading = value.reading
        expressions = (
            reading.template.expressions
            if reading.template is not None
            else (reading.expression,)
            if reading.expression is not None
            else ()
        )
        for expression in expressions:
            yield expression.node, value.site
