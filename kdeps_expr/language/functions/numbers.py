"""Numeric built-ins: ``sum``, ``min``, ``max``, ``mean``, ``median``, ``abs``, ``round``,
``floor``, ``ceil``."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..context import Context
from ..limits import Limits
from .base import Predicate, as_list, as_number, builtin, need, results

_NUMBERS = frozenset({int, float})


def _numbers(function: str, items: list[Any]) -> list[Any]:
    """The numbers of ``items``, nil items skipped; anything else is an error."""
    if _NUMBERS.issuperset(map(type, items)):
        return items
    present = [item for item in items if item is not None]
    for item in present:
        if not v.is_number(item):
            raise EvaluationError(f"{function}() needs numbers, got {v.type_name(item)}")
    return present


@builtin("sum", pass_context=True, predicate=True)
def sum_(ctx: Context, items: Any, predicate: Predicate | None = None, *, limits: Limits) -> Any:
    """The sum of a list of numbers (or of ``predicate`` over it); nil items are skipped."""
    values = items if type(items) is list else as_list("sum", items)
    if predicate is not None:
        values = results(ctx, "sum", values, predicate, limits)
    for item in values:
        kind = type(item)
        if kind is not float and kind is not int:
            values = _numbers("sum", values)  # skips nil, refuses what is not a number
            break
    total = sum(values)
    if type(total) is float:
        return total if total - total == 0.0 else v.checked_float(total)  # inf - inf is nan
    return v.checked_int(total)


def _flat(function: str, args: tuple[Any, ...]) -> list[Any]:
    """The items of the arguments, nested lists flattened, nil items skipped."""
    flat: list[Any] = []
    stack = list(reversed(args))
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(reversed(item))
        elif item is not None:
            flat.append(item)
    return flat


def _extreme(function: str, args: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    if len(args) == 1 and type(args[0]) is not list:
        only = args[0]
        if only is None or v.is_number(only) or type(only) is str:
            return only  # max(x) of one value is that value
        raise need(function, "numbers or strings", only)
    present = _flat(function, args)
    if not present:
        return None
    if all(v.is_number(item) for item in present) or all(type(i) is str for i in present):
        return pick(present)
    kinds = sorted({v.type_name(item) for item in present})
    raise EvaluationError(f"{function}() needs numbers or strings, got {' and '.join(kinds)}")


@builtin("min")
def min_(first: Any, *rest: Any) -> Any:
    """The smallest of its arguments and of the items of lists among them (at any depth);
    nil items are skipped, nil when there is none."""
    return _extreme("min", (first, *rest), min)


@builtin("max")
def max_(first: Any, *rest: Any) -> Any:
    """The largest of its arguments and of the items of lists among them (at any depth);
    nil items are skipped, nil when there is none."""
    return _extreme("max", (first, *rest), max)


def _floats(function: str, args: tuple[Any, ...]) -> list[float]:
    numbers = _flat(function, args)
    for item in numbers:
        if not v.is_number(item):
            raise EvaluationError(f"{function}() needs numbers, got {v.type_name(item)}")
    return [float(item) for item in numbers]


@builtin("mean")
def mean(first: Any, *rest: Any) -> float:
    """The average of the numbers among its arguments and lists (0.0 for none)."""
    numbers = _floats("mean", (first, *rest))
    return v.checked_float(math.fsum(numbers) / len(numbers)) if numbers else 0.0


@builtin("median")
def median(first: Any, *rest: Any) -> float:
    """The middle of the numbers among its arguments and lists, or the mean of the two
    middle ones (0.0 for none)."""
    numbers = sorted(_floats("median", (first, *rest)))
    if not numbers:
        return 0.0
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return v.checked_float((numbers[middle - 1] + numbers[middle]) / 2)


# ---- numbers ------------------------------------------------------------------------------


@builtin("abs")
def abs_(value: Any) -> Any:
    """The absolute value."""
    result = abs(as_number("abs", value))
    return v.checked_int(result) if type(result) is int else result


@builtin("round")
def round_(value: Any, digits: Any = None) -> Any:
    """Round half away from zero: an int without ``digits``, a float with them."""
    value = as_number("round", value)
    if digits is None:
        if type(value) is int:
            return value
        if abs(value) >= 2.0**52:  # already integral, and past Decimal's default precision
            return v.checked_int(int(value))
        return int(Decimal(repr(value)).quantize(Decimal(1), ROUND_HALF_UP))
    if type(digits) is not int:
        raise need("round", "an integer number of digits", digits)
    number = Decimal(repr(float(value)))
    if digits >= -int(number.as_tuple().exponent):
        return float(value)  # no digit to round away
    if -digits > number.adjusted() + 1:
        return 0.0  # every digit rounds away
    with localcontext() as context:
        context.prec = 1_000  # enough for any float's digits
        return v.checked_float(float(number.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)))


@builtin("floor")
def floor(value: Any) -> int:
    """The largest integer not above ``value``."""
    return v.checked_int(math.floor(as_number("floor", value)))


@builtin("ceil")
def ceil(value: Any) -> int:
    """The smallest integer not below ``value``."""
    return v.checked_int(math.ceil(as_number("ceil", value)))
