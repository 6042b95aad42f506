"""Built-ins that take a predicate (``filter(xs, .status == 'active')``, ``map(xs, {# * 2})``):
``filter``, ``map``, ``any``, ``all``, ``none``, ``one``, ``count``, ``find``, ``findIndex``,
``findLast``, ``findLastIndex``, ``groupBy``, ``sortBy`` and ``reduce``.

A predicate sees the item as ``#`` (``.name`` is ``#.name``) and its position as
``#index``; ``reduce`` adds ``#acc``. ``nil`` reads as an empty list, and a predicate's
value counts by truthiness (SPEC §1), where expr-lang demands a boolean.
"""

from __future__ import annotations

from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..context import Context
from ..limits import Limits
from .base import Predicate, as_list, builtin, each, map_key, results
from .containers import descending, in_order


@builtin("filter", pass_context=True, predicate=True, allocates=True)
def filter_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The items for which the predicate is true."""
    values = as_list("filter", items)
    kept = results(ctx, "filter", values, predicate, limits)
    return [item for item, keep in zip(values, kept, strict=True) if keep]


@builtin("map", pass_context=True, predicate=True, allocates=True)
def map_(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> list[Any]:
    """The predicate's value for each item."""
    return results(ctx, "map", as_list("map", items), predicate, limits)


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


@builtin("one", pass_context=True, predicate=True)
def one(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> bool:
    """True when the predicate holds for exactly one item."""
    hits = results(ctx, "one", as_list("one", items), predicate, limits)
    return sum(1 for hit in hits if hit) == 1


@builtin("count", pass_context=True, predicate=True)
def count(ctx: Context, items: Any, predicate: Predicate | None = None, *, limits: Limits) -> int:
    """How many items the predicate holds for; without one, how many items are truthy."""
    values = as_list("count", items)
    if predicate is not None:
        values = results(ctx, "count", values, predicate, limits)
    return sum(1 for value in values if value)


@builtin("find", pass_context=True, predicate=True)
def find(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> Any:
    """The first item the predicate holds for, or nil."""
    return next(
        (item for item, hit in each(ctx, "find", items, predicate, limits) if v.truthy(hit)), None
    )


@builtin("findLast", pass_context=True, predicate=True)
def find_last(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> Any:
    """The last item the predicate holds for, or nil."""
    found = each(ctx, "findLast", items, predicate, limits, backwards=True)
    return next((item for item, hit in found if v.truthy(hit)), None)


@builtin("findIndex", pass_context=True, predicate=True)
def find_index(ctx: Context, items: Any, predicate: Predicate, *, limits: Limits) -> int | None:
    """The position of the first item the predicate holds for, or nil."""
    found = each(ctx, "findIndex", items, predicate, limits)
    return next((ctx.position for _, hit in found if v.truthy(hit)), None)


@builtin("findLastIndex", pass_context=True, predicate=True)
def find_last_index(
    ctx: Context, items: Any, predicate: Predicate, *, limits: Limits
) -> int | None:
    """The position of the last item the predicate holds for, or nil."""
    found = each(ctx, "findLastIndex", items, predicate, limits, backwards=True)
    return next((ctx.position for _, hit in found if v.truthy(hit)), None)


@builtin("groupBy", pass_context=True, predicate=True, allocates=True)
def group_by(
    ctx: Context, items: Any, predicate: Predicate, *, limits: Limits
) -> dict[str, list[Any]]:
    """The items grouped by the predicate's value, in order. Map keys are text (SPEC §1), so
    a key is the value as ``string()`` renders it: ``groupBy(xs, .age)`` has keys ``'30'``."""
    values = as_list("groupBy", items)
    groups: dict[str, list[Any]] = {}
    for item, key in zip(values, results(ctx, "groupBy", values, predicate, limits), strict=True):
        groups.setdefault(map_key("groupBy", key), []).append(item)
    return groups


@builtin("sortBy", pass_context=True, predicate=True, allocates=True)
def sort_by(
    ctx: Context, items: Any, predicate: Predicate, order: Any = "asc", *, limits: Limits
) -> list[Any]:
    """The items sorted (stably) by the predicate's value: numbers or strings, ``'asc'`` or
    ``'desc'``."""
    reverse = descending("sortBy", order)
    values = as_list("sortBy", items)
    keys = results(ctx, "sortBy", values, predicate, limits)
    return [values[position] for position in in_order("sortBy", keys, reverse)]


_FIRST: Any = object()


@builtin("reduce", pass_context=True, predicate=True)
def reduce(
    ctx: Context, items: Any, predicate: Predicate, initial: Any = _FIRST, *, limits: Limits
) -> Any:
    """The predicate applied to each item in turn with ``#acc``, the value so far: from
    ``initial``, or from the first item when there is none."""
    values = as_list("reduce", items)
    start = 0
    if initial is _FIRST:
        if not values:
            raise EvaluationError("reduce() of an empty list needs an initial value")
        initial, start = values[0], 1
    steps = results(
        ctx, "reduce", values, predicate, limits, start=start, accumulator=initial, fold=True
    )
    return steps[-1] if steps else initial
