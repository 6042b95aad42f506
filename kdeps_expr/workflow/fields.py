"""Compile located YAML nodes into model pieces: steps, value trees, durations, statuses.

A :class:`FieldReader` is what the loader and the layout readers share for one load: the
Engine, and the lists every error, warning and value string goes to. Each method reads
one kind of field and never raises; a problem is recorded at its character of the file
and the field is left out. Types were checked by the schema before, so a node of the wrong
kind is skipped silently here (its error is already recorded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..actions.failures import REDACTED
from ..durations import parse_duration
from ..errors import ExprError, WorkflowError, WorkflowWarning
from ..language import values
from ..language.engine import Engine, ValueReading
from .model import (
    Constant,
    Dynamic,
    Evaluated,
    ListValue,
    MapValue,
    Secret,
    Site,
    Step,
    Value,
    ValueString,
)
from .schema import resolve
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
_BODILESS_STATUSES = (204, 205, 304)
"""Statuses HTTP sends without a body (as every 1xx); every answer here has a JSON body."""


class FieldReader:
    """Reads fields for one load; collects errors, warnings and value strings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: list[ExprError] = []
        self.warnings: list[ExprError] = []
        self.values: list[ValueString] = []
        self.settings: Mapping[str, Any] = {}
        """workflow.yaml's settings, once read: for fields that name one (sql.connectionName)."""
        self.secrets: list[tuple[str, str]] = []
        """Secrets written as plain text in a file (file, text): never shown."""

    def error(self, error: ExprError) -> None:
        self.errors.append(error)

    def warn(self, node: Node, message: str) -> None:
        warning = WorkflowWarning(message)
        node.source.place(warning, node.start)
        self.warnings.append(warning)

    def secret(self, scalar: Scalar) -> None:
        """Keep the text of ``scalar`` (an API key written in the file) out of every
        error and warning shown: :meth:`hide_secrets`."""
        text = scalar.value if isinstance(scalar.value, str) else scalar.source_text
        if text:
            self.secrets.append((scalar.source.name, text))

    def hide_secrets(self, errors: Iterable[ExprError]) -> None:
        """Mask every secret of its file in the source line of ``errors``, character for
        character (the caret keeps its column)."""
        for error in errors:
            for where, text in self.secrets:
                line = error.source_line
                if error.where == where and line is not None and text in line:
                    error.source_line = line.replace(text, "*" * len(text))

    # -- plain fields --------------------------------------------------------------------

    @staticmethod
    def text(node: Node | None) -> str | None:
        """A scalar as text; a number as written (``version: 1.10``); else ``None``."""
        if isinstance(node, Scalar) and not isinstance(node.value, bool | type(None)):
            return node.value if isinstance(node.value, str) else node.source_text
        return None

    @staticmethod
    def texts(node: Node | None) -> list[tuple[str, Scalar]]:
        """A list of strings (a single string stands for a list of one)."""
        items = node.items if isinstance(node, Sequence) else [] if node is None else [node]
        return [
            (item.value, item)
            for item in items
            if isinstance(item, Scalar) and isinstance(item.value, str)
        ]

    @staticmethod
    def integer(node: Node | None) -> int | None:
        if isinstance(node, Scalar) and type(node.value) is int:
            return node.value
        if isinstance(node, Scalar) and isinstance(node.value, str) and node.value.isascii():
            text = node.value.strip()
            if text.lstrip("-").isdigit():
                return int(text)
        return None

    @staticmethod
    def duration(node: Node | None) -> float | None:
        """A literal duration in seconds; ``None`` when absent, templated, or invalid (the
        schema reports an invalid one)."""
        if node is None:
            return None
        try:
            return parse_duration(node.to_python())
        except WorkflowError:
            return None

    def status(self, node: Node | None, where: str) -> int | None:
        """An HTTP status that can carry a JSON body (a number, or a string of digits)."""
        if node is None:
            return None
        value = node.to_python()
        if isinstance(value, str) and value.strip().isdigit() and value.isascii():
            value = int(value)
        if not (isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599):
            self.error(node.error(f"{where} must be an HTTP status code from 100 to 599"))
            return None
        if value < 200 or value in _BODILESS_STATUSES:
            others = ", ".join(map(str, _BODILESS_STATUSES[:-1]))
            self.error(
                node.error(
                    f"{where} {value} cannot carry the JSON body of a response; use a status "
                    f"from 200 to 599 other than {others} and {_BODILESS_STATUSES[-1]}"
                )
            )
            return None
        return value

    def methods(self, node: Node | None) -> frozenset[str] | None:
        """HTTP methods, any case; ``None`` for none listed (any method)."""
        methods: set[str] = set()
        for text, scalar in self.texts(node):
            method = text.upper()
            if method not in HTTP_METHODS:
                known = ", ".join(HTTP_METHODS)
                self.error(scalar.error(f"unknown HTTP method {text!r} (known: {known})"))
            else:
                methods.add(method)
        return frozenset(methods) or None

    def number_fits(self, scalar: Scalar) -> bool:
        """SPEC §1 for YAML numbers: floats are finite, integers fit in 64 bits."""
        value = scalar.value
        if isinstance(value, float) and not math.isfinite(value):
            message = f"the YAML number {scalar.source_text} is not a value: numbers must be finite"
        elif type(value) is int and not -(1 << values.INT_BITS) <= value < 1 << values.INT_BITS:
            message = f"integer out of range: {scalar.source_text} does not fit in 64 bits"
        else:
            return True
        self.error(scalar.error(message))
        return False

    # -- expressions and values ----------------------------------------------------------

    def steps(self, node: Node | None) -> tuple[Step, ...]:
        """Always-expression entries: one scalar or a list of them."""
        if node is None or (isinstance(node, Scalar) and node.value is None):
            return ()
        items = node.items if isinstance(node, Sequence) else [node]
        found = (self.step(item) for item in items if isinstance(item, Scalar))
        return tuple(step for step in found if step is not None)

    def step(self, scalar: Scalar) -> Step | None:
        """One always-expression entry (a YAML boolean or number is that constant)."""
        value = scalar.value
        if not self.number_fits(scalar):
            return None
        text = value if isinstance(value, str) else values.to_json(value)
        try:
            expression = self.engine.compile_entry(text)
        except ExprError as exc:
            self.error(scalar.place(exc, exc.offset))
            return None
        return Step(expression.text.strip(), expression, Site(scalar))

    def value(self, node: Node, schema: Mapping[str, Any] | None = None) -> Value:
        """A value tree: every string leaf read by the SPEC §5 value rule.

        ``schema`` (the node's JSON Schema, when known) marks always-expression fields
        (``"x-kdeps": "expression"``) and secrets (``"x-kdeps-secret"``), and reaches the
        schemas of nested keys and items.
        """
        if schema is not None and schema.get("x-kdeps-secret"):
            return self._secret(node, resolve(schema))
        schema = resolve(schema) if schema is not None else None
        if schema is not None and schema.get("x-kdeps") == "expression":
            return self._expression_value(node)
        if schema is not None and schema.get("x-kdeps") == "script" and isinstance(node, Scalar):
            return self.script(node)
        if isinstance(node, YamlMapping):
            return MapValue(
                tuple(
                    (key, self.value(item, _member(schema, key)))
                    for key, (_, item) in node.entries.items()
                )
            )
        if isinstance(node, Sequence):
            inner = schema.get("items") if schema is not None else None
            return ListValue(tuple(self.value(item, inner) for item in node.items))
        assert isinstance(node, Scalar)
        text = node.value
        if not isinstance(text, str):
            self.number_fits(node)
            return Constant(text)
        if "(" not in text and not any(mark in text for mark in self.engine.delimiters):
            # Calls no function and holds no block: text, without asking the parser.
            self.values.append(ValueString(Site(node), text, "text"))
            return Constant(text)
        try:
            reading = self.engine.read_value(text)
        except ExprError as exc:
            self.error(node.place(exc, exc.offset))
            return Constant(text)
        self.values.append(ValueString(Site(node), text, reading.kind, reading.warning))
        if reading.kind == "text":
            return Constant(text)
        return Dynamic(text, reading, Site(node))

    def script(self, scalar: Scalar) -> Value:
        """Code in another language (a shell or Python script, a SQL query): only its template
        blocks are read, never the whole string as an expression (``max(a, b)`` in a query
        is SQL); the executor decides what each block writes into the code."""
        text = scalar.value
        if not isinstance(text, str):
            return self.value(scalar)  # the schema has reported the type
        if not any(mark in text for mark in self.engine.delimiters):
            self.values.append(ValueString(Site(scalar), text, "text"))
            return Constant(text)
        try:
            template = self.engine.compile_template(text)
        except ExprError as exc:
            if exc.message.startswith("unclosed '<<'"):
                exc.message += (
                    " (<< opens a template block: write \\<< for a here-document or a shift, "
                    "or switch << off with settings.templates.delimiters)"
                )
            self.error(scalar.place(exc, exc.offset))
            return Constant(text)
        self.values.append(ValueString(Site(scalar), text, "template"))
        reading = ValueReading("template", text, template=template)
        return Dynamic(text, reading, Site(scalar))

    def _secret(self, node: Node, schema: Mapping[str, Any]) -> Value:
        """A secret's value: never traced; as plain text, never shown by ``check``."""
        first = len(self.values)
        value = self.value(node, schema)
        if isinstance(value, Constant) and isinstance(node, Scalar):
            self.secret(node)
            self.values[first:] = [
                ValueString(shown.site, REDACTED, shown.kind) for shown in self.values[first:]
            ]
        return Secret(value)

    def _expression_value(self, node: Node) -> Value:
        if isinstance(node, Sequence):
            return ListValue(tuple(self._expression_value(item) for item in node.items))
        if isinstance(node, Scalar):
            step = self.step(node)
            return Constant(None) if step is None else Evaluated(step)
        return self.value(node)


def _member(schema: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """The schema of ``key`` inside an object schema (its property, else its
    ``additionalProperties`` when that is a schema)."""
    if schema is None:
        return None
    found = schema.get("properties", {}).get(key)
    if isinstance(found, Mapping):
        return found
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None
