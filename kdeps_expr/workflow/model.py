"""The loaded workflow: resources with every expression compiled, routes, settings.

Everything here is built once by the loader (:mod:`.loader`, with :mod:`.layouts` for the
three resource layouts) and never changed after; the runner (:mod:`.runner`) reads it for
every request. A resource is one model whatever layout it was written in (SPEC §5): layout
A's ``exprBefore`` is a block of ``before``, its ``expr``/``exprAfter`` blocks of ``after``,
``preflightCheck`` and ``validations.check`` are one :class:`Preflight`, and so on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from ..actions.chat import LLMSettings
from ..actions.failures import REDACTED
from ..errors import ExprError
from ..language.context import Context, WorkflowInfo
from ..language.engine import Engine, Expression, ValueReading
from ..sessions import open_store
from ..sessions.base import SessionStore
from .yamlsource import Scalar

DEFAULT_PREFLIGHT_CODE = 400
DEFAULT_PREFLIGHT_MESSAGE = "preflight check failed"


class Tracer(Protocol):
    """What records a request's evaluations for ``kdeps-expr run --trace``."""

    def record(self, source: str, value: Any) -> None:
        """One expression (as written in the file) and the value it gave."""


@dataclass(frozen=True, slots=True)
class Site:
    """The YAML scalar whose string value was compiled; offsets count in that value."""

    scalar: Scalar

    def place(self, error: ExprError) -> ExprError:
        """Move ``error`` (its offset counts in the scalar's value) to its file character."""
        return self.scalar.place(error, error.offset)

    def location(self, offset: int | None = None) -> str:
        """``file:line:column`` of character ``offset`` of the value (its start by default)."""
        line, column = self.scalar.position(offset)
        return f"{self.scalar.source.name}:{line}:{column}"


@dataclass(frozen=True, slots=True)
class Step:
    """One always-expression entry: ``run.expr``, ``skipCondition``, a validation, …"""

    source: str
    expression: Expression
    site: Site

    def run(self, context: Context, tracer: Tracer | None) -> Any:
        """Evaluate; an error is moved to its file character before it propagates."""
        return _placed(self.expression, context, self.site, self.source, tracer)


def _placed(
    run: Callable[[Context], Any],
    context: Context,
    site: Site,
    source: str,
    tracer: Tracer | None,
) -> Any:
    """``run(context)``, its error moved to the file character, its value traced."""
    try:
        value = run(context)
    except ExprError as exc:
        site.place(exc)
        raise
    if tracer is not None:
        tracer.record(source, value)
    return value


class Value(ABC):
    """A YAML value that may hold expressions: literal data, a value string, or containers."""

    __slots__ = ()

    @abstractmethod
    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        """The value for this request."""


class Constant(Value):
    """A literal scalar: a number, a boolean, nil, or a string read as plain text."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        return self.value


class Dynamic(Value):
    """A value string read as a template or an expression (SPEC §5)."""

    __slots__ = ("reading", "site", "source")

    def __init__(self, source: str, reading: ValueReading, site: Site) -> None:
        self.source = source
        self.reading = reading
        self.site = site

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        return _placed(self.reading.evaluate, context, self.site, self.source, tracer)


class Evaluated(Value):
    """A field that is always an expression (``loop.while``, ``chat.messages``): its step's
    value."""

    __slots__ = ("step",)

    def __init__(self, step: Step) -> None:
        self.step = step

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        return self.step.run(context, tracer)


class MapValue(Value):
    """A mapping, built anew for each request (no request shares a container with
    another); keys keep their file order."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[str, Value], ...]) -> None:
        self.items = items

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        return {key: item.evaluate(context, tracer) for key, item in self.items}


class ListValue(Value):
    """A sequence, built anew for each request."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Value, ...]) -> None:
        self.items = items

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        return [item.evaluate(context, tracer) for item in self.items]


class Secret(Value):
    """A value that is never shown (an API key, ``"x-kdeps-secret"`` in the schema): its
    evaluation is traced as ``[redacted]``, and nothing inside it is traced."""

    __slots__ = ("value",)

    def __init__(self, value: Value) -> None:
        self.value = value

    def evaluate(self, context: Context, tracer: Tracer | None) -> Any:
        found = self.value.evaluate(context, None)
        if tracer is not None and isinstance(self.value, Dynamic):
            tracer.record(self.value.source, REDACTED)
        return found


@dataclass(frozen=True, slots=True)
class Preflight:
    """``preflightCheck`` (A) or ``validations.check`` (B, C): conditions that must all hold,
    and the error answered when one does not."""

    validations: tuple[Step, ...]
    code: int = DEFAULT_PREFLIGHT_CODE
    message: Value | None = None


@dataclass(frozen=True, slots=True)
class InputRule:
    """One field's rule of the declarative input schema (``rules``, ``properties``, ``fields``)."""

    field: str
    type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_items: int | None = None
    max_items: int | None = None
    enum: tuple[Any, ...] | None = None
    format: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class CustomRule:
    """A custom input rule (``validations.expr``, A's ``customRules``): a condition and the
    message answered when it is false."""

    step: Step
    message: str | None = None


@dataclass(frozen=True, slots=True)
class InputSchema:
    """The declarative input schema: ``required`` fields, per-field rules, custom rules.

    A failure answers ``code`` (``validations.error.code``, else 400) naming each field.
    """

    required: tuple[str, ...] = ()
    rules: tuple[InputRule, ...] = ()
    custom: tuple[CustomRule, ...] = ()
    code: int = DEFAULT_PREFLIGHT_CODE


@dataclass(frozen=True, slots=True)
class Action:
    """One action block (``chat``, ``httpClient``, ``browser``, …) with every field compiled.

    ``fields`` hold a :class:`Value` per key, in file order: an executor evaluates the ones
    it needs for each request. ``site`` is the block's key in the file (``chat:``).
    """

    kind: str
    fields: tuple[tuple[str, Value], ...]
    site: Site

    def field(self, name: str) -> Value | None:
        """The compiled value of key ``name``, ``None`` when the block does not have it."""
        for key, value in self.fields:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Block:
    """A list of steps run in order: expressions and inline actions.

    ``name`` is the key it came from (``exprBefore``, ``before``, ``expr``, ``after``,
    ``exprAfter``), shown by ``run --trace``.
    """

    name: str
    entries: tuple[Step | Action, ...]


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """``apiResponse``: ``success``, the ``response`` data, headers and status (flat or meta)."""

    success: Value
    data: Value
    headers: tuple[tuple[str, Value], ...] = ()
    status: int = 200


@dataclass(frozen=True, slots=True)
class Loop:
    """``loop``: the body runs while ``condition`` holds (checked before each iteration), at
    most ``max_iterations`` times, ``every`` seconds apart."""

    condition: Step | None = None
    max_iterations: int = 1000
    every: float | None = None
    at: tuple[str, ...] = ()
    """KDeps' schedule (times of day); not run here: a request that reaches it answers 501."""


@dataclass(frozen=True, slots=True)
class OnError:
    """``onError``: what a failure of the resource's body does (SPEC §10).

    ``action`` is ``fail``, ``continue`` or ``retry``; a retry runs the body again up to
    ``max_retries`` more times, waiting ``retry_delay`` seconds, doubled after each retry.
    ``when`` (any true) limits which errors are handled; ``expr`` runs once the error is
    final; with ``continue`` the resource's output becomes ``fallback``.
    """

    action: str = "fail"
    max_retries: int = 0
    retry_delay: float = 0.0
    fallback: Value | None = None
    expr: tuple[Step, ...] = ()
    when: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource, every block compiled, in the order the runner needs them.

    ``layout`` is ``A``, ``B`` or ``C``, as the file wrote it. ``items`` (``None`` without
    an ``items`` key) are the values the body runs once for each. ``allowed_headers`` and
    ``allowed_params`` are the allow-lists (lower-case header names).
    """

    action_id: str
    file: str
    name: str = ""
    description: str = ""
    category: str = ""
    layout: str = "A"
    requires: tuple[str, ...] = ()
    items: tuple[Value, ...] | None = None
    skip_conditions: tuple[Step, ...] = ()
    methods: frozenset[str] | None = None
    routes: frozenset[str] | None = None
    allowed_headers: frozenset[str] | None = None
    allowed_params: frozenset[str] | None = None
    preflight: Preflight | None = None
    inputs: InputSchema | None = None
    before: tuple[Block, ...] = ()
    action: Action | None = None
    after: tuple[Block, ...] = ()
    loop: Loop | None = None
    on_error: OnError | None = None
    api_response: ApiResponse | None = None

    def actions(self) -> Iterator[Action]:
        """The primary action and every inline action of ``before`` and ``after``."""
        if self.action is not None:
            yield self.action
        for block in (*self.before, *self.after):
            yield from (entry for entry in block.entries if isinstance(entry, Action))


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of ``settings.apiServer.routes``."""

    path: str
    methods: tuple[str, ...]
    action_id: str
    targeted: bool = False
    """True when the route names its ``actionId``; otherwise it serves ``targetActionId``."""


@dataclass(frozen=True, slots=True)
class ValueString:
    """How one YAML value string was read, for ``check``: its kind, and any warning."""

    site: Site
    text: str
    kind: str
    warning: str | None = None


@dataclass(frozen=True)
class Workflow:
    """A loaded workflow: metadata, settings, routes and compiled resources.

    ``plans`` gives, for every actionId, the resources a request to it runs: the
    ``requires`` closure in a deterministic order (dependencies first, in the order they
    are listed), ending with the resource itself.
    """

    root: Path
    name: str
    version: str
    target_action_id: str
    resources: Mapping[str, Resource]
    settings: Mapping[str, Any]
    api_routes: list[Route]
    plans: Mapping[str, tuple[Resource, ...]]
    engine: Engine
    description: str = ""
    lint: Callable[[], list[ExprError]] = field(default=list, repr=False, compare=False)
    """Computes :attr:`warnings` (the loader's checks), when first asked for."""

    @cached_property
    def warnings(self) -> tuple[ExprError, ...]:
        """What ``check`` warns about; ``run`` and ``serve`` log them when they load.

        Computed on first use: loading a workflow does not pay for checks nobody reads.
        """
        return tuple(self.lint())

    @property
    def session_config(self) -> Mapping[str, Any]:
        """``settings.session``, for :func:`~kdeps_expr.sessions.open_store`."""
        config = self.settings.get("session")
        return config if isinstance(config, Mapping) else {}

    @property
    def llm_settings(self) -> LLMSettings:
        """``settings.llm``, the defaults of every chat resource (checked at load)."""
        llm = self.settings.get("llm")
        return LLMSettings.from_mapping(llm if isinstance(llm, Mapping) else None)

    @property
    def info(self) -> WorkflowInfo:
        """What ``info('workflow.name')`` and ``info('workflow.version')`` answer."""
        return WorkflowInfo(self.name, self.version)

    def open_store(self, *, must_exist: bool = False) -> SessionStore:
        """The session store ``settings.session`` configures (SQLite by default)."""
        return open_store(self.session_config, self.root, must_exist=must_exist)


@dataclass
class Inspection:
    """What loading found: the workflow when it loaded, and every error either way."""

    workflow: Workflow | None
    resources: list[Resource]
    errors: list[ExprError]
    values: list[ValueString] = field(default_factory=list)
    warnings: list[ExprError] = field(default_factory=list)


def plan_order(target: str, requires: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The ``requires`` closure of ``target``, dependencies first, ``target`` last.

    Deterministic: a depth-first walk taking each resource's ``requires`` in the order they
    are listed; a resource reached twice runs once, at its first place. ``requires`` must
    be free of cycles and unknown names (the loader checks both).
    """
    order: list[str] = []
    stack: list[tuple[str, Iterator[str]]] = [(target, iter(requires[target]))]
    entered = {target}
    while stack:
        action_id, pending = stack[-1]
        for dependency in pending:
            if dependency not in entered:
                entered.add(dependency)
                stack.append((dependency, iter(requires[dependency])))
                break
        else:
            stack.pop()
            order.append(action_id)
    return order
