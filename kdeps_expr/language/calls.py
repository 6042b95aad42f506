"""Calls to closures: which function a call names (``f()``, ``::f()``, ``item.current()``),
its argument count, predicate arguments (``filter(xs, {.a > 1})``), and the shapes of the
call closures, fastest first."""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError, ExprError
from . import nodes as n
from .compile_base import (
    VARIABLE,
    Closure,
    CompilerBase,
    check_result,
    function_failed,
    located,
    spend,
)
from .context import Context
from .functions import BUILTINS, Function, closest
from .functions.base import namespaces

UNSUPPORTED_FUNCTIONS = {
    name: "dates and durations are not values of this language (JSON has none); "
    "info('timestamp') is the request's time as RFC 3339 text"
    for name in ("now", "date", "duration", "timezone")
}
"""expr-lang built-ins that have no meaning for JSON values, and why."""


def catches_everything(function: Function, constant_args: bool, count: int) -> bool:
    """True when a call turns any exception of ``function`` into an error of the call
    (``len() failed: …``). The fast shapes, built-ins that take no limits called with
    constant arguments (context-aware ones) or with one argument, catch only
    :class:`EvaluationError`."""
    if not function.builtin or function.takes_limits:
        return True
    return not ((function.pass_context and constant_args) or count == 1)


class CallCompiler(CompilerBase):
    """Compiles calls; a part of :class:`~kdeps_expr.language.compiler.Compiler`."""

    def function(self, node: n.Call | n.MethodCall) -> Function:
        """The function ``node`` calls, with its argument count checked."""
        if isinstance(node, n.MethodCall):
            name = self._method_name(node)
            function = self.functions.get(name)
        else:
            name = node.name
            function = (BUILTINS if node.builtin else self.functions).get(name)
        if function is None:
            if name in UNSUPPORTED_FUNCTIONS:
                raise self._error(f"{name}() is not supported: {UNSUPPORTED_FUNCTIONS[name]}", node)
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

    def _call(self, node: n.Call | n.MethodCall, in_predicate: str) -> Closure:
        if isinstance(node, n.MethodCall) and not isinstance(node.target, n.Name):
            # date(…).Year(): report what is wrong inside first, then that values have no methods
            self._compile(node.target, in_predicate)
        function = self.function(node)
        args = tuple(
            self._predicate(arg, function.name)
            if function.predicate and i == 1
            else self._compile(arg, in_predicate)
            for i, arg in enumerate(node.args)
        )
        if function.predicate and len(args) > 1:
            args = (args[0], self._constant(args[1]), *args[2:])
        run = self._invoke(function, args, node.pos)
        if function.pure:
            return self._fold(run, *args)
        return run

    def _predicate(self, node: n.Node, function: str) -> Closure:
        """The closure of a predicate argument, bare (``.a > 1``) or in braces (``{.a > 1}``)."""
        if isinstance(node, n.Block):
            run = self.closures[id(node)] = self._compile(node.body, function)
            return run
        return self._compile(node, function)

    def _invoke(self, function: Function, args: tuple[Closure, ...], pos: int) -> Closure:
        """The closure calling ``function`` with the evaluated ``args``."""
        impl, source = function.impl, self.source
        constants = [self._constants.get(arg, VARIABLE) for arg in args]
        if not catches_everything(function, VARIABLE not in constants, len(args)):
            return self._invoke_builtin(function, args, tuple(constants), pos)
        name = function.name
        extra = {"limits": self.limits} if function.takes_limits else {}
        check = None if function.builtin else check_result
        context_first = function.pass_context
        budget = self.limits.max_size if function.allocates else 0
        self.charges = self.charges or function.allocates

        def run(ctx: Context) -> Any:
            values = [arg(ctx) for arg in args]
            try:
                result = impl(ctx, *values, **extra) if context_first else impl(*values, **extra)
                if check is not None:
                    check(name, result)
                if budget:
                    spend(ctx, result, budget)
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
        if function.pass_context and VARIABLE not in constants:
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
