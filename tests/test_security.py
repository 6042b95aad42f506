"""Break-out attempts (SPEC §1 "nothing else is ever visible", §9 limits): each ends in a
clear ExprError subclass, never a hang, a crash or a Python traceback.

Speed targets live in ``benchmarks/``; these tests only have to return. Hypothesis feeds
random text and random expression trees to every entry point of the Engine.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from expr_cases import expressions, make_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdeps_expr import (
    Context,
    Engine,
    EvaluationError,
    ExprError,
    Expression,
    ExprSyntaxError,
    LimitError,
    Limits,
)

VALUE_TYPES = (type(None), bool, int, float, str, list, dict)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_values(value: Any) -> bool:
    """True when ``value`` holds nothing but expression values (SPEC §1)."""
    if isinstance(value, list):
        return all(_only_values(item) for item in value)
    if isinstance(value, dict):
        return all(type(k) is str and _only_values(v) for k, v in value.items())
    return type(value) in VALUE_TYPES


def _raises(
    engine: Engine, error: type[ExprError], source: str, context: Context | None = None
) -> ExprError:
    with pytest.raises(ExprError) as caught:
        engine.evaluate(source, context or make_context())
    assert isinstance(caught.value, error), repr(caught.value)
    assert caught.value.__traceback__ is not None
    return caught.value


# ---- nesting ------------------------------------------------------------------------------

DEEP = 1_000


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("(" * DEEP + "1" + ")" * DEEP, id="parentheses"),
        pytest.param("[" * DEEP + "]" * DEEP, id="lists"),
        pytest.param("{a: " * DEEP + "1" + "}" * DEEP, id="maps"),
        pytest.param("abs(" * DEEP + "1" + ")" * DEEP, id="calls"),
        pytest.param("-" * DEEP + "1", id="unary-minus"),
        pytest.param("!" * DEEP + "true", id="not"),
        pytest.param("nil" + ".a" * DEEP, id="members"),
        pytest.param("nil" + "[0]" * DEEP, id="indexes"),
        pytest.param("1" + " ** 1" * DEEP, id="right-associative-power"),
        pytest.param("nil" + " ?? nil" * DEEP, id="coalesce-chain"),
        pytest.param("1" + " + 1" * DEEP, id="left-associative-sum"),
        pytest.param("true ? " * 500 + "1" + " : 0" * 500, id="ternaries"),
        pytest.param("1 ?: " * DEEP + "1", id="elvis-chain"),
        pytest.param("'" + "(" * 5000 + "' + " + "(" * 200 + "1" + ")" * 200, id="after-string"),
    ],
)
def test_deep_nesting_is_a_limit_error(engine: Engine, source: str) -> None:
    error = _raises(engine, LimitError, source)
    assert error.message in (
        "expression nested too deeply (the limit is 100 levels)",
        f"expression too long: {len(source):,} characters (the limit is 10,000)",
    )


def test_nesting_limit_boundary(engine: Engine) -> None:
    assert engine.evaluate("(" * 100 + "1" + ")" * 100) == 1
    assert engine.evaluate("-" * 99 + "1") == -1
    _raises(engine, LimitError, "(" * 101 + "1" + ")" * 101)
    _raises(engine, LimitError, "-" * 100 + "1")


def test_deep_nesting_in_template(engine: Engine) -> None:
    with pytest.raises(LimitError) as caught:
        engine.render("x {{ " + "(" * DEEP + "1" + ")" * DEEP + " }}")
    error = caught.value
    # The caret is on the 101st bracket, counted from the start of the template text.
    assert (error.line, error.column, error.offset) == (1, 106, 105)


def test_brackets_inside_strings_do_not_count_as_nesting(engine: Engine) -> None:
    assert engine.evaluate("'" + "([{" * 3000 + "'") == "([{" * 3000


# ---- size of what an expression produces ----------------------------------------------------

TEN_MB = 10_000_000


TOO_LARGE = "result too large: "
BUILT_TOO_MUCH = (
    "expression built too much: over 1,000,000 items and characters in one evaluation (max_size)"
)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(f"repeat('x', {TEN_MB})", TOO_LARGE, id="repeat"),
        pytest.param("repeat('0123456789', 1000000)", TOO_LARGE, id="long-string-repeat"),
        pytest.param("repeat('x', 9223372036854775807)", TOO_LARGE, id="repeat-max-int"),
        pytest.param(f"1..{TEN_MB}", TOO_LARGE, id="range"),
        pytest.param("-999999..999999", TOO_LARGE, id="range-through-zero"),
        pytest.param(f"len(0..{TEN_MB})", TOO_LARGE, id="range-in-a-call"),
        pytest.param("repeat('x', 600000) + repeat('x', 600000)", BUILT_TOO_MUCH, id="string-plus"),
        pytest.param("(0..600000) + (0..600000)", BUILT_TOO_MUCH, id="list-plus"),
        pytest.param("let l = 0..600000; l + l", TOO_LARGE, id="list-plus-of-one-value"),
        pytest.param(
            "set('s', repeat('x', 999999)) + get('s') + get('s')",
            TOO_LARGE,
            id="plus-through-memory",
        ),
        pytest.param("let a = repeat('x', 600000); a + a", TOO_LARGE, id="plus-of-one-value"),
        pytest.param("concat(map(0..600000, 1), map(0..600000, 1))", BUILT_TOO_MUCH, id="concat"),
        pytest.param("join(map(0..100001, 'xxxxxxxxxx'), 'yyyyyyyyyy')", TOO_LARGE, id="join"),
        pytest.param("replace(repeat('x', 1000), 'x', repeat('y', 2000))", TOO_LARGE, id="replace"),
        pytest.param(
            "string(let a = map(1..1000, 1); let b = map(1..1000, a); map(1..1000, b))",
            TOO_LARGE,
            id="string-of-shared-lists",
        ),
        pytest.param("json(repeat('\\n', 600000))", TOO_LARGE, id="json-escapes"),
        pytest.param("map(1..999999, 1..999999)", BUILT_TOO_MUCH, id="nested-ranges"),
        pytest.param("map(1..999999, repeat('a', #))", BUILT_TOO_MUCH, id="growing-repeats"),
        pytest.param("map(1..3, {map(1..400000, {0})})", BUILT_TOO_MUCH, id="nested-maps"),
        pytest.param(
            "[" + ", ".join(["0..999999"] * 500) + "]", BUILT_TOO_MUCH, id="many-big-ranges"
        ),
        pytest.param(
            "let l = 0..400000; [" + ", ".join(["l + l"] * 600) + "]",
            BUILT_TOO_MUCH,
            id="many-concatenations",
        ),
        pytest.param("let l = 0..600000; map(l, l[1:])", BUILT_TOO_MUCH, id="many-slices"),
        pytest.param(
            "let m = map(0..300000, nil); map(0..3, m.a)", BUILT_TOO_MUCH, id="many-projections"
        ),
    ],
)
def test_huge_results_are_limit_errors(engine: Engine, source: str, message: str) -> None:
    error = _raises(engine, LimitError, source)
    assert error.message.startswith(message)


def test_the_budget_is_per_evaluation(engine: Engine) -> None:
    context = Context()
    for _ in range(3):  # each evaluation may build up to the limit again
        assert engine.evaluate("len(0..899999)", context) == 900_000


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ repeat('x', 600000) }}{{ repeat('x', 600000) }}", id="two-blocks"),
        pytest.param(
            "a {{ let a = map(1..1000, 1); let b = map(1..1000, a); map(1..1000, b) }}",
            id="shared-lists",
        ),
        pytest.param("a {{ [repeat('x', 999999)] }}", id="list-of-big-string"),
    ],
)
def test_huge_rendered_template_is_a_limit_error(engine: Engine, template: str) -> None:
    with pytest.raises(LimitError):
        engine.render(template)


# 10^9 items through shared sub-lists
LETS = "let a = map(1..1000, 1); let b = map(1..1000, a); "
SHARED = "map(1..1000, b)"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(f"{LETS}{SHARED} == {SHARED}", True, id="equal"),
        pytest.param(f"{LETS}{SHARED} != {SHARED}", False, id="not-equal"),
        pytest.param(
            f"{LETS}{SHARED} == map(1..999, b) + [map(1..999, a) + [map(1..999, 1) + [2]]]",
            False,
            id="equal-differs-at-the-end",
        ),
        pytest.param(f"{LETS}b in {SHARED}", True, id="in"),
        pytest.param(f"{LETS}map(1..999, a) + [[2]] in {SHARED}", False, id="not-in"),
        pytest.param(
            "let a = map(1..1000, {}); let b = map(1..1000, a); len(map(1..1000, b).a)",
            1000,
            id="projection",
        ),
        pytest.param(
            "let a = map(1..1000, {'a': 1}); let b = map(1..1000, a); "
            "len(map(1..1000, b).a[999][999])",
            1000,
            id="projection-values",
        ),
    ],
)
def test_shared_sub_lists_cost_their_distinct_size(
    engine: Engine, source: str, expected: Any
) -> None:
    assert engine.evaluate(source) == expected


def test_size_limit_boundary(engine: Engine) -> None:
    assert len(engine.evaluate("repeat('ab', 500000)")) == 1_000_000
    assert len(engine.evaluate("0..999999")) == 1_000_000
    _raises(engine, LimitError, "repeat('ab', 500000) + 'c'")
    _raises(engine, LimitError, "0..1000000")


# ---- regular expressions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "pattern"),
    [
        pytest.param("x" * 5000, "(x+x+)+y", id="nested-quantifiers"),
        pytest.param("a" * 5000 + "b", "(a|aa)+$", id="alternation"),
    ],
)
def test_catastrophic_regex_is_a_limit_error(engine: Engine, subject: str, pattern: str) -> None:
    error = _raises(engine, LimitError, f"'{subject}' matches '{pattern}'")
    assert error.message == "regular expression took longer than 0.25 s"


@pytest.fixture
def quick_predicates(hot_after: int) -> Engine:
    """An Engine whose predicate calls time out after 50 ms."""
    return Engine(limits=Limits(predicate_timeout=0.05), hot_after=hot_after)


LONG = "split(repeat('a', 100000), '')"


@pytest.mark.parametrize(
    ("source", "failing_call"),
    [
        (f"count({LONG}, count({LONG}, # == 'a') > 0)", "count"),
        (f"any({LONG}, all({LONG}, # != 'b') && false)", "all"),
        (f"map({LONG}, filter({LONG}, # matches 'a+'))", "filter"),
    ],
    ids=["nested-count", "nested-any-all", "regex-inside-nested-predicates"],
)
def test_nested_predicates_end_at_the_predicate_timeout(
    quick_predicates: Engine, source: str, failing_call: str
) -> None:
    with pytest.raises(LimitError) as caught:
        quick_predicates.evaluate(source)
    assert caught.value.message == f"{failing_call}() took longer than 0.05 s (predicate_timeout)"
    context = Context()
    with pytest.raises(LimitError):
        quick_predicates.evaluate(source, context)
    assert (context.deadline, context.element) == (0.0, None)  # the next call starts afresh


def test_predicates_within_the_timeout_run_to_the_end(quick_predicates: Engine) -> None:
    assert quick_predicates.evaluate("count(split(repeat('a', 1000), ''), # == 'a')") == 1000


def test_long_regex_is_a_limit_error(engine: Engine) -> None:
    error = _raises(engine, LimitError, "'a' matches '" + "a" * 1001 + "'")
    assert error.message == "regular expression too long: 1,001 characters (the limit is 1,000)"


def test_invalid_regex_is_an_evaluation_error(engine: Engine) -> None:
    _raises(engine, EvaluationError, "'a' matches '(?<'")


# ---- Python is not reachable --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        pytest.param(
            "''.__class__",
            EvaluationError,
            "cannot read member '__class__' of string",
            id="string-class",
        ),
        pytest.param(
            "(1).__class__.__mro__",
            EvaluationError,
            "cannot read member '__class__' of int",
            id="int-class",
        ),
        pytest.param(
            "true.__init__",
            EvaluationError,
            "cannot read member '__init__' of bool",
            id="bool-init",
        ),
        pytest.param("len.__globals__", ExprSyntaxError, "unknown name len", id="function-globals"),
        pytest.param(
            "get.__globals__['os']", ExprSyntaxError, "unknown name get", id="get-globals"
        ),
        pytest.param("__builtins__", ExprSyntaxError, "unknown name __builtins__", id="builtins"),
        pytest.param(
            "__import__('os')", ExprSyntaxError, "unknown function __import__", id="import"
        ),
        pytest.param(
            "getattr(1, 'real')",
            ExprSyntaxError,
            "unknown function getattr (did you mean 'get'?)",
            id="getattr",
        ),
        pytest.param(
            "eval('1')",
            ExprSyntaxError,
            "unknown function eval (did you mean 'values'?)",
            id="eval",
        ),
        pytest.param("exec('1')", ExprSyntaxError, "unknown function exec", id="exec"),
        pytest.param("open('/etc/passwd')", ExprSyntaxError, "unknown function open", id="open"),
        pytest.param("ctx", ExprSyntaxError, "unknown name ctx", id="context-name"),
        pytest.param(
            "$env",
            ExprSyntaxError,
            "$env is not supported: read the request with get(key) and the process environment "
            "with env(name)",
            id="expr-lang-env",
        ),
        pytest.param(
            "type(1).__name__",
            EvaluationError,
            "cannot read member '__name__' of string",
            id="type-name",
        ),
        pytest.param(
            "info('__class__')",
            EvaluationError,
            "unknown info field '__class__'; fields are sessionId, requestId, "
            "timestamp, method, path, ip, actionId, workflow.name, workflow.version, "
            "workflow.description, files, filenames, filetypes, filecount, current, prev, "
            "next, index, count",
            id="info-dunder",
        ),
    ],
)
def test_python_attributes_are_unreachable(
    engine: Engine, source: str, error: type[ExprError], message: str
) -> None:
    raised = _raises(engine, error, source)
    assert raised.message == message


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("{}.__class__", id="map-class"),
        pytest.param("{}['__class__']", id="map-index-class"),
        pytest.param("session().__dict__", id="session-dict"),
        pytest.param("get('__class__')", id="get-dunder"),
        pytest.param("get('__globals__', 'session')", id="get-session-dunder"),
        pytest.param("get('request', 'info')", id="get-info-object"),
        pytest.param("nil?.__class__", id="nil-class"),
        pytest.param("[].__class__", id="projection-class"),
        pytest.param("get('cart', 'session').__class__", id="projection-over-items"),
        pytest.param("map([get('item')], #.__class__)", id="element-class"),
        pytest.param("get('item')['__dict__']", id="body-dict"),
    ],
)
def test_dunder_names_are_plain_missing_keys(engine: Engine, source: str) -> None:
    """On maps a dunder name is just a key that is not there; over lists it projects."""
    value = engine.evaluate(source, make_context())
    assert value is None or value == [] or value == [None, None] or value == [None]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("'abc'.upper()", id="method-call"),
        pytest.param("[].append(1)", id="list-method"),
        pytest.param("lambda: 1", id="lambda"),
        pytest.param("x = 1", id="assignment"),
        pytest.param("import os", id="import-statement"),
        pytest.param("x = 1; x", id="statements"),
        pytest.param("f'{1}'", id="f-string"),
        pytest.param("`ls` + `", id="unclosed-backticks"),
        pytest.param("get('a')\x00", id="nul-byte"),
    ],
)
def test_python_syntax_is_a_syntax_error(engine: Engine, source: str) -> None:
    with pytest.raises(ExprSyntaxError):
        engine.compile(source)


def test_context_objects_never_leak_into_values(engine: Engine) -> None:
    context = make_context()
    for source in ["session()", "get('fetch')", "get('item')", "info('sessionId')", "[session()]"]:
        assert _only_values(engine.evaluate(source, context))


# ---- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("9 ** 999999999", id="int-power"),
        pytest.param("2 ** 2 ** 2 ** 2 ** 2 ** 2", id="power-tower"),
        pytest.param("2 ** 64", id="just-too-big"),
        pytest.param("9223372036854775807 ** 2", id="max-int-squared"),
        pytest.param("10.0 ** 400", id="float-power"),
        pytest.param("2 ** 1e10", id="float-exponent"),
        pytest.param("(-2) ** 9999999999999", id="negative-base"),
        pytest.param("9223372036854775807 * 9223372036854775807", id="int-multiply"),
        pytest.param("int(1e300)", id="int-of-huge-float"),
        pytest.param("round(1e300)", id="round-huge"),
        pytest.param("floor(1e300)", id="floor-huge"),
        pytest.param("int(repeat('9', 5000))", id="int-of-long-string"),
        pytest.param("round(1.7e308, -308)", id="round-up-to-inf"),
    ],
)
def test_huge_numbers_are_evaluation_errors(engine: Engine, source: str) -> None:
    _raises(engine, EvaluationError, source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("1 ** 9223372036854775807", 1, id="one-to-huge"),
        pytest.param("(-1) ** 9223372036854775807", -1, id="minus-one-to-huge"),
        pytest.param("0 ** 9223372036854775807", 0, id="zero-to-huge"),
        pytest.param("0.5 ** 1e300", 0.0, id="underflow"),
        pytest.param("round(1.5, 999999999)", 1.5, id="round-many-digits"),
        pytest.param("round(1.5, -999999999)", 0.0, id="round-very-negative-digits"),
        pytest.param("repeat('x', 0)", "", id="zero-repeat"),
        pytest.param("[1, 2][0:9223372036854775807]", [1, 2], id="huge-slice-bound"),
    ],
)
def test_extreme_but_valid_numbers(engine: Engine, source: str, expected: Any) -> None:
    assert engine.evaluate(source) == expected


# ---- source size and node count -------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("1" + " + 1" * 2500, id="long-sum"),
        pytest.param("'" + "x" * 10_000 + "'", id="long-string-literal"),
        pytest.param(" " * 10_000 + "1", id="white-space"),
        pytest.param("// " + "x" * 10_000 + "\n1", id="comment"),
    ],
)
def test_source_over_10000_characters(engine: Engine, source: str) -> None:
    with pytest.raises(LimitError) as caught:
        engine.compile(source)
    assert caught.value.message == (
        f"expression too long: {len(source):,} characters (the limit is 10,000)"
    )


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("[" + ", ".join(["1"] * 2001) + "]", id="list-items"),
        pytest.param("{" + ",".join(f"k{i}:[1,1]" for i in range(700)) + "}", id="map-entries"),
        pytest.param("concat(" + ", ".join(["[1]"] * 1001) + ")", id="call-arguments"),
        pytest.param("[" + ", ".join(["[1, 2]"] * 700) + "]", id="nested-lists"),
    ],
)
def test_more_than_2000_nodes(engine: Engine, source: str) -> None:
    with pytest.raises(LimitError) as caught:
        engine.compile(source)
    assert caught.value.message == "expression too complex: more than 2,000 nodes"


def test_limits_are_configurable(hot_after: int) -> None:
    engine = Engine(
        hot_after=hot_after, limits=Limits(max_source=20, max_nodes=5, max_depth=3, max_size=10)
    )
    for source, message in [
        ("1" * 21, "expression too long: 21 characters (the limit is 20)"),
        ("[1, 2, 3, 4, 5]", "expression too complex: more than 5 nodes"),
        ("((((1))))", "expression nested too deeply (the limit is 3 levels)"),
        ("repeat('x', 11)", "result too large: 11 characters (the limit is 10)"),
        ("upper('ßßßßßß')", "result too large: 12 characters (the limit is 10)"),
        ("lower('İİİİİİ')", "result too large: 12 characters (the limit is 10)"),
    ]:
        with pytest.raises(LimitError) as caught:
            engine.evaluate(source)
        assert caught.value.message == message


# ---- hypothesis: nothing but ExprError ever comes out -------------------------------------


def _everything(engine: Engine, text: str) -> None:
    """Every way text reaches the engine; only ExprError may escape (the test fails on any
    other exception, with hypothesis' minimal example)."""
    for attempt in (
        lambda: engine.evaluate(text, make_context()),
        lambda: engine.render(text, make_context()),
        lambda: engine.render("{{ " + text + " }}", make_context()),
        lambda: engine.render("a << " + text + " >> b", make_context()),
        lambda: engine.read_value(text).evaluate(make_context()),
        lambda: engine.compile_entry(text)(make_context()),
    ):
        try:
            value = attempt()
        except ExprError as error:
            assert isinstance(str(error), str)
        else:
            assert _only_values(value)


GRAMMAR_PIECES = st.sampled_from(
    [*"()[]{}'\"\\.,:?!#+-*/%^<>=&|~ \n\t0123456789abexnul_$@",
     "nil", "true", "get", "len", "??", "?:", "?.", "{{", "}}", "<<", ">>", "\\{{", "not ",
     " in ", " matches ", "filter(", "map(", ".a", "1e999", "0x", "sum(", "split(", "**",
     "//", "/*", "*/", "\\u", "'\\ud800'", "9223372036854775807", "session()"]
)  # fmt: skip


@FUZZ
@given(st.text(max_size=40))
def test_random_text_only_raises_expr_errors(engine: Engine, text: str) -> None:
    _everything(engine, text)


@FUZZ
@given(st.lists(GRAMMAR_PIECES, max_size=30).map("".join))
def test_random_grammar_soup_only_raises_expr_errors(engine: Engine, text: str) -> None:
    _everything(engine, text)


@FUZZ
@given(expressions())
def test_random_expression_trees_only_raise_expr_errors(engine: Engine, source: str) -> None:
    _everything(engine, source)


@settings(max_examples=100, deadline=None)
@given(expressions(max_leaves=6))
def test_random_trees_under_tight_limits(hot_after: int, source: str) -> None:
    engine = Engine(
        hot_after=hot_after, limits=Limits(max_source=60, max_nodes=12, max_depth=4, max_size=50)
    )
    _everything(engine, source)


def test_a_constant_catastrophic_match_costs_one_regex_timeout_end_to_end() -> None:
    """Folding runs it once, at compile time; its evaluations (and the promotion to
    generated code after two of them) raise that error again without running it."""
    timeout = 0.25
    engine = Engine(limits=Limits(regex_timeout=timeout), hot_after=2)
    started = time.process_time()
    expression = engine.compile("'' matches '(?R)'")
    for _ in range(5):
        with pytest.raises(LimitError) as caught:
            expression()
        assert str(caught.value) == (
            "regular expression took longer than 0.25 s (1:4)\n | '' matches '(?R)'\n | ...^"
        )
    assert type(expression) is not Expression  # promoted on the third evaluation
    assert time.process_time() - started < 2 * timeout  # one timeout, not six


@pytest.mark.parametrize("digits", [20, 4301, 9000])
def test_an_integer_literal_of_any_length_is_out_of_range(engine: Engine, digits: int) -> None:
    source = "1 + " + "9" * digits
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile(source)
    shown = "9" * digits if digits <= 24 else "9" * 24 + "…"
    assert (caught.value.message, caught.value.column) == (
        f"integer out of range: {shown} does not fit in 64 bits",
        5,
    )


def test_the_largest_integer_literal(engine: Engine) -> None:
    assert engine.evaluate("9223372036854775807") == 2**63 - 1
    assert engine.evaluate("0x7fffffffffffffff + 0o0 + 0b0") == 2**63 - 1
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile("0b1" + "0" * 63)
    assert caught.value.message == (
        "integer out of range: 0b1000000000000000000000… does not fit in 64 bits"
    )
