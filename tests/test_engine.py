"""The Engine as an owner of configuration: its LRU of compiled code, constant folding,
user functions and delimiters."""

from __future__ import annotations

import pytest

from kdeps_expr import Context, Engine, ExprSyntaxError, Request


def test_compiled_expressions_are_cached_by_source() -> None:
    engine = Engine()
    first = engine.compile("get('a') + 1")
    assert engine.compile("get('a') + 1") is first
    assert engine.compile("get('a')  + 1") is not first


def test_the_cache_is_bounded() -> None:
    engine = Engine(cache_size=2)
    first = engine.compile("1 + get('x')")
    engine.compile("2 + get('x')")
    engine.compile("3 + get('x')")  # pushes the least recently used one out
    assert engine.compile("1 + get('x')") is not first


def test_templates_are_cached_too() -> None:
    engine = Engine()
    assert engine.compile_template("Hi {{ get('n') }}") is engine.compile_template(
        "Hi {{ get('n') }}"
    )


def test_registering_a_function_clears_what_was_compiled_with_the_old_set(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    with pytest.raises(ExprSyntaxError):
        engine.compile("double(2)")
    engine.register("double", lambda x: x * 2)
    assert engine.evaluate("double(2)") == 4
    engine.register("len", lambda x: -1)  # a user function may replace a built-in
    assert engine.evaluate("len('abc')") == -1


@pytest.mark.parametrize(
    ("source", "constant", "value"),
    [
        ("1 + 2 * 3", True, 7),
        ("len('abc') * 2", True, 6),
        ("'a' in ['a', 'b'] ? upper('yes') : 'no'", True, "YES"),
        ("true ? 1 : get('x')", True, 1),
        ("[1, 2]", False, [1, 2]),
        ("{a: 1}.a", False, 1),
        ("get('x') + 1", False, 2),
        ("1 / 0 > 1 ? 1 : 2", False, None),
    ],
    ids=[
        "arithmetic",
        "pure-builtin",
        "membership-and-ternary",
        "dead-branch",
        "lists-are-built-fresh",
        "maps-are-built-fresh",
        "request-dependent",
        "failing-subtree-fails-at-run-time",
    ],
)
def test_constant_subexpressions_fold_at_compile_time(
    hot_after: int, source: str, constant: bool, value: object
) -> None:
    expression = Engine(hot_after=hot_after).compile(source)
    assert expression.constant is constant
    if value is not None:
        assert expression(Context(Request(query={"x": 1}))) == value


def test_folded_lists_are_never_shared_between_evaluations(hot_after: int) -> None:
    expression = Engine(hot_after=hot_after).compile("[1, 2]")
    first = expression()
    first.append(3)
    assert expression() == [1, 2]


def test_delimiters_are_per_engine(hot_after: int) -> None:
    assert Engine(hot_after=hot_after).render("<< 1 + 1 >> {{ 2 }}") == "2 2"
    assert (
        Engine(hot_after=hot_after, delimiters=("{{",)).render("<< 1 + 1 >> {{ 2 }}")
        == "<< 1 + 1 >> 2"
    )
    assert (
        Engine(hot_after=hot_after, delimiters=("<<",)).render("<< 1 + 1 >> {{ 2 }}") == "2 {{ 2 }}"
    )


def test_an_unknown_delimiter_is_refused() -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        Engine(delimiters=("[[",))
    assert (
        caught.value.message == "unknown template delimiter '[['; the delimiters are '{{' and '<<'"
    )


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'b' in ['a', 'b']", True),
        ("'c' not in ['a', 'b']", True),
        ("'a' not in ['a']", False),
        ("'' in [nil]", True),
        ("nil in ['']", True),
        ("1 in [1.0, 'x']", True),
        ("true in [1]", False),
        ("get('missing') in ['a']", False),
        ("[1] in [[1]]", True),
    ],
    ids=[
        "string-found",
        "string-absent",
        "negated-found",
        "empty-string-equals-nil",
        "nil-equals-empty-string",
        "int-equals-float",
        "bool-is-not-int",
        "nil-absent",
        "list-member-not-literal",
    ],
)
def test_membership_in_a_literal_list_keeps_the_equality_rules(
    hot_after: int, source: str, value: bool
) -> None:
    assert Engine(hot_after=hot_after).evaluate(source) is value


@pytest.mark.parametrize(
    ("text", "kind", "warning"),
    [
        ("get('authenticated', 'session')", "expression", None),
        ("{{ get('user') }}", "template", None),
        ("Preferences saved", "text", None),
        ("Price (USD)", "text", None),
        ("max(kW)", "text", None),
        ("42", "text", None),
        ("lenn(get('x'))", "text", "read as text: unknown function lenn (did you mean 'len'?)"),
        ("len()", "text", "read as text: len() takes 1 argument, got 0"),
        (
            "len(get('x')",
            "text",
            "read as text: it calls len() but does not parse: unclosed '('",
        ),
    ],
    ids=[
        "call",
        "template",
        "sentence",
        "unknown-word-call",
        "bare-name",
        "number",
        "misspelt-function",
        "wrong-argument-count",
        "broken-call",
    ],
)
def test_value_strings_read_per_spec_5(text: str, kind: str, warning: str | None) -> None:
    reading = Engine().read_value(text)
    assert (reading.kind, reading.warning) == (kind, warning)
