"""Built-ins that take a predicate (``filter(xs, .status == 'active')``): ``filter``, ``map``,
``any``, ``all``, ``none``, ``count``, ``find``."""

from __future__ import annotations

from typing import Any

from .. import values as v
from ..context import Context
from ..limits import Limits
from .base import Predicate, builtin, each


@builtin("filter", pass_context=True, predicate=True)
def filter_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The items for which the predicate is true."""
    return [item for item, keep in each(ctx, "filter", items, predicate, limits) if keep]


@builtin("map", pass_context=True, predicate=True)
def map_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The predicate's value for each item."""
    return [result for _, result in each(ctx, "map", items, predicate, limits)]


@builtin("any", pass_context=True, predicate=True)
def any_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for at least one item."""
    return any(v.truthy(result) for _, result in each(ctx, "any", items, predicate, limits))


@builtin("all", pass_context=True, predicate=True)
def all_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for every item (and for an empty list)."""
    return all(v.truthy(result) for _, result in each(ctx, "all", items, predicate, limits))


@builtin("none", pass_context=True, predicate=True)
def none_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for no item."""
    return not any(v.truthy(result) for _, result in each(ctx, "none", items, predicate, limits))


@builtin("count", pass_context=True, predicate=True)
def count(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> int:
    """How many items the predicate holds for."""
    return sum(1 for _, result in each(ctx, "count", items, predicate, limits) if v.truthy(result))


@builtin("find", pass_context=True, predicate=True)
def find(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> Any:
    """The first item the predicate holds for, or nil."""
    return next(
        (item for item, hit in each(ctx, "find", items, predicate, limits) if v.truthy(hit)), None
    )
