"""Syntax nodes to fast Python closures, checking limits and folding constants on the way.

Each node becomes one closure ``run(context) -> value`` built once; evaluating an
expression is then a chain of plain Python calls, with no dispatch on node types. A
closure that can fail catches the :class:`EvaluationError` its operation raises and pins
the node's position on it (``try`` costs nothing in CPython 3.11 until something raises).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any

import regex

from ..errors import EvaluationError, ExprError, ExprSyntaxError, LimitError
from . import nodes as n
from . import values as v
from .context import Context
from .functions import OBJECTS, Function, closest
from .functions.base import namespaces
from .limits import Limits

Closure = Callable[[Context], Any]

_SCALARS = (type(None), bool, int, float, str)
_INT_MIN, _INT_MAX = -(1 << v.INT_BITS), (1 << v.INT_BITS) - 1
_COMPARE = frozenset({"<", "<=", ">", ">="})
_INTEGER_FAST: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
_STRING_TESTS = frozenset({"contains", "startsWith", "endsWith"})


def _and(left: Closure, right: Closure) -> Closure:
    return lambda ctx: bool(left(ctx)) and bool(right(ctx))


def _or(left: Closure, right: Closure) -> Closure:
    return lambda ctx: bool(left(ctx)) or bool(right(ctx))


def _coalesce(left: Closure, right: Closure) -> Closure:
    def run(ctx: Context) -> Any:
        value = left(ctx)
        return right(ctx) if value is None or value == "" else value

    return run


_SHORT_CIRCUIT: dict[str, Callable[[Closure, Closure], Closure]] = {
    "&&": _and,
    "||": _or,
    "??": _coalesce,
}


def _equal(left: Closure, right: Closure, constant: Any) -> Closure:
    """``==`` with a fast path for two scalars of one type (``get('role') == 'admin'``)."""
    if type(constant) in _SCALARS:
        kind = type(constant)

        def run_constant(ctx: Context) -> bool:
            a = left(ctx)
            return bool(a == constant) if type(a) is kind else v.equal(a, constant)

        return run_constant

    def run(ctx: Context) -> bool:
        a = left(ctx)
        b = right(ctx)
        if type(a) is type(b) and type(a) in _SCALARS:
            return bool(a == b)
        return v.equal(a, b)

    return run


def located(exc: EvaluationError, source: str, pos: int) -> EvaluationError:
    """``exc``, located at ``pos`` unless an inner node already located it."""
    if exc.offset is None:
        exc.locate(source, pos)
    return exc


@lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    try:
        return regex.compile(text)
    except regex.error as exc:
        raise EvaluationError(f"invalid regular expression {text!r}: {exc}") from None


def check_size(source: str, limits: Limits, start: int = 0, end: int | None = None) -> None:
    """Refuse ``source[start:end]`` when longer than the limit or when its brackets nest too
    deep; checked before parsing, so hostile input costs one linear scan."""
    end = len(source) if end is None else end
    if end - start > limits.max_source:
        raise LimitError(
            f"expression too long: {end - start:,} characters (the limit is {limits.max_source:,})"
        )
    depth = 0
    quote = ""
    escaped = False
    for offset in range(start, end):
        char = source[offset]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > limits.max_depth:
                raise LimitError(
                    f"expression nested too deeply (the limit is {limits.max_depth} levels)",
                    source=source,
                    offset=offset,
                )
        elif char in ")]}":
            depth -= 1


class Compiler:
    """Compiles the nodes of one source text; made per compilation, never shared."""

    def __init__(self, functions: Mapping[str, Function], limits: Limits, source: str) -> None:
        self.functions = functions
        self.limits = limits
        self.source = source
        self.closures: dict[int, Closure] = {}
        """The closure built for each node, by ``id(node)`` (what codegen.py builds on)."""
        self._constants: dict[Closure, Any] = {}

    def compile(self, node: n.Node) -> Closure:
        """The closure for ``node``; raises :class:`ExprError` for what cannot compile."""
        self._measure(node)
        return self._compile(node, in_predicate=False)

    def is_constant(self, run: Closure) -> bool:
        """True when ``run`` (made by this compiler) returns a value fixed at compile time."""
        return run in self._constants

    def constant(self, run: Closure) -> Any:
        """The value a constant ``run`` returns (see :meth:`is_constant`)."""
        return self._constants[run]

    # ---- limits and errors ----------------------------------------------------------------

    def _measure(self, root: n.Node) -> None:
        count = 0
        stack = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > self.limits.max_nodes:
                raise LimitError(
                    f"expression too complex: more than {self.limits.max_nodes:,} nodes",
                    source=self.source,
                    offset=node.start,
                )
            if depth > self.limits.max_depth:
                raise LimitError(
                    f"expression nested too deeply (the limit is {self.limits.max_depth} levels)",
                    source=self.source,
                    offset=node.start,
                )
            stack.extend((child, depth + 1) for child in node.children())

    def _error(self, message: str, node: n.Node) -> ExprSyntaxError:
        return ExprSyntaxError(message, source=self.source, offset=node.pos)

    # ---- constants ------------------------------------------------------------------------

    def _constant(self, value: Any) -> Closure:
        def run(ctx: Context) -> Any:
            return value

        self._constants[run] = value
        return run

    def _fold(self, run: Closure, *children: Closure) -> Closure:
        """``run`` replaced by its value when every child is constant and the value is a scalar."""
        if not all(child in self._constants for child in children):
            return run
        try:
            value = run(_FOLDING)
        except ExprError:
            return run  # fails at run time, with its position
        return self._constant(value) if type(value) in _SCALARS else run

    # ---- dispatch -------------------------------------------------------------------------

    def _compile(self, node: n.Node, in_predicate: bool) -> Closure:
        run = self._dispatch(node, in_predicate)
        self.closures[id(node)] = run
        return run

    def _dispatch(self, node: n.Node, in_predicate: bool) -> Closure:
        match node:
            case n.Literal():
                return self._constant(node.value)
            case n.Binary():
                return self._binary(node, in_predicate)
            case n.Call() | n.MethodCall():
                return self._call(node, in_predicate)
            case n.Member():
                return self._member(node, in_predicate)
            case n.Unary():
                return self._unary(node, in_predicate)
            case n.Conditional():
                return self._conditional(node, in_predicate)
            case n.Index():
                return self._index(node, in_predicate)
            case n.Slice():
                return self._slice(node, in_predicate)
            case n.ListLiteral():
                return self._list(node, in_predicate)
            case n.MapLiteral():
                return self._map(node, in_predicate)
            case n.Element() | n.ElementMember():
                return self._element(node, in_predicate)
            case n.Name():
                return self._name(node)
        raise self._error(f"cannot compile {type(node).__name__}", node)  # pragma: no cover

    # ---- operators ------------------------------------------------------------------------

    def _binary(self, node: n.Binary, in_predicate: bool) -> Closure:
        left = self._compile(node.left, in_predicate)
        members = node.right
        literals = (
            [item.value for item in members.items if isinstance(item, n.Literal)]
            if node.op in ("in", "not in") and isinstance(members, n.ListLiteral)
            else None
        )
        if literals is not None and len(literals) == len(node.right.children()):
            # A literal list only tested for membership is built once; it never escapes.
            right = self.closures[id(members)] = self._constant(literals)
        else:
            right = self._compile(node.right, in_predicate)
        op = node.op
        if op in _SHORT_CIRCUIT:
            run = _SHORT_CIRCUIT[op](left, right)
        else:
            run = self._operator(op, left, right, node.pos)
        return self._fold(run, left, right)

    def _operator(self, op: str, left: Closure, right: Closure, pos: int) -> Closure:
        """A closure applying a value operator (values.py) to both operands."""
        constant = self._constants.get(right, _VARIABLE)
        if op in _INTEGER_FAST:
            return self._arithmetic(op, left, right, constant, pos)
        if op in ("==", "!="):
            equal = _equal(left, right, constant)
            return equal if op == "==" else lambda ctx: not equal(ctx)
        if op in _COMPARE and type(constant) in (int, float):
            return self._order_number(op, left, constant, pos)
        if op in ("in", "not in") and type(constant) is list:
            return self._membership(left, constant, op == "not in", pos)
        apply = self.operation(op)
        source = self.source
        if constant is not _VARIABLE:

            def run_constant(ctx: Context) -> Any:
                a = left(ctx)
                try:
                    return apply(a, constant)
                except EvaluationError as exc:
                    raise located(exc, source, pos) from None

            return run_constant

        def run(ctx: Context) -> Any:
            a = left(ctx)
            b = right(ctx)
            try:
                return apply(a, b)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def _membership(self, left: Closure, members: list[Any], negated: bool, pos: int) -> Closure:
        """``x in ['a', 'b']`` against a literal list: strings are looked up in a set."""
        strings = frozenset(item for item in members if type(item) is str)
        source = self.source

        def run(ctx: Context) -> bool:
            a = left(ctx)
            if type(a) is str and a:  # a non-empty string equals only itself
                return (a in strings) is not negated
            try:
                return v.contained(a, members) is not negated
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def _order_number(self, op: str, left: Closure, constant: Any, pos: int) -> Closure:
        """``<`` ``<=`` ``>`` ``>=`` against a number literal (``get('age') >= 18``)."""
        test, apply, source = v.ORDER_TESTS[op], v.ordering(op), self.source

        def run(ctx: Context) -> Any:
            a = left(ctx)
            if type(a) is int or type(a) is float:
                return test(a, constant)
            try:
                return apply(a, constant)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def _arithmetic(
        self, op: str, left: Closure, right: Closure, constant: Any, pos: int
    ) -> Closure:
        """``+ - *`` with a fast path for integers whose result stays within 64 bits."""
        fast, apply, source = _INTEGER_FAST[op], self.operation(op), self.source
        if type(constant) is int:

            def run_constant(ctx: Context) -> Any:
                a = left(ctx)
                if type(a) is int:
                    result = fast(a, constant)
                    if _INT_MIN <= result <= _INT_MAX:
                        return result
                try:
                    return apply(a, constant)
                except EvaluationError as exc:
                    raise located(exc, source, pos) from None

            return run_constant

        def run(ctx: Context) -> Any:
            a = left(ctx)
            b = right(ctx)
            if type(a) is int and type(b) is int:
                result = fast(a, b)
                if _INT_MIN <= result <= _INT_MAX:
                    return result
            try:
                return apply(a, b)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def operation(self, op: str) -> Callable[[Any, Any], Any]:
        """The value function behind a binary operator (``not in`` and the like included)."""
        if op.startswith("not "):
            return v.negated(op, self.operation(op.removeprefix("not ")))
        limit = self.limits.max_size
        if op in _COMPARE:
            return v.ordering(op)
        if op in _STRING_TESTS:
            return lambda a, b: v.string_test(op, a, b)
        if op == "matches":
            return self._matches
        table: dict[str, Callable[[Any, Any], Any]] = {
            "+": partial(v.add, limit=limit),
            "-": v.subtract,
            "*": partial(v.multiply, limit=limit),
            "/": v.divide,
            "%": v.modulo,
            "**": v.power,
            "in": v.contained,
        }
        return table[op]

    def _matches(self, text: Any, pattern: Any) -> bool:
        """``text matches pattern``: a regular expression search, bounded in size and time."""
        if type(text) is not str or type(pattern) is not str:
            raise v.invalid_operation("matches", text, pattern)
        if len(pattern) > self.limits.max_pattern:
            raise LimitError(
                f"regular expression too long: {len(pattern):,} characters "
                f"(the limit is {self.limits.max_pattern:,})"
            )
        try:
            return _pattern(pattern).search(text, timeout=self.limits.regex_timeout) is not None
        except TimeoutError:
            raise LimitError(
                f"regular expression took longer than {self.limits.regex_timeout} s"
            ) from None

    def _unary(self, node: n.Unary, in_predicate: bool) -> Closure:
        operand = self._compile(node.operand, in_predicate)
        if node.op == "!":
            return self._fold(lambda ctx: not operand(ctx), operand)
        apply = v.negate if node.op == "-" else v.plus
        source, pos = self.source, node.pos

        def run(ctx: Context) -> Any:
            try:
                return apply(operand(ctx))
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, operand)

    def _conditional(self, node: n.Conditional, in_predicate: bool) -> Closure:
        test = self._compile(node.test, in_predicate)
        otherwise = self._compile(node.otherwise, in_predicate)
        then = test if node.then is None else self._compile(node.then, in_predicate)
        if test in self._constants:  # a constant condition: only one branch can ever run
            return then if self._constants[test] else otherwise
        if node.then is None:

            def run(ctx: Context) -> Any:
                value = test(ctx)
                return value if value else otherwise(ctx)

            return run
        if then in self._constants and otherwise in self._constants:
            yes, no = self._constants[then], self._constants[otherwise]
            return lambda ctx: yes if test(ctx) else no
        return lambda ctx: then(ctx) if test(ctx) else otherwise(ctx)

    # ---- access -----------------------------------------------------------------------------

    def _member(self, node: n.Member, in_predicate: bool) -> Closure:
        target = self._compile(node.target, in_predicate)
        name, source, pos = node.name, self.source, node.pos

        def run(ctx: Context) -> Any:
            value = target(ctx)
            if type(value) is dict:
                return value.get(name)
            try:
                return v.member(value, name)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target)

    def _index(self, node: n.Index, in_predicate: bool) -> Closure:
        target = self._compile(node.target, in_predicate)
        key = self._compile(node.index, in_predicate)
        source, pos = self.source, node.pos

        def run(ctx: Context) -> Any:
            try:
                return v.index(target(ctx), key(ctx))
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target, key)

    def _slice(self, node: n.Slice, in_predicate: bool) -> Closure:
        target = self._compile(node.target, in_predicate)
        none = self._constant(None)
        lower = none if node.lower is None else self._compile(node.lower, in_predicate)
        upper = none if node.upper is None else self._compile(node.upper, in_predicate)
        source, pos = self.source, node.pos

        def run(ctx: Context) -> Any:
            try:
                return v.slice_of(target(ctx), lower(ctx), upper(ctx))
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return self._fold(run, target, lower, upper)

    def _element(self, node: n.Element | n.ElementMember, in_predicate: bool) -> Closure:
        if not in_predicate:
            what = "#" if isinstance(node, n.Element) else f".{node.name}"
            raise self._error(
                f"{what} is only valid inside a predicate, such as filter(items, .price > 1)", node
            )
        if isinstance(node, n.Element):
            return lambda ctx: ctx.element
        name, source, pos = node.name, self.source, node.pos

        def run(ctx: Context) -> Any:
            try:
                return v.member(ctx.element, name)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    # ---- collections ------------------------------------------------------------------------

    def _list(self, node: n.ListLiteral, in_predicate: bool) -> Closure:
        items = tuple(self._compile(item, in_predicate) for item in node.items)
        return lambda ctx: [item(ctx) for item in items]

    def _map(self, node: n.MapLiteral, in_predicate: bool) -> Closure:
        pairs = tuple(
            (key, self._compile(value, in_predicate))
            for key, value in zip(node.keys, node.values, strict=True)
        )
        return lambda ctx: {key: value(ctx) for key, value in pairs}

    # ---- calls ------------------------------------------------------------------------------

    def _name(self, node: n.Name) -> Closure:
        """A bare name: one of KDeps' objects (``request``, ``input``, ``item``, ``loop``)."""
        read = OBJECTS.get(node.name)
        if read is None:
            raise self._error(f"unknown name {node.name}", node)
        return read

    def function(self, node: n.Call | n.MethodCall) -> Function:
        """The function ``node`` calls, with its argument count checked."""
        name = node.name
        if isinstance(node, n.MethodCall):
            name = self._method_name(node)
        function = self.functions.get(name)
        if function is None:
            raise self._error(f"unknown function {name}{closest(name, self.functions)}", node)
        count = len(node.args)
        if not function.accepts(count):
            plural = "" if function.arity().endswith(" 1") or function.arity() == "1" else "s"
            raise self._error(
                f"{name}() takes {function.arity()} argument{plural}, got {count}", node
            )
        return function

    def _method_name(self, node: n.MethodCall) -> str:
        """``item.current`` for ``item.current()``; values have no methods (SPEC §1)."""
        target = node.target
        objects = namespaces(self.functions)
        known = ", ".join(sorted(objects))
        if not isinstance(target, n.Name):
            raise self._error(
                f"values have no methods: .{node.name}() is not supported "
                f"(only KDeps' objects have methods: {known})",
                node,
            )
        name = node.function
        if name not in self.functions and target.name in objects:
            prefix = f"{target.name}."
            methods = sorted(f.removeprefix(prefix) for f in self.functions if f.startswith(prefix))
            raise self._error(
                f"{target.name} has no method {node.name}(){closest(node.name, methods)}; "
                f"its methods are {', '.join(m + '()' for m in methods)}",
                node,
            )
        if target.name not in objects:
            raise self._error(
                f"unknown method {name}(): values have no methods "
                f"(only KDeps' objects have methods: {known})",
                node,
            )
        return name

    def _call(self, node: n.Call | n.MethodCall, in_predicate: bool) -> Closure:
        function = self.function(node)
        count = len(node.args)
        args = tuple(
            self._compile(arg, in_predicate or (function.predicate and i == 1))
            for i, arg in enumerate(node.args)
        )
        if function.predicate and count > 1:
            predicate = args[1]
            args = (args[0], self._constant(predicate), *args[2:])
        run = self._invoke(function, args, node.pos)
        if function.pure:
            return self._fold(run, *args)
        return run

    def _invoke(self, function: Function, args: tuple[Closure, ...], pos: int) -> Closure:
        """The closure calling ``function`` with the evaluated ``args``."""
        impl, source = function.impl, self.source
        constants = [self._constants.get(arg, _VARIABLE) for arg in args]
        if not catches_everything(function, _VARIABLE not in constants, len(args)):
            return self._invoke_builtin(function, args, tuple(constants), pos)
        name = function.name
        extra = {"limits": self.limits} if function.takes_limits else {}
        check = None if function.builtin else check_result
        context_first = function.pass_context

        def run(ctx: Context) -> Any:
            values = [arg(ctx) for arg in args]
            try:
                result = impl(ctx, *values, **extra) if context_first else impl(*values, **extra)
                if check is not None:
                    check(name, result)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None
            except ExprError:
                raise
            except Exception as exc:  # a user function's own failure
                raise located(function_failed(name, exc), source, pos) from exc
            return result

        return run

    def _invoke_builtin(
        self, function: Function, args: tuple[Closure, ...], constants: tuple[Any, ...], pos: int
    ) -> Closure:
        """Hot-path shapes of built-in calls: constant arguments passed as values (``get('x')``),
        one computed argument passed without building a list."""
        impl, source = function.impl, self.source
        if function.pass_context and _VARIABLE not in constants:
            special = function.specialize and function.specialize(constants)
            if special:
                return special

            def run_constant(ctx: Context) -> Any:
                try:
                    return impl(ctx, *constants)
                except EvaluationError as exc:
                    raise located(exc, source, pos) from None

            return run_constant
        (only,) = args
        if function.pass_context:

            def run_context(ctx: Context) -> Any:
                value = only(ctx)
                try:
                    return impl(ctx, value)
                except EvaluationError as exc:
                    raise located(exc, source, pos) from None

            return run_context

        def run_one(ctx: Context) -> Any:
            value = only(ctx)
            try:
                return impl(value)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run_one


def catches_everything(function: Function, constant_args: bool, count: int) -> bool:
    """True when a call turns any exception of ``function`` into an error of the call
    (``len() failed: …``). The fast shapes, built-ins that take no limits called with
    constant arguments (context-aware ones) or with one argument, catch only
    :class:`EvaluationError`."""
    if not function.builtin or function.takes_limits:
        return True
    return not ((function.pass_context and constant_args) or count == 1)


def function_failed(name: str, exc: Exception) -> EvaluationError:
    """The error for a function that raised something other than an :class:`ExprError`."""
    return EvaluationError(f"{name}() failed: {type(exc).__name__}: {exc}")


_FOLDING = Context()
"""The context constant subtrees are evaluated in: pure code never looks at it."""

_VARIABLE: Any = object()
"""Marks an argument whose value is only known at run time."""


def check_result(name: str, value: Any) -> None:
    """A user function may only return expression values (SPEC §1)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list:
            stack.extend(item)
        elif kind is dict:
            if any(type(key) is not str for key in item):
                raise EvaluationError(f"{name}() returned a map with a non-string key")
            stack.extend(item.values())
        elif kind not in _SCALARS:
            raise EvaluationError(
                f"{name}() returned a Python {kind.__name__}, not an expression value "
                "(nil, bool, int, float, string, list or map)"
            )
        elif kind is float and not math.isfinite(item):
            raise EvaluationError(f"{name}() returned a number that is not finite")
