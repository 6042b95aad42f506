"""SPEC §2, §3 and §10: KDeps' objects (``item``, ``loop``, ``request``, ``input``) and their
methods, KDeps' helpers (``input``, ``output``, ``safe``, ``env``, ``toJSON``, ``fromJSON``,
``debug``, ``urlencode``, ``ternary``, ``file``), the ``get`` sources and ``info`` fields
KDeps documents, and functions registered under a dotted name, on both evaluation tiers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from expr_cases import assert_same

from kdeps_expr import Context, Engine, EvaluationError, ExprSyntaxError, Request, WorkflowInfo
from kdeps_expr.language.context import ItemFrame, LoopFrame, UploadedFile

ENVIRONMENT = "KDEPS_EXPR_TEST_VARIABLE"


@pytest.fixture
def context(tmp_path: Path) -> Context:
    """A multipart request with three uploaded files, inside item 1 of 3 and loop round 2."""
    notes = tmp_path / "notes.txt"
    notes.write_text("hello ünïcode", encoding="utf-8")
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    files = (
        UploadedFile("document", "notes.txt", "text/plain", 14, str(notes)),
        UploadedFile("table", "data.csv", "text/csv", 8, str(data)),
        UploadedFile("photo", "photo.png", "image/png", 10, str(image)),
    )
    request = Request(
        method="POST",
        path="/api/upload",
        query={"q": "search", "page": "2"},
        body={"items": [1, 2], "name": "Ada"},
        headers={"Authorization": "Bearer x", "X-Trace": "t1"},
        ip="10.0.0.9",
        request_id="req-9",
        files=files,
    )
    return Context(
        request,
        outputs={"fetch": [{"n": 1}, {"n": 2}]},
        workflow=WorkflowInfo(name="shop", version="2.0", description="A shop"),
        item=ItemFrame(["first", {"org": "kdeps"}, "third"], 1),
        loop=LoopFrame(2, results=["r0", "r1"], scope={"seen": 3}),
    )


def paths(context: Context) -> list[str]:
    return [upload.path for upload in context.request.files]


VALUES = [
    # the item object and its methods
    ("item.current()", {"org": "kdeps"}),
    ("item.org", "kdeps"),
    ("item.prev()", "first"),
    ("item.next()", "third"),
    ("item.index()", 1),
    ("item.count()", 3),
    ("item.values()", ["first", {"org": "kdeps"}, "third"]),
    ("item.values('fetch')", [{"n": 1}, {"n": 2}]),
    ("info('current')", {"org": "kdeps"}),
    ("info('index') + info('count')", 4),
    # the loop object and its scope
    ("loop.index()", 2),
    ("loop.count()", 3),
    ("loop.results()", ["r0", "r1"]),
    ("loop", {"index": 2, "count": 3, "results": ["r0", "r1"]}),
    ("get('seen', 'loop')", 3),
    ("set('seen', get('seen', 'loop') + 1, 'loop')", 4),
    # the request and input objects
    ("request.method + ' ' + request.path", "POST /api/upload"),
    ("[request.IP, request.ID]", ["10.0.0.9", "req-9"]),
    ("request.headers['x-trace']", "t1"),
    ("request.query.page", "2"),
    ("request.body.name", "Ada"),
    ("request.header('AUTHORIZATION')", "Bearer x"),
    ("request.params('page')", "2"),
    ("request.params('name')", "Ada"),
    ("request.data().items", [1, 2]),
    ("input.items", [1, 2]),
    ("input('q')", "search"),
    ("input('x-trace')", "t1"),
    ("input('name')", "Ada"),
    ("input('q', 'body')", None),
    ("input('name', 'data')", "Ada"),
    ("output('fetch')[1].n", 2),
    ("output('nothing')", None),
    # uploaded files
    ("request.file('document')", "hello ünïcode"),
    ("request.file('missing')", None),
    ("request.filetype('photo')", "image/png"),
    ("request.filecount()", 3),
    ("request.filetypes()", ["text/plain", "text/csv", "image/png"]),
    ("file('notes.txt')", "hello ünïcode"),
    ("file('*.txt')", ["hello ünïcode"]),
    ("file('*.csv', 'first')", "a,b\n1,2\n"),
    ("file('*.t*', 'last')", "hello ünïcode"),
    ("file('*', 'count')", 3),
    ("file('*.pdf', 'first')", None),
    ("file('*', 'mime:text/*')", ["hello ünïcode", "a,b\n1,2\n"]),
    ("get('document', 'file')", "hello ünïcode"),
    ("get('photo', 'filetype')", "image/png"),
    ("info('filecount')", 3),
    ("info('filenames')", ["notes.txt", "data.csv", "photo.png"]),
    ("info('filetypes')", ["text/plain", "text/csv", "image/png"]),
    # KDeps' spellings of info fields and get sources
    ("[info('name'), info('version'), info('description')]", ["shop", "2.0", "A shop"]),
    ("[info('clientIp'), info('request.IP'), info('request.ID')]", ["10.0.0.9"] * 2 + ["req-9"]),
    ("info('request.method') + info('request.path')", "POST/api/upload"),
    ("get('name', 'data')", "Ada"),
    ("get('unset-anywhere', 'env')", None),
    ("get('unset-anywhere', 'env', 'fallback')", "fallback"),
    # helpers
    ("safe({'a': {'b': {'c': 1}}}, 'a.b.c')", 1),
    ("safe({'a': {'b': 1}}, 'a.x.c')", None),
    ("safe({'items': [1]}, 'items.0')", None),
    ("safe(nil, 'a')", None),
    ("safe({'a': 1}, '')", None),
    ("toJSON({'b': 1, 'a': [1.0, nil]})", '{"b":1,"a":[1.0,null]}'),
    ('fromJSON(\'{"a": [1, 2.5, "x", null, true]}\')', {"a": [1, 2.5, "x", None, True]}),
    ("fromJSON('not json')", None),
    ("fromJSON('1e400')", None),
    ("fromJSON('NaN')", None),
    ("fromJSON('9223372036854775808')", None),
    ("fromJSON('\"\\\\ud800\"')", None),
    ("fromJSON(nil)", None),
    ("debug({'a': [1]})", '{\n  "a": [\n    1\n  ]\n}'),
    ("debug('x')", '"x"'),
    ("urlencode('a b/é?&=~_.-')", "a+b%2F%C3%A9%3F%26%3D~_.-"),
    ("urlencode(42)", "42"),
    ("ternary(get('flag') == 'yes', 'on', 'off')", "off"),
    ("ternary('true', 1, 2)", 1),
    ("ternary([], 1, 2)", 2),
]


@pytest.mark.parametrize(("source", "expected"), [pytest.param(*row, id=row[0]) for row in VALUES])
def test_kdeps_value(engine: Engine, context: Context, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, context), expected)


def test_file_paths(engine: Engine, context: Context) -> None:
    assert engine.evaluate("request.files()", context) == paths(context)
    assert engine.evaluate("info('files')", context) == paths(context)
    assert engine.evaluate("request.filesByType('image/*')", context) == paths(context)[2:]
    assert engine.evaluate("request.filepath('table')", context) == paths(context)[1]
    assert engine.evaluate("get('table', 'filepath')", context) == paths(context)[1]


def test_env_reads_the_process_environment(
    engine: Engine, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVIRONMENT, "from env")
    assert engine.evaluate(f"env('{ENVIRONMENT}')", context) == "from env"
    assert engine.evaluate(f"get('{ENVIRONMENT}', 'env')", context) == "from env"
    monkeypatch.delenv(ENVIRONMENT)
    assert engine.evaluate(f"env('{ENVIRONMENT}')", context) is None


OUTSIDE = [
    ("item", None),
    ("item.current()", None),
    ("item.index()", 0),
    ("item.count()", 0),
    ("item.values()", []),
    ("info('next')", None),
    ("loop", None),
    ("loop.index()", 0),
    ("loop.results()", []),
    ("get('seen', 'loop')", None),
    ("input", {}),
    ("request.filecount()", 0),
    ("file('*')", []),
]


@pytest.mark.parametrize(("source", "expected"), [pytest.param(*row, id=row[0]) for row in OUTSIDE])
def test_outside_an_iteration(engine: Engine, source: str, expected: Any) -> None:
    assert_same(engine.evaluate(source, Context()), expected)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "set('k', 1, 'loop')",
            "set(): the 'loop' scope exists only inside a loop (1:1)\n | set('k', 1, 'loop')\n | ^",
            id="loop-scope-outside",
        ),
        pytest.param(
            "input('q', 'cookie')",
            "input(): unknown type 'cookie'; types are param, query, header, body, data (1:1)\n"
            " | input('q', 'cookie')\n | ^",
            id="input-type",
        ),
        pytest.param(
            "file('*', 'middle')",
            "file(): unknown selector 'middle'; selectors are first, last, count, all, "
            "mime:<type> (1:1)\n | file('*', 'middle')\n | ^",
            id="file-selector",
        ),
    ],
)
def test_helper_errors(engine: Engine, source: str, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate(source, Context())
    assert str(caught.value) == message


def test_binary_upload_is_read_by_path(engine: Engine, context: Context) -> None:
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate("request.file('photo')", context)
    assert str(caught.value) == (
        "uploaded file 'photo.png' (image/png) is not UTF-8 text; read it by its path: "
        "request.filepath('photo') (1:9)\n | request.file('photo')\n | ........^"
    )


OBJECTS = "item, loop, request"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            "item.curent()",
            "item has no method curent() (did you mean 'current'?); its methods are count(), "
            "current(), index(), next(), prev(), values() (1:6)\n | item.curent()\n | .....^",
            id="misspelt-method",
        ),
        pytest.param(
            "item.current(1)",
            "item.current() takes 0 arguments, got 1 (1:6)\n | item.current(1)\n | .....^",
            id="method-arity",
        ),
        pytest.param(
            "user.name()",
            f"unknown method user.name(): values have no methods (only KDeps' objects have "
            f"methods: {OBJECTS}) (1:6)\n | user.name()\n | .....^",
            id="unknown-object",
        ),
        pytest.param(
            "get('s').trim()",
            f"values have no methods: .trim() is not supported (only KDeps' objects have "
            f"methods: {OBJECTS}) (1:10)\n | get('s').trim()\n | .........^",
            id="method-on-a-value",
        ),
        pytest.param(
            "requests.method",
            "unknown name requests (1:1)\n | requests.method\n | ^",
            id="unknown-name",
        ),
    ],
)
def test_method_errors(engine: Engine, source: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile(source)
    assert str(caught.value) == message


def test_a_dotted_function_is_a_method_of_a_new_object(hot_after: int) -> None:
    engine = Engine(hot_after=hot_after)
    engine.register(
        "exec.exitCode", lambda ctx, action: ctx.outputs[action]["code"], pass_context=True
    )
    context = Context(outputs={"build": {"code": 3}})
    assert engine.evaluate("exec.exitCode('build') == 3", context) is True
    with pytest.raises(ExprSyntaxError) as caught:
        engine.compile("exec.stdout('build')")
    assert caught.value.message == "exec has no method stdout(); its methods are exitCode()"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("request.filecount() > 0", "expression", id="method-call-is-a-call"),
        pytest.param("request.method", "text", id="no-call-is-text"),
        pytest.param("{{ request.method }}", "template", id="template"),
    ],
)
def test_value_strings_with_methods(text: str, kind: str) -> None:
    assert Engine().read_value(text).kind == kind


def test_a_misspelt_method_in_a_value_string_is_text_with_a_warning() -> None:
    reading = Engine().read_value("item.curent()")
    assert (reading.kind, reading.warning) == (
        "text",
        "read as text: item has no method curent() (did you mean 'current'?); its methods "
        "are count(), current(), index(), next(), prev(), values()",
    )
