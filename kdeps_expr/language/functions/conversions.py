"""Conversions between value types: ``int``, ``float``, ``string``, ``bool``, ``type``, ``json``,
``default``."""

from __future__ import annotations

import math
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..limits import Limits
from .base import builtin, need, shown


@builtin("int")
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
            raise EvaluationError(f"int(): {shown(value)} is not an integer") from None
    raise need("int", "a number or a string", value)


@builtin("float")
def to_float(value: Any) -> float:
    """A float from a number or a numeric string."""
    kind = type(value)
    if kind in (int, float):
        return v.checked_float(float(value))
    if kind is str:
        try:
            number = float(value.strip())
        except ValueError:
            raise EvaluationError(f"float(): {shown(value)} is not a number") from None
        if not math.isfinite(number):
            raise EvaluationError(f"float(): {shown(value)} is not a finite number")
        return number
    raise need("float", "a number or a string", value)


@builtin("string")
def to_string(value: Any, *, limits: Limits) -> str:
    """The value as text, rendered as templates render it (SPEC §4)."""
    kind = type(value)
    if kind is list or kind is dict:
        return v.bounded_json(value, limits.max_size)
    return v.render(value)


_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


@builtin("bool")
def to_bool(value: Any) -> bool:
    """Truthiness, except that strings must spell a boolean (``'false'`` is false)."""
    if type(value) is str:
        word = value.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise EvaluationError(f"bool(): {shown(value)} is not true/false, yes/no, on/off or 1/0")
    return v.truthy(value)


@builtin("type")
def type_of(value: Any) -> str:
    """``nil``, ``bool``, ``int``, ``float``, ``string``, ``list`` or ``map``."""
    return v.type_name(value)


@builtin("json")
def json_(value: Any, *, limits: Limits) -> str:
    """Compact JSON, map keys in their stored order."""
    return v.bounded_json(value, limits.max_size)


@builtin("default")
def default(value: Any, fallback: Any) -> Any:
    """``fallback`` when ``value`` is nil or ''."""
    return fallback if value is None or value == "" else value
