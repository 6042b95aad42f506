"""Built-ins over lists and maps: ``len``, ``first``, ``last``, ``keys``, ``values``, ``concat``."""

from __future__ import annotations

from typing import Any

from .. import values as v
from ..limits import Limits
from .base import as_list, as_map, builtin, need


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


@builtin("keys")
def keys(mapping: Any) -> list[str]:
    """The keys of a map, in order."""
    return list(as_map("keys", mapping))


@builtin("values")
def values(mapping: Any) -> list[Any]:
    """The values of a map, in order."""
    return list(as_map("values", mapping).values())


@builtin("concat")
def concat(*lists: Any, limits: Limits) -> list[Any]:
    """All the lists one after the other."""
    parts = [as_list("concat", items) for items in lists]
    total = sum(len(part) for part in parts)
    v.check_total(total, "items", limits.max_size)
    return [item for part in parts for item in part]
