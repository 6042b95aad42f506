"""expr-lang's bitwise built-ins on 64-bit integers: ``bitand``, ``bitor``, ``bitxor``,
``bitnand``, ``bitnot``, ``bitshl``, ``bitshr``, ``bitushr``. As everywhere in the language,
a result beyond 64 bits is an error, never a silent wrap (``bitshl(1, 63)``)."""

from __future__ import annotations

from typing import Any

from ...errors import EvaluationError
from .. import values as v
from .base import builtin, need

_MASK = (1 << 64) - 1


def _int(function: str, value: Any) -> int:
    if type(value) is not int:
        raise need(function, "integers", value)
    return value


def _shift(function: str, count: Any) -> int:
    places = _int(function, count)
    if places < 0:
        raise EvaluationError(f"{function}(): a negative shift count ({places})")
    return places


@builtin("bitand")
def bitand(a: Any, b: Any) -> int:
    """``a & b``."""
    return _int("bitand", a) & _int("bitand", b)


@builtin("bitor")
def bitor(a: Any, b: Any) -> int:
    """``a | b``."""
    return _int("bitor", a) | _int("bitor", b)


@builtin("bitxor")
def bitxor(a: Any, b: Any) -> int:
    """``a ^ b`` (exclusive or)."""
    return _int("bitxor", a) ^ _int("bitxor", b)


@builtin("bitnand")
def bitnand(a: Any, b: Any) -> int:
    """``a &^ b``: the bits of ``a`` that are not in ``b``."""
    return _int("bitnand", a) & ~_int("bitnand", b)


@builtin("bitnot")
def bitnot(a: Any) -> int:
    """``^a``: every bit flipped (``-a - 1``)."""
    return ~_int("bitnot", a)


@builtin("bitshl")
def bitshl(a: Any, count: Any) -> int:
    """``a << count``; an error when bits would leave the 64."""
    number, places = _int("bitshl", a), _shift("bitshl", count)
    if number and places >= v.INT_BITS + 1:
        raise EvaluationError("integer overflow: the result does not fit in 64 bits")
    return v.checked_int(number << places)


@builtin("bitshr")
def bitshr(a: Any, count: Any) -> int:
    """``a >> count``, keeping the sign."""
    return _int("bitshr", a) >> min(_shift("bitshr", count), 64)


@builtin("bitushr")
def bitushr(a: Any, count: Any) -> int:
    """``a >> count`` on the 64 bits of ``a`` read as unsigned (zeros shift in)."""
    shifted = (_int("bitushr", a) & _MASK) >> min(_shift("bitushr", count), 64)
    return shifted - (1 << 64) if shifted > (1 << v.INT_BITS) - 1 else shifted
