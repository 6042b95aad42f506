"""SPEC §4, templates: native values, rendering of each type, both delimiters, escapes,
where a block ends, errors pointing at the opener, switched-off delimiters, one pass."""

from __future__ import annotations

from typing import Any

import pytest
from expr_cases import assert_same, make_context

from kdeps_expr import Context, Engine, ExprSyntaxError, LimitError, Limits


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # one block, white space around allowed: the expression's native value
        pytest.param("{{ [1, 2] }}", [1, 2], id="native-list"),
        pytest.param("{{ {'b': 1, 'a': 2} }}", {"b": 1, "a": 2}, id="native-map"),
        pytest.param("  {{ 1 }}  ", 1, id="native-with-spaces"),
        pytest.param("\n{{ 2.5 }}\n", 2.5, id="native-with-newlines"),
        pytest.param("{{ 2.0 }}", 2.0, id="native-float-stays-float"),
        pytest.param("{{ nil }}", None, id="native-nil"),
        pytest.param("{{ true }}", True, id="native-bool"),
        pytest.param("{{1}}", 1, id="native-no-spaces"),
        pytest.param("<< [1] >>", [1], id="native-angle"),
        pytest.param(
            "{{ get('cart', 'session') }}",
            [{"name": "cup", "price": 2}, {"name": "mug", "price": 3.5}],
            id="native-session-list",
        ),
        # anything else renders to a string
        pytest.param("plain text", "plain text", id="no-block"),
        pytest.param("", "", id="empty"),
        pytest.param("a {{ [1, 2] }}", "a [1,2]", id="list-compact-json"),
        pytest.param("{{ 'a' }}{{ 'b' }}", "ab", id="two-blocks"),
        pytest.param("{{ 'a' }} {{ 'b' }}", "a b", id="two-blocks-spaced"),
        pytest.param("[{{ nil }}]", "[]", id="nil-empty"),
        pytest.param("{{ true }}/{{ false }}", "true/false", id="booleans"),
        pytest.param("n={{ 42 }}", "n=42", id="int-digits"),
        pytest.param("n={{ -7 }}", "n=-7", id="negative-int"),
        pytest.param("x={{ 2.0 }}", "x=2", id="integral-float-without-point"),
        pytest.param("x={{ 2.5 }}", "x=2.5", id="float"),
        pytest.param("x={{ 0.1 + 0.2 }}", "x=0.30000000000000004", id="float-shortest-round-trip"),
        pytest.param("x={{ 7 / 2 }}", "x=3.5", id="division"),
        pytest.param("x={{ 6 / 2 }}", "x=3", id="integral-division"),
        pytest.param("x={{ 1e15 }}", "x=1000000000000000", id="float-below-1e16"),
        pytest.param("x={{ 9999999999999998.0 }}", "x=9999999999999998", id="float-just-below"),
        pytest.param("x={{ 1e16 }}", "x=1e+16", id="float-at-1e16"),
        pytest.param("x={{ -1e16 }}", "x=-1e+16", id="negative-float-at-1e16"),
        pytest.param("x={{ 1.5e300 }}", "x=1.5e+300", id="huge-float"),
        pytest.param("x={{ 1e-7 }}", "x=1e-07", id="tiny-float"),
        pytest.param("x={{ [2.0, 1.5] }}", "x=[2.0,1.5]", id="float-in-json-keeps-point"),
        pytest.param("x={{ {'p': 2.0} }}", 'x={"p":2.0}', id="float-in-map-json"),
        pytest.param("x={{ [nil, true, 'é'] }}", 'x=[null,true,"é"]', id="json-scalars"),
        pytest.param(
            "x={{ {'z': 1, 'a': {'y': 2, 'b': 3}} }}",
            'x={"z":1,"a":{"y":2,"b":3}}',
            id="map-insertion-order",
        ),
        pytest.param("x={{ {'b': 1} + {'a': 2} }}", 'x={"b":1,"a":2}', id="merge-order"),
        pytest.param("x={{ 'a\"b' }}", 'x=a"b', id="string-as-is"),
        pytest.param("x={{ ['a\"b'] }}", 'x=["a\\"b"]', id="string-in-json-escaped"),
        pytest.param("x={{ [] }}{{ {} }}", "x=[]{}", id="empty-collections"),
        # both delimiters, mixed
        pytest.param("<< 1 >> and {{ 2 }}", "1 and 2", id="both-delimiters"),
        pytest.param("Hi << get('user', 'session') >>!", "Hi ann!", id="angle-with-text"),
        pytest.param("{{ 1 }}<< 2 >>", "12", id="adjacent-different"),
        # escapes
        pytest.param("\\{{ x }}", "{{ x }}", id="escaped-braces-only"),
        pytest.param("\\<< x >>", "<< x >>", id="escaped-angles-only"),
        pytest.param("a \\{{ b }} \\<< c >>", "a {{ b }} << c >>", id="two-escapes"),
        pytest.param("\\{{ {{ 1 }}", "{{ 1", id="escape-then-block"),
        pytest.param("{{ 1 }}\\{{", "1{{", id="block-then-escape"),
        pytest.param(" \\{{ 1 }} ", " {{ 1 }} ", id="escaped-single-block-is-text"),
        pytest.param("\\x \\{ \\}}", "\\x \\{ \\}}", id="other-backslashes-kept"),
        # stray closers are text
        pytest.param("}} stray >>", "}} stray >>", id="stray-closers"),
        pytest.param("{{ 1 }} }}", "1 }}", id="stray-after-block"),
        pytest.param("a } b > c { d <", "a } b > c { d <", id="single-characters"),
        pytest.param("{ {1} }", "{ {1} }", id="spaced-braces-are-text"),
        # a block ends at the first closer outside strings and brackets
        pytest.param("{{ '}}' }}", "}}", id="closer-in-string"),
        pytest.param('{{ "}}" }}', "}}", id="closer-in-double-quoted-string"),
        pytest.param("{{ {'a': {'b': 1}} }}", {"a": {"b": 1}}, id="nested-map"),
        pytest.param("{{ {'a': '}}'} }}", {"a": "}}"}, id="closer-in-map-string"),
        pytest.param("<< '>>' >>", ">>", id="angle-closer-in-string"),
        pytest.param("<< [1, 2][0] >>", 1, id="angle-with-brackets"),
        pytest.param("{{ 1 > 0 }}", True, id="greater-in-braces"),
        pytest.param("<< 2 > 1 ? 'y' : 'n' >>", "y", id="greater-in-angles"),
        pytest.param("{{ 'it\\'s' }}", "it's", id="escaped-quote-in-block"),
        pytest.param("{{ '{{' }}", "{{", id="opener-in-string"),
    ],
)
def test_render(engine: Engine, template: str, expected: Any) -> None:
    assert_same(engine.render(template, make_context()), expected)


@pytest.mark.parametrize(
    ("template", "message", "column"),
    [
        pytest.param("{{ 1 ", "unclosed '{{'", 1, id="unclosed"),
        pytest.param("abc {{ 1 ", "unclosed '{{'", 5, id="unclosed-after-text"),
        pytest.param("{{ 1 }} << 2", "unclosed '<<'", 9, id="unclosed-angle"),
        pytest.param("{{ x }", "unclosed '{{'", 1, id="half-closer"),
        pytest.param("{{ '}}' ", "unclosed '{{'", 1, id="closer-only-in-string"),
        pytest.param("{{ [1, 2 }}", "unclosed '{{'", 1, id="closer-inside-bracket"),
        pytest.param("x {{ }}", "empty {{ }} block", 3, id="empty"),
        pytest.param("x {{   }} y", "empty {{ }} block", 3, id="blank"),
        pytest.param("<<>>", "empty << >> block", 1, id="empty-angle"),
    ],
)
def test_unclosed_or_empty_block_points_at_opener(
    engine: Engine, template: str, message: str, column: int
) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.render(template)
    assert caught.value.message == message
    assert (caught.value.line, caught.value.column) == (1, column)


def test_error_inside_block_points_into_the_template_text(engine: Engine) -> None:
    template = "Total:\n  {{ sum(get('cart', 'session').price) + ' EUR' }}"
    with pytest.raises(Exception) as caught:
        engine.render(template, make_context())
    assert str(caught.value) == (
        "invalid operation: float + string (convert the number with string(x) to concatenate)"
        " (2:40)\n"
        " |   {{ sum(get('cart', 'session').price) + ' EUR' }}\n"
        " | " + "." * 39 + "^"
    )


def test_only_escaped_delimiters_is_still_a_template(engine: Engine) -> None:
    reading = engine.read_value("\\{{ not an expression }}")
    assert reading.kind == "template"
    assert reading.evaluate(Context()) == "{{ not an expression }}"


# ---- delimiters switched off --------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiters", "template", "expected"),
    [
        pytest.param(("{{",), "<< 1 >>", "<< 1 >>", id="angle-off-text"),
        pytest.param(("{{",), "{{ 1 }} << 2 >>", "1 << 2 >>", id="angle-off-braces-on"),
        pytest.param(("{{",), "\\<< x", "\\<< x", id="escape-of-off-delimiter-stays"),
        pytest.param(("{{",), "\\{{ a \\<< b", "{{ a \\<< b", id="escapes-mixed"),
        pytest.param(("{{",), "<< 1", "<< 1", id="unclosed-off-is-text"),
        pytest.param(("{{",), "if (a << 2 >> 1)", "if (a << 2 >> 1)", id="code-sample"),
        pytest.param(("<<",), "{{ 1 }} << 2 >>", "{{ 1 }} 2", id="braces-off"),
        pytest.param(("<<",), "{{ x", "{{ x", id="braces-off-unclosed"),
        pytest.param(("<<",), "\\{{ x", "\\{{ x", id="braces-off-escape-stays"),
        pytest.param((), "{{ 1 }} << 2 >>", "{{ 1 }} << 2 >>", id="both-off"),
    ],
)
def test_switched_off_delimiters(
    hot_after: int, delimiters: tuple[str, ...], template: str, expected: Any
) -> None:
    assert_same(Engine(hot_after=hot_after, delimiters=delimiters).render(template), expected)


def test_delimiters_per_template(engine: Engine) -> None:
    assert engine.compile_template("<< 1 >> {{ 2 }}", delimiters=("{{",)).render() == "<< 1 >> 2"
    assert engine.render("<< 1 >> {{ 2 }}") == "1 2"


def test_unknown_delimiter_is_refused() -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        Engine(delimiters=("[[",))
    assert (
        caught.value.message == "unknown template delimiter '[['; the delimiters are '{{' and '<<'"
    )


# ---- one pass: text produced by an expression is never scanned again ----------------------


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{{ get('note') }}", id="single-block"),
        pytest.param("note: {{ get('note') }}", id="in-text"),
        pytest.param("<< get('note') >>", id="angle"),
    ],
)
def test_one_pass_no_template_injection(engine: Engine, template: str) -> None:
    context = make_context()
    context.memory["note"] = "{{ set('pwned', true) }} << info('sessionId') >> \\{{"
    rendered = engine.render(template, context)
    assert isinstance(rendered, str)
    assert rendered.endswith("{{ set('pwned', true) }} << info('sessionId') >> \\{{")
    assert "pwned" not in context.memory


def test_one_pass_list_holding_template_text(engine: Engine) -> None:
    context = make_context()
    context.memory["notes"] = ["{{ 1 + 1 }}"]
    assert engine.render("{{ get('notes') }}", context) == ["{{ 1 + 1 }}"]
    assert engine.render("n: {{ get('notes') }}", context) == 'n: ["{{ 1 + 1 }}"]'


def test_template_is_compiled_once_and_rendered_many_times(engine: Engine) -> None:
    template = engine.compile_template("visit #{{ get('visits', 'session') }}")
    assert [expr.text for expr in template.expressions] == [" get('visits', 'session') "]
    first, second = make_context(), make_context()
    second.session.set("visits", 9)
    assert template.render(first) == "visit #2"
    assert template.render(second) == "visit #9"


def test_seed_templates(engine: Engine) -> None:
    context = make_context()
    context.session.set("authenticated", True)
    message = "{{ get('authenticated', 'session') ? 'Login successful' : 'Invalid credentials' }}"
    assert engine.render(message, context) == "Login successful"
    assert engine.render("Hello {{ get('user', 'session') }}, how can I help?", context) == (
        "Hello ann, how can I help?"
    )
    assert engine.render("This is visit #{{ get('visits', 'session') }}.", context) == (
        "This is visit #2."
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{qonly}}", "from query", id="name"),
        pytest.param("{{ qb }}", "query wins", id="name-with-spaces"),
        pytest.param("{{q}}", "", id="name-empty-in-query"),
        pytest.param("Status {{fetch.status}}!", "Status 200!", id="dotted-path"),
        pytest.param("{{ fetch?.status }}", 200, id="optional-member"),
        pytest.param("{{ item.name }}", None, id="item-is-the-object"),
        pytest.param("{{ nowhere.at.all }}", None, id="missing-is-nil"),
        pytest.param("{{ request.method }}", "POST", id="object-stays-the-object"),
        pytest.param("<< input.item.price >>", 2, id="input-object"),
        pytest.param("{{ get('q') }}", "", id="calls-are-not-shorthand"),
    ],
)
def test_name_shorthand_reads_with_get(engine: Engine, template: str, expected: Any) -> None:
    assert_same(engine.render(template, make_context()), expected)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            "{{ q + 1 }}", "unknown name q (1:4)\n | {{ q + 1 }}\n | ...^", id="not-alone"
        ),
        pytest.param(
            "{{ q[0] }}", "unknown name q (1:4)\n | {{ q[0] }}\n | ...^", id="index-is-not-a-path"
        ),
    ],
)
def test_shorthand_is_only_a_name_or_a_path(engine: Engine, template: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile_template(template)
    assert str(caught.value) == message


def test_a_predicate_block_inside_a_template_block(engine: Engine) -> None:
    assert engine.render("n={{ len(filter([1, 2, 3], {# > 1})) }}") == "n=2"


def test_template_limits(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after, limits=Limits(max_template=30, max_blocks=2))
    assert engine.render("{{ 1 }}{{ 2 }}") == "12"
    with pytest.raises(LimitError) as caught:
        engine.compile_template("{{ 1 }}{{ 2 }}{{ 3 }}")
    assert str(caught.value) == (
        "template has too many blocks: more than 2 (1:15)\n"
        " | {{ 1 }}{{ 2 }}{{ 3 }}\n"
        " | ..............^"
    )
    with pytest.raises(LimitError) as caught:
        engine.compile_template("x" * 31)
    assert caught.value.message == "template too long: 31 characters (the limit is 30)"


def test_default_template_limits(engine: Engine) -> None:
    assert engine.render("{{ 1 }}" * 1000) == "1" * 1000
    with pytest.raises(LimitError) as caught:
        engine.render("{{ 1 }}" * 1001)
    assert (caught.value.message, caught.value.column) == (
        "template has too many blocks: more than 1,000",
        7001,
    )
    with pytest.raises(LimitError) as caught:
        engine.render("x" * 100_001)
    assert caught.value.message == "template too long: 100,001 characters (the limit is 100,000)"


def test_render_with_escape_hands_each_block_its_position_value_and_text(engine: Engine) -> None:
    seen: list[tuple[int, Any, str]] = []

    def escape(position: int, value: Any, text: str) -> str:
        seen.append((position, value, text))
        return f"<{text}>"

    template = engine.compile_template("a {{ [1, 2] }} b {{ nil }}{{ 2.0 }}")
    assert template.render(Context(), escape=escape) == "a <[1,2]> b <><2>"
    assert seen == [(1, [1, 2], "[1,2]"), (3, None, ""), (4, 2.0, "2")]


def test_render_with_escape_renders_a_single_block_as_text(engine: Engine) -> None:
    template = engine.compile_template("{{ [1] }}")
    assert template.render(Context()) == [1]
    assert template.render(Context(), escape=lambda _p, _v, text: text.upper() + "!") == "[1]!"
