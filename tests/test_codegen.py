"""The hot tier (codegen.py): when an Expression is promoted, that both tiers agree on every
value and every error, that no user text reaches the generated source, and that a failed
generation keeps the closures silently."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from expr_cases import ALL_ROWS, expressions, make_context
from hypothesis import HealthCheck, given, settings

from kdeps_expr import Context, Engine, EvaluationError, ExprError, Expression, Request
from kdeps_expr.language.codegen import write
from kdeps_expr.language.compiler import Compiler
from kdeps_expr.language.engine import HOT_AFTER

COLD = Engine(hot_after=sys.maxsize)
HOT = Engine(hot_after=0)


def _outcome(engine: Engine, source: str, context: Context | None = None) -> Any:
    """The value as ``repr`` (so ``1`` and ``1.0`` differ), or the error's class and full
    rendering (message, line:col and caret)."""
    try:
        expression = engine.compile(source)
    except ExprError as error:
        return ("compile", type(error).__name__, str(error))
    try:
        return ("value", repr(expression(context or make_context())))
    except ExprError as error:
        return ("error", type(error).__name__, str(error))


def _generated_source(source: str) -> str:
    expression = HOT.compile(source)
    compiler = Compiler(HOT.functions, HOT.limits, source)
    compiler.compile(expression.node)
    text, _ = write(expression.node, compiler)
    return text


# ---- promotion ------------------------------------------------------------------------------


def test_promotion_happens_after_hot_after_evaluations() -> None:
    expression = Engine(hot_after=3).compile("get('n') * 2")
    context = Context(Request(query={"n": 21}))
    tiers = []
    for _ in range(5):
        assert expression(context) == 42
        tiers.append(type(expression) is Expression)
    # three evaluations on closures; the fourth promotes before it runs
    assert tiers == [True, True, True, False, False]
    assert isinstance(expression, Expression)
    assert repr(expression) == "Expression(\"get('n') * 2\")"


def test_the_default_threshold_promotes_a_busy_expression() -> None:
    expression = Engine().compile("get('n') + 1")
    for _ in range(HOT_AFTER):
        expression()
    assert type(expression) is Expression
    assert expression() == 1
    assert type(expression) is not Expression


def test_a_constant_expression_is_promoted_too() -> None:
    expression = HOT.compile("1 + 2 * 3")
    assert expression.constant
    assert expression() == 7
    assert type(expression) is not Expression


def test_concurrent_evaluations_across_the_threshold_all_see_right_values() -> None:
    expression = Engine(hot_after=50).compile("get('n') * 2 + len(get('s'))")
    results: list[Any] = []

    def work(n: int) -> None:
        context = Context(Request(query={"n": n, "s": "abc"}))
        results.extend(expression(context) - 2 * n for _ in range(200))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [3] * 1600
    assert type(expression) is not Expression


def test_a_promoted_expression_keeps_the_functions_it_was_compiled_with() -> None:
    engine = Engine(hot_after=0)
    before = engine.compile("len(get('s'))")
    engine.register("len", lambda value: -1)
    context = Context(Request(query={"s": "abc"}))
    assert before(context) == 3
    assert type(before) is not Expression
    assert engine.compile("len(get('s'))")(context) == -1


# ---- both tiers agree -----------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), ALL_ROWS)
def test_tiers_agree_on_every_table_row(source: str, expected: Any) -> None:
    assert _outcome(HOT, source) == _outcome(COLD, source)


@pytest.mark.parametrize(
    "source",
    [
        "get('visits', 'session') * 2 + 1",
        "9223372036854775807 + get('one')",
        "get('big') * get('big')",
        "get('big') - -get('big')",
        "1073741823 * get('two') + get('one')",
        "-1073741824 - get('one')",
        "get('half') * 2",
        "get('one') < 'a'",
        "get('half') >= get('one')",
        "get('missing') > 1",
        "'a' + get('one')",
        "get('s') == 'x' && get('n') != nil || get('list') == [1, 2]",
        "get('one') == 1.0 and get('missing') == ''",
        "get('s') in ['x', 'y'] ? get('s') : 'no'",
        "get('one') not in [1, 'a']",
        "get('list')[5]",
        "get('list')[get('missing')]",
        "get('s')[1:get('one')]",
        "get('s').name",
        "get('missing')?.a.b ?? 'deep'",
        "get('items').price",
        "{a: get('one'), 'b c': [get('s'), nil]}",
        "filter(get('items'), .price > get('one')) ?: 'none'",
        "map(get('items'), .price / 0)",
        "count(get('items'), # == 1)",
        "sum(get('items'), .price) + sum(get('list'))",
        "upper(get('one'))",
        "replace(get('s'), 'x', repeat(get('s'), 3))",
        "repeat('x', get('big'))",
        "get('s') matches '^x' && !(get('s') contains 'q')",
        "get('s') not startsWith 'y'",
        "get('s', 'sesion', 1)",
        "set('k', get('one') + 1) + get('k')",
        "-get('s')",
        "+get('half')",
        "get('one') ** 64",
        "get('list') | map(# * get('two')) | reduce(#acc + #, 0)",
        "reduce(get('list'), #acc + #index)",
        "let x = get('one'); x + get('two')",
        "let x = get('s'); map(get('list'), {x + string(#)})",
        "get('one') < get('two') < 'a'",
        "get('one') < get('two') <= 2",
        "get('one')..get('two')",
        "get('s')..2",
        "{(get('s')): get('one')}",
        "{(get('one')): 1}",
        "get('items') | sortBy(.price ?? 0, 'desc')",
        "map(get('list'), {#index * #})",
        "if get('one') > 1 { get('s') } else { 1 / 0 }",
        "set('z', 1); get('z') + 1",
        "request.header('x') ?? request.method",
        "repeat(get('s'), get('two')) + get('s')",
        "get('list')?.[get('one')]",
        "get('items').price[get('one'):]",
        "''  matches '(?R)' || get('s')",
        "get('half') + 0.25 - get('half') * 2.0",
        "get('half') * 1e308 * 10.0",
        "get('half') * 2",
    ],
)
def test_tiers_agree_on_hot_paths_and_their_fallbacks(source: str) -> None:
    def context() -> Context:
        query = {"one": 1, "two": 2, "big": 1 << 62, "half": 0.5, "s": "x", "list": [1, 2]}
        items = [{"price": 1}, {"price": 2.5}, {"name": "no price"}]
        return Context(Request(query=query, body={"items": items}))

    hot, cold = _outcome(HOT, source, context()), _outcome(COLD, source, context())
    assert hot == cold
    assert type(HOT.compile(source)) is not Expression


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("failing(get('x'))", "failing() failed: ZeroDivisionError: division by zero (1:1)"),
        ("strange(1)", "strange() returned a Python object, not an expression value"),
        ("picky(get('x'))", "picky refuses 7 (1:1)"),
    ],
)
def test_tiers_agree_on_user_function_failures(source: str, message: str) -> None:
    def picky(value: Any) -> Any:
        raise EvaluationError(f"picky refuses {value}")

    functions = {"failing": lambda value: 1 / 0, "strange": lambda value: object(), "picky": picky}
    outcomes = []
    for hot_after in (0, sys.maxsize):
        engine = Engine(functions=functions, hot_after=hot_after)
        outcomes.append(_outcome(engine, source, Context(Request(query={"x": 7}))))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "error"
    assert message in outcomes[0][2]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_tiers_agree_on_random_expressions(source: str) -> None:
    assert _outcome(HOT, source) == _outcome(COLD, source)


def test_templates_render_the_same_on_both_tiers() -> None:
    template = "Hi {{ get('user', 'session') }}, visit #{{ get('visits', 'session') + 1 }}"
    assert HOT.render(template, make_context()) == COLD.render(template, make_context())
    assert HOT.compile_template(template).expressions[1].__class__ is not Expression


# ---- nothing from the user reaches the generated source -------------------------------------

HOSTILE = [
    "'\\'; import os; \\''",
    '"\\"; __import__(\\"os\\").system(\\"id\\") #"',
    "'\\\\'",
    "'__class__'",
    "'a\\nb = 1\\n'",
    "\"'''\"",
    '\'"""\'',
    "'{}'",
    "'{0.__class__}'",
    "'\\u0000'",
]


@pytest.mark.parametrize("literal", HOSTILE)
def test_hostile_strings_stay_values(literal: str) -> None:
    sources = [
        f"{literal} + get('x')",
        f"get({literal}) ?? {literal}",
        f"{{{literal}: get('x'), a: {literal}}}",
        f"get('m')[{literal}] == {literal}",
        f"get('m').__class__ ?? {literal} in ['a', {literal}]",
        f"filter(get('list'), # != {literal} && .a == {literal})",
    ]
    for source in sources:
        assert _outcome(HOT, source) == _outcome(COLD, source)
        text = _generated_source(source)
        assert "'" not in text and '"' not in text, text  # no string literal at all
        for word in ("import", "__class__", "system", "os"):
            assert word not in text.replace("ctx.", ""), (word, text)


def test_generated_source_is_made_of_generated_names_only() -> None:
    text = _generated_source("{'k y': get('__class__'), b: 'x\\ny'}.b + get('a-b', 'session')")
    assert "__class__" not in text and "k y" not in text and "a-b" not in text
    assert "'" not in text and '"' not in text
    assert "_v" in text and "def __call__(self, context=None):" in text


def test_the_namespace_has_no_builtins() -> None:
    source = "get('x') + 1"
    expression = HOT.compile(source)
    compiler = Compiler(HOT.functions, HOT.limits, source)
    compiler.compile(expression.node)
    _, namespace = write(expression.node, compiler)
    assert namespace["__builtins__"] == {}


# ---- a failed generation keeps the closures -----------------------------------------------


def test_generation_failure_falls_back_silently() -> None:
    # 97 nested ternaries indent the generated code past Python's 100 levels: compile()
    # refuses it, and the expression stays on its closures, with the same answers.
    depth = 97
    source = "".join(f"get('k{i}') ? " for i in range(depth)) + "1 / get('z')"
    source += "".join(f" : {i}" for i in range(depth))
    context = Context(Request(query={f"k{i}": 1 for i in range(depth)} | {"z": 4}))
    expression = HOT.compile(source)
    assert expression(context) == 0.25
    assert type(expression) is Expression  # not promoted
    assert expression(context) == 0.25
    context.request.query["z"] = 0  # type: ignore[index]
    assert _outcome(HOT, source, context) == _outcome(COLD, source, context)
    assert _outcome(HOT, source, context)[2].startswith("division by zero (1:")
