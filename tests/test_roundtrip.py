"""``str(node)`` prints valid source back: for every value row of the suite, the printed
source parses to the same tree and evaluates to the same value; plus the parentheses the
printer must add, and random trees from hypothesis."""

from __future__ import annotations

from typing import Any

import pytest
from expr_cases import ALL_ROWS, assert_same, expressions, make_context
from hypothesis import HealthCheck, given, settings

from kdeps_expr import Engine, ExprError
from kdeps_expr.language.parser import parse


@pytest.mark.parametrize(("source", "expected"), ALL_ROWS)
def test_printed_source_evaluates_the_same(engine: Engine, source: str, expected: Any) -> None:
    node = parse(source)
    printed = str(node)
    reparsed = parse(printed)
    assert reparsed == node, printed
    assert str(reparsed) == printed
    assert_same(engine.evaluate(printed, make_context()), expected)


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        pytest.param("(1 + 2) * 3", "(1 + 2) * 3", id="sum-in-product"),
        pytest.param("1 + (2 * 3)", "1 + 2 * 3", id="redundant-parentheses-dropped"),
        pytest.param("1 - (2 - 3)", "1 - (2 - 3)", id="right-operand-same-level"),
        pytest.param("(1 - 2) - 3", "1 - 2 - 3", id="left-operand-same-level"),
        pytest.param("(2 ** 3) ** 2", "(2 ** 3) ** 2", id="power-left-grouped"),
        pytest.param("2 ** (3 ** 2)", "2 ** 3 ** 2", id="power-right-natural"),
        pytest.param("(-2) ** 2", "(-2) ** 2", id="negative-base"),
        pytest.param("-(2 ** 2)", "-2 ** 2", id="negated-power"),
        pytest.param("2 ** -1", "2 ** -1", id="signed-exponent"),
        pytest.param("(nil ?? 2) ** 3", "nil ?? 2 ** 3", id="coalesce-base"),
        pytest.param("2 ** (nil ?? 3)", "2 ** nil ?? 3", id="coalesce-exponent"),
        pytest.param("(1 + nil) ?? 2", "(1 + nil) ?? 2", id="sum-in-coalesce"),
        pytest.param("-(nil ?? 1)", "-nil ?? 1", id="negated-coalesce"),
        pytest.param("(-1) ?? 2", "(-1) ?? 2", id="unary-in-coalesce"),
        pytest.param("!(1 == 1)", "!(1 == 1)", id="not-of-comparison"),
        pytest.param("(!true) == false", "!true == false", id="comparison-of-not"),
        pytest.param("not true", "!true", id="not-word"),
        pytest.param("true and false or true", "true && false || true", id="word-operators"),
        pytest.param("(true || false) && false", "(true || false) && false", id="or-in-and"),
        pytest.param("(1 ? 2 : 3) + 1", "(1 ? 2 : 3) + 1", id="ternary-in-sum"),
        pytest.param(
            "(true ? 1 : 0) ? 'a' : 'b'", "(true ? 1 : 0) ? 'a' : 'b'", id="ternary-as-test"
        ),
        pytest.param(
            "true ? 1 : (false ? 2 : 3)", "true ? 1 : false ? 2 : 3", id="ternary-right-natural"
        ),
        pytest.param("(0 ?: 1) ?: 2", "(0 ?: 1) ?: 2", id="elvis-left-grouped"),
        pytest.param("(1 + 2).x", "(1 + 2).x", id="member-of-sum"),
        pytest.param("(-[1])[0]", "(-[1])[0]", id="index-of-unary"),
        pytest.param("-[1][0]", "-[1][0]", id="unary-of-index"),
        pytest.param("a?.b", "a?.b", id="optional-member"),
        pytest.param("'it\\'s'", "'it\\'s'", id="escaped-quote"),
        pytest.param('"say \\"hi\\""', "'say \"hi\"'", id="double-quotes-become-single"),
        pytest.param("'\\b\\f\\n\\r\\t\\\\'", "'\\b\\f\\n\\r\\t\\\\'", id="control-escapes"),
        pytest.param("'\\u0001'", "'\\u0001'", id="other-control-character"),
        pytest.param("'\\ud83d\\ude00'", "'😀'", id="surrogate-pair"),
        pytest.param("{'a b': 1, c: 2}", "{'a b': 1, 'c': 2}", id="map-keys-quoted"),
        pytest.param("0x10 + 1_000 + .5 + 1e3", "16 + 1000 + 0.5 + 1000.0", id="numbers"),
        pytest.param("1e16", "1e+16", id="float-exponent-form"),
        pytest.param("1 // comment\n+ /* c */ 2", "1 + 2", id="comments-dropped"),
        pytest.param("'a' not in ['b']", "'a' not in ['b']", id="not-in"),
        pytest.param(
            "filter(x, .a > 1 && # != nil)", "filter(x, .a > 1 && # != nil)", id="predicate"
        ),
        pytest.param("x[1:]", "x[1:]", id="slice-open-end"),
        pytest.param("x[:-1]", "x[:-1]", id="slice-open-start"),
        pytest.param("x[:]", "x[:]", id="slice-whole"),
        pytest.param("x | f(1) | g()", "g(f(x, 1))", id="pipe-is-a-call"),
        pytest.param("(1..3) + [4]", "(1 .. 3) + [4]", id="range-in-sum"),
        pytest.param("1..(3 + 1)", "1 .. 3 + 1", id="range-below-sum"),
        pytest.param("(1 == 2)..3", "(1 == 2) .. 3", id="comparison-in-range"),
        pytest.param("a < b < c", "a < b < c", id="chain"),
        pytest.param("(a < b) < c", "(a < b) < c", id="not-a-chain"),
        pytest.param("((a < b) < c) < d", "((a < b) < c) < d", id="not-a-chain-twice"),
        pytest.param("(a < b < c) < d", "(a < b < c) < d", id="chain-in-parentheses"),
        pytest.param("a ?? -1", "a ?? -1", id="coalesce-signed"),
        pytest.param("a ?? (b + 1)", "a ?? (b + 1)", id="coalesce-sum"),
        pytest.param("let x = 1; let y = x; y", "let x = 1; let y = x; y", id="let-chain"),
        pytest.param("(let x = 1; x) + 1", "(let x = 1; x) + 1", id="let-in-sum"),
        pytest.param("f(let x = 1; x)", "f((let x = 1; x))", id="let-argument"),
        pytest.param("a; (b; c)", "a; (b; c)", id="sequence-nested-last"),
        pytest.param("(a; b); c", "(a; b); c", id="sequence-nested-first"),
        pytest.param("if a { b; c } else { d }", "a ? (b; c) : d", id="if-blocks"),
        pytest.param("filter(x, {# > 1; true})", "filter(x, {# > 1; true})", id="braces"),
        pytest.param("map(x, #index + #acc)", "map(x, #index + #acc)", id="pointers"),
        pytest.param("::len(x)", "::len(x)", id="builtin-prefix"),
        pytest.param("x?.[0]", "x?.[0]", id="optional-index"),
        pytest.param("{a: 1, (b): 2, (1): 3}", "{'a': 1, (b): 2, (1): 3}", id="computed-keys"),
        pytest.param("`a\\b`", "'a\\\\b'", id="raw-string"),
        pytest.param("0o17 + 0b11 + 2.", "15 + 3 + 2.0", id="number-forms"),
        pytest.param("request.file('a')", "request.file('a')", id="method-call"),
        pytest.param("(a + b).f()", "(a + b).f()", id="method-on-group"),
    ],
)
def test_printer_parenthesises_only_where_needed(source: str, printed: str) -> None:
    node = parse(source)
    assert str(node) == printed
    assert parse(printed) == node


def _outcome(engine: Engine, source: str) -> Any:
    try:
        return ("value", repr(engine.evaluate(source, make_context())))
    except ExprError as error:
        return ("error", type(error).__name__, error.message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_random_trees_print_back(engine: Engine, source: str) -> None:
    try:
        node = parse(source)
    except ExprError:
        return
    printed = str(node)
    assert parse(printed) == node, printed
    assert _outcome(engine, printed) == _outcome(engine, source)
