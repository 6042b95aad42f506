"""The value rules of SPEC §1 in one place: types, truthiness, operators, rendering.

Values are plain Python objects: ``None`` (nil), ``bool``, ``int``, ``float``, ``str``,
``list`` and ``dict`` with string keys. Every operator here raises
:class:`EvaluationError` (without a position: the compiled node adds it) for operands it
does not accept, and never lets ``inf``/``nan`` out.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import EvaluationError, LimitError

TYPE_NAMES: dict[type, str] = {
    type(None): "nil",
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    list: "list",
    dict: "map",
}

INT_BITS = 63
"""Integers are 64-bit signed, as in expr-lang; going past that is an error, not a wrap."""


def type_name(value: Any) -> str:
    """One of ``nil bool int float string list map`` (SPEC §3 ``type``)."""
    return TYPE_NAMES.get(type(value), type(value).__name__)


def is_number(value: Any) -> bool:
    """True for ints and floats; booleans are not numbers."""
    kind = type(value)
    return kind is int or kind is float


def truthy(value: Any) -> bool:
    """SPEC §1: nil, false, 0, 0.0, '', [] and {} are false; everything else is true."""
    return bool(value)


def checked_int(value: int) -> int:
    """``value`` if it fits in 64 bits, else an overflow error."""
    if -(1 << INT_BITS) <= value < (1 << INT_BITS):
        return value
    raise EvaluationError("integer overflow: the result does not fit in 64 bits")


def _out_of_range() -> EvaluationError:
    return EvaluationError("number out of range: the result is not a finite number")


def checked_float(value: float) -> float:
    """``value`` if finite, else an error (no inf or nan ever leaves an operator)."""
    if math.isfinite(value):
        return value
    raise _out_of_range()


def invalid_operation(op: str, left: Any, right: Any, hint: str = "") -> EvaluationError:
    """The error of ``left op right`` on operand types ``op`` does not take."""
    return EvaluationError(f"invalid operation: {type_name(left)} {op} {type_name(right)}{hint}")


def check_total(total: int, unit: str, limit: int) -> None:
    """Refuse to build a result of ``total`` characters or items when it passes ``limit``."""
    if total > limit:
        raise LimitError(f"result too large: {total:,} {unit} (the limit is {limit:,})")


def check_size(value: Any, limit: int) -> Any:
    """``value`` unchanged, unless it is a string or list longer than ``limit``."""
    if type(value) in (str, list):
        check_total(len(value), "characters" if type(value) is str else "items", limit)
    return value


def add(left: Any, right: Any, limit: int) -> Any:
    """``+``: numbers add, strings and lists concatenate, maps merge; nil is the identity."""
    if left is None:
        return right
    if right is None:
        return left
    kind = type(left)
    if is_number(left) and is_number(right):
        if kind is int and type(right) is int:
            return checked_int(left + right)
        return checked_float(left + right)
    if kind is type(right):
        if kind is str or kind is list:
            if len(left) + len(right) > limit:
                return check_size(left + right, limit)
            return left + right
        if kind is dict:
            return {**left, **right}
    if (kind is str and is_number(right)) or (is_number(left) and type(right) is str):
        raise invalid_operation(
            "+", left, right, " (convert the number with string(x) to concatenate)"
        )
    raise invalid_operation("+", left, right)


def subtract(left: Any, right: Any) -> Any:
    """``-`` on two numbers."""
    if is_number(left) and is_number(right):
        if type(left) is int and type(right) is int:
            return checked_int(left - right)
        return checked_float(left - right)
    raise invalid_operation("-", left, right)


def multiply(left: Any, right: Any) -> Any:
    """``*`` on two numbers, and nothing else (``'7' * 2`` is an error, never ``'77'``)."""
    if is_number(left) and is_number(right):
        if type(left) is int and type(right) is int:
            return checked_int(left * right)
        return checked_float(left * right)
    if type(left) is str or type(right) is str:
        hint = " (* multiplies numbers: convert text with int(x), repeat it with repeat(s, n))"
        raise invalid_operation("*", left, right, hint)
    raise invalid_operation("*", left, right)


def range_of(start: Any, stop: Any, limit: int) -> list[int]:
    """``a..b``: the integers from ``a`` to ``b``, both included; empty when ``b < a``."""
    if type(start) is not int or type(stop) is not int:
        raise invalid_operation("..", start, stop, " (a range needs two integers)")
    check_total(stop - start + 1, "items", limit)
    return list(range(start, stop + 1))


def divide(left: Any, right: Any) -> float:
    """``/`` always gives a float; division by zero is an error."""
    if is_number(left) and is_number(right):
        if right == 0:
            raise EvaluationError("division by zero")
        try:
            return checked_float(left / right)
        except OverflowError:
            raise _out_of_range() from None
    raise invalid_operation("/", left, right)


def modulo(left: Any, right: Any) -> int:
    """``%`` on integers, with the sign of the dividend (``-7 % 3`` is ``-1``)."""
    if type(left) is int and type(right) is int:
        if right == 0:
            raise EvaluationError("modulo by zero")
        remainder = abs(left) % abs(right)
        return remainder if left >= 0 else -remainder
    raise invalid_operation("%", left, right, " (% needs two integers)")


def power(left: Any, right: Any) -> Any:
    """``**``: an int for int operands and a non-negative exponent, else a float."""
    if is_number(left) and is_number(right):
        if type(left) is int and type(right) is int and right >= 0:
            if left not in (0, 1, -1) and right * max(left.bit_length() - 1, 1) > INT_BITS:
                raise EvaluationError("integer overflow: the result does not fit in 64 bits")
            return checked_int(left**right)
        if left == 0 and right < 0:
            raise EvaluationError("division by zero")
        try:
            result = float(left) ** float(right)
        except OverflowError:
            raise _out_of_range() from None
        if isinstance(result, complex):
            raise EvaluationError("invalid operation: a negative number to a fractional power")
        return checked_float(result)
    raise invalid_operation("**", left, right)


def negate(value: Any) -> Any:
    """Unary ``-``."""
    if type(value) is int:
        return checked_int(-value)  # -(-2**63) does not fit in 64 bits
    if is_number(value):
        return -value
    raise EvaluationError(f"invalid operation: -{type_name(value)}")


def plus(value: Any) -> Any:
    """Unary ``+``: a number unchanged."""
    if is_number(value):
        return value
    raise EvaluationError(f"invalid operation: +{type_name(value)}")


def equal(left: Any, right: Any) -> bool:
    """``==``: never raises; different types are unequal except ``1 == 1.0`` and ``nil == ''``."""
    kind = type(left)
    if kind is type(right):
        if kind is list or kind is dict:
            return _equal_containers(left, right, set())
        return bool(left == right)
    if is_number(left) and is_number(right):
        return bool(left == right)
    return (left is None and right == "") or (left == "" and right is None)


def _equal_containers(left: Any, right: Any, compared: set[tuple[int, int]]) -> bool:
    """Deep ``==`` of two lists or two maps. Each pair of containers is compared once, so
    values sharing sub-lists (``[[[1] * 1000] * 1000] * 1000``) cost their distinct size."""
    if left is right or (id(left), id(right)) in compared:
        return True
    compared.add((id(left), id(right)))
    pairs: Iterable[tuple[Any, Any]]
    if type(left) is list:
        if len(left) != len(right):
            return False
        pairs = zip(left, right, strict=True)
    else:
        if left.keys() != right.keys():
            return False
        pairs = ((value, right[key]) for key, value in left.items())
    for a, b in pairs:
        kind = type(a)
        if kind is type(b) and (kind is list or kind is dict):
            if not _equal_containers(a, b, compared):
                return False
        elif not equal(a, b):
            return False
    return True


ORDER_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ORDERED = (int, float, str)


def ordering(op: str) -> Callable[[Any, Any], bool]:
    """The function behind ``<`` ``<=`` ``>`` ``>=``: two numbers or two strings, else an error."""
    test = ORDER_TESTS[op]

    def compare(left: Any, right: Any) -> bool:
        kind, other = type(left), type(right)
        if kind in _ORDERED and other in _ORDERED and (kind is str) == (other is str):
            return bool(test(left, right))
        raise EvaluationError(f"cannot compare {type_name(left)} {op} {type_name(right)}")

    return compare


def contained(item: Any, container: Any) -> bool:
    """``item in container``: list membership, map keys, substrings."""
    kind = type(container)
    if kind is list:
        if type(item) is str and item:  # a non-empty string equals only itself
            return item in container
        return any(equal(item, element) for element in container)
    if kind is dict:
        return type(item) is str and item in container
    if kind is str:
        if type(item) is str:
            return item in container
        raise invalid_operation("in", item, container, " (a substring test needs two strings)")
    raise invalid_operation("in", item, container)


def negated(op: str, test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
    """``op`` (``not in``, ``not contains`` …) as the negation of ``test``; an error about
    the operand types names the whole operator: ``invalid operation: int not in int``."""
    base = op.removeprefix("not ")

    def run(left: Any, right: Any) -> bool:
        try:
            return not test(left, right)
        except EvaluationError as exc:
            types = f"{type_name(left)} {base} {type_name(right)}"
            if not exc.message.startswith(f"invalid operation: {types}"):
                raise
            rest = exc.message.removeprefix(f"invalid operation: {types}")
            raise invalid_operation(op, left, right, rest) from None

    return run


def string_test(op: str, left: Any, right: Any) -> bool:
    """``contains``, ``startsWith``, ``endsWith`` on two strings."""
    if type(left) is str and type(right) is str:
        if op == "contains":
            return right in left
        if op == "startsWith":
            return left.startswith(right)
        return left.endswith(right)
    raise invalid_operation(op, left, right)


def coalesce(left: Any, right: Any) -> Any:
    """``??``: ``right`` when ``left`` is nil or ''."""
    return right if left is None or left == "" else left


def to_json(value: Any) -> str:
    """Compact JSON, map keys in their stored order, non-ASCII kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(value: Any) -> str:
    """SPEC §4: how a value reads inside text (``string(x)`` and template blocks)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return to_json(value)


def json_size(value: Any, limit: int) -> int:
    """``len(to_json(value))`` without string escapes, counted only until it passes ``limit``."""
    size = 0
    stack = [value]
    while stack and size <= limit:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            size += len(item) + 2
        elif kind is list:
            size += len(item) + 2
            stack.extend(item)
        elif kind is dict:
            size += 2 * len(item) + 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif item is None or item is True:
            size += 4
        elif item is False:
            size += 5
        else:
            size += len(repr(item))  # an int's digits, a float's shortest form
    return size


def bounded_json(value: Any, limit: int) -> str:
    """:func:`to_json`, refusing a text longer than ``limit`` before building it (the
    estimate does not count string escapes, so the built text is checked as well)."""
    if json_size(value, limit) <= limit:
        text = to_json(value)
        if len(text) <= limit:
            return text
    raise LimitError(f"result too large: over {limit:,} characters of JSON")


def member(value: Any, name: str) -> Any:
    """``value.name``: a map's entry (nil when missing), nil on nil, projected over a list."""
    kind = type(value)
    if kind is dict:
        return value.get(name)
    if value is None:
        return None
    if kind is list:
        return project(value, name)
    raise EvaluationError(f"cannot read member {name!r} of {type_name(value)}")


def project(items: list[Any], name: str) -> list[Any]:
    """``items.name``: each item's member (SPEC §2 projection)."""
    try:  # a list of maps, the common case: only a map has .get among the value types
        return [item.get(name) for item in items]
    except AttributeError:
        return _project(items, name, {})


def _project(items: list[Any], name: str, done: dict[int, list[Any]]) -> list[Any]:
    """``items.name``. A sub-list met again is projected once (the results share it too),
    so values sharing sub-lists (``[[[{}] * 1000] * 1000] * 1000``) cost their distinct size."""
    result = done.get(id(items))
    if result is None:
        result = done[id(items)] = [
            item.get(name)
            if type(item) is dict
            else _project(item, name, done)
            if type(item) is list
            else member(item, name)
            for item in items
        ]
    return result


def index(value: Any, key: Any) -> Any:
    """``value[key]``: list and string positions (negative from the end), map keys, nil on nil."""
    kind = type(value)
    if kind is list or kind is str:
        if type(key) is not int:
            raise EvaluationError(f"{type_name(value)} index must be an int, got {type_name(key)}")
        if not -len(value) <= key < len(value):
            raise EvaluationError(
                f"index {key} out of range for a {type_name(value)} of length {len(value)}"
            )
        return value[key]
    if kind is dict:
        if type(key) is not str:
            if key is None:
                return None  # no map holds a nil key (SPEC §2)
            raise EvaluationError(f"map key must be a string, got {type_name(key)}")
        return value.get(key)
    if value is None:
        return None
    raise EvaluationError(f"cannot index {type_name(value)}")


def slice_of(value: Any, lower: Any, upper: Any) -> Any:
    """``value[lower:upper]`` on a list or string; bounds clamp, nil on nil."""
    if value is None:
        return None
    if type(value) not in (list, str):
        raise EvaluationError(f"cannot slice {type_name(value)}")
    for bound in (lower, upper):
        if bound is not None and type(bound) is not int:
            raise EvaluationError(f"slice bounds must be ints, got {type_name(bound)}")
    return value[lower:upper]
