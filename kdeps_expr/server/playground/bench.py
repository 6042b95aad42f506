"""What the playground's JSON API answers: a try, the readings of ``check --explain``, the
graph; built on :func:`~kdeps_expr.language.trial.attempt`, the loader and the graph.

A :class:`Bench` is the playground's state: the workflow it serves beside (none for a
bare ``kdeps-expr playground``) and the Engine tries run on (:mod:`.sandbox`). It never
opens the workflow's session store: the session of a try is the page's JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import ExprError
from ...language import values
from ...language.context import Request, request_json
from ...language.engine import Engine
from ...language.trial import Outcome, attempt
from ...sessions.changes import Change
from ...workflow.graph import requires_graph, to_mermaid, to_svg
from ...workflow.loader import inspect_workflow
from ...workflow.model import ValueString, Workflow
from . import redact
from .sandbox import without_environment

MODES = ("expression", "template")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
JSON_FIELDS = ("query", "headers", "body", "session", "memory", "outputs")
"""The editable JSON of a try, each sent as the text the page's editor holds."""
_MAPS = ("query", "headers", "session", "memory", "outputs")
_TEXT_MAPS = ("query", "headers")


class Bench:
    """The workflow the playground was opened on (or ``None``) and the Engine of its tries.

    :meth:`use` swaps in a reloaded workflow (``serve --reload``); readers see either the
    old one or the new one, whole.
    """

    def __init__(self, workflow: Workflow | None = None, root: Path | None = None) -> None:
        self._lock = threading.Lock()
        self.root = root if root is not None else (workflow.root if workflow else None)
        self.workflow: Workflow | None = None
        self.engine: Engine = without_environment()
        if workflow is not None:
            self.use(workflow)

    def use(self, workflow: Workflow) -> None:
        """Serve tries against ``workflow`` from now on (its functions and delimiters)."""
        engine = without_environment(workflow.engine)
        with self._lock:
            self.workflow, self.engine = workflow, engine

    def current(self) -> tuple[Engine, Workflow | None]:
        """The Engine and the workflow, both from the same :meth:`use`."""
        with self._lock:
            return self.engine, self.workflow


def _json_error(field: str, text: str, exc: Exception) -> ExprError:
    if isinstance(exc, json.JSONDecodeError):
        return ExprError(f"{field}: {exc.msg}", source=text, offset=exc.pos)
    return ExprError(f"{field}: {exc}", source=text, offset=0)


def _read_field(field: str, text: Any) -> Any:
    """One JSON editor's value; an empty editor is ``{}`` (``null`` for the body)."""
    if not isinstance(text, str):
        raise ExprError(f"{field}: expected the editor's text")
    if not text.strip():
        return None if field == "body" else {}
    try:
        value = request_json(text)
    except (ValueError, RecursionError) as exc:
        raise _json_error(field, text, exc) from None
    if field in _MAPS and not isinstance(value, dict):
        raise ExprError(f"{field}: expected a JSON object {{…}}", source=text, offset=0)
    if field in _TEXT_MAPS:
        for key, item in value.items():
            if not isinstance(item, str):
                raise ExprError(
                    f"{field}: the value of {key!r} must be text, as HTTP sends it "
                    f"(write {json.dumps(json.dumps(item))})",
                    source=text,
                    offset=text.find(json.dumps(key)) if json.dumps(key) in text else 0,
                )
    return value


def error_json(error: ExprError, field: str) -> dict[str, Any]:
    """An error as the page draws it: message, place, source line, and the caret text."""
    return {
        "field": field,
        "message": error.message,
        "line": error.line,
        "column": error.column,
        "sourceLine": error.source_line,
        "rendered": error.render(),
    }


def _changes(found: list[Change]) -> list[dict[str, Any]]:
    return [
        {"kind": c.kind, "key": c.key, "before": c.before, "after": c.after, "text": c.render()}
        for c in found
    ]


def evaluate(bench: Bench, payload: Mapping[str, Any]) -> dict[str, Any]:
    """One try: ``payload`` holds ``mode``, ``source``, ``method``, ``path`` and the text of
    each JSON editor; the answer holds the value and the changes, or every error."""
    mode = payload.get("mode", "expression")
    source = payload.get("source", "")
    method = str(payload.get("method", "GET")).upper()
    path = payload.get("path", "/")
    errors: list[dict[str, Any]] = []
    if mode not in MODES:
        errors.append(error_json(ExprError(f"mode: expected one of {', '.join(MODES)}"), "mode"))
    if not isinstance(source, str):
        errors.append(error_json(ExprError("source: expected text"), "source"))
        source = ""
    if method not in METHODS:
        errors.append(
            error_json(ExprError(f"method: expected one of {', '.join(METHODS)}"), "method")
        )
    if not isinstance(path, str) or not path.startswith("/"):
        errors.append(error_json(ExprError("path: expected a path beginning with /"), "path"))
        path = "/"
    fields: dict[str, Any] = {}
    for name in JSON_FIELDS:
        try:
            fields[name] = _read_field(name, payload.get(name, ""))
        except ExprError as exc:
            errors.append(error_json(exc, name))
    engine, workflow = bench.current()
    template = mode == "template"
    reading = engine.read_value(source)
    answer: dict[str, Any] = {
        "reading": {"kind": reading.kind, "warning": reading.warning},
    }
    if errors:
        try:  # the expression's own errors too, though it cannot run
            engine.compile_template(source) if template else engine.compile(source)
        except ExprError as exc:
            errors.append(error_json(exc, "source"))
        return {**answer, "ok": False, "errors": errors}
    outcome: Outcome = attempt(
        engine,
        source,
        template=template,
        request=Request(
            method=method,
            path=path,
            query=fields["query"],
            headers=fields["headers"],
            body=fields["body"],
            request_id="playground",
        ),
        session=fields["session"],
        memory=fields["memory"],
        outputs=fields["outputs"],
        action_ids=frozenset(workflow.resources) if workflow else frozenset(),
        workflow=workflow.info if workflow else None,
    )
    if outcome.error is not None:
        return {**answer, "ok": False, "errors": [error_json(outcome.error, "source")]}
    return {
        **answer,
        "ok": True,
        "value": outcome.value,
        "type": values.type_name(outcome.value),
        "text": outcome.text,
        "session": outcome.session,
        "memory": outcome.memory,
        "changes": {
            "session": _changes(outcome.session_changes),
            "memory": _changes(outcome.memory_changes),
        },
        "errors": [],
    }


def info(bench: Bench) -> dict[str, Any]:
    """What the page needs to set itself up: the workflow, the function names."""
    engine, workflow = bench.current()
    described = None
    if workflow is not None:
        described = {
            "name": workflow.name,
            "version": workflow.version,
            "targetActionId": workflow.target_action_id,
            "resources": list(workflow.resources),
            "routes": [
                {"path": r.path, "methods": list(r.methods), "actionId": r.action_id}
                for r in workflow.api_routes
            ],
        }
    names = sorted(engine.functions)
    return {"workflow": described, "functions": names, "delimiters": list(engine.delimiters)}


def _shown(bench: Bench, where: str | None) -> str | None:
    """A file name as the page shows it: under the workflow's folder name, never the
    server's absolute path."""
    root = bench.root
    if where is None or root is None:
        return where
    prefix = str(root)
    if where == prefix or where.startswith(prefix + "/"):
        return root.name + where[len(prefix) :]
    return where


def _problem(bench: Bench, error: ExprError) -> dict[str, Any]:
    message, line = redact.error_text(error.message, error.source_line)
    where = _shown(bench, error.where)
    shown = ExprError(message, where=where)
    if error.line is not None and error.column is not None:
        shown.place(where or "", error.line, error.column, line or "")
    warning = message.startswith("warning: ")
    return {
        "severity": "warning" if warning else "error",
        "message": message.removeprefix("warning: "),
        "where": where,
        "line": error.line,
        "column": error.column,
        "sourceLine": line,
        "rendered": shown.render(),
    }


def _reading(bench: Bench, value: ValueString) -> dict[str, Any]:
    scalar = value.site.scalar
    line, column = scalar.position(None)
    return {
        "file": _shown(bench, scalar.source.name),
        "line": line,
        "column": column,
        "kind": value.kind,
        "text": redact.value_text(scalar, value.text),
        "warning": value.warning,
    }


def explain(bench: Bench) -> dict[str, Any]:
    """``check --explain`` of the workflow's files as they are now: how each value string
    was read, and every error and warning (a broken edit shows here before a reload)."""
    if bench.root is None:
        return {"workflow": None, "values": [], "problems": []}
    inspection = inspect_workflow(bench.root)
    problems = [*inspection.errors, *inspection.warnings]
    return {
        "workflow": inspection.workflow.name if inspection.workflow else None,
        "values": [_reading(bench, value) for value in inspection.values],
        "problems": [_problem(bench, problem) for problem in problems],
    }


def graph(bench: Bench, kind: str) -> str | None:
    """The requires graph of the workflow served, as ``svg`` or ``mermaid``; ``None``
    without a workflow."""
    workflow = bench.current()[1]
    if workflow is None:
        return None
    drawn = requires_graph(workflow)
    return to_svg(drawn) if kind == "svg" else to_mermaid(drawn)
