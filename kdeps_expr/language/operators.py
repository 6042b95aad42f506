"""Operators to closures: the binary and unary operators, ``?:``, comparison chains and
ranges (SPEC §1-§2), with fast paths for the common operand types."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

import regex

from ..errors import EvaluationError, LimitError
from . import nodes as n
from . import values as v
from .compile_base import VARIABLE, Closure, CompilerBase, located, spend
from .context import Context

_SCALARS = (type(None), bool, int, float, str)
_INT_MIN, _INT_MAX = -(1 << v.INT_BITS), (1 << v.INT_BITS) - 1
_COMPARE = n.ORDER
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


@lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    try:
        return regex.compile(text)
    except regex.error as exc:
        raise EvaluationError(f"invalid regular expression {text!r}: {exc}") from None


def added(ctx: Context, left: Any, right: Any, limit: int) -> Any:
    """``+`` (values.add), its list or string charged to the evaluation's budget."""
    return spend(ctx, v.add(left, right, limit), limit)


class OperatorCompiler(CompilerBase):
    """Compiles operator nodes; a part of :class:`~kdeps_expr.language.compiler.Compiler`."""

    def _binary(self, node: n.Binary, in_predicate: str) -> Closure:
        if node.op == "..":
            return self._range(node, in_predicate)
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
        constant = self._constants.get(right, VARIABLE)
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
        if constant is not VARIABLE:

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
        """``+ - *`` with a fast path for integers whose result stays within 64 bits; a list
        or string that ``+`` builds is charged to the evaluation's budget."""
        fast, source = _INTEGER_FAST[op], self.source
        apply = self.contextual(op)
        if op == "+" and type(constant) not in (int, float):
            self.charges = True  # it may build a list or a string
        if type(constant) is int:

            def run_constant(ctx: Context) -> Any:
                a = left(ctx)
                if type(a) is int:
                    result = fast(a, constant)
                    if _INT_MIN <= result <= _INT_MAX:
                        return result
                try:
                    return apply(ctx, a, constant)
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
                return apply(ctx, a, b)
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run

    def contextual(self, op: str) -> Callable[[Context, Any, Any], Any]:
        """``+ - *`` as functions of ``(ctx, left, right)``: ``+`` charges what it builds."""
        if op == "+":
            return partial(added, limit=self.limits.max_size)
        apply = self.operation(op)
        return lambda ctx, a, b: apply(a, b)

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
            "*": v.multiply,
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

    def _unary(self, node: n.Unary, in_predicate: str) -> Closure:
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

    def _range(self, node: n.Binary, in_predicate: str) -> Closure:
        """``a..b``: the list of integers, charged to the evaluation's budget."""
        left = self._compile(node.left, in_predicate)
        right = self._compile(node.right, in_predicate)
        source, pos, limit = self.source, node.pos, self.limits.max_size
        self.charges = True

        def run(ctx: Context) -> list[int]:
            start, stop = left(ctx), right(ctx)
            try:
                return spend(ctx, v.range_of(start, stop, limit), limit)  # type: ignore[no-any-return]
            except EvaluationError as exc:
                raise located(exc, source, pos) from None

        return run  # a list: never folded

    def _comparison(self, node: n.Comparison, in_predicate: str) -> Closure:
        """``a < b < c``: each operand evaluated once, in order, until a comparison fails."""
        first, *rest = (self._compile(operand, in_predicate) for operand in node.operands)
        steps = tuple(zip((v.ordering(op) for op in node.ops), rest, node.positions, strict=True))
        source = self.source

        def run(ctx: Context) -> bool:
            a = first(ctx)
            for compare, operand, pos in steps:
                b = operand(ctx)
                try:
                    if not compare(a, b):
                        return False
                except EvaluationError as exc:
                    raise located(exc, source, pos) from None
                a = b
            return True

        return self._fold(run, first, *rest)

    def _conditional(self, node: n.Conditional, in_predicate: str) -> Closure:
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
