"""SPEC §2, the syntax: literals, comments, every operator and precedence level, postfix
access, projection and predicates, each evaluated and (for precedence) pinned as a tree."""

from __future__ import annotations

from typing import Any

import pytest
from expr_cases import LANGUAGE, SYNTAX, assert_same, make_context

from kdeps_expr import Engine, ExprSyntaxError
from kdeps_expr.language import nodes as n
from kdeps_expr.language.parser import parse


@pytest.mark.parametrize(("source", "expected"), SYNTAX + LANGUAGE)
def test_syntax(engine: Engine, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, make_context()), expected)


def shape(node: n.Node) -> str:
    """The tree fully parenthesised, so a test can see how the parser grouped it."""
    if isinstance(node, n.Binary):
        return f"({shape(node.left)} {node.op} {shape(node.right)})"
    if isinstance(node, n.Unary):
        return f"({node.op}{shape(node.operand)})"
    if isinstance(node, n.Conditional):
        if node.then is None:
            return f"({shape(node.test)} ?: {shape(node.otherwise)})"
        return f"({shape(node.test)} ? {shape(node.then)} : {shape(node.otherwise)})"
    if isinstance(node, n.Member):
        return f"{shape(node.target)}{'?.' if node.optional else '.'}{node.name}"
    if isinstance(node, n.Index):
        return f"{shape(node.target)}[{shape(node.index)}]"
    if isinstance(node, n.Call):
        return f"{node.name}({', '.join(shape(arg) for arg in node.args)})"
    if isinstance(node, n.Comparison):
        links = [
            f"{op} {shape(operand)}"
            for op, operand in zip(node.ops, node.operands[1:], strict=True)
        ]
        return f"({shape(node.operands[0])} {' '.join(links)})"
    return str(node)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        pytest.param("a ? b : c ? d : e", "(a ? b : (c ? d : e))", id="ternary-right"),
        pytest.param("a ? b ? c : d : e", "(a ? (b ? c : d) : e)", id="ternary-in-then"),
        pytest.param("a ?: b ?: c", "(a ?: (b ?: c))", id="elvis-right"),
        pytest.param("a || b ? c : d", "((a || b) ? c : d)", id="or-above-ternary"),
        pytest.param("a ?: b || c", "(a ?: (b || c))", id="or-above-elvis"),
        pytest.param("a || b && c", "(a || (b && c))", id="and-above-or"),
        pytest.param("a or b and c", "(a || (b && c))", id="words"),
        pytest.param("a || b || c", "((a || b) || c)", id="or-left"),
        pytest.param("a && b == c", "(a && (b == c))", id="compare-above-and"),
        pytest.param("a == b + c", "(a == (b + c))", id="sum-above-compare"),
        pytest.param("a in b + c", "(a in (b + c))", id="sum-above-in"),
        pytest.param("a not in b", "(a not in b)", id="not-in"),
        pytest.param("a not contains b", "(a not contains b)", id="not-contains"),
        pytest.param("a not startsWith b", "(a not startsWith b)", id="not-starts-with"),
        pytest.param("a not endsWith b", "(a not endsWith b)", id="not-ends-with"),
        pytest.param("a not matches b", "(a not matches b)", id="not-matches"),
        pytest.param("a < b == c", "((a < b) == c)", id="compare-left"),
        pytest.param("a + b * c", "(a + (b * c))", id="product-above-sum"),
        pytest.param("a - b - c", "((a - b) - c)", id="sum-left"),
        pytest.param("a / b % c", "((a / b) % c)", id="product-left"),
        pytest.param("-a * b", "((-a) * b)", id="unary-above-product"),
        pytest.param("!a == b", "((!a) == b)", id="not-above-compare"),
        pytest.param("not a == b", "((!a) == b)", id="not-word"),
        pytest.param("-a ** b", "(-(a ** b))", id="power-above-unary"),
        pytest.param("a ** -b", "(a ** (-b))", id="signed-exponent"),
        pytest.param("a ** b ** c", "(a ** (b ** c))", id="power-right"),
        pytest.param("a ^ b", "(a ** b)", id="caret"),
        pytest.param("a ** b ?? c", "(a ** (b ?? c))", id="coalesce-above-power"),
        pytest.param("-a ?? b", "(-(a ?? b))", id="coalesce-above-unary"),
        pytest.param("a ?? b + c", "((a ?? b) + c)", id="coalesce-above-sum"),
        pytest.param("a + b ?? c", "(a + (b ?? c))", id="coalesce-right-of-sum"),
        pytest.param("a ?? b == c", "((a ?? b) == c)", id="coalesce-above-compare"),
        pytest.param("a ?? b ?? c", "((a ?? b) ?? c)", id="coalesce-left"),
        pytest.param("a ?? b.c", "(a ?? b.c)", id="postfix-above-coalesce"),
        pytest.param("-a.b[c]", "(-a.b[c])", id="postfix-above-unary"),
        pytest.param("a?.b.c", "a?.b.c", id="optional-member"),
        pytest.param("f(a)[0].b", "f(a)[0].b", id="call-index-member"),
        pytest.param("a | f()", "f(a)", id="pipe"),
        pytest.param("a | f(b)", "f(a, b)", id="pipe-first-argument"),
        pytest.param("a + b | f()", "f((a + b))", id="pipe-loosest"),
        pytest.param("a || b | f()", "f((a || b))", id="pipe-below-or"),
        pytest.param("a | f() + 1", "(f(a) + 1)", id="pipe-then-operator"),
        pytest.param("a | f() | g()", "g(f(a))", id="pipe-chain"),
        pytest.param("a | f() ? b : c", "(f(a) ? b : c)", id="pipe-then-ternary"),
        pytest.param("a ? b : c | f()", "(a ? b : f(c))", id="pipe-in-branch"),
        pytest.param("a..b + 1", "(a .. (b + 1))", id="range-below-sum"),
        pytest.param("x in a..b", "(x in (a .. b))", id="range-above-in"),
        pytest.param("-a..b", "((-a) .. b)", id="unary-above-range"),
        pytest.param("a < b < c", "(a < b < c)", id="chain"),
        pytest.param("a < b <= c > d", "(a < b <= c > d)", id="chain-of-four"),
        pytest.param("(a < b) < c", "((a < b) < c)", id="parentheses-break-a-chain"),
        pytest.param("a < b == c", "((a < b) == c)", id="equality-does-not-chain"),
        pytest.param("a == b < c", "((a == b) < c)", id="chain-after-equality"),
        pytest.param("a ?? -b", "(a ?? (-b))", id="coalesce-signed-operand"),
        pytest.param("a ?? !b.c", "(a ?? (!b.c))", id="coalesce-negated-operand"),
    ],
)
def test_precedence_tree(source: str, tree: str) -> None:
    # Bare names parse (compiling them is what fails), which keeps the trees readable.
    assert shape(parse(source)) == tree


@pytest.mark.parametrize(
    ("source", "same_as"),
    [
        pytest.param("a and b or not c", "a && b || !c", id="words"),
        pytest.param("null", "nil", id="null"),
        pytest.param("a ^ b", "a ** b", id="caret"),
        pytest.param("0x2A", "42", id="hex"),
        pytest.param("1_000", "1000", id="underscore"),
        pytest.param(".5", "0.5", id="leading-dot"),
        pytest.param("1e3", "1000.0", id="exponent"),
        pytest.param('"a"', "'a'", id="quotes"),
        pytest.param("{a: 1}", "{'a': 1}", id="bare-key"),
        pytest.param("( ( 1 ) )", "1", id="parentheses"),
        pytest.param("f(1,)", "f(1)", id="trailing-comma"),
        pytest.param("1 /* x */ + // y\n 2", "1 + 2", id="comments"),
        pytest.param("if a { b } else { c }", "a ? b : c", id="if-else"),
        pytest.param("if a { b } else if c { d } else { e }", "a ? b : c ? d : e", id="else-if"),
        pytest.param("0o10 + 0b11", "8 + 3", id="octal-binary"),
        pytest.param("2.", "2.0", id="trailing-dot"),
        pytest.param("`x\\n`", "'x\\\\n'", id="raw-string"),
        pytest.param("{('a'): 1}", "{a: 1}", id="constant-computed-key"),
        pytest.param("x; y;", "x; y", id="trailing-semicolon"),
        pytest.param("filter(x, {# > 1})", "filter(x, {# > 1})", id="braces"),
    ],
)
def test_equivalent_spellings(source: str, same_as: str) -> None:
    assert parse(source) == parse(same_as)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("foo", "unknown name foo", id="bare-name"),
        pytest.param("1 + visits", "unknown name visits", id="bare-name-in-sum"),
        pytest.param(
            "# > 1",
            "# is only valid inside a predicate, such as filter(items, .price > 1)",
            id="element-outside-predicate",
        ),
        pytest.param(
            ".a",
            ".a is only valid inside a predicate, such as filter(items, .price > 1)",
            id="member-outside-predicate",
        ),
        pytest.param(
            "filter(#, # > 1)",
            "# is only valid inside a predicate, such as filter(items, .price > 1)",
            id="element-as-predicate-subject",
        ),
        pytest.param(
            "len(.a)",
            ".a is only valid inside a predicate, such as filter(items, .price > 1)",
            id="member-in-plain-call",
        ),
    ],
)
def test_names_outside_predicates_are_errors(engine: Engine, source: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile(source)
    assert caught.value.message == message


def test_nil_in_list_is_membership(engine: Engine) -> None:
    """Decision (SPEC silent): ``in`` compares with ``==``, which never raises."""
    assert engine.evaluate("nil in [1, nil]") is True
    assert engine.evaluate("nil in [1]") is False
    assert engine.evaluate("'' in [nil]") is True


def test_map_literal_repeated_key_is_an_error_naming_it(engine: Engine) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile("{a: 1, b: 2, 'a': 3}")
    assert str(caught.value) == (
        "map literal repeats the key 'a' (1:14)\n | {a: 1, b: 2, 'a': 3}\n | .............^"
    )


def test_whitespace_and_newlines_are_free(engine: Engine) -> None:
    source = "\n  filter(\n    [1, 2, 3],\n    # > 1\n  )\n"
    assert engine.evaluate(source) == [2, 3]
