"""The :class:`Function` record, the ``BUILTINS`` and ``OBJECTS`` tables and the argument
checks shared by the families.

A :class:`Function` records how the compiler calls an implementation: whether it takes the
request :class:`~kdeps_expr.language.context.Context` first (``pass_context``), whether its
second argument is a predicate compiled as a closure (``predicate``: ``filter(xs, .a > 1)``),
whether it takes the Engine's :class:`Limits` (a keyword-only ``limits`` parameter),
whether calls with constant arguments can be folded at compile time (``pure``), and whether
it builds a new list, string or map whose size counts against the evaluation's budget
(``allocates``, SPEC §9). User
functions are registered the same way. Each family module registers its built-ins with
:func:`builtin` when it is imported.

A dotted name (``item.current``, ``request.file``, ``exec.exitCode``) is a function of one of
KDeps' objects, called with the method syntax ``item.current()``: values have no methods
(SPEC §1), so the syntax only ever reaches a function registered here under that name.
:func:`kdeps_object` registers the objects whose bare name is a value (``request.method``).
"""

from __future__ import annotations

import difflib
import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import EvaluationError, LimitError
from .. import values as v
from ..context import Context
from ..limits import Limits

Predicate = Callable[[Context], Any]


@dataclass(frozen=True, slots=True)
class Function:
    """A callable the language can see, with what the compiler needs to know about it."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    pass_context: bool = False
    predicate: bool = False
    takes_limits: bool = False
    pure: bool = False
    builtin: bool = False
    specialize: Callable[[tuple[Any, ...]], Callable[[Context], Any] | None] | None = None
    """Given constant arguments, a faster closure for the call, or ``None``."""
    allocates: bool = False

    @classmethod
    def wrap(
        cls,
        name: str,
        impl: Callable[..., Any],
        *,
        pass_context: bool = False,
        predicate: bool = False,
        pure: bool = False,
        builtin: bool = False,
        specialize: Callable[[tuple[Any, ...]], Callable[[Context], Any] | None] | None = None,
        allocates: bool = False,
    ) -> Function:
        """Describe ``impl``; the argument count comes from its signature."""
        params = list(inspect.signature(impl).parameters.values())
        if pass_context:
            params = params[1:]
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        required = sum(1 for p in positional if p.default is p.empty)
        return cls(
            name=name,
            impl=impl,
            min_args=required,
            max_args=None if variadic else len(positional),
            pass_context=pass_context,
            predicate=predicate,
            takes_limits=any(p.kind is p.KEYWORD_ONLY and p.name == "limits" for p in params),
            pure=pure,
            builtin=builtin,
            specialize=specialize,
            allocates=allocates,
        )

    def accepts(self, count: int) -> bool:
        """True when a call may pass ``count`` arguments."""
        return self.min_args <= count and (self.max_args is None or count <= self.max_args)

    def arity(self) -> str:
        """``2``, ``1 to 3`` or ``at least 1``: how many arguments a call takes."""
        if self.max_args is None:
            return f"at least {self.min_args}"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}"


BUILTINS: dict[str, Function] = {}


def builtin(
    name: str,
    *,
    pass_context: bool = False,
    predicate: bool = False,
    pure: bool = True,
    specialize: Callable[[tuple[Any, ...]], Callable[[Context], Any] | None] | None = None,
    allocates: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the built-in ``name`` (see :class:`Function`).
    One that ``allocates`` takes ``limits`` (its calls then take the path that charges)."""

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        function = Function.wrap(
            name,
            impl,
            pass_context=pass_context,
            predicate=predicate,
            pure=pure and not pass_context,
            builtin=True,
            specialize=specialize,
            allocates=allocates,
        )
        assert function.takes_limits or not allocates, name
        BUILTINS[name] = function
        return impl

    return register


OBJECTS: dict[str, Callable[[Context], Any]] = {}
"""KDeps' read-only objects (SPEC §2): the bare names ``request``, ``input``, ``item`` and
``loop``, each the function giving its value in a request :class:`Context`."""


def kdeps_object(name: str) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
    """Register the bare name ``name`` as the object its decorated function computes."""

    def register(read: Callable[[Context], Any]) -> Callable[[Context], Any]:
        OBJECTS[name] = read
        return read

    return register


def namespaces(functions: Any) -> set[str]:
    """The objects that have methods among ``functions`` (``item`` for ``item.current``)."""
    return {name.split(".", 1)[0] for name in functions if "." in name}


def closest(name: str, candidates: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def need(function: str, kinds: str, value: Any) -> EvaluationError:
    """The error for an argument of the wrong type: ``f() needs a list, got int``."""
    return EvaluationError(f"{function}() needs {kinds}, got {v.type_name(value)}")


def key_arg(function: str, key: Any) -> str:
    """``key`` when it is a string (a session or memory key), else a clear error."""
    if type(key) is not str:
        raise EvaluationError(f"{function}() needs a string key, got {v.type_name(key)}")
    return key


_KEY_TYPES = (type(None), bool, int, float, str)


def map_key(function: str, key: Any) -> str:
    """A map key made from a value: map keys are text (SPEC §1), so a number, a bool or nil
    becomes its text as ``string()`` renders it (``1`` is ``'1'``, nil is ``''``)."""
    if type(key) not in _KEY_TYPES:
        raise need(function, "a key that is a string, number, bool or nil", key)
    return v.render(key)


def as_list(function: str, value: Any) -> list[Any]:
    """A list argument; ``nil`` reads as the empty list."""
    if value is None:
        return []
    if type(value) is not list:
        raise need(function, "a list", value)
    return value


def as_map(function: str, value: Any) -> dict[str, Any]:
    """A map argument; ``nil`` reads as the empty map."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise need(function, "a map", value)
    return value


def as_number(function: str, value: Any) -> Any:
    """A number argument (int or float)."""
    if not v.is_number(value):
        raise need(function, "a number", value)
    return value


def as_text(function: str, value: Any) -> str:
    """A string argument."""
    if type(value) is not str:
        raise need(function, "a string", value)
    return value


def bounded(text: str, limits: Limits) -> str:
    """``text``, unless it is longer than a string an expression may make."""
    v.check_total(len(text), "characters", limits.max_size)
    return text


def shown(text: str, width: int = 40) -> str:
    """``text`` quoted for an error message, cut short when long (it may come from a client)."""
    return repr(text if len(text) <= width else text[:width] + "…")


def _expired(function: str, limits: Limits) -> LimitError:
    return LimitError(
        f"{function}() took longer than {limits.predicate_timeout} s (predicate_timeout)"
    )


def each(
    ctx: Context,
    function: str,
    items: Any,
    predicate: Predicate,
    limits: Limits,
    *,
    backwards: bool = False,
) -> Iterator[tuple[Any, Any]]:
    """``(item, predicate result)`` for each item, first to last (or last to first), with
    ``#`` bound to the item and ``#index`` to its position: for the predicates that stop at
    the first match (``any``, ``find``, …). :func:`results` serves those that see every item.

    The outermost predicate call sets a deadline that every call nested in it shares, so
    ``count(xs, count(ys, …) > 0)`` over long lists ends in a clear error, not hours later.
    """
    values = as_list(function, items)
    outermost = not ctx.deadline
    if outermost:
        ctx.deadline = time.monotonic() + limits.predicate_timeout
    deadline, clock = ctx.deadline, time.monotonic
    saved = ctx.element, ctx.position
    if backwards:
        indexed: Iterator[tuple[int, Any]] = zip(
            range(len(values) - 1, -1, -1), values[::-1], strict=True
        )
    else:
        indexed = enumerate(values)
    try:
        for position, item in indexed:
            ctx.element = item
            ctx.position = position
            yield item, predicate(ctx)
            if clock() > deadline:
                raise _expired(function, limits)
    finally:
        ctx.element, ctx.position = saved
        if outermost:
            ctx.deadline = 0.0


def results(
    ctx: Context,
    function: str,
    values: list[Any],
    predicate: Predicate,
    limits: Limits,
    *,
    start: int = 0,
    accumulator: Any = None,
    fold: bool = False,
) -> list[Any]:
    """The predicate's result for each item from position ``start``, bound as :func:`each`
    binds them (under the same deadline); with ``fold``, ``#acc`` is ``accumulator`` and
    then each result in turn (``reduce``). One loop without a generator: the hot path of
    ``filter`` and ``map``."""
    outermost = not ctx.deadline
    if outermost:
        ctx.deadline = time.monotonic() + limits.predicate_timeout
    deadline, clock = ctx.deadline, time.monotonic
    saved = ctx.element, ctx.position, ctx.accumulator
    ctx.accumulator = accumulator
    found: list[Any] = []
    append = found.append
    try:
        for position, item in enumerate(values[start:] if start else values, start):
            ctx.element = item
            ctx.position = position
            result = predicate(ctx)
            if fold:
                ctx.accumulator = result
            append(result)
            if clock() > deadline:
                raise _expired(function, limits)
    finally:
        ctx.element, ctx.position, ctx.accumulator = saved
        if outermost:
            ctx.deadline = 0.0
    return found
