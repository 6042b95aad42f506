"""Golden error strings: ``str(error)`` compared whole (message, position, source line and
caret), for syntax errors, compile-time call checks, run-time errors and templates."""

from __future__ import annotations

import pytest
from expr_cases import make_context

from kdeps_expr import Engine, EvaluationError, ExprError, ExprSyntaxError, LimitError

SOURCES = (
    "memory, session, output, query, body, param, header, info, data, loop, item, "
    "itemvalues, env, file, filepath, filetype"
)
FIELDS = (
    "sessionId, requestId, timestamp, method, path, ip, actionId, workflow.name, "
    "workflow.version, workflow.description, files, filenames, filetypes, filecount, "
    "current, prev, next, index, count"
)
CONCAT = "(convert the number with string(x) to concatenate)"
BRACES = (
    "braces { } hold a predicate, such as filter(items, {.price > 1}); "
    "a map is written {key: value}"
)
DOLLAR_ENV = (
    "$env is not supported: read the request with get(key) and the process environment "
    "with env(name)"
)
BYTES = "bytes literals (b'…') are not supported: values are JSON, which has text but no bytes"
DATES = (
    "is not supported: dates and durations are not values of this language (JSON has none); "
    "info('timestamp') is the request's time as RFC 3339 text"
)
SEQUENCE = (
    "unexpected ';': a sequence a; b is written alone, in parentheses (a; b) or, "
    "as a predicate, in braces {a; b}"
)


def golden(message: str, line: str, column: int, row: int = 1) -> str:
    """The rendering every error uses: message (row:column), the line, a caret under it."""
    return f"{message} ({row}:{column})\n | {line}\n | {'.' * (column - 1)}^"


@pytest.mark.parametrize(
    ("source", "error", "expected"),
    [
        # ---- syntax ----------------------------------------------------------------------
        pytest.param(
            "'abc", ExprSyntaxError, golden("unclosed string", "'abc", 1), id="unclosed-string"
        ),
        pytest.param(
            "len('abc)",
            ExprSyntaxError,
            golden("unclosed string", "len('abc)", 5),
            id="unclosed-string-in-call",
        ),
        pytest.param(
            '"abc',
            ExprSyntaxError,
            golden("unclosed string", '"abc', 1),
            id="unclosed-double-quoted-string",
        ),
        pytest.param(
            "(1 + 2",
            ExprSyntaxError,
            golden("unclosed '('", "(1 + 2", 1),
            id="unclosed-parenthesis",
        ),
        pytest.param(
            "len((1)",
            ExprSyntaxError,
            golden("unclosed '('", "len((1)", 4),
            id="unclosed-inner-parenthesis",
        ),
        pytest.param(
            "1 + 2)",
            ExprSyntaxError,
            golden("unexpected ')', expected end of expression", "1 + 2)", 6),
            id="extra-closing-parenthesis",
        ),
        pytest.param(
            "[1, 2", ExprSyntaxError, golden("unclosed '['", "[1, 2", 1), id="unclosed-bracket"
        ),
        pytest.param(
            "{a: 1", ExprSyntaxError, golden("unclosed '{'", "{a: 1", 1), id="unclosed-brace"
        ),
        pytest.param(
            "1 +",
            ExprSyntaxError,
            golden("unexpected end of expression", "1 +", 4),
            id="missing-operand",
        ),
        pytest.param(
            "1 2", ExprSyntaxError, golden("unexpected number 2", "1 2", 3), id="two-values"
        ),
        pytest.param(
            "1 ? 2",
            ExprSyntaxError,
            golden("unexpected end of expression, expected ':'", "1 ? 2", 6),
            id="ternary-without-else",
        ),
        pytest.param(
            "1 @ 2",
            ExprSyntaxError,
            golden("unexpected character '@'", "1 @ 2", 3),
            id="unknown-character",
        ),
        pytest.param(
            "[1,,2]", ExprSyntaxError, golden("unexpected ','", "[1,,2]", 4), id="double-comma"
        ),
        pytest.param(
            "{1 + 2: 3}",
            ExprSyntaxError,
            golden(
                "unexpected ':': a computed map key is written in parentheses, {(key): value}",
                "{1 + 2: 3}",
                7,
            ),
            id="computed-map-key",
        ),
        pytest.param("", ExprSyntaxError, golden("empty expression", "", 1), id="empty"),
        pytest.param(
            r"'\x'",
            ExprSyntaxError,
            golden(r"unknown escape \x in string", r"'\x'", 2),
            id="unknown-escape",
        ),
        pytest.param(
            r"'\u12'",
            ExprSyntaxError,
            golden(r"invalid \u escape: expected 4 hex digits", r"'\u12'", 2),
            id="short-unicode-escape",
        ),
        pytest.param(
            r"'ok' + '\ud800'",
            ExprSyntaxError,
            golden(
                r"invalid \u escape: a lone UTF-16 surrogate is not a character",
                r"'ok' + '\ud800'",
                9,
            ),
            id="lone-surrogate",
        ),
        pytest.param(
            "1e999",
            ExprSyntaxError,
            golden("number out of range: 1e999", "1e999", 1),
            id="infinite-literal",
        ),
        pytest.param(
            "1 + 9223372036854775808",
            ExprSyntaxError,
            golden(
                "integer out of range: 9223372036854775808 does not fit in 64 bits",
                "1 + 9223372036854775808",
                5,
            ),
            id="huge-integer-literal",
        ),
        # ---- compile time: names and calls -----------------------------------------------
        pytest.param(
            "1 + foo", ExprSyntaxError, golden("unknown name foo", "1 + foo", 5), id="unknown-name"
        ),
        pytest.param(
            "lenn('x')",
            ExprSyntaxError,
            golden("unknown function lenn (did you mean 'len'?)", "lenn('x')", 1),
            id="unknown-function-suggests",
        ),
        pytest.param(
            "1 + upperr('x')",
            ExprSyntaxError,
            golden("unknown function upperr (did you mean 'upper'?)", "1 + upperr('x')", 5),
            id="unknown-function-position",
        ),
        pytest.param(
            "len(1, 2)",
            ExprSyntaxError,
            golden("len() takes 1 argument, got 2", "len(1, 2)", 1),
            id="too-many-arguments",
        ),
        pytest.param(
            "get()",
            ExprSyntaxError,
            golden("get() takes 1 to 3 arguments, got 0", "get()", 1),
            id="too-few-arguments",
        ),
        pytest.param(
            "max()",
            ExprSyntaxError,
            golden("max() takes at least 1 argument, got 0", "max()", 1),
            id="variadic-without-arguments",
        ),
        pytest.param(
            "# > 1",
            ExprSyntaxError,
            golden(
                "# is only valid inside a predicate, such as filter(items, .price > 1)", "# > 1", 1
            ),
            id="element-outside-predicate",
        ),
        # ---- run time ------------------------------------------------------------------
        pytest.param(
            "'a' - 1",
            EvaluationError,
            golden("invalid operation: string - int", "'a' - 1", 5),
            id="string-minus-int",
        ),
        pytest.param(
            "'a' + 1",
            EvaluationError,
            golden(f"invalid operation: string + int {CONCAT}", "'a' + 1", 5),
            id="string-plus-int",
        ),
        pytest.param(
            "1 not in 2",
            EvaluationError,
            golden("invalid operation: int not in int", "1 not in 2", 3),
            id="not-in-names-the-whole-operator",
        ),
        pytest.param(
            "get('x') not in 'abc'",
            EvaluationError,
            golden(
                "invalid operation: nil not in string (a substring test needs two strings)",
                "get('x') not in 'abc'",
                10,
            ),
            id="not-in-keeps-the-hint",
        ),
        pytest.param(
            "'a' not contains 1",
            EvaluationError,
            golden("invalid operation: string not contains int", "'a' not contains 1", 5),
            id="not-contains",
        ),
        pytest.param(
            "1 not matches 'x'",
            EvaluationError,
            golden("invalid operation: int not matches string", "1 not matches 'x'", 3),
            id="not-matches",
        ),
        pytest.param(
            "'héllo' - 1",
            EvaluationError,
            golden("invalid operation: string - int", "'héllo' - 1", 9),
            id="columns-count-characters",
        ),
        pytest.param(
            "(1).x",
            EvaluationError,
            golden("cannot read member 'x' of int", "(1).x", 5),
            id="member-of-int",
        ),
        pytest.param(
            "{a: 1}.a.b.c",
            EvaluationError,
            golden("cannot read member 'b' of int", "{a: 1}.a.b.c", 10),
            id="member-chain-points-at-failing-member",
        ),
        pytest.param(
            "1 / 0", EvaluationError, golden("division by zero", "1 / 0", 3), id="division-by-zero"
        ),
        pytest.param(
            "10 % (5 - 5)",
            EvaluationError,
            golden("modulo by zero", "10 % (5 - 5)", 4),
            id="modulo-by-zero",
        ),
        pytest.param(
            "[][0]",
            EvaluationError,
            golden("index 0 out of range for a list of length 0", "[][0]", 3),
            id="index-of-empty-list",
        ),
        pytest.param(
            "'abc'[-4]",
            EvaluationError,
            golden("index -4 out of range for a string of length 3", "'abc'[-4]", 6),
            id="negative-index-out-of-range",
        ),
        pytest.param(
            "nil < 1",
            EvaluationError,
            golden("cannot compare nil < int", "nil < 1", 5),
            id="compare-nil",
        ),
        pytest.param(
            "1 < 2 < 'a'",
            EvaluationError,
            golden("cannot compare int < string", "1 < 2 < 'a'", 7),
            id="chained-compare",
        ),
        pytest.param(
            "-'a'",
            EvaluationError,
            golden("invalid operation: -string", "-'a'", 1),
            id="negate-string",
        ),
        pytest.param(
            "2 ** 63",
            EvaluationError,
            golden("integer overflow: the result does not fit in 64 bits", "2 ** 63", 3),
            id="integer-overflow",
        ),
        pytest.param(
            "get('k', 'sesion', 1)",
            EvaluationError,
            golden(
                f"unknown get source 'sesion' (did you mean 'session'?); sources are {SOURCES}",
                "get('k', 'sesion', 1)",
                1,
            ),
            id="unknown-get-source",
        ),
        pytest.param(
            "set('k', 1, 'sesion')",
            EvaluationError,
            golden(
                "set(): unknown scope 'sesion' (did you mean 'session'?); "
                "scopes are memory, session, loop",
                "set('k', 1, 'sesion')",
                1,
            ),
            id="unknown-set-scope",
        ),
        pytest.param(
            "set('fetch', 1)",
            EvaluationError,
            golden(
                "set(): 'fetch' is the actionId of a resource and cannot be set",
                "set('fetch', 1)",
                1,
            ),
            id="set-action-id",
        ),
        pytest.param(
            "info('bogus')",
            EvaluationError,
            golden(f"unknown info field 'bogus'; fields are {FIELDS}", "info('bogus')", 1),
            id="unknown-info-field",
        ),
        pytest.param(
            "1 + len(2)",
            EvaluationError,
            golden("len() needs a string, list or map, got int", "1 + len(2)", 5),
            id="builtin-type-error",
        ),
        pytest.param(
            "filter([1], .a > 1)",
            EvaluationError,
            golden("cannot read member 'a' of int", "filter([1], .a > 1)", 13),
            id="error-inside-predicate",
        ),
        pytest.param(
            "'abc' matches '('",
            EvaluationError,
            golden(
                "invalid regular expression '(': missing ) at position 1", "'abc' matches '('", 7
            ),
            id="invalid-regex",
        ),
        pytest.param(
            "repeat('x', 2000000)",
            LimitError,
            golden(
                "result too large: 2,000,000 characters (the limit is 1,000,000)",
                "repeat('x', 2000000)",
                1,
            ),
            id="string-too-large",
        ),
        pytest.param(
            "\t'a' - 1",
            EvaluationError,
            golden("invalid operation: string - int", " 'a' - 1", 6),
            id="tab-counts-one-column",
        ),
        pytest.param(
            "1 | 2",
            ExprSyntaxError,
            golden("the right side of | must be a function call, such as x | upper()", "1 | 2", 5),
            id="pipe-into-a-value",
        ),
        pytest.param(
            "x | f()[0]",
            ExprSyntaxError,
            golden(
                "the right side of | must be a function call, such as x | upper()", "x | f()[0]", 5
            ),
            id="pipe-into-postfix",
        ),
        pytest.param(
            "len({# > 1})",
            ExprSyntaxError,
            golden(
                BRACES,
                "len({# > 1})",
                8,
            ),
            id="braces-outside-a-predicate",
        ),
        pytest.param(
            "map([1], #acc)",
            ExprSyntaxError,
            golden(
                "#acc is only valid inside reduce(), such as reduce(xs, #acc + #)",
                "map([1], #acc)",
                10,
            ),
            id="acc-outside-reduce",
        ),
        pytest.param(
            "#index",
            ExprSyntaxError,
            golden("#index is only valid inside a predicate, such as map(xs, #index)", "#index", 1),
            id="index-outside-a-predicate",
        ),
        pytest.param(
            "map(1..9, #unknown)",
            ExprSyntaxError,
            golden(
                "unknown pointer #unknown (pointers are #, #index, #acc)", "map(1..9, #unknown)", 11
            ),
            id="unknown-pointer",
        ),
        pytest.param(
            "let x = 1; let x = 2; x",
            ExprSyntaxError,
            golden("cannot redeclare variable x", "let x = 1; let x = 2; x", 16),
            id="let-twice",
        ),
        pytest.param(
            "let len = 1; len",
            ExprSyntaxError,
            golden("cannot redeclare len: it names a built-in", "let len = 1; len", 5),
            id="let-builtin",
        ),
        pytest.param(
            "let request = 1; request",
            ExprSyntaxError,
            golden("cannot redeclare request: it names a built-in", "let request = 1; request", 5),
            id="let-object",
        ),
        pytest.param(
            "(let x = 1; x) + x",
            ExprSyntaxError,
            golden("unknown name x", "(let x = 1; x) + x", 18),
            id="let-scope-ends",
        ),
        pytest.param(
            "$env['HOME']",
            ExprSyntaxError,
            golden(
                DOLLAR_ENV,
                "$env['HOME']",
                1,
            ),
            id="dollar-env",
        ),
        pytest.param(
            "b'abc'",
            ExprSyntaxError,
            golden(
                BYTES,
                "b'abc'",
                1,
            ),
            id="bytes-literal",
        ),
        pytest.param(
            "now() > 1",
            ExprSyntaxError,
            golden(
                f"now() {DATES}",
                "now() > 1",
                1,
            ),
            id="now",
        ),
        pytest.param(
            "date('2024-01-01').Year()",
            ExprSyntaxError,
            golden(
                f"date() {DATES}",
                "date('2024-01-01').Year()",
                1,
            ),
            id="date-method",
        ),
        pytest.param(
            "len(1; 2)",
            ExprSyntaxError,
            golden(
                SEQUENCE,
                "len(1; 2)",
                6,
            ),
            id="sequence-in-arguments",
        ),
        pytest.param(
            "if true { 1 }",
            ExprSyntaxError,
            golden("unexpected end of expression, expected else", "if true { 1 }", 14),
            id="if-without-else",
        ),
        pytest.param(
            "1..'a'",
            EvaluationError,
            golden("invalid operation: int .. string (a range needs two integers)", "1..'a'", 2),
            id="range-of-text",
        ),
        pytest.param(
            "{(get('n')): 1}",
            EvaluationError,
            golden("map key must be a string, got int", "{(get('n')): 1}", 3),
            id="computed-key-not-text",
        ),
        pytest.param(
            "{('a' + ''): 1, a: 2}",
            EvaluationError,
            golden("map literal repeats the key 'a'", "{('a' + ''): 1, a: 2}", 17),
            id="computed-key-repeats",
        ),
        pytest.param(
            "1 < 2 < 'x'",
            EvaluationError,
            golden("cannot compare int < string", "1 < 2 < 'x'", 7),
            id="chain-link",
        ),
        pytest.param(
            "reduce([], #acc + #)",
            EvaluationError,
            golden("reduce() of an empty list needs an initial value", "reduce([], #acc + #)", 1),
            id="reduce-empty",
        ),
        pytest.param(
            "sortBy([1], #, 'up')",
            EvaluationError,
            golden("sortBy(): the order is 'asc' or 'desc', got 'up'", "sortBy([1], #, 'up')", 1),
            id="sort-order",
        ),
        pytest.param(
            "sort([1, 'a'])",
            EvaluationError,
            golden("sort() sorts numbers or strings, got int and string", "sort([1, 'a'])", 1),
            id="sort-mixed",
        ),
        pytest.param(
            "repeat('x', -1)",
            EvaluationError,
            golden(
                "repeat() needs a count that is an integer of at least 0, got int",
                "repeat('x', -1)",
                1,
            ),
            id="repeat-negative",
        ),
        pytest.param(
            "bitshl(1, 64)",
            EvaluationError,
            golden("integer overflow: the result does not fit in 64 bits", "bitshl(1, 64)", 1),
            id="bitshl-overflow",
        ),
        pytest.param(
            "get('item') | fromPairs()",
            EvaluationError,
            golden("fromPairs() needs a list, got map", "get('item') | fromPairs()", 15),
            id="from-pairs-map",
        ),
    ],
)
def test_golden_expression_errors(
    engine: Engine, source: str, error: type[ExprError], expected: str
) -> None:
    with pytest.raises(ExprError) as caught:
        engine.evaluate(source, make_context())
    assert type(caught.value) is error
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("source", "error", "expected"),
    [
        pytest.param(
            "1 +\n  foo(2)",
            ExprSyntaxError,
            golden("unknown function foo (did you mean 'floor'?)", "  foo(2)", 3, row=2),
            id="unknown-function-line-2",
        ),
        pytest.param(
            "get('visits', 'session')\n  + 1 / 0",
            EvaluationError,
            golden("division by zero", "  + 1 / 0", 7, row=2),
            id="division-line-2",
        ),
        pytest.param(
            "get('x') +\n  get('y') +\n  1 / 0",
            EvaluationError,
            golden("division by zero", "  1 / 0", 5, row=3),
            id="division-line-3",
        ),
        pytest.param(
            "len([1,\n 2",
            ExprSyntaxError,
            golden("unclosed '['", "len([1,", 5),
            id="unclosed-points-at-line-1",
        ),
        pytest.param(
            "'abc\n' + 1",
            ExprSyntaxError,
            golden("unclosed string", "'abc", 1),
            id="string-cannot-span-lines",
        ),
        pytest.param(
            "/* note */\n'a' +\n  1",
            EvaluationError,
            golden(f"invalid operation: string + int {CONCAT}", "'a' +", 5, row=2),
            id="after-comment-line",
        ),
        pytest.param(
            "[\n  1,\n  2\n][5]",
            EvaluationError,
            golden("index 5 out of range for a list of length 2", "][5]", 2, row=4),
            id="multi-line-list",
        ),
    ],
)
def test_golden_multi_line_errors(
    engine: Engine, source: str, error: type[ExprError], expected: str
) -> None:
    with pytest.raises(ExprError) as caught:
        engine.evaluate(source, make_context())
    assert type(caught.value) is error
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("template", "error", "expected"),
    [
        pytest.param(
            "{{ 1 ", ExprSyntaxError, golden("unclosed '{{'", "{{ 1 ", 1), id="unclosed-block"
        ),
        pytest.param(
            "Hi {{ get('user', 'session') ",
            ExprSyntaxError,
            golden("unclosed '{{'", "Hi {{ get('user', 'session') ", 4),
            id="unclosed-block-after-text",
        ),
        pytest.param(
            "x << 1",
            ExprSyntaxError,
            golden("unclosed '<<'", "x << 1", 3),
            id="unclosed-angle-block",
        ),
        pytest.param(
            "{{ }}", ExprSyntaxError, golden("empty {{ }} block", "{{ }}", 1), id="empty-block"
        ),
        pytest.param(
            "a << 1 +  >>",
            ExprSyntaxError,
            golden("unexpected end of expression", "a << 1 +  >>", 9),
            id="syntax-error-in-block",
        ),
        pytest.param(
            "Hello {{ get('user', 'session') + 1 }}!",
            EvaluationError,
            golden(
                f"invalid operation: string + int {CONCAT}",
                "Hello {{ get('user', 'session') + 1 }}!",
                33,
            ),
            id="column-counted-from-template-start",
        ),
        pytest.param(
            "{{ 1 }} {{ 'a' - 1 }}",
            EvaluationError,
            golden("invalid operation: string - int", "{{ 1 }} {{ 'a' - 1 }}", 16),
            id="second-block",
        ),
        pytest.param(
            "line 1\nline 2 {{ lenn(1) }}",
            ExprSyntaxError,
            golden(
                "unknown function lenn (did you mean 'len'?)", "line 2 {{ lenn(1) }}", 11, row=2
            ),
            id="block-on-line-2",
        ),
        pytest.param(
            "  {{ [1, 2][9] }}  ",
            EvaluationError,
            golden("index 9 out of range for a list of length 2", "  {{ [1, 2][9] }}  ", 12),
            id="native-block",
        ),
        pytest.param(
            "<< 1e999 >>",
            ExprSyntaxError,
            golden("number out of range: 1e999", "<< 1e999 >>", 4),
            id="literal-in-angle-block",
        ),
    ],
)
def test_golden_template_errors(
    engine: Engine, template: str, error: type[ExprError], expected: str
) -> None:
    with pytest.raises(ExprError) as caught:
        engine.render(template, make_context())
    assert type(caught.value) is error
    assert str(caught.value) == expected


def test_too_long_source_has_no_caret_line(engine: Engine) -> None:
    """Decision: a source over the limit is not echoed back (it may be 10 MB)."""
    with pytest.raises(LimitError) as caught:
        engine.compile("1" * 10_001)
    assert str(caught.value) == "expression too long: 10,001 characters (the limit is 10,000)"


def test_error_attributes(engine: Engine) -> None:
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate("1 +\n  1 / 0")
    error = caught.value
    assert (error.message, error.line, error.column) == ("division by zero", 2, 5)
    assert error.source == "1 +\n  1 / 0"
    assert error.offset == 8
    assert error.source_line == "  1 / 0"


def test_placed_error_renders_file_position(engine: Engine) -> None:
    with pytest.raises(ExprError) as caught:
        engine.evaluate("1 + foo")
    caught.value.place("resources/login.yaml", 7, 13, "- set('x', 1 + foo)")
    assert str(caught.value) == (
        "resources/login.yaml:7:13: unknown name foo\n | - set('x', 1 + foo)\n | ............^"
    )
