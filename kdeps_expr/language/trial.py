"""One try of an expression or a template against a request, a session and memory: its
value and what ``set()`` changed, or its error. The playground and the REPL are built on it.

A try never changes what it was given: it works on copies, and a try that fails changes
nothing (as a failed request leaves its session alone, SPEC §6).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExprError
from ..sessions.changes import Change, changes
from ..sessions.state import SessionState
from . import values
from .context import Context, Request, WorkflowInfo
from .engine import Engine


@dataclass
class Outcome:
    """What one try gave: the value (and its rendering), the session and memory after it,
    what changed in each, or the error (then the session and memory are as given)."""

    value: Any = None
    text: str = ""
    """The value as a template writes it (SPEC §4): what ``render`` prints."""
    session: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    session_changes: list[Change] = field(default_factory=list)
    memory_changes: list[Change] = field(default_factory=list)
    error: ExprError | None = None


def attempt(
    engine: Engine,
    source: str,
    *,
    template: bool = False,
    request: Request | None = None,
    session: Mapping[str, Any] | None = None,
    memory: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    action_ids: frozenset[str] = frozenset(),
    workflow: WorkflowInfo | None = None,
) -> Outcome:
    """Evaluate ``source`` (a template when ``template``) in a fresh :class:`Context`."""
    before_session = dict(session or {})
    before_memory = dict(memory or {})
    context = Context(
        request,
        session=SessionState(copy.deepcopy(before_session)),
        memory=copy.deepcopy(before_memory),
        outputs=copy.deepcopy(dict(outputs or {})),
        action_ids=action_ids,
        workflow=workflow,
    )
    try:
        if template:
            value = engine.compile_template(source).render(context)
        else:
            value = engine.evaluate(source, context)
        text = values.render(value)
    except ExprError as exc:
        return Outcome(session=before_session, memory=before_memory, error=exc)
    after_session = context.session.data
    return Outcome(
        value=value,
        text=text,
        session=after_session,
        memory=context.memory,
        session_changes=changes(before_session, after_session),
        memory_changes=changes(before_memory, context.memory),
    )
