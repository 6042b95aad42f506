"""Built-in functions (SPEC §3) as plain documented functions in one dict, ``BUILTINS``.

A :class:`Function` records how the compiler calls an implementation: whether it takes the
request :class:`~kdeps_expr.context.Context` first (``pass_context``), whether its second
argument is a predicate compiled as a closure (``predicate``: ``filter(xs, .a > 1)``),
whether it takes the Engine's :class:`Limits` (a keyword-only ``limits`` parameter), and
whether calls with constant arguments can be folded at compile time (``pure``). User
functions are registered the same way.
"""

from __future__ import annotations

import difflib
import inspect
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import partial
from typing import Any

from . import values as v
from .context import Context
from .errors import EvaluationError, LimitError
from .limits import Limits

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


def _builtin(
    name: str,
    *,
    pass_context: bool = False,
    predicate: bool = False,
    pure: bool = True,
    specialize: Callable[[tuple[Any, ...]], Callable[[Context], Any] | None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        BUILTINS[name] = Function.wrap(
            name,
            impl,
            pass_context=pass_context,
            predicate=predicate,
            pure=pure and not pass_context,
            builtin=True,
            specialize=specialize,
        )
        return impl

    return register


def closest(name: str, candidates: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _need(function: str, kinds: str, value: Any) -> EvaluationError:
    return EvaluationError(f"{function}() needs {kinds}, got {v.type_name(value)}")


def _key(function: str, key: Any) -> str:
    if type(key) is not str:
        raise EvaluationError(f"{function}() needs a string key, got {v.type_name(key)}")
    return key


# ---- request, memory and session (SPEC §3) ---------------------------------------------

SOURCES = ("memory", "session", "output", "query", "body", "param", "header", "info")
SCOPES = ("memory", "session")
_MISSING: Any = object()


_INFO: dict[str, Callable[[Context], Any]] = {
    "sessionId": lambda ctx: ctx.session.id,
    "requestId": lambda ctx: ctx.request.request_id,
    "timestamp": lambda ctx: ctx.request.timestamp,
    "method": lambda ctx: ctx.request.method,
    "path": lambda ctx: ctx.request.path,
    "ip": lambda ctx: ctx.request.ip,
    "actionId": lambda ctx: ctx.action_id,
    "workflow.name": lambda ctx: ctx.workflow.name,
    "workflow.version": lambda ctx: ctx.workflow.version,
}
"""How ``info(field)`` reads each field from the request context."""

INFO_FIELDS = tuple(_INFO)
INFO_ALIASES = {
    "session_id": "sessionId",
    "request_id": "requestId",
    "ID": "requestId",
    "IP": "ip",
    "current_time": "timestamp",
}


def _from(source: str, key: str, ctx: Context) -> Any:
    """The value of ``key`` in one source, or ``_MISSING``."""
    if source == "memory":
        return ctx.memory.get(key, _MISSING)
    if source == "session":
        return ctx.session.data.get(key, _MISSING)
    if source == "output":
        return ctx.outputs.get(key, _MISSING)
    if source == "query":
        return ctx.request.query.get(key, _MISSING)
    if source == "body":
        body = ctx.request.body
        return body.get(key, _MISSING) if type(body) is dict else _MISSING
    if source == "param":
        found = _from("query", key, ctx)
        return _from("body", key, ctx) if found is _MISSING else found
    if source == "header":
        return ctx.request.headers.get(key.lower(), _MISSING)
    field = _INFO.get(INFO_ALIASES.get(key, key))
    return _MISSING if field is None else field(ctx)


def _search(key: str, ctx: Context) -> Any:
    """SPEC §3's unqualified search: memory, outputs, query, body, headers; never the session.

    Written out rather than looped over ``_from``, with ``in`` tests (cheaper than ``get``
    on a miss, and most sources miss): it is the hottest path of the language.
    """
    if key in ctx.action_ids:
        return ctx.outputs.get(key)
    memory = ctx.memory
    if key in memory:
        return memory[key]
    outputs = ctx.outputs
    if key in outputs:
        return outputs[key]
    request = ctx.request
    query = request.query
    if key in query:
        return query[key]
    body = request.body
    if type(body) is dict and key in body:
        return body[key]
    return request.headers.get(key.lower())


def _or_default(found: Any, default: Any) -> Any:
    return default if found is _MISSING or found is None or found == "" else found


def _session_value(key: str, ctx: Context) -> Any:
    """``get(key, 'session')``: the session's value, nil when missing."""
    return ctx.session.data.get(key)


def _specialize_get(args: tuple[Any, ...]) -> Callable[[Context], Any] | None:
    """``get('key')`` and ``get('key', 'session')`` with literal arguments: the lookup itself,
    as a ``partial`` (a call of it costs no Python frame of its own)."""
    if not args or type(args[0]) is not str:
        return None
    key = args[0]
    if len(args) == 1:
        return partial(_search, key)
    if len(args) == 2 and args[1] == "session":
        return partial(_session_value, key)
    return None


@_builtin("get", pass_context=True, specialize=_specialize_get)
def get(ctx: Context, key: Any, source: Any = _MISSING, default: Any = _MISSING) -> Any:
    """``get(key)``, ``get(key, source)``, ``get(key, default)``, ``get(key, source, default)``."""
    if type(key) is not str:
        key = _key("get", key)
    if source is _MISSING:
        return _search(key, ctx)
    if default is not _MISSING:
        if source not in SOURCES:
            raise EvaluationError(
                f"unknown get source {v.render(source)!r}{closest(str(source), SOURCES)}; "
                f"sources are {', '.join(SOURCES)}"
            )
        return _or_default(_from(source, key, ctx), default)
    if type(source) is str and source in SOURCES:
        found = _from(source, key, ctx)
        return None if found is _MISSING else found
    return _or_default(_search(key, ctx), source)


def _scope(function: str, scope: Any) -> str:
    if scope not in SCOPES:
        raise EvaluationError(
            f"{function}(): unknown scope {v.render(scope)!r}{closest(str(scope), SCOPES)}; "
            f"scopes are {', '.join(SCOPES)}"
        )
    return str(scope)


@_builtin("set", pass_context=True)
def set_(ctx: Context, key: Any, value: Any, scope: Any = "memory") -> Any:
    """Store ``value`` under ``key`` in request memory or the session; returns ``value``."""
    key = _key("set", key)
    if key in ctx.action_ids:
        raise EvaluationError(f"set(): {key!r} is the actionId of a resource and cannot be set")
    if _scope("set", scope) == "session":
        ctx.session.set(key, value)
    else:
        ctx.memory[key] = value
    return value


@_builtin("unset", pass_context=True)
def unset(ctx: Context, key: Any, scope: Any = "memory") -> None:
    """Remove one key from request memory or the session."""
    key = _key("unset", key)
    if _scope("unset", scope) == "session":
        ctx.session.unset(key)
    else:
        ctx.memory.pop(key, None)


@_builtin("clear", pass_context=True)
def clear(ctx: Context, scope: Any) -> None:
    """Empty the session (``clear('session')``, a logout) or request memory."""
    if _scope("clear", scope) == "session":
        ctx.session.clear()
    else:
        ctx.memory.clear()


@_builtin("session", pass_context=True)
def session(ctx: Context) -> dict[str, Any]:
    """The whole session as a map."""
    return dict(ctx.session.data)


@_builtin("info", pass_context=True)
def info(ctx: Context, field: Any) -> Any:
    """Facts about the request: ``sessionId``, ``requestId``, ``timestamp`` and the rest."""
    if type(field) is not str:
        raise _need("info", "a field name (a string)", field)
    name = INFO_ALIASES.get(field, field)
    if name not in _INFO:
        raise EvaluationError(
            f"unknown info field {v.render(field)!r}{closest(str(field), _INFO)}; "
            f"fields are {', '.join(INFO_FIELDS)}"
        )
    return _INFO[name](ctx)


# ---- collections ------------------------------------------------------------------------


@_builtin("len")
def length(value: Any) -> int:
    """Characters of a string, items of a list or map; ``len(nil)`` is 0."""
    if value is None:
        return 0
    if type(value) in (str, list, dict):
        return len(value)
    raise _need("len", "a string, list or map", value)


def _list(function: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise _need(function, "a list", value)
    return value


def _each(
    ctx: Context, function: str, items: Any, predicate: Predicate, limits: Limits
) -> Iterator[tuple[Any, Any]]:
    """``(item, predicate result)`` for each item, with ``#`` bound to the item.

    The outermost predicate call sets a deadline that every call nested in it shares, so
    ``count(xs, count(ys, …) > 0)`` over long lists ends in a clear error, not hours later.
    """
    outermost = not ctx.deadline
    if outermost:
        ctx.deadline = time.monotonic() + limits.predicate_timeout
    saved = ctx.element
    try:
        for item in _list(function, items):
            ctx.element = item
            yield item, predicate(ctx)
            if time.monotonic() > ctx.deadline:
                raise LimitError(
                    f"{function}() took longer than {limits.predicate_timeout} s "
                    "(predicate_timeout)"
                )
    finally:
        ctx.element = saved
        if outermost:
            ctx.deadline = 0.0


def _numbers(function: str, items: list[Any]) -> list[Any]:
    present = [item for item in items if item is not None]
    for item in present:
        if not v.is_number(item):
            raise EvaluationError(f"{function}() needs numbers, got {v.type_name(item)}")
    return present


@_builtin("sum", pass_context=True, predicate=True)
def sum_(ctx: Context, items: Any, predicate: Predicate | None = None, *, limits: Limits) -> Any:
    """The sum of a list of numbers (or of ``predicate`` over it); nil items are skipped."""
    if predicate is None:
        numbers = _numbers("sum", _list("sum", items))
    else:
        numbers = _numbers(
            "sum", [result for _, result in _each(ctx, "sum", items, predicate, limits)]
        )
    total = sum(numbers)
    return v.checked_int(total) if type(total) is int else v.checked_float(total)


def _extreme(function: str, args: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    items = _list(function, args[0]) if len(args) == 1 else list(args)
    present = [item for item in items if item is not None]
    if not present:
        return None
    if all(v.is_number(item) for item in present) or all(type(i) is str for i in present):
        return pick(present)
    kinds = sorted({v.type_name(item) for item in present})
    raise EvaluationError(f"{function}() needs numbers or strings, got {' and '.join(kinds)}")


@_builtin("min")
def min_(first: Any, *rest: Any) -> Any:
    """The smallest of a list, or of several arguments; nil items are skipped."""
    return _extreme("min", (first, *rest), min)


@_builtin("max")
def max_(first: Any, *rest: Any) -> Any:
    """The largest of a list, or of several arguments; nil items are skipped."""
    return _extreme("max", (first, *rest), max)


@_builtin("first")
def first(items: Any) -> Any:
    """The first item of a list, nil when it is empty."""
    items = _list("first", items)
    return items[0] if items else None


@_builtin("last")
def last(items: Any) -> Any:
    """The last item of a list, nil when it is empty."""
    items = _list("last", items)
    return items[-1] if items else None


def _map_arg(function: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise _need(function, "a map", value)
    return value


@_builtin("keys")
def keys(mapping: Any) -> list[str]:
    """The keys of a map, in order."""
    return list(_map_arg("keys", mapping))


@_builtin("values")
def values(mapping: Any) -> list[Any]:
    """The values of a map, in order."""
    return list(_map_arg("values", mapping).values())


@_builtin("concat")
def concat(*lists: Any, limits: Limits) -> list[Any]:
    """All the lists one after the other."""
    parts = [_list("concat", items) for items in lists]
    total = sum(len(part) for part in parts)
    v.check_total(total, "items", limits.max_size)
    return [item for part in parts for item in part]


@_builtin("filter", pass_context=True, predicate=True)
def filter_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The items for which the predicate is true."""
    return [item for item, keep in _each(ctx, "filter", items, predicate, limits) if keep]


@_builtin("map", pass_context=True, predicate=True)
def map_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The predicate's value for each item."""
    return [result for _, result in _each(ctx, "map", items, predicate, limits)]


@_builtin("any", pass_context=True, predicate=True)
def any_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for at least one item."""
    return any(v.truthy(result) for _, result in _each(ctx, "any", items, predicate, limits))


@_builtin("all", pass_context=True, predicate=True)
def all_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for every item (and for an empty list)."""
    return all(v.truthy(result) for _, result in _each(ctx, "all", items, predicate, limits))


@_builtin("none", pass_context=True, predicate=True)
def none_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for no item."""
    return not any(v.truthy(result) for _, result in _each(ctx, "none", items, predicate, limits))


@_builtin("count", pass_context=True, predicate=True)
def count(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> int:
    """How many items the predicate holds for."""
    return sum(1 for _, result in _each(ctx, "count", items, predicate, limits) if v.truthy(result))


@_builtin("find", pass_context=True, predicate=True)
def find(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> Any:
    """The first item the predicate holds for, or nil."""
    return next(
        (item for item, hit in _each(ctx, "find", items, predicate, limits) if v.truthy(hit)), None
    )


# ---- numbers ------------------------------------------------------------------------------


def _number(function: str, value: Any) -> Any:
    if not v.is_number(value):
        raise _need(function, "a number", value)
    return value


@_builtin("abs")
def abs_(value: Any) -> Any:
    """The absolute value."""
    result = abs(_number("abs", value))
    return v.checked_int(result) if type(result) is int else result


@_builtin("round")
def round_(value: Any, digits: Any = None) -> Any:
    """Round half away from zero: an int without ``digits``, a float with them."""
    value = _number("round", value)
    if digits is None:
        if type(value) is int:
            return value
        if abs(value) >= 2.0**52:  # already integral, and past Decimal's default precision
            return v.checked_int(int(value))
        return int(Decimal(repr(value)).quantize(Decimal(1), ROUND_HALF_UP))
    if type(digits) is not int:
        raise _need("round", "an integer number of digits", digits)
    number = Decimal(repr(float(value)))
    if digits >= -int(number.as_tuple().exponent):
        return float(value)  # no digit to round away
    if -digits > number.adjusted() + 1:
        return 0.0  # every digit rounds away
    with localcontext() as context:
        context.prec = 1_000  # enough for any float's digits
        return v.checked_float(float(number.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)))


@_builtin("floor")
def floor(value: Any) -> int:
    """The largest integer not above ``value``."""
    return v.checked_int(math.floor(_number("floor", value)))


@_builtin("ceil")
def ceil(value: Any) -> int:
    """The smallest integer not below ``value``."""
    return v.checked_int(math.ceil(_number("ceil", value)))


# ---- strings ------------------------------------------------------------------------------


def _text(function: str, value: Any) -> str:
    if type(value) is not str:
        raise _need(function, "a string", value)
    return value


def _bounded(text: str, limits: Limits) -> str:
    """``text``, unless it is longer than a string an expression may make."""
    v.check_total(len(text), "characters", limits.max_size)
    return text


@_builtin("lower")
def lower(text: Any, *, limits: Limits) -> str:
    """The string in lower case (which can be longer: ``lower('İ')`` has two characters)."""
    return _bounded(_text("lower", text).lower(), limits)


@_builtin("upper")
def upper(text: Any, *, limits: Limits) -> str:
    """The string in upper case (which can be longer: ``upper('ß')`` is ``'SS'``)."""
    return _bounded(_text("upper", text).upper(), limits)


@_builtin("trim")
def trim(text: Any, chars: Any = None) -> str:
    """The string without leading and trailing white space (or ``chars``)."""
    return _text("trim", text).strip(None if chars is None else _text("trim", chars))


@_builtin("split")
def split(text: Any, separator: Any) -> list[str]:
    """The parts of a string between separators."""
    separator = _text("split", separator)
    if separator == "":
        return list(_text("split", text))
    return _text("split", text).split(separator)


@_builtin("join")
def join(items: Any, separator: Any = "", *, limits: Limits) -> str:
    """The strings of a list joined with ``separator``."""
    parts = _list("join", items)
    glue = _text("join", separator)
    for index, part in enumerate(parts):
        if type(part) is not str:
            raise EvaluationError(
                f"join() needs a list of strings, item {index} is {v.type_name(part)}"
            )
    total = sum(map(len, parts)) + len(glue) * max(len(parts) - 1, 0)
    v.check_total(total, "characters", limits.max_size)
    return glue.join(parts)


@_builtin("replace")
def replace(text: Any, old: Any, new: Any, *, limits: Limits) -> str:
    """``text`` with every ``old`` replaced by ``new``."""
    subject, before, after = _text("replace", text), _text("replace", old), _text("replace", new)
    hits = subject.count(before) if before else len(subject) + 1
    total = len(subject) + hits * (len(after) - len(before))
    v.check_total(total, "characters", limits.max_size)
    return subject.replace(before, after)


def _shown(text: str, width: int = 40) -> str:
    """``text`` quoted for an error message, cut short when long (it may come from a client)."""
    return repr(text if len(text) <= width else text[:width] + "…")


# ---- conversions --------------------------------------------------------------------------


@_builtin("int")
def to_int(value: Any) -> int:
    """An integer from a number (truncated), a numeric string or a boolean."""
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    if kind is float:
        return v.checked_int(int(value))
    if kind is str:
        try:
            return v.checked_int(int(value.strip().replace("_", "")))
        except ValueError:
            raise EvaluationError(f"int(): {_shown(value)} is not an integer") from None
    raise _need("int", "a number or a string", value)


@_builtin("float")
def to_float(value: Any) -> float:
    """A float from a number or a numeric string."""
    kind = type(value)
    if kind in (int, float):
        return v.checked_float(float(value))
    if kind is str:
        try:
            number = float(value.strip())
        except ValueError:
            raise EvaluationError(f"float(): {_shown(value)} is not a number") from None
        if not math.isfinite(number):
            raise EvaluationError(f"float(): {_shown(value)} is not a finite number")
        return number
    raise _need("float", "a number or a string", value)


@_builtin("string")
def to_string(value: Any, *, limits: Limits) -> str:
    """The value as text, rendered as templates render it (SPEC §4)."""
    kind = type(value)
    if kind is list or kind is dict:
        return v.bounded_json(value, limits.max_size)
    return v.render(value)


_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


@_builtin("bool")
def to_bool(value: Any) -> bool:
    """Truthiness, except that strings must spell a boolean (``'false'`` is false)."""
    if type(value) is str:
        word = value.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise EvaluationError(f"bool(): {_shown(value)} is not true/false, yes/no, on/off or 1/0")
    return v.truthy(value)


@_builtin("type")
def type_of(value: Any) -> str:
    """``nil``, ``bool``, ``int``, ``float``, ``string``, ``list`` or ``map``."""
    return v.type_name(value)


@_builtin("json")
def json_(value: Any, *, limits: Limits) -> str:
    """Compact JSON, map keys in their stored order."""
    return v.bounded_json(value, limits.max_size)


@_builtin("default")
def default(value: Any, fallback: Any) -> Any:
    """``fallback`` when ``value`` is nil or ''."""
    return fallback if value is None or value == "" else value
