"""SPEC §1, the value rules: one row per rule, and the operand types each operator refuses."""

from __future__ import annotations

from typing import Any

import pytest
from expr_cases import VALUES, assert_same, make_context

from kdeps_expr import Engine, EvaluationError, ExprError, ExprSyntaxError, LimitError

TIMES = " (* multiplies numbers: convert text with int(x), repeat it with repeat(s, n))"

CONCAT_HINT = " (convert the number with string(x) to concatenate)"


@pytest.mark.parametrize(("source", "expected"), VALUES)
def test_value(engine: Engine, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, make_context()), expected)


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        # any operator other than + with a nil operand
        pytest.param("nil - 1", EvaluationError, "invalid operation: nil - int", id="nil-minus"),
        pytest.param("1 - nil", EvaluationError, "invalid operation: int - nil", id="minus-nil"),
        pytest.param("nil * 2", EvaluationError, "invalid operation: nil * int", id="nil-times"),
        pytest.param("nil / 2", EvaluationError, "invalid operation: nil / int", id="nil-divide"),
        pytest.param(
            "nil % 2",
            EvaluationError,
            "invalid operation: nil % int (% needs two integers)",
            id="nil-modulo",
        ),
        pytest.param("nil ** 2", EvaluationError, "invalid operation: nil ** int", id="nil-power"),
        pytest.param("-nil", EvaluationError, "invalid operation: -nil", id="minus-nil-unary"),
        pytest.param("+nil", EvaluationError, "invalid operation: +nil", id="plus-nil-unary"),
        pytest.param("nil < 1", EvaluationError, "cannot compare nil < int", id="nil-less"),
        pytest.param("nil >= nil", EvaluationError, "cannot compare nil >= nil", id="nil-compare"),
        pytest.param(
            "'a' in nil", EvaluationError, "invalid operation: string in nil", id="in-nil"
        ),
        pytest.param(
            "nil contains 'a'",
            EvaluationError,
            "invalid operation: nil contains string",
            id="nil-contains",
        ),
        # string + number names both types and suggests string(x)
        pytest.param(
            "'a' + 1",
            EvaluationError,
            f"invalid operation: string + int{CONCAT_HINT}",
            id="string-plus-int",
        ),
        pytest.param(
            "1.5 + 'a'",
            EvaluationError,
            f"invalid operation: float + string{CONCAT_HINT}",
            id="float-plus-string",
        ),
        # other mismatched operands
        pytest.param("true + 1", EvaluationError, "invalid operation: bool + int", id="bool-plus"),
        pytest.param(
            "{} + []", EvaluationError, "invalid operation: map + list", id="map-plus-list"
        ),
        pytest.param(
            "[1] + 'a'", EvaluationError, "invalid operation: list + string", id="list-plus-string"
        ),
        pytest.param(
            "'a' - 'b'", EvaluationError, "invalid operation: string - string", id="string-minus"
        ),
        pytest.param(
            "[1] - [1]", EvaluationError, "invalid operation: list - list", id="list-minus"
        ),
        pytest.param(
            "'a' * 'b'",
            EvaluationError,
            f"invalid operation: string * string{TIMES}",
            id="string-times-string",
        ),
        pytest.param(
            "'a' * 1.5",
            EvaluationError,
            f"invalid operation: string * float{TIMES}",
            id="string-times-float",
        ),
        pytest.param(
            "'ab' * 3",
            EvaluationError,
            f"invalid operation: string * int{TIMES}",
            id="string-times-int",
        ),
        pytest.param(
            "get('qty') * 2",
            EvaluationError,
            f"invalid operation: string * int{TIMES}",
            id="request-text-times-int",
        ),
        pytest.param(
            "2 * get('qty')",
            EvaluationError,
            f"invalid operation: int * string{TIMES}",
            id="int-times-request-text",
        ),
        pytest.param("[1] * 2", EvaluationError, "invalid operation: list * int", id="list-times"),
        pytest.param("-'a'", EvaluationError, "invalid operation: -string", id="minus-string"),
        # comparisons: numbers with numbers, strings with strings
        pytest.param("1 < 'a'", EvaluationError, "cannot compare int < string", id="int-string"),
        pytest.param(
            "'a' > 1.5", EvaluationError, "cannot compare string > float", id="string-float"
        ),
        pytest.param("[1] < [2]", EvaluationError, "cannot compare list < list", id="lists"),
        pytest.param("{} <= {}", EvaluationError, "cannot compare map <= map", id="maps"),
        pytest.param("true > false", EvaluationError, "cannot compare bool > bool", id="bools"),
        pytest.param("(1 < 2) < 3", EvaluationError, "cannot compare bool < int", id="grouped"),
        pytest.param("1 < 'a' < 3", EvaluationError, "cannot compare int < string", id="chained"),
        # division and modulo by zero, never inf or nan
        pytest.param("1 / 0", EvaluationError, "division by zero", id="divide-by-zero"),
        pytest.param("1.5 / 0", EvaluationError, "division by zero", id="float-divide-by-zero"),
        pytest.param("1 / 0.0", EvaluationError, "division by zero", id="divide-by-zero-float"),
        pytest.param("0 / 0", EvaluationError, "division by zero", id="zero-by-zero"),
        pytest.param("1 % 0", EvaluationError, "modulo by zero", id="modulo-by-zero"),
        pytest.param("0 ** -1", EvaluationError, "division by zero", id="zero-to-negative"),
        pytest.param(
            "7.5 % 2",
            EvaluationError,
            "invalid operation: float % int (% needs two integers)",
            id="modulo-float",
        ),
        pytest.param(
            "7 % 2.0",
            EvaluationError,
            "invalid operation: int % float (% needs two integers)",
            id="modulo-by-float",
        ),
        pytest.param(
            "1e308 * 10",
            EvaluationError,
            "number out of range: the result is not a finite number",
            id="float-overflow",
        ),
        pytest.param(
            "(-8) ** 0.5",
            EvaluationError,
            "invalid operation: a negative number to a fractional power",
            id="negative-fractional-power",
        ),
        pytest.param("1e999", ExprSyntaxError, "number out of range: 1e999", id="inf-literal"),
        # integers are 64-bit: going past that is an error, not a wrap or a bignum
        pytest.param(
            "9223372036854775807 + 1",
            EvaluationError,
            "integer overflow: the result does not fit in 64 bits",
            id="int-overflow",
        ),
        pytest.param(
            "-9223372036854775807 - 2",
            EvaluationError,
            "integer overflow: the result does not fit in 64 bits",
            id="int-underflow",
        ),
        pytest.param(
            "abs(-9223372036854775807 - 1)",
            EvaluationError,
            "integer overflow: the result does not fit in 64 bits",
            id="abs-overflow",
        ),
        pytest.param(
            "-(-9223372036854775807 - 1)",
            EvaluationError,
            "integer overflow: the result does not fit in 64 bits",
            id="negate-overflow",
        ),
        pytest.param(
            "2 ** 63",
            EvaluationError,
            "integer overflow: the result does not fit in 64 bits",
            id="power-overflow",
        ),
        pytest.param(
            "9223372036854775808",
            ExprSyntaxError,
            "integer out of range: 9223372036854775808 does not fit in 64 bits",
            id="int-literal-overflow",
        ),
        # member access on numbers, strings and booleans; out-of-range indexes
        pytest.param("(1).x", EvaluationError, "cannot read member 'x' of int", id="member-int"),
        pytest.param(
            "'s'.len", EvaluationError, "cannot read member 'len' of string", id="member-string"
        ),
        pytest.param("true.x", EvaluationError, "cannot read member 'x' of bool", id="member-bool"),
        pytest.param(
            "[1, 'a'].x",
            EvaluationError,
            "cannot read member 'x' of int",
            id="projection-applies-rules",
        ),
        pytest.param(
            "[][0]",
            EvaluationError,
            "index 0 out of range for a list of length 0",
            id="index-empty",
        ),
        pytest.param(
            "[1, 2][-3]",
            EvaluationError,
            "index -3 out of range for a list of length 2",
            id="negative-out-of-range",
        ),
        pytest.param(
            "'abc'[3]",
            EvaluationError,
            "index 3 out of range for a string of length 3",
            id="string-out-of-range",
        ),
        pytest.param(
            "[1]['a']",
            EvaluationError,
            "list index must be an int, got string",
            id="list-string-index",
        ),
        pytest.param(
            "{'a': 1}[0]", EvaluationError, "map key must be a string, got int", id="map-int-key"
        ),
        pytest.param("(5)[0]", EvaluationError, "cannot index int", id="index-int"),
        pytest.param("(5)[0:1]", EvaluationError, "cannot slice int", id="slice-int"),
        pytest.param(
            "[1][0.5:]",
            EvaluationError,
            "slice bounds must be ints, got float",
            id="slice-float-bound",
        ),
    ],
)
def test_value_errors(engine: Engine, source: str, error: type[ExprError], message: str) -> None:
    with pytest.raises(ExprError) as caught:
        engine.evaluate(source, make_context())
    assert type(caught.value) is error
    assert caught.value.message == message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("1 / 0", id="divide"),
        pytest.param("1e308 + 1e308", id="add"),
        pytest.param("-1e308 - 1e308", id="subtract"),
        pytest.param("1e200 * 1e200", id="multiply"),
        pytest.param("10.0 ** 400", id="power"),
        pytest.param("1e308 / 1e-308", id="divide-overflow"),
        pytest.param("sum([1e308, 1e308])", id="sum"),
        pytest.param("float('inf')", id="float-inf"),
        pytest.param("float('nan')", id="float-nan"),
    ],
)
def test_no_inf_or_nan_escapes(engine: Engine, source: str) -> None:
    with pytest.raises(EvaluationError):
        engine.evaluate(source)


def test_limit_error_is_an_evaluation_error() -> None:
    assert issubclass(LimitError, EvaluationError)
    assert issubclass(EvaluationError, ExprError)
    assert issubclass(ExprSyntaxError, ExprError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, False, id="nil"),
        pytest.param(False, False, id="false"),
        pytest.param(0, False, id="zero"),
        pytest.param(0.0, False, id="zero-float"),
        pytest.param("", False, id="empty-string"),
        pytest.param([], False, id="empty-list"),
        pytest.param({}, False, id="empty-map"),
        pytest.param(True, True, id="true"),
        pytest.param(-1, True, id="int"),
        pytest.param(1e-9, True, id="float"),
        pytest.param("false", True, id="string"),
        pytest.param([None], True, id="list"),
        pytest.param({"a": None}, True, id="map"),
    ],
)
def test_truthiness_of_context_values(engine: Engine, value: Any, expected: bool) -> None:
    """Values that come from the request (not literals) follow the same truthiness."""
    context = make_context()
    context.memory["v"] = value
    assert engine.evaluate("get('v') ? true : false", context) is expected
    assert engine.evaluate("!get('v')", context) is (not expected)
    assert engine.evaluate("get('v') ?: 'else'", context) == (value if expected else "else")


def test_integers_stay_integers_through_json_and_session(engine: Engine) -> None:
    context = make_context()
    engine.evaluate("set('n', get('visits', 'session') + 1, 'session')", context)
    assert_same(context.session.data["n"], 3)
    assert engine.evaluate("json({'n': get('n', 'session')})", context) == '{"n":3}'
    assert engine.evaluate("string(get('n', 'session'))", context) == "3"


def test_plus_does_not_mutate_its_operands(engine: Engine) -> None:
    context = make_context()
    before = [dict(item) for item in context.session.data["cart"]]
    engine.evaluate("get('cart', 'session') + [get('item')]", context)
    engine.evaluate("session() + {'x': 1}", context)
    assert context.session.data["cart"] == before
    assert "x" not in context.session.data
