"""SPEC §3, the functions: every built-in, get's search order, sources and defaults, set,
unset, clear, session, info, and functions users register on an Engine."""

from __future__ import annotations

from typing import Any

import pytest
from expr_cases import FUNCTIONS, SCOPE_READS, SESSION_ID, STDLIB, assert_same, make_context

from kdeps_expr import (
    Context,
    Engine,
    EvaluationError,
    ExprError,
    ExprSyntaxError,
    Request,
    SessionState,
)

SOURCES = (
    "memory, session, output, query, body, param, header, info, data, loop, item, "
    "itemvalues, env, file, filepath, filetype"
)
INFO_FIELDS = (
    "sessionId, requestId, timestamp, method, path, ip, actionId, workflow.name, "
    "workflow.version, workflow.description, files, filenames, filetypes, filecount, "
    "current, prev, next, index, count"
)
SPEC_BUILTINS = [
    *("get", "set", "unset", "clear", "session", "info"),
    *("len", "sum", "min", "max", "abs", "round", "floor", "ceil"),
    *("lower", "upper", "trim", "split", "join", "replace"),
    *("first", "last", "keys", "values", "concat"),
    *("int", "float", "string", "bool", "type", "json", "default"),
    *("filter", "map", "any", "all", "none", "count", "find"),
]


def test_every_builtin_of_the_spec_exists(engine: Engine) -> None:
    missing = [name for name in SPEC_BUILTINS if name not in engine.functions]
    assert missing == []


@pytest.mark.parametrize(("source", "expected"), FUNCTIONS + STDLIB)
def test_builtin(engine: Engine, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, make_context()), expected)


@pytest.mark.parametrize(("source", "expected"), SCOPE_READS)
def test_scope_read(engine: Engine, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, make_context()), expected)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("len(1)", "len() needs a string, list or map, got int", id="len"),
        pytest.param("sum(['a'])", "sum() needs numbers, got string", id="sum-items"),
        pytest.param("sum(1)", "sum() needs a list, got int", id="sum-list"),
        pytest.param("sum([1], 'a')", "sum() needs numbers, got string", id="sum-predicate"),
        pytest.param(
            "min([1, 'a'])", "min() needs numbers or strings, got int and string", id="min-mixed"
        ),
        pytest.param(
            "max(1, ['a'])", "max() needs numbers or strings, got int and string", id="max"
        ),
        pytest.param("max(true)", "max() needs numbers or strings, got bool", id="max-of-bool"),
        pytest.param("abs('x')", "abs() needs a number, got string", id="abs"),
        pytest.param(
            "round(1.5, 'x')", "round() needs an integer number of digits, got string", id="round"
        ),
        pytest.param("floor('1')", "floor() needs a number, got string", id="floor"),
        pytest.param("ceil(nil)", "ceil() needs a number, got nil", id="ceil"),
        pytest.param("lower(1)", "lower() needs a string, got int", id="lower"),
        pytest.param("upper(nil)", "upper() needs a string, got nil", id="upper"),
        pytest.param("trim(1)", "trim() needs a string, got int", id="trim"),
        pytest.param("split(1, ',')", "split() needs a string, got int", id="split"),
        pytest.param("join([1], ',')", "join() needs a list of strings, item 0 is int", id="join"),
        pytest.param("join('a', ',')", "join() needs a list, got string", id="join-list"),
        pytest.param("replace('a', 1, 'b')", "replace() needs a string, got int", id="replace"),
        pytest.param("first('ab')", "first() needs a list, got string", id="first"),
        pytest.param("last({})", "last() needs a list, got map", id="last"),
        pytest.param("keys([])", "keys() needs a map, got list", id="keys"),
        pytest.param("values(1)", "values() needs a map, got int", id="values"),
        pytest.param("concat([1], 2)", "concat() needs a list, got int", id="concat"),
        pytest.param("int('x')", "int(): 'x' is not an integer", id="int-string"),
        pytest.param("int([])", "int() needs a number or a string, got list", id="int-list"),
        pytest.param("float('x')", "float(): 'x' is not a number", id="float-string"),
        pytest.param("float('inf')", "float(): 'inf' is not a number", id="float-inf"),
        pytest.param("float('1e999')", "float(): '1e999' is not a finite number", id="float-huge"),
        pytest.param(
            "bool('maybe')", "bool(): 'maybe' is not true/false, yes/no, on/off or 1/0", id="bool"
        ),
        pytest.param("filter(1, #)", "filter() needs a list, got int", id="filter"),
        pytest.param("map({}, #)", "map() needs a list, got map", id="map"),
        pytest.param("any('x', #)", "any() needs a list, got string", id="any"),
        pytest.param("get(1)", "get() needs a string key, got int", id="get-key"),
        pytest.param("set(nil, 1)", "set() needs a string key, got nil", id="set-key"),
        pytest.param(
            "get('k', 'sesion', 'd')",
            f"unknown get source 'sesion' (did you mean 'session'?); sources are {SOURCES}",
            id="get-unknown-source",
        ),
        pytest.param(
            "get('k', 'cookies', nil)",
            f"unknown get source 'cookies'; sources are {SOURCES}",
            id="get-unknown-source-no-suggestion",
        ),
        pytest.param(
            "set('k', 1, 'sesion')",
            "set(): unknown scope 'sesion' (did you mean 'session'?); "
            "scopes are memory, session, loop",
            id="set-unknown-scope",
        ),
        pytest.param(
            "set('k', 1, 'query')",
            "set(): unknown scope 'query'; scopes are memory, session, loop",
            id="set-read-only-source",
        ),
        pytest.param(
            "unset('k', 'globals')",
            "unset(): unknown scope 'globals'; scopes are memory, session, loop",
            id="unset-unknown-scope",
        ),
        pytest.param(
            "clear('sessions')",
            "clear(): unknown scope 'sessions' (did you mean 'session'?); "
            "scopes are memory, session, loop",
            id="clear-unknown-scope",
        ),
        pytest.param(
            "set('fetch', 1)",
            "set(): 'fetch' is the actionId of a resource and cannot be set",
            id="set-action-id",
        ),
        pytest.param(
            "set('skipped', 1, 'session')",
            "set(): 'skipped' is the actionId of a resource and cannot be set",
            id="set-action-id-in-session",
        ),
        pytest.param(
            "info('bogus')", f"unknown info field 'bogus'; fields are {INFO_FIELDS}", id="info"
        ),
        pytest.param(
            "info('sessionid')",
            f"unknown info field 'sessionid' (did you mean 'sessionId'?); fields are {INFO_FIELDS}",
            id="info-suggests",
        ),
        pytest.param(
            "info([1])", "info() needs a field name (a string), got list", id="info-not-a-name"
        ),
    ],
)
def test_function_errors(engine: Engine, source: str, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate(source, make_context())
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("len()", "len() takes 1 argument, got 0", id="too-few"),
        pytest.param("len(1, 2)", "len() takes 1 argument, got 2", id="too-many"),
        pytest.param("get()", "get() takes 1 to 3 arguments, got 0", id="range"),
        pytest.param("get('a', 'b', 'c', 'd')", "get() takes 1 to 3 arguments, got 4", id="get"),
        pytest.param("set('a')", "set() takes 2 to 3 arguments, got 1", id="set"),
        pytest.param("session(1)", "session() takes 0 arguments, got 1", id="none-allowed"),
        pytest.param("min()", "min() takes at least 1 argument, got 0", id="variadic"),
        pytest.param("default(1)", "default() takes 2 arguments, got 1", id="default"),
        pytest.param("filter([1])", "filter() takes 2 arguments, got 1", id="predicate-missing"),
        pytest.param("lenn('x')", "unknown function lenn (did you mean 'len'?)", id="unknown"),
        pytest.param("gett('x')", "unknown function gett (did you mean 'get'?)", id="unknown-get"),
        pytest.param("xyzzy(1)", "unknown function xyzzy", id="unknown-no-suggestion"),
    ],
)
def test_calls_are_checked_at_compile_time(engine: Engine, source: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile(source)
    assert caught.value.message == message


# ---- get: the search order, told as a story of which source holds the key ---------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(
            {"memory": "m", "outputs": "o", "query": "q", "body": "b", "header": "h"},
            "m",
            id="memory-first",
        ),
        pytest.param(
            {"outputs": "o", "query": "q", "body": "b", "header": "h"}, "o", id="outputs-second"
        ),
        pytest.param({"query": "q", "body": "b", "header": "h"}, "q", id="query-third"),
        pytest.param({"body": "b", "header": "h"}, "b", id="body-fourth"),
        pytest.param({"header": "h"}, "h", id="headers-last"),
        pytest.param({"memory": None, "query": "q"}, None, id="stops-at-nil"),
        pytest.param({"memory": "", "query": "q"}, "", id="stops-at-empty"),
        pytest.param({"query": "", "body": "b"}, "", id="empty-query-hides-body"),
        pytest.param({"session": "s"}, None, id="session-never-searched"),
        pytest.param({"session": "s", "body": "b"}, "b", id="request-not-session"),
        pytest.param({}, None, id="missing"),
    ],
)
def test_get_search_order(engine: Engine, sources: dict[str, Any], expected: Any) -> None:
    key = "Key"
    context = Context(
        Request(
            query={key: sources["query"]} if "query" in sources else {},
            body={key: sources["body"]} if "body" in sources else {},
            headers={key.upper(): sources["header"]} if "header" in sources else {},
        ),
        session=SessionState({key: sources["session"]} if "session" in sources else {}),
        memory={key: sources["memory"]} if "memory" in sources else {},
        outputs={key: sources["outputs"]} if "outputs" in sources else {},
    )
    assert_same(engine.evaluate("get('Key')", context), expected)


def test_get_of_a_non_map_body_finds_nothing_there(engine: Engine) -> None:
    context = Context(Request(body=["not", "a", "map"], headers={"k": "h"}))
    assert engine.evaluate("get('k')", context) == "h"
    assert engine.evaluate("get('k', 'body')", context) is None


def test_action_id_reads_its_output_whatever_memory_and_request_hold(engine: Engine) -> None:
    context = Context(
        Request(query={"llm": "from query"}),
        memory={"llm": "from memory"},
        outputs={"llm": "answer"},
        action_ids=frozenset({"llm", "pending"}),
    )
    assert engine.evaluate("get('llm')", context) == "answer"
    assert engine.evaluate("get('pending')", context) is None
    assert engine.evaluate("get('llm', 'memory')", context) == "from memory"


def test_seed_preferences_read_request_before_defaults_never_the_session(engine: Engine) -> None:
    """The seed's user-preferences resource: ``get('language', 'en')`` then save it."""
    source = "set('language', get('language', 'en'), 'session')"
    session = SessionState({"language": "de"})
    first = Context(Request(query={"language": "fr"}), session=session)
    assert engine.evaluate(source, first) == "fr"
    again = Context(Request(), session=session)
    assert engine.evaluate(source, again) == "en"
    assert session.data["language"] == "en"


# ---- set, unset, clear, session ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "result", "memory", "session"),
    [
        pytest.param("set('k', 5)", 5, {"k": 5}, None, id="set-memory"),
        pytest.param(
            "set('k', [1, {'a': 2}])",
            [1, {"a": 2}],
            {"k": [1, {"a": 2}]},
            None,
            id="set-returns-value",
        ),
        pytest.param(
            "set('mem', 'new', 'memory')", "new", {"mem": "new"}, None, id="set-memory-explicit"
        ),
        pytest.param("set('k', 5, 'session')", 5, None, {"k": 5}, id="set-session"),
        pytest.param("set('k', nil, 'session')", None, None, {"k": None}, id="set-nil-keeps-key"),
        pytest.param(
            "set('visits', get('visits', 'session') + 1, 'session')",
            3,
            None,
            {"visits": 3},
            id="seed-visit-counter",
        ),
        pytest.param(
            "set('cart', get('cart', 'session') + [get('item')], 'session')",
            [
                {"name": "cup", "price": 2},
                {"name": "mug", "price": 3.5},
                {"name": "pen", "price": 2},
            ],
            None,
            {
                "cart": [
                    {"name": "cup", "price": 2},
                    {"name": "mug", "price": 3.5},
                    {"name": "pen", "price": 2},
                ]
            },
            id="seed-cart",
        ),
        pytest.param("unset('mem', 'memory')", None, {"mem": None}, None, id="unset-memory"),
        pytest.param("unset('mem')", None, {"mem": None}, None, id="unset-default-memory"),
        pytest.param("unset('user', 'session')", None, None, {"user": None}, id="unset-session"),
        pytest.param(
            "unset('absent', 'session')", None, None, {"absent": None}, id="unset-missing-key"
        ),
    ],
)
def test_writes(
    engine: Engine,
    source: str,
    result: Any,
    memory: dict[str, Any] | None,
    session: dict[str, Any] | None,
) -> None:
    """``memory``/``session``: expected entries after the call; ``None`` as a value: gone."""
    context = make_context()
    assert_same(engine.evaluate(source, context), result)
    for store, expected in ((context.memory, memory), (context.session.data, session)):
        for key, value in (expected or {}).items():
            if value is None and not source.startswith("set("):
                assert key not in store
            else:
                assert key in store
                assert_same(store[key], value)


def test_set_then_get_in_one_expression(engine: Engine) -> None:
    context = make_context()
    assert engine.evaluate("[set('x', 5), get('x'), get('x', 'memory')]", context) == [5, 5, 5]
    assert engine.evaluate("set('y', 1, 'session') + get('y', 'session')", context) == 2
    assert engine.evaluate("get('y')", context) is None  # unqualified get never sees it


def test_set_nil_in_session_keeps_the_key(engine: Engine) -> None:
    context = make_context()
    engine.evaluate("set('user', nil, 'session')", context)
    assert context.session.data["user"] is None
    assert "user" in context.session.data
    assert engine.evaluate("'user' in session()", context) is True
    assert engine.evaluate("get('user', 'session', 'anon')", context) == "anon"


def test_clear_session_is_a_logout(engine: Engine) -> None:
    context = make_context()
    assert engine.evaluate("clear('session')", context) is None
    assert context.session.data == {}
    assert context.session.changed
    assert engine.evaluate("session()", context) == {}
    assert engine.evaluate("get('mem')", context) == "from memory"


def test_clear_memory(engine: Engine) -> None:
    context = make_context()
    assert engine.evaluate("clear('memory')", context) is None
    assert context.memory == {}
    assert context.session.data["user"] == "ann"


def test_session_returns_the_whole_session(engine: Engine) -> None:
    context = make_context()
    assert engine.evaluate("session()", context) == context.session.data
    assert engine.evaluate("len(session())", context) == 5


def test_failed_write_changes_nothing(engine: Engine) -> None:
    context = make_context()
    with pytest.raises(EvaluationError):
        engine.evaluate("set('k', 1, 'sesion')", context)
    assert "k" not in context.memory
    assert "k" not in context.session.data
    assert not context.session.changed


# ---- info -------------------------------------------------------------------------------


def test_info_timestamp_is_utc_rfc3339_seconds(engine: Engine) -> None:
    stamp = engine.evaluate("info('timestamp')", Context())
    assert isinstance(stamp, str)
    assert len(stamp) == 20
    assert stamp[4] == stamp[7] == "-"
    assert stamp[10] == "T"
    assert stamp.endswith("Z")


def test_info_session_id_is_the_real_id(engine: Engine) -> None:
    context = make_context()
    assert engine.evaluate("info('sessionId') == info('session_id')", context) is True
    assert engine.evaluate("info('sessionId')", context) == SESSION_ID
    fresh = Context()
    made = engine.evaluate("info('sessionId')", fresh)
    assert isinstance(made, str)
    assert len(made) == 43
    assert engine.evaluate("info('sessionId')", fresh) == made


# ---- functions registered by users ----------------------------------------------------------


def test_register_plain_function(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register("double", lambda x: x * 2)
    assert engine.evaluate("double(21)") == 42
    assert engine.evaluate("map([1, 2], double(#))") == [2, 4]


def test_register_with_context(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)

    def greeting(context: Context, name: str) -> str:
        return f"hello {name} from {context.request.path}"

    engine.register("greet", greeting, pass_context=True)
    assert engine.evaluate("greet('ann')", Context(Request(path="/x"))) == "hello ann from /x"
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile("greet()")
    assert caught.value.message == "greet() takes 1 argument, got 0"


def test_register_through_the_constructor(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after, functions={"answer": lambda: 42})
    assert engine.evaluate("answer() + 0") == 42


def test_register_arity_from_signature(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register("opt", lambda a, b=1: a + b)
    engine.register("many", lambda *items: len(items))
    assert engine.evaluate("opt(1)") == 2
    assert engine.evaluate("opt(1, 2)") == 3
    assert engine.evaluate("many()") == 0
    assert engine.evaluate("many(1, 2, 3)") == 3
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile("opt(1, 2, 3)")
    assert caught.value.message == "opt() takes 1 to 2 arguments, got 3"


def test_register_replaces_builtin_and_invalidates_cache(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    assert engine.evaluate("upper('a')") == "A"
    engine.register("upper", lambda text: f"<{text}>")
    assert engine.evaluate("upper('a')") == "<a>"
    with pytest.raises(ExprSyntaxError):
        engine.compile("later()")
    engine.register("later", lambda: "now")
    assert engine.evaluate("later()") == "now"


def test_registering_on_one_engine_leaves_others_alone(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register("mine", lambda: 1)
    with pytest.raises(ExprSyntaxError):
        Engine(hot_after=hot_after).compile("mine()")
    assert Engine(hot_after=hot_after).evaluate("upper('a')") == "A"


def _return(value: Any) -> Any:
    return lambda: value


NOT_A_VALUE = " not an expression value (nil, bool, int, float, string, list or map)"


@pytest.mark.parametrize(
    ("result", "message"),
    [
        pytest.param((1, 2), f"f() returned a Python tuple,{NOT_A_VALUE}", id="tuple"),
        pytest.param(object(), f"f() returned a Python object,{NOT_A_VALUE}", id="object"),
        pytest.param([{"a": {1, 2}}], f"f() returned a Python set,{NOT_A_VALUE}", id="nested"),
        pytest.param(
            len, f"f() returned a Python builtin_function_or_method,{NOT_A_VALUE}", id="function"
        ),
        pytest.param(b"x", f"f() returned a Python bytes,{NOT_A_VALUE}", id="bytes"),
        pytest.param({1: "x"}, "f() returned a map with a non-string key", id="int-key"),
        pytest.param(float("inf"), "f() returned a number that is not finite", id="inf"),
        pytest.param([float("nan")], "f() returned a number that is not finite", id="nan"),
    ],
)
def test_user_function_returning_a_non_value(hot_after: int, result: Any, message: str) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register("f", _return(result))
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate("f()")
    assert caught.value.message == message


def test_user_function_failure_is_an_evaluation_error(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register("boom", lambda: 1 // 0)
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate("1 + boom()")
    assert str(caught.value) == (
        "boom() failed: ZeroDivisionError: integer division or modulo by zero (1:5)\n"
        " | 1 + boom()\n"
        " | ....^"
    )
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_user_function_may_raise_expression_errors(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)

    def strict(value: Any) -> Any:
        raise EvaluationError(f"strict() refuses {value!r}")

    engine.register("strict", strict)
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate("strict(1)")
    assert caught.value.message == "strict() refuses 1"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("1bad", id="digit"),
        pytest.param("a-b", id="dash"),
        pytest.param("", id="empty"),
        pytest.param("a.b.c", id="two-dots"),
        pytest.param("a.", id="trailing-dot"),
        pytest.param("f()", id="parentheses"),
    ],
)
def test_register_refuses_invalid_names(name: str) -> None:
    with pytest.raises(ExprError) as caught:
        Engine().register(name, lambda: 1)
    assert caught.value.message == f"invalid function name {name!r}"
