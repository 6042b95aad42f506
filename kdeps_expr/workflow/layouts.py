"""KDeps' three resource layouts, read into one model (SPEC §5, §10).

- **A** (the seed's): ``metadata`` + ``run`` with ``skipCondition``, ``restrictTo*``,
  ``allowedHeaders``/``allowedParams``, ``preflightCheck``, ``validation``,
  ``exprBefore``/``expr``/``exprAfter``;
- **B**: ``metadata`` + ``run`` with ``run.validations``, ``run.loop`` and
  ``before``/``after``;
- **C** (today's): flat; ``actionId``, ``requires``, ``validations``, ``before``, ``after``,
  ``loop``, ``onError``, ``apiResponse`` and the action at the top level.

A document with ``metadata`` (or with ``run`` and no top-level ``actionId``) is A or B,
anything else C; the schema (:mod:`.schema`) has checked the keys of each before this
module reads it. Layout A's names map onto the same fields as B's and C's, so the runner
never asks which layout a resource was written in (:attr:`Resource.layout` is kept for
``check``). A ``run`` that mixes A and B keys is read with both (a warning says so).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

from .chat import check_chat
from .executors import EXECUTOR_KINDS, read_executor
from .fields import FieldReader
from .model import (
    DEFAULT_PREFLIGHT_CODE,
    Action,
    ApiResponse,
    Block,
    Constant,
    CustomRule,
    InputRule,
    InputSchema,
    Loop,
    OnError,
    Preflight,
    Resource,
    Site,
    Step,
    Value,
)
from .schema import definition
from .yamlsource import Mapping as YamlMapping
from .yamlsource import Node, Scalar, Sequence

ACTION_TYPES = tuple(
    key
    for key, value in definition("resourceC")["properties"].items()
    if str(value.get("$ref", "")).startswith("#/$defs/action.")
)
"""Every KDeps action type (``chat``, ``httpClient``, …, ``browser``), in dispatch order."""

_A_KEYS = (
    "restrictToHttpMethods",
    "restrictToRoutes",
    "allowedHeaders",
    "allowedParams",
    "skipCondition",
    "preflightCheck",
    "validation",
)
_B_KEYS = ("validations", "loop")
_TRANSPORT_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer"}
)
"""Headers that frame the HTTP message itself; one set by a workflow would corrupt it."""
_HEADER_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
"""The characters of an HTTP header name (RFC 9110 ``token``)."""
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_DELAY = 1.0


@dataclass
class Draft:
    """A resource as read, with the located nodes the checks across resources point at."""

    resource: Resource
    action_id_node: Scalar
    requires_nodes: tuple[Scalar, ...]


def read_resource(document: Node, reader: FieldReader) -> Draft | None:
    """The resource of one YAML document in any layout; ``None`` when it has no actionId
    (the schema has reported why)."""
    if not isinstance(document, YamlMapping):
        return None
    metadata = document.get("metadata")
    if isinstance(metadata, YamlMapping) or (
        document.get("run") is not None and document.get("actionId") is None
    ):
        head = metadata if isinstance(metadata, YamlMapping) else None
        run = document.get("run")
        body = run if isinstance(run, YamlMapping) else YamlMapping(document.source, document.start)
        layout = "B" if any(key in body.entries for key in _B_KEYS) else "A"
        if layout == "B" and any(key in body.entries for key in _A_KEYS):
            a_keys = [key for key in _A_KEYS if key in body.entries]
            b_keys = [key for key in _B_KEYS if key in body.entries]
            reader.warn(
                body.key(b_keys[0]),
                f"run mixes layout A keys ({', '.join(a_keys)}) and layout B keys "
                f"({', '.join(b_keys)}); both apply",
            )
    else:
        head, body, layout = document, document, "C"
    if head is None:
        return None
    id_node = head.get("actionId")
    action_id = reader.text(id_node)
    if not action_id or not isinstance(id_node, Scalar):
        return None
    return _Reader(reader, layout, body).read(document, head, action_id, id_node)


class _Reader:
    """Reads the blocks of one resource from ``body`` (``run`` for A/B, the document for C)."""

    def __init__(self, reader: FieldReader, layout: str, body: YamlMapping) -> None:
        self.fields = reader
        self.layout = layout
        self.body = body
        validations = body.get("validations")
        self.validations = validations if isinstance(validations, YamlMapping) else None

    def read(
        self, document: YamlMapping, head: YamlMapping, action_id: str, id_node: Scalar
    ) -> Draft:
        fields = self.fields
        requires = fields.texts(head.get("requires"))
        action = self._action()
        preflight = self._preflight()
        resource = Resource(
            action_id=action_id,
            file=document.source.name,
            name=fields.text(head.get("name")) or "",
            description=fields.text(head.get("description")) or "",
            category=fields.text(head.get("category")) or "",
            layout=self.layout,
            requires=tuple(text for text, _ in requires),
            items=self._items(document.get("items")),
            skip_conditions=self._steps("skipCondition", "skip"),
            methods=fields.methods(self._either("restrictToHttpMethods", "methods")),
            routes=self._routes(),
            allowed_headers=self._allowed("allowedHeaders", "headers", lower=True),
            allowed_params=self._allowed("allowedParams", "params", lower=False),
            preflight=preflight,
            inputs=self._inputs(preflight),
            before=self._blocks(("exprBefore", "before")),
            action=action,
            after=self._blocks(("after", "expr", "exprAfter")),
            loop=self._loop(),
            on_error=self._on_error(),
            api_response=self._api_response(self.body.get("apiResponse")),
        )
        return Draft(resource, id_node, tuple(scalar for _, scalar in requires))

    # -- where a field is, by layout -----------------------------------------------------

    def _either(self, a_key: str, b_key: str) -> Node | None:
        """The node of a field spelt ``a_key`` in ``run`` (A) or ``b_key`` in validations."""
        node = self.body.get(a_key) if self.layout != "C" else None
        if node is None and self.validations is not None:
            node = self.validations.get(b_key)
        return node

    def _steps(self, a_key: str, b_key: str) -> tuple[Step, ...]:
        found = self.fields.steps(self.body.get(a_key)) if self.layout != "C" else ()
        if self.validations is not None:
            found += self.fields.steps(self.validations.get(b_key))
        return found

    # -- restrictions --------------------------------------------------------------------

    def _routes(self) -> frozenset[str] | None:
        routes = frozenset(
            text for text, _ in self.fields.texts(self._either("restrictToRoutes", "routes"))
        )
        return routes or None

    def _allowed(self, a_key: str, b_key: str, *, lower: bool) -> frozenset[str] | None:
        node = self._either(a_key, b_key)
        if node is None:
            return None
        names = (text for text, _ in self.fields.texts(node))
        return frozenset(name.lower() if lower else name for name in names)

    def _preflight(self) -> Preflight | None:
        check = self.body.get("preflightCheck") if self.layout != "C" else None
        check = check if isinstance(check, YamlMapping) else None
        validations = self.fields.steps(check.get("validations")) if check else ()
        error = check.get("error") if check else None
        if self.validations is not None:
            validations += self.fields.steps(self.validations.get("check"))
            error = self.validations.get("error") or error
        if check is None and not validations and error is None:
            return None
        code, message = self._error_spec(error)
        return Preflight(validations, code, message)

    def _error_spec(self, node: Node | None) -> tuple[int, Value | None]:
        """``error: {code, message}``: the status (default 400) and the message value."""
        if not isinstance(node, YamlMapping):
            return DEFAULT_PREFLIGHT_CODE, None
        where = "run.preflightCheck.error" if self.layout == "A" else "validations.error"
        code = self.fields.status(node.get("code"), f"{where}.code")
        message = node.get("message")
        if isinstance(message, Scalar) and message.value is None:
            message = None  # `message:` with nothing after it: the default message
        return code or DEFAULT_PREFLIGHT_CODE, (
            self.fields.value(message) if message is not None else None
        )

    # -- the input schema ----------------------------------------------------------------

    def _inputs(self, preflight: Preflight | None) -> InputSchema | None:
        """The input schema; it answers ``validations.error.code`` (else 400)."""
        sources = []
        old = self.body.get("validation") if self.layout != "C" else None
        if isinstance(old, YamlMapping):
            sources.append(old)
        if self.validations is not None:
            sources.append(self.validations)
        required: list[str] = []
        rules: list[InputRule] = []
        custom: list[CustomRule] = []
        for source in sources:
            required += [text for text, _ in self.fields.texts(source.get("required"))]
            rules += self._rules(source)
            for key in ("expr", "customRules"):
                custom += self._custom_rules(source.get(key))
        if not (required or rules or custom):
            return None
        given = self.validations is not None and self.validations.get("error") is not None
        code = preflight.code if given and preflight is not None else DEFAULT_PREFLIGHT_CODE
        return InputSchema(tuple(required), tuple(rules), tuple(custom), code)

    def _rules(self, source: YamlMapping) -> list[InputRule]:
        """``properties`` beats ``fields``; either replaces ``rules`` (as in KDeps)."""
        chosen = next(
            (k for k in ("properties", "fields", "rules") if source.get(k) is not None), None
        )
        if chosen is None:
            return []
        ignored = [
            k
            for k in ("properties", "fields", "rules")
            if k != chosen and source.get(k) is not None
        ]
        for key in ignored:
            self.fields.warn(
                source.key(key), f"{key} is ignored: {chosen} is given, and it wins (as in KDeps)"
            )
        node = source.get(chosen)
        if isinstance(node, YamlMapping):
            pairs = [(name, spec) for name, (_, spec) in node.entries.items()]
        elif isinstance(node, Sequence):
            pairs = [
                (self.fields.text(spec.get("field")) or "", spec)
                for spec in node.items
                if isinstance(spec, YamlMapping)
            ]
        else:
            return []
        return [
            self._rule(name, spec) for name, spec in pairs if isinstance(spec, YamlMapping) and name
        ]

    def _rule(self, name: str, spec: YamlMapping) -> InputRule:
        value = spec.to_python()
        pattern = value.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.fields.error(
                    spec.entries["pattern"][1].error(f"invalid pattern for {name}: {exc}")
                )
                pattern = None
        enum = value.get("enum")

        def number(*keys: str) -> float | None:
            for key in keys:
                if isinstance(value.get(key), int | float) and not isinstance(value.get(key), bool):
                    return float(value[key])
            return None

        def count(key: str) -> int | None:
            found = value.get(key)
            return found if type(found) is int else None

        return InputRule(
            field=name,
            type=value.get("type") if isinstance(value.get("type"), str) else None,
            min_length=count("minLength"),
            max_length=count("maxLength"),
            pattern=pattern if isinstance(pattern, str) else None,
            minimum=number("minimum", "min"),
            maximum=number("maximum", "max"),
            min_items=count("minItems"),
            max_items=count("maxItems"),
            enum=tuple(enum) if isinstance(enum, list) else None,
            format=value.get("format") if isinstance(value.get("format"), str) else None,
            message=value.get("message") if isinstance(value.get("message"), str) else None,
        )

    def _custom_rules(self, node: Node | None) -> list[CustomRule]:
        rules: list[CustomRule] = []
        for item in node.items if isinstance(node, Sequence) else ():
            if isinstance(item, Scalar):
                step = self.fields.step(item)
                message = None
            elif isinstance(item, YamlMapping) and isinstance(item.get("expr"), Scalar):
                expr = item.get("expr")
                assert isinstance(expr, Scalar)
                step = self.fields.step(expr)
                message = self.fields.text(item.get("message"))
            else:
                continue
            if step is not None:
                rules.append(CustomRule(step, message))
        return rules

    # -- blocks and actions --------------------------------------------------------------

    def _blocks(self, keys: tuple[str, ...]) -> tuple[Block, ...]:
        """The blocks of ``before`` or ``after``, in the order the engine runs them."""
        blocks: list[Block] = []
        for key in keys:
            node = self.body.get(key)
            if node is None or (isinstance(node, Scalar) and node.value is None):
                continue
            entries: list[Step | Action] = []
            for item in node.items if isinstance(node, Sequence) else [node]:
                if isinstance(item, Scalar):
                    step = self.fields.step(item)
                    if step is not None:
                        entries.append(step)
                elif isinstance(item, YamlMapping):
                    entries.extend(self._inline_actions(item))
            if entries:
                blocks.append(Block(key, tuple(entries)))
        return tuple(blocks)

    def _inline_actions(self, entry: YamlMapping) -> Iterator[Action]:
        for key, (key_node, node) in entry.entries.items():
            if key in ACTION_TYPES and isinstance(node, YamlMapping):
                yield self._compiled(key, key_node, node)
            elif key == "apiResponse":
                yield Action("apiResponse", (), Site(key_node))

    def _action(self) -> Action | None:
        present = [key for key in ACTION_TYPES if key in self.body.entries]
        for extra in present[1:]:
            message = (
                f"a resource runs one action; this one also has {present[0]} "
                f"(put the others in before: or after:, or in resources of their own)"
            )
            self.fields.error(self.body.key(extra).error(message))
        if not present:
            return None
        kind = present[0]
        node = self.body.get(kind)
        if not isinstance(node, YamlMapping):
            return None
        if kind == "chat" and node.get("prompt") is None:
            self.fields.error(node.error(f"{_where(self.layout)}chat needs a prompt"))
        return self._compiled(kind, self.body.key(kind), node)

    def _compiled(self, kind: str, key_node: Scalar, node: YamlMapping) -> Action:
        schema = definition(f"action.{kind}")
        properties = schema.get("properties", {})
        fields = tuple(
            (key, self.fields.value(value, properties.get(key)))
            for key, (_, value) in node.entries.items()
        )
        if "timeout" in node.entries and "timeoutDuration" in node.entries:
            self.fields.warn(
                node.key("timeout"), f"{kind}.timeout is ignored: timeoutDuration wins"
            )
        for key in node.entries:
            warning = properties.get(key, {}).get("x-kdeps-warning")
            if warning:
                self.fields.warn(node.key(key), warning)
        if kind == "chat":
            check_chat(node, fields, self.fields)
        if kind in EXECUTOR_KINDS:
            fields = read_executor(kind, node, fields, self.fields)
        return Action(kind, fields, Site(key_node))

    def _items(self, node: Node | None) -> tuple[Value, ...] | None:
        if node is None:
            return None
        if isinstance(node, Sequence):
            return tuple(self.fields.value(item) for item in node.items)
        return (self.fields.value(node),)

    # -- loop, onError, apiResponse ------------------------------------------------------

    def _loop(self) -> Loop | None:
        node = self.body.get("loop")
        if not isinstance(node, YamlMapping):
            return None
        condition = node.get("while")
        every = self.fields.duration(node.get("every"))
        at = tuple(text for text, _ in self.fields.texts(node.get("at")))
        if every is not None and at:
            self.fields.error(node.key("at").error("loop.every and loop.at exclude each other"))
        elif at:
            self.fields.warn(
                node.key("at"),
                "loop.at (a schedule of times) is not run by this engine: a request that "
                "reaches this resource answers 501 (loop.every repeats at a fixed pace)",
            )
        maximum = self.fields.integer(node.get("maxIterations"))
        return Loop(
            condition=self.fields.step(condition) if isinstance(condition, Scalar) else None,
            max_iterations=maximum if maximum is not None else 1000,
            every=every,
            at=at,
        )

    def _on_error(self) -> OnError | None:
        node = self.body.get("onError")
        if not isinstance(node, YamlMapping):
            return None
        action = self.fields.text(node.get("action")) or "fail"
        retries_node = node.get("maxRetries")
        retries = self.fields.integer(retries_node)
        if retries_node is not None and (retries is None or not 1 <= retries <= 10):
            self.fields.error(
                retries_node.error("onError.maxRetries must be a number from 1 to 10")
            )
            retries = None
        if retries is None:
            retries = DEFAULT_MAX_RETRIES if action == "retry" else 0
        delay = self.fields.duration(node.get("retryDelay"))
        fallback = node.get("fallback")
        steps = self.fields.steps(node.get("expr")), self.fields.steps(node.get("when"))
        value = self.fields.value(fallback) if fallback is not None else None
        return OnError(
            action=action,
            max_retries=retries,
            retry_delay=DEFAULT_RETRY_DELAY if delay is None else delay,
            fallback=value,
            expr=steps[0],
            when=steps[1],
        )

    def _api_response(self, node: Node | None) -> ApiResponse | None:
        if not isinstance(node, YamlMapping):
            return None
        success = node.get("success")
        data = node.get("response")
        if node.get("data") is not None:
            if data is not None:
                self.fields.error(
                    node.key("data").error("apiResponse has both response and data; keep response")
                )
            else:
                self.fields.warn(
                    node.key("data"),
                    "KDeps ignores apiResponse.data (its response is empty); it is read here "
                    "as response: rename it to response",
                )
                data = node.get("data")
        meta = node.get("meta")
        meta = meta if isinstance(meta, YamlMapping) else None
        where = f"{_where(self.layout)}apiResponse"
        status = None
        headers: list[tuple[str, Value]] = []
        for holder, prefix in ((node, where), (meta, f"{where}.meta")):
            if holder is None:
                continue
            if holder.get("statusCode") is not None:
                status = (
                    self.fields.status(holder.get("statusCode"), f"{prefix}.statusCode") or status
                )
            header_map = holder.get("headers")
            if isinstance(header_map, YamlMapping):
                headers += self._headers(header_map, prefix)
        return ApiResponse(
            success=self.fields.value(success) if success is not None else Constant(True),
            data=self.fields.value(data) if data is not None else Constant(None),
            headers=tuple(headers),
            status=status or 200,
        )

    def _headers(self, header_map: YamlMapping, prefix: str) -> Iterator[tuple[str, Value]]:
        for name, (name_node, value) in header_map.entries.items():
            if not name or not set(name) <= _HEADER_NAME_CHARS:
                self.fields.error(name_node.error(f"invalid HTTP header name {name!r}"))
            elif name.lower() in _TRANSPORT_HEADERS:
                shown = prefix.removeprefix("run.")
                message = f"{name} is set by the server, not by {shown}.headers"
                self.fields.error(name_node.error(message))
            yield name, self.fields.value(value)


def _where(layout: str) -> str:
    """How messages spell a field's parent: ``run.`` in layouts A and B, nothing in C."""
    return "" if layout == "C" else "run."


__all__ = ["ACTION_TYPES", "Draft", "read_resource"]
