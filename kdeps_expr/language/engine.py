"""The Engine: owns the grammar, functions, delimiters and limits; compiles and caches.

One Engine serves many threads: it keeps no per-call state, and what it caches (compiled
expressions and templates, in bounded LRUs keyed by source) is immutable.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NoReturn

from ..errors import EvaluationError, ExprError, ExprSyntaxError, LimitError
from . import nodes as n
from . import templates
from . import values as v
from .codegen import generate
from .compiler import Compiler, check_size
from .context import Context
from .functions import BUILTINS, OBJECTS, Function, closest
from .limits import Limits
from .parser import parse

CACHE_SIZE = 1024
HOT_AFTER = 256
"""Evaluations an Expression runs on its closures before the next one promotes it to
generated Python code (codegen.py). Promotion costs about 70-230 µs once and saves about
0.05-1.5 µs per evaluation (benchmarks/bench_expr.py), so it pays for itself only on an
expression that keeps running: one that already ran this often in a served workflow
usually does. 0 promotes at the first evaluation (the tests run both tiers that way)."""
_NEVER = sys.maxsize
Escape = Callable[[int, Any, str], str]
"""``escape(position, value, text) -> text`` for :meth:`Template.render`: what a block
inserts, given its index in ``Template.parts``, its value and its usual rendering."""
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)?\Z")


class Expression:
    """A compiled expression: call it with a :class:`Context` to evaluate it.

    ``constant`` is true when constant folding computed the value at compile time.

    It starts on the closures of compiler.py, which cost nothing to build. After
    ``hot_after`` evaluations it is promoted: its class becomes a one-off subclass whose
    ``__call__`` is Python code generated from its nodes (codegen.py), with the same values
    and errors. Python looks ``__call__`` up on the type, so swapping the class, one atomic
    assignment, saves a call per evaluation over storing a function on the instance. A
    failed generation keeps the closures, silently.
    """

    __slots__ = (
        "_compiler",
        "_countdown",
        "_run",
        "constant",
        "end",
        "node",
        "source",
        "start",
    )

    def __init__(
        self,
        source: str,
        node: n.Node,
        compiler: Compiler,
        start: int,
        end: int,
        hot_after: int,
    ) -> None:
        self.source = source
        self.node = node
        self.start = start
        self.end = end
        self._run = compiler.compile(node, end - start)
        self.constant = compiler.is_constant(self._run)
        self._compiler: Compiler | None = compiler  # until promotion, which builds on it
        self._countdown = hot_after

    @property
    def text(self) -> str:
        """The expression's own text (``source`` may be a whole template around it)."""
        return self.source[self.start : self.end]

    def __call__(self, context: Context | None = None) -> Any:
        self._countdown -= 1
        if self._countdown < 0 and self._promote():
            return self(context)  # the generated __call__
        ctx = context if context is not None else Context()
        ctx.spent = 0  # the budget is per evaluation (SPEC §9)
        try:
            return self._run(ctx)
        except Exception as exc:
            self._failed(exc)

    def _promote(self) -> bool:
        """Swap in generated code; on any failure keep the closures for good. True if swapped.

        The code is generated from the compilation the closures came from, so nothing the
        compiler folded (or failed to fold, such as a regular expression that timed out) is
        computed again."""
        self._countdown = _NEVER
        compiler, self._compiler = self._compiler, None
        if compiler is None:  # another thread is promoting it
            return False
        try:
            members = {"__slots__": (), "__call__": generate(self.node, compiler)}
            hot = type("Expression", (Expression,), members)
        except Exception:
            return False
        self.__class__ = hot
        return True

    def _failed(self, exc: Exception) -> NoReturn:
        """Raise what an evaluation that raised ``exc`` gives the user: one located error."""
        if isinstance(exc, ExprError):
            if not exc.located:
                exc.locate(self.source, self.node.start)
            raise exc
        if isinstance(exc, RecursionError):
            raise LimitError(
                "expression too deeply nested to evaluate", source=self.source, offset=self.start
            ) from None
        # a bug of ours must still reach the user as one message
        raise EvaluationError(
            f"internal error: {type(exc).__name__}: {exc}",
            source=self.source,
            offset=self.node.start,
        ) from exc

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


class Template:
    """A compiled template: literal text and expressions; ``render`` gives its value."""

    __slots__ = ("_max_size", "native", "parts", "source")

    def __init__(
        self, source: str, parts: tuple[str | Expression, ...], native: bool, max_size: int
    ) -> None:
        self.source = source
        self.parts = parts
        self.native = native
        self._max_size = max_size

    @property
    def expressions(self) -> tuple[Expression, ...]:
        """The expressions of the template's blocks, in order."""
        return tuple(part for part in self.parts if isinstance(part, Expression))

    def render(self, context: Context | None = None, escape: Escape | None = None) -> Any:
        """The template's value: native for a single block, else the rendered text.

        With ``escape``, the text is always rendered, and each block's text is what
        ``escape(position, value, text)`` returns: ``position`` indexes ``parts``, ``value``
        is the block's value and ``text`` its usual rendering (an executor quotes values
        this way for the language its text is written in, such as a shell script).
        """
        if self.native and escape is None:
            return self.parts[0](context)  # type: ignore[operator]
        context = context if context is not None else Context()
        limit = self._max_size
        pieces: list[str] = []
        size = 0
        for position, part in enumerate(self.parts):
            if type(part) is str:
                text = part
            else:
                value = part(context)  # type: ignore[operator]
                kind = type(value)
                text = (
                    v.bounded_json(value, limit)
                    if kind is list or kind is dict
                    else v.render(value)
                )
                if escape is not None:
                    text = escape(position, value, text)
            size += len(text)
            if size > limit:
                raise LimitError(f"rendered text too large: over {limit:,} characters")
            pieces.append(text)
        return "".join(pieces)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


ValueKind = Literal["template", "expression", "text"]


@dataclass(frozen=True, slots=True)
class ValueReading:
    """How a YAML value string was read (SPEC §5): template, expression or literal text."""

    kind: ValueKind
    text: str
    template: Template | None = None
    expression: Expression | None = None
    warning: str | None = None

    def evaluate(self, context: Context | None = None) -> Any:
        """The value of the string in ``context``."""
        if self.template is not None:
            return self.template.render(context)
        if self.expression is not None:
            return self.expression(context)
        return self.text


class Engine:
    """Everything configurable in one place: functions, delimiters, limits, caches."""

    def __init__(
        self,
        *,
        functions: Mapping[str, Callable[..., Any] | Function] | None = None,
        delimiters: Iterable[str] = templates.DEFAULT_DELIMITERS,
        limits: Limits | None = None,
        cache_size: int = CACHE_SIZE,
        hot_after: int = HOT_AFTER,
    ) -> None:
        self.functions: dict[str, Function] = dict(BUILTINS)
        self.delimiters = templates.check_delimiters(tuple(delimiters))
        self.limits = limits or Limits()
        self.hot_after = hot_after
        self._compile_cached = lru_cache(maxsize=cache_size)(self._compile)
        self._template_cached = lru_cache(maxsize=cache_size)(self._compile_template)
        for name, function in (functions or {}).items():
            self.register(name, function)

    def register(
        self, name: str, function: Callable[..., Any] | Function, *, pass_context: bool = False
    ) -> None:
        """Make ``function`` callable as ``name(…)``; it may replace a built-in. A dotted
        name (``http.responseHeader``) is called with the method syntax of KDeps' objects,
        ``http.responseHeader('api', 'Content-Type')``.

        Its argument count comes from its signature. With ``pass_context`` it receives the
        request :class:`Context` first. It must return expression values (nil, bool, int,
        float, string, list, map); anything else is an evaluation error at the call.
        """
        if not _IDENTIFIER.match(name):
            raise ExprSyntaxError(f"invalid function name {name!r}")
        if not isinstance(function, Function):
            function = Function.wrap(name, function, pass_context=pass_context)
        self.functions = {**self.functions, name: function}  # compiled code keeps the old set
        self._compile_cached.cache_clear()
        self._template_cached.cache_clear()

    # ---- expressions ------------------------------------------------------------------------

    def compile(self, source: str, start: int = 0, end: int | None = None) -> Expression:
        """Compile ``source[start:end]``; errors point into ``source``. Cached by source."""
        return self._compile_cached(source, start, len(source) if end is None else end)

    def _compile(self, source: str, start: int, end: int) -> Expression:
        return self._build(source, self._parse(source, start, end), start, end)

    def _parse(self, source: str, start: int, end: int) -> n.Node:
        check_size(source, self.limits, start, end)
        try:
            return parse(source, start, end)
        except ExprSyntaxError as exc:
            raise exc.locate(source, exc.offset or 0) from None

    def _build(self, source: str, node: n.Node, start: int, end: int) -> Expression:
        compiler = Compiler(self.functions, self.limits, source)
        return Expression(source, node, compiler, start, end, self.hot_after)

    def evaluate(self, source: str, context: Context | None = None) -> Any:
        """Compile (cached) and evaluate ``source``."""
        return self.compile(source)(context)

    def compile_entry(self, text: str) -> Expression:
        """Compile an always-expression entry (SPEC §5); errors point into ``text``."""
        block = templates.split(text, self.delimiters).single_block(text)
        if block is None:
            return self.compile(text)
        return self.compile(text, block.inner_start, block.inner_end)

    # ---- templates --------------------------------------------------------------------------

    def compile_template(self, text: str, delimiters: Iterable[str] | None = None) -> Template:
        """Compile a template (cached); ``delimiters`` overrides the Engine's for this text."""
        chosen = self.delimiters if delimiters is None else tuple(delimiters)
        return self._template_cached(text, templates.check_delimiters(chosen))

    def _compile_template(self, text: str, delimiters: tuple[str, ...]) -> Template:
        limits = self.limits
        if len(text) > limits.max_template:
            raise LimitError(
                f"template too long: {len(text):,} characters "
                f"(the limit is {limits.max_template:,})"
            )
        cut = templates.split(text, delimiters, limits.max_blocks)
        single = cut.single_block(text)
        if single is not None:
            expression = self._compile_block(text, single)
            return Template(text, (expression,), True, limits.max_size)
        parts = tuple(
            part if isinstance(part, str) else self._compile_block(text, part) for part in cut.parts
        )
        return Template(text, parts, False, limits.max_size)

    def _compile_block(self, text: str, block: templates.Block) -> Expression:
        """The expression of one block, KDeps' ``{{q}}`` shorthand read as ``get('q')``."""
        start, end = block.inner_start, block.inner_end
        node = templates.shorthand(self._parse(text, start, end), OBJECTS)
        return self._build(text, node, start, end)

    def render(self, text: str, context: Context | None = None) -> Any:
        """Compile (cached) and render a template."""
        return self.compile_template(text).render(context)

    # ---- YAML value strings -----------------------------------------------------------------

    def read_value(self, text: str, delimiters: Iterable[str] | None = None) -> ValueReading:
        """SPEC §5: a template if it has a block, an expression if it parses, calls a function
        and compiles, else literal text (with a warning when it almost was an expression)."""
        chosen = self.delimiters if delimiters is None else tuple(delimiters)
        if templates.split(text, templates.check_delimiters(chosen)).is_template:
            return ValueReading("template", text, template=self.compile_template(text, chosen))
        try:
            check_size(text, self.limits)
            node = parse(text)
        except ExprSyntaxError as exc:
            return ValueReading("text", text, warning=self._broken_call(text, exc))
        except LimitError:
            return ValueReading("text", text)
        calls = [node for node in n.walk(node) if isinstance(node, n.Call | n.MethodCall)]
        if not calls:
            return ValueReading("text", text)
        try:
            expression = self._build(text, node, 0, len(text))
        except ExprError as exc:
            return ValueReading("text", text, warning=self._near_miss(calls, exc))
        return ValueReading("expression", text, expression=expression)

    def _near_miss(self, calls: list[n.Call | n.MethodCall], error: ExprError) -> str | None:
        """A warning for text that calls a misspelt function (``lenn``) or a known one with
        the wrong number of arguments; ``Price (USD)`` calls nothing close and stays quiet."""
        names = [call.function if isinstance(call, n.MethodCall) else call.name for call in calls]
        unknown = [name for name in names if name not in self.functions]
        misspelt = any(closest(name, self.functions) for name in unknown)
        counts = [len(call.args) for call in calls]
        miscounted = not unknown and any(
            not self.functions[name].accepts(count)
            for name, count in zip(names, counts, strict=True)
        )
        return f"read as text: {error.message}" if misspelt or miscounted else None

    def _broken_call(self, text: str, error: ExprSyntaxError) -> str | None:
        """A warning when text that fails to parse has a known function call before the error."""
        before = text[: (error.offset or 0) + 1]  # an unclosed '(' is where the error points
        for name in self.functions:
            if re.search(rf"(?<![\w$]){re.escape(name)}\s*\(", before):
                return f"read as text: it calls {name}() but does not parse: {error.message}"
        return None
