"""Static checks of loaded resources: the warnings ``kdeps-expr check`` prints.

A warning is a likely mistake that still loads: the request would run, but not as the
author probably meant. Each one points at the character of the YAML file it is about.
The checks read only calls whose key and scope are written as string literals; a key
computed at run time is never guessed at.

- ``get('user')`` where ``'user'`` is a key some resource stores in the session: an
  unqualified ``get`` never reads the session (SPEC §3), where KDeps would have answered
  from it (SPEC §10): a counter ``set('n', get('n', 0) + 1, 'session')`` counts in KDeps and
  stays at 1 here; ``set('language', get('language', 'en'), 'session')`` stores ``'en'``
  here for a request without ``language``, where KDeps kept the stored value. Each warning
  says what to write instead.
- ``get('x', 'session')`` of a key no resource ever stores in the session (unless some
  resource stores keys whose names are computed).
- ``get(k, 'sesion')``: a second argument that is not a source but is close to one is read
  as a default value; ``set``/``unset``/``clear`` with a scope that does not exist.
- ``info('field')`` with a field ``info`` does not know.
- ``set('<actionId>', …)``: the actionIds of resources are reserved.
- A value string read as text although it almost was an expression (SPEC §5).
- An action this engine does not run (SPEC §5: a request that reaches it answers 501).
- ``set('k', …)`` in ``after`` where the resource's action reads ``get('k')``: ``after``
  runs after the action (several KDeps examples put such a ``set`` there).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..actions import ACTIONS_RUN
from ..errors import ExprError, WorkflowWarning
from ..language import nodes as n
from ..language.functions import INFO_ALIASES, INFO_FIELDS, SCOPES, SOURCES
from .model import (
    Dynamic,
    Evaluated,
    ListValue,
    MapValue,
    Resource,
    Site,
    Step,
    Value,
    ValueString,
)


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
    for resource in resources:
        warnings.extend(_not_run(resource))
        warnings.extend(_set_after_the_action(resource))
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
    args = call.call.args
    unqualified = len(args) == 1 or (
        len(args) == 2
        and isinstance(args[1], n.Literal)
        and not (isinstance(args[1].value, str) and args[1].value in SOURCES)
    )
    if not unqualified or key not in stored:
        return
    if _copies_into_session(call, key):
        default = str(args[1]) if len(args) == 2 else None
        stores = f"stores {default}" if default is not None else "stores nil"
        fallback = f" ?? {default}" if default is not None else ""
        yield call.warn(
            f"{call.call} reads the request only; KDeps read the session first: a request "
            f"without {key!r} {stores} here, where KDeps kept the stored value; to keep it, "
            f"write get({key!r}) ?? get({key!r}, 'session'){fallback}"
        )
        return
    where = stored[key].site.scalar
    line, column = where.position(stored[key].call.start)
    yield call.warn(
        f"get({key!r}) never reads the session, where {key!r} is stored "
        f"({where.source.name}:{line}:{column}) and where KDeps would have read it; "
        f"write get({key!r}, 'session') to read it"
    )


def _copies_into_session(call: _Call, key: str) -> bool:
    """True when ``call`` is the whole value of ``set(key, …, 'session')`` of the same key
    (a request field saved as it came, or its default)."""
    parent = call.parents[0] if call.parents else None
    if isinstance(parent, n.Call) and parent.name == "set" and len(parent.args) == 3:
        first, value, scope = parent.args
        return (
            value is call.call
            and isinstance(first, n.Literal)
            and first.value == key
            and isinstance(scope, n.Literal)
            and scope.value == "session"
        )
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


def _not_run(resource: Resource) -> Iterator[ExprError]:
    actions = [entry for entry in resource.actions() if entry.kind not in ACTIONS_RUN]
    for action in actions:
        warning = WorkflowWarning(
            f"{action.kind} is not run by this engine (it runs {', '.join(sorted(ACTIONS_RUN))} "
            f"and expressions); a request that reaches {resource.action_id} answers 501"
        )
        yield action.site.scalar.place(warning, None)


def _set_after_the_action(resource: Resource) -> Iterator[ExprError]:
    """``set('k', …)`` in ``after`` when the action reads ``get('k')`` and nothing before
    it sets ``k``: the action reads what an earlier request left, or nil."""
    action = resource.action
    if action is None:
        return
    read = {
        call.literal(0)
        for call in _value_calls((value for _, value in action.fields), action.site)
        if call.call.name == "get" and len(call.call.args) == 1
    }
    set_before = {
        call.literal(0)
        for call in _step_calls(_block_steps(resource.before))
        if call.call.name == "set"
    }
    for call in _step_calls(_block_steps(resource.after)):
        key = call.literal(0)
        scope = call.literal(2) if len(call.call.args) == 3 else "memory"
        if call.call.name == "set" and scope == "memory" and key in read and key not in set_before:
            yield call.warn(
                f"set({key!r}, …) runs in after:, once the {action.kind} action has read "
                f"get({key!r}); move it to before: if the action should see it"
            )


def _block_steps(blocks: Iterable[Any]) -> list[Step]:
    return [entry for block in blocks for entry in block.entries if isinstance(entry, Step)]


def _step_calls(steps: Iterable[Step]) -> Iterator[_Call]:
    for step in steps:
        yield from _walk(step.expression.node, step.site)


def _value_calls(values: Iterable[Value | None], site: Site) -> Iterator[_Call]:
    for value in values:
        for node, node_site in _value_expressions(value):
            yield from _walk(node, node_site)


def _walk(expression: n.Node, site: Site) -> Iterator[_Call]:
    stack: list[tuple[n.Node, tuple[n.Node, ...]]] = [(expression, ())]
    while stack:
        node, parents = stack.pop()
        if isinstance(node, n.Call):
            yield _Call(node, site, parents)
        stack.extend((child, (node, *parents)) for child in reversed(node.children()))


def _calls(resource: Resource) -> Iterator[_Call]:
    """Every call of every expression of ``resource``, with its enclosing nodes."""
    for expression, site in _expressions(resource):
        yield from _walk(expression, site)


def _expressions(resource: Resource) -> Iterator[tuple[n.Node, Site]]:
    """Every compiled expression of ``resource``: steps, and those inside value strings."""
    for step in _steps(resource):
        yield step.expression.node, step.site
    for value in _values(resource):
        yield from _value_expressions(value)


def _steps(resource: Resource) -> Iterator[Step]:
    yield from resource.skip_conditions
    if resource.preflight is not None:
        yield from resource.preflight.validations
    if resource.inputs is not None:
        yield from (rule.step for rule in resource.inputs.custom)
    yield from _block_steps((*resource.before, *resource.after))
    if resource.loop is not None and resource.loop.condition is not None:
        yield resource.loop.condition
    if resource.on_error is not None:
        yield from (*resource.on_error.expr, *resource.on_error.when)


def _values(resource: Resource) -> Iterator[Value | None]:
    yield from resource.items or ()
    if resource.preflight is not None:
        yield resource.preflight.message
    for action in resource.actions():
        yield from (value for _, value in action.fields)
    if resource.on_error is not None:
        yield resource.on_error.fallback
    if resource.api_response is not None:
        api = resource.api_response
        yield from (api.success, api.data, *(value for _, value in api.headers))


def _value_expressions(value: Value | None) -> Iterator[tuple[n.Node, Site]]:
    if isinstance(value, MapValue):
        for _, item in value.items:
            yield from _value_expressions(item)
    elif isinstance(value, ListValue):
        for item in value.items:
            yield from _value_expressions(item)
    elif isinstance(value, Evaluated):
        yield value.step.expression.node, value.step.site
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
