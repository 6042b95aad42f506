"""What every part of the compiler shares: the closure type, constant folding, the budget of
one evaluation, and how errors get their position.

A :class:`CompilerBase` holds the state of one compilation (made per compilation, never
shared). compiler.py dispatches on node types; operators.py and calls.py compile
operators and calls; codegen.py reads what they recorded (``closures``, the constants, the
subtrees whose folding failed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import EvaluationError, ExprError, ExprSyntaxError, LimitError
from . import nodes as n
from .context import Context, Request
from .functions import Function
from .limits import Limits

Closure = Callable[[Context], Any]

SCALARS = (type(None), bool, int, float, str)
FOLDED_TEXT = 10_000
"""The longest string constant folding keeps: a longer one is built when the expression runs,
against that evaluation's budget, instead of living in the compiled expression."""

VARIABLE: Any = object()
"""Marks an argument whose value is only known at run time."""

_FOLDING_REQUEST = Request(request_id="", timestamp="")
"""The request of the context constant subtrees are folded in: pure code never reads it."""


def located(exc: EvaluationError, source: str, pos: int) -> EvaluationError:
    """``exc``, located at ``pos`` unless an inner node already located it."""
    if exc.offset is None:
        exc.locate(source, pos)
    return exc


def over_budget(limit: int) -> LimitError:
    """The error of an evaluation that built more than its budget."""
    return LimitError(
        f"expression built too much: over {limit:,} items and characters in one evaluation "
        "(max_size)"
    )


def spend(ctx: Context, value: Any, limit: int) -> Any:
    """``value``, after charging the list, string or map it is to this evaluation's budget
    (SPEC §9: an evaluation builds at most ``limit`` items and characters in all)."""
    kind = type(value)
    if kind is list or kind is str or kind is dict:
        spent = ctx.spent + len(value)
        if spent > limit:
            raise over_budget(limit)
        ctx.spent = spent
    return value


def function_failed(name: str, exc: Exception) -> EvaluationError:
    """The error for a function that raised something other than an :class:`ExprError`."""
    return EvaluationError(f"{name}() failed: {type(exc).__name__}: {exc}")


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
        elif kind not in SCALARS:
            raise EvaluationError(
                f"{name}() returned a Python {kind.__name__}, not an expression value "
                "(nil, bool, int, float, string, list or map)"
            )
        elif kind is float and not math.isfinite(item):
            raise EvaluationError(f"{name}() returned a number that is not finite")


def _raiser(error: ExprError) -> Closure:
    """A closure raising ``error`` anew each time (what a subtree that failed to fold does)."""
    kind, message, source, offset = type(error), error.message, error.source, error.offset

    def run(ctx: Context) -> Any:
        raise kind(message, source=source, offset=offset)

    return run


class CompilerBase:
    """The state of one compilation and the helpers every part of the compiler uses."""

    def __init__(self, functions: Mapping[str, Function], limits: Limits, source: str) -> None:
        self.functions = functions
        self.limits = limits
        self.source = source
        self.closures: dict[int, Closure] = {}
        """The closure built for each node, by ``id(node)`` (what codegen.py builds on)."""
        self._constants: dict[Closure, Any] = {}
        self._failed: set[Closure] = set()
        self._folding: Context | None = None
        self.charges = False
        """True once a node that charges the evaluation's budget was compiled: the
        generated code then resets the budget when it starts."""

    def _compile(self, node: n.Node, in_predicate: str) -> Closure:
        """The closure for ``node``; ``in_predicate`` names the innermost predicate function
        around it (empty outside predicates)."""
        raise NotImplementedError  # pragma: no cover (Compiler defines it)

    def is_constant(self, run: Closure) -> bool:
        """True when ``run`` (made by this compiler) returns a value fixed at compile time."""
        return run in self._constants

    def constant(self, run: Closure) -> Any:
        """The value a constant ``run`` returns (see :meth:`is_constant`)."""
        return self._constants[run]

    def failed(self, run: Closure) -> bool:
        """True when ``run`` re-raises the error its subtree raised while folding."""
        return run in self._failed

    def _error(self, message: str, node: n.Node) -> ExprSyntaxError:
        return ExprSyntaxError(message, source=self.source, offset=node.pos)

    def _constant(self, value: Any) -> Closure:
        def run(ctx: Context) -> Any:
            return value

        self._constants[run] = value
        return run

    def _fold(self, run: Closure, *children: Closure) -> Closure:
        """``run`` replaced by its value when every child is constant and the value is a
        scalar (a string no longer than :data:`FOLDED_TEXT`).

        A subtree that fails while folding fails the same way whenever it runs, so its
        error is kept and raised anew instead of computing it again: a catastrophic
        ``'' matches '(?R)'`` costs one ``regex_timeout``, at compile time. Each fold has
        a budget of its own, as one evaluation of the subtree would.
        """
        if not all(child in self._constants for child in children):
            return run
        if self._folding is None:
            self._folding = Context(_FOLDING_REQUEST)
        self._folding.spent = 0
        try:
            value = run(self._folding)
        except ExprError as exc:
            raiser = _raiser(exc)
            self._failed.add(raiser)
            return raiser
        kind = type(value)
        if kind in SCALARS and (kind is not str or len(value) <= FOLDED_TEXT):
            return self._constant(value)
        return run
