"""Built-ins over lists and maps: ``len``, ``first``, ``last``, ``keys``, ``values``,
``concat``, ``reverse``, ``take``, ``uniq``, ``flatten``, ``sort``, ``toPairs``,
``fromPairs``."""

from __future__ import annotations

import json
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..limits import Limits
from .base import as_list, as_map, builtin, map_key, need


@builtin("len")
def length(value: Any) -> int:
    """Characters of a string, items of a list or map; ``len(nil)`` is 0."""
    if value is None:
        return 0
    if type(value) in (str, list, dict):
        return len(value)
    raise need("len", "a string, list or map", value)


@builtin("first")
def first(items: Any) -> Any:
    """The first item of a list, nil when it is empty."""
    items = as_list("first", items)
    return items[0] if items else None


@builtin("last")
def last(items: Any) -> Any:
    """The last item of a list, nil when it is empty."""
    items = as_list("last", items)
    return items[-1] if items else None


@builtin("keys", allocates=True)
def keys(mapping: Any, *, limits: Limits) -> list[str]:
    """The keys of a map, in order."""
    return list(as_map("keys", mapping))


@builtin("values", allocates=True)
def values(mapping: Any, *, limits: Limits) -> list[Any]:
    """The values of a map, in order."""
    return list(as_map("values", mapping).values())


@builtin("concat", allocates=True)
def concat(*lists: Any, limits: Limits) -> list[Any]:
    """All the lists one after the other."""
    parts = [as_list("concat", items) for items in lists]
    total = sum(len(part) for part in parts)
    v.check_total(total, "items", limits.max_size)
    return [item for part in parts for item in part]


@builtin("reverse", allocates=True)
def reverse(items: Any, *, limits: Limits) -> list[Any]:
    """The items last to first."""
    return as_list("reverse", items)[::-1]


@builtin("take", allocates=True)
def take(items: Any, count: Any, *, limits: Limits) -> list[Any]:
    """The first ``count`` items (all of them when there are fewer)."""
    if type(count) is not int or count < 0:
        raise need("take", "a count that is an integer of at least 0", count)
    return as_list("take", items)[:count]


def _identity(item: Any) -> Any:
    """A hashable stand-in for ``item`` under :func:`uniq`'s equality: numbers by value
    (``1`` and ``1.0`` are one), everything else by type and value (``nil`` is not ``''``)."""
    kind = type(item)
    if kind is int or kind is float:
        return ("number", item)
    if kind is list or kind is dict:
        return (kind.__name__, json.dumps(item, sort_keys=True))
    return (kind.__name__, item)


@builtin("uniq", allocates=True)
def uniq(items: Any, *, limits: Limits) -> list[Any]:
    """The items without repeats, each where it first appears."""
    seen: set[Any] = set()
    kept = []
    for item in as_list("uniq", items):
        identity = _identity(item)
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
    return kept


@builtin("flatten", allocates=True)
def flatten(items: Any, *, limits: Limits) -> list[Any]:
    """The items of nested lists, at any depth, in one list."""
    if type(items) is not list:
        raise need("flatten", "a list", items)
    flat: list[Any] = []
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if type(item) is list:
                stack.append(iter(item))
                break
            flat.append(item)
            if len(flat) > limits.max_size:
                v.check_total(len(flat), "items", limits.max_size)
        else:
            stack.pop()
    return flat


def in_order(function: str, keys: list[Any], reverse: bool) -> list[int]:
    """The positions of ``keys`` in sorted order (stable): all numbers or all strings."""
    kinds = {"number" if v.is_number(key) else v.type_name(key) for key in keys}
    if len(kinds) > 1 or not kinds <= {"number", "string"}:
        names = " and ".join(sorted({v.type_name(key) for key in keys}))
        raise EvaluationError(f"{function}() sorts numbers or strings, got {names}")
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=reverse)


@builtin("sort", allocates=True)
def sort(items: Any, order: Any = "asc", *, limits: Limits) -> list[Any]:
    """The items in order, ``'asc'`` (the default) or ``'desc'``: numbers or strings."""
    values = as_list("sort", items)
    return [values[i] for i in in_order("sort", values, descending("sort", order))]


def descending(function: str, order: Any) -> bool:
    """True for ``'desc'``, False for ``'asc'``; anything else is an error."""
    if order not in ("asc", "desc"):
        raise EvaluationError(
            f"{function}(): the order is 'asc' or 'desc', got {v.render(order)!r}"
        )
    return bool(order == "desc")


@builtin("toPairs", allocates=True)
def to_pairs(mapping: Any, *, limits: Limits) -> list[list[Any]]:
    """The entries of a map as ``[key, value]`` pairs, in order."""
    return [[key, value] for key, value in as_map("toPairs", mapping).items()]


@builtin("fromPairs", allocates=True)
def from_pairs(pairs: Any, *, limits: Limits) -> dict[str, Any]:
    """The map of ``[key, value]`` pairs (a later pair wins); keys as :func:`map_key` reads them."""
    result: dict[str, Any] = {}
    for index, pair in enumerate(as_list("fromPairs", pairs)):
        if type(pair) is not list or len(pair) != 2:
            raise EvaluationError(
                f"fromPairs() needs [key, value] pairs, item {index} is {v.render(pair)[:40]}"
            )
        result[map_key("fromPairs", pair[0])] = pair[1]
    return result
