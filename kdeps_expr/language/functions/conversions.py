"""Conversions between value types: ``int``, ``float``, ``string``, ``bool``, ``type``, ``json``,
``default``, ``toBase64``, ``fromBase64``."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ...errors import EvaluationError
from .. import values as v
from ..limits import Limits
from .base import as_text, builtin, need, shown

_SPACE = "[ \t\r\n]*"
_INTEGER = re.compile(f"{_SPACE}(-?[0-9]+){_SPACE}")
_NUMBER = re.compile(f"{_SPACE}(-?[0-9]+(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?){_SPACE}")
"""Numbers in text as JSON writes them (leading zeros allowed), ASCII digits only, with
white space around: ``int('١٢٣')``, ``int('1_000')`` and ``float('NaN')`` are errors."""


@builtin("int")
def to_int(value: Any) -> int:
    """An integer from a number (truncated), a string of ASCII digits or a boolean."""
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    if kind is float:
        return v.checked_int(int(value))
    if kind is str:
        match = _INTEGER.fullmatch(value)
        if match is None:
            raise EvaluationError(f"int(): {shown(value)} is not an integer")
        digits = match.group(1)
        if len(digits.lstrip("-0")) > 19:  # beyond 64 bits; int() of it could take long
            raise EvaluationError("integer overflow: the result does not fit in 64 bits")
        return v.checked_int(int(digits))
    raise need("int", "a number or a string", value)


@builtin("float")
def to_float(value: Any) -> float:
    """A float from a number or a string holding a JSON number."""
    kind = type(value)
    if kind in (int, float):
        return v.checked_float(float(value))
    if kind is str:
        match = _NUMBER.fullmatch(value)
        if match is None:
            raise EvaluationError(f"float(): {shown(value)} is not a number")
        number = float(match.group(1))
        if number in (float("inf"), float("-inf")):
            raise EvaluationError(f"float(): {shown(value)} is not a finite number")
        return number
    raise need("float", "a number or a string", value)


@builtin("string", allocates=True)
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


@builtin("json", allocates=True)
def json_(value: Any, *, limits: Limits) -> str:
    """Compact JSON, map keys in their stored order."""
    return v.bounded_json(value, limits.max_size)


@builtin("default")
def default(value: Any, fallback: Any) -> Any:
    """``fallback`` when ``value`` is nil or ''."""
    return fallback if value is None or value == "" else value


@builtin("toBase64", allocates=True)
def to_base64(text: Any, *, limits: Limits) -> str:
    """The UTF-8 bytes of a string in standard base64, padded."""
    text = as_text("toBase64", text)
    v.check_total((len(text.encode()) + 2) // 3 * 4, "characters", limits.max_size)
    return base64.b64encode(text.encode()).decode("ascii")


@builtin("fromBase64", allocates=True)
def from_base64(text: Any, *, limits: Limits) -> str:
    """The text whose UTF-8 bytes a standard base64 string holds."""
    try:
        data = base64.b64decode(as_text("fromBase64", text), validate=True)
        return data.decode("utf-8")
    except (binascii.Error, ValueError):
        raise EvaluationError(f"fromBase64(): {shown(text)} is not base64 of UTF-8 text") from None
