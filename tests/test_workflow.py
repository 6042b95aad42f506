"""Loading workflows: typed resources, requires order, Jinja2, and every load error's text."""

from __future__ import annotations

import gc
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _workflows import HEADER, MAIN, write_workflow

import kdeps_expr.workflow.loader as loader
from kdeps_expr.cli import main
from kdeps_expr.errors import WorkflowLoadError
from kdeps_expr.language.engine import Engine
from kdeps_expr.workflow import inspect_workflow, load_workflow
from kdeps_expr.workflow.model import Constant, Dynamic, Route, Step, plan_order


def load_error(root: Path, files: dict[str, str]) -> str:
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflow(write_workflow(root, files))
    return str(caught.value).replace(str(root), "WF")


def test_loads_typed_resources(tmp_path: Path) -> None:
    workflow = load_workflow(
        write_workflow(
            tmp_path,
            {
                "workflow.yaml": HEADER
                + """\
                settings:
                  apiServer:
                    routes:
                      - path: /api/main
                        methods: [get, POST]
                      - path: /api/helper
                        methods: [POST]
                        actionId: helper
                  session:
                    type: memory
                    ttl: 1h30m
                """.replace("                ", ""),
                "resources/main.yaml": """\
                apiVersion: kdeps.io/v1
                kind: Resource
                metadata:
                  actionId: main
                  name: Main
                  description: The target
                  requires: [helper]
                run:
                  restrictToHttpMethods: [GET, post]
                  restrictToRoutes: [/api/main]
                  skipCondition:
                    - "{{ get('skip') }}"
                  preflightCheck:
                    validations: [get('q') != '']
                    error:
                      code: 422
                      message: "q is required, {{ info('requestId') }}"
                  chat:
                    model: llama3
                    prompt: "Answer {{ get('q') }}"
                    role: user
                    timeoutDuration: 90s
                  apiResponse:
                    success: true
                    response:
                      answer: get('main')
                      fixed: [1, two, {three: 3}]
                    meta:
                      statusCode: 201
                      headers:
                        X-Answer: "{{ get('q') }}"
                """,
                "resources/helper.yml": """\
                metadata:
                  actionId: helper
                run:
                  exprBefore: set('a', 1)
                """,
            },
        )
    )
    assert (workflow.name, workflow.version, workflow.target_action_id) == ("demo", "1.2", "main")
    assert workflow.root == tmp_path.resolve()
    assert workflow.api_routes == [
        Route("/api/main", ("GET", "POST"), "main"),
        Route("/api/helper", ("POST",), "helper", targeted=True),
    ]
    assert workflow.session_config == {"type": "memory", "ttl": "1h30m"}
    assert [r.action_id for r in workflow.plans["main"]] == ["helper", "main"]
    main_resource = workflow.resources["main"]
    assert (main_resource.name, main_resource.description) == ("Main", "The target")
    assert main_resource.file == f"{tmp_path}/resources/main.yaml"
    assert main_resource.methods == frozenset({"GET", "POST"})
    assert main_resource.routes == frozenset({"/api/main"})
    assert [step.source for step in main_resource.skip_conditions] == ["get('skip')"]
    preflight = main_resource.preflight
    assert preflight is not None
    assert (preflight.code, [s.source for s in preflight.validations]) == (422, ["get('q') != ''"])
    assert isinstance(preflight.message, Dynamic)
    chat = main_resource.action
    assert chat is not None and chat.kind == "chat"
    assert [key for key, _ in chat.fields] == ["model", "prompt", "role", "timeoutDuration"]
    assert [
        value.value if isinstance(value, Constant) else type(value).__name__
        for _, value in chat.fields
    ] == ["llama3", "Dynamic", "user", "90s"]
    api = main_resource.api_response
    assert api is not None
    assert api.status == 201
    assert [name for name, _ in api.headers] == ["X-Answer"]
    helper = workflow.resources["helper"]
    assert [
        (b.name, [s.source for s in b.entries if isinstance(s, Step)]) for b in helper.before
    ] == [("exprBefore", ["set('a', 1)"])]


def test_resources_may_follow_the_workflow_document(tmp_path: Path) -> None:
    workflow = load_workflow(write_workflow(tmp_path, {"workflow.yaml": HEADER + "---\n" + MAIN}))
    assert list(workflow.resources) == ["main"]


@pytest.mark.parametrize(
    ("requires", "target", "expected"),
    [
        ({"a": ()}, "a", ["a"]),
        ({"a": ("b", "c"), "b": (), "c": ()}, "a", ["b", "c", "a"]),
        ({"a": ("c", "b"), "b": (), "c": ()}, "a", ["c", "b", "a"]),
        ({"a": ("b", "c"), "b": ("c",), "c": ()}, "a", ["c", "b", "a"]),
        ({"a": ("b", "d"), "b": ("c",), "c": (), "d": ("c",)}, "a", ["c", "b", "d", "a"]),
        ({"a": ("b",), "b": (), "x": ("a",)}, "a", ["b", "a"]),
    ],
    ids=["alone", "listed-order", "listed-order-reversed", "shared", "diamond", "closure-only"],
)
def test_plan_order(requires: dict[str, tuple[str, ...]], target: str, expected: list[str]) -> None:
    assert plan_order(target, requires) == expected


def test_plan_order_handles_long_chains() -> None:
    requires = {f"r{i}": (f"r{i + 1}",) for i in range(5000)} | {"r5000": ()}
    assert plan_order("r0", requires)[:2] == ["r5000", "r4999"]


# An expression error in each YAML scalar style points at the bad character of the file.
STYLE_ROWS = [
    (
        "plain",
        "- set('a', 1 +)\n",
        "WF/resources/main.yaml:5:19: unexpected ')'\n"
        " |     - set('a', 1 +)\n"
        " | ..................^",
    ),
    (
        "plain-folded",
        "- set('a',\n      1 +)\n",
        "WF/resources/main.yaml:6:14: unexpected ')'\n |           1 +)\n | .............^",
    ),
    (
        "single-quoted",
        "- 'set(''a'', 1 +)'\n",
        "WF/resources/main.yaml:5:22: unexpected ')'\n"
        " |     - 'set(''a'', 1 +)'\n"
        " | .....................^",
    ),
    (
        "double-quoted-escapes",
        r'- "set(\"a\",\t\"x\\\\y\" + 1 +)"' + "\n",
        "WF/resources/main.yaml:5:36: unexpected ')'\n"
        r' |     - "set(\"a\",\t\"x\\\\y\" + 1 +)"' + "\n"
        " | ...................................^",
    ),
    (
        "double-quoted-escaped-line-break",
        "- \"set('a', \\\n    1 +)\"\n",
        "WF/resources/main.yaml:6:12: unexpected ')'\n |         1 +)\"\n | ...........^",
    ),
    (
        "literal-block",
        "- |\n      set('a',\n        1 +)\n",
        "WF/resources/main.yaml:7:16: unexpected ')'\n |             1 +)\n | ...............^",
    ),
    (
        "folded-block",
        "- >-\n      set('a',\n      1 +)\n",
        "WF/resources/main.yaml:7:14: unexpected ')'\n |           1 +)\n | .............^",
    ),
    (
        "outer-template-block",
        "- '{{ set(''a'', nope) }}'\n",
        "WF/resources/main.yaml:5:22: unknown name nope\n"
        " |     - '{{ set(''a'', nope) }}'\n"
        " | .....................^",
    ),
]


@pytest.mark.parametrize(
    ("entry", "expected"), [row[1:] for row in STYLE_ROWS], ids=[row[0] for row in STYLE_ROWS]
)
def test_expression_errors_point_at_the_file_character(
    tmp_path: Path, entry: str, expected: str
) -> None:
    resource = "metadata:\n  actionId: main\nrun:\n  expr:\n" + textwrap.indent(entry, "    ")
    assert load_error(tmp_path, {"resources/main.yaml": resource}) == expected


def test_value_string_errors_point_at_the_file_character(tmp_path: Path) -> None:
    resource = """\
    metadata:
      actionId: main
    run:
      chat:
        prompt: |
          Hello {{ get('user') }},
          today is {{ info('timestamp') + }}.
    """
    assert load_error(tmp_path, {"resources/main.yaml": resource}) == (
        "WF/resources/main.yaml:7:38: unexpected end of expression\n"
        " |       today is {{ info('timestamp') + }}.\n"
        " | .....................................^"
    )


LOAD_ERROR_ROWS = [
    (
        "unknown-key-with-hint",
        {"resources/main.yaml": MAIN + "  exprr: []\n"},
        "WF/resources/main.yaml:6:3: unknown key 'exprr' in run; did you mean 'expr'? "
        "(kdeps-expr schema lists the keys)\n"
        " |   exprr: []\n"
        " | ..^",
    ),
    (
        "unknown-metadata-key",
        {"resources/main.yaml": "metadata:\n  actionId: main\n  owner: me\n"},
        "WF/resources/main.yaml:3:3: unknown key 'owner' in metadata (known: actionId, "
        "category, description, name, requires, version)\n"
        " |   owner: me\n"
        " | ..^",
    ),
    (
        "duplicate-action-id",
        {"resources/main.yaml": MAIN + "---\n" + MAIN},
        "WF/resources/main.yaml:8:13: duplicate actionId 'main' "
        "(first defined at WF/resources/main.yaml:2:13)\n"
        " |   actionId: main\n"
        " | ............^",
    ),
    (
        "unknown-requires-target",
        {"resources/main.yaml": "metadata:\n  actionId: main\n  requires: [helpr]\n"},
        "WF/resources/main.yaml:3:14: unknown requires target 'helpr' (resources: main)\n"
        " |   requires: [helpr]\n"
        " | .............^",
    ),
    (
        "requires-cycle",
        {
            "resources/a.yaml": "metadata:\n  actionId: main\n  requires: [b]\n",
            "resources/b.yaml": "metadata:\n  actionId: b\n  requires:\n    - main\n",
        },
        "WF/resources/b.yaml:4:7: requires cycle: main -> b -> main\n |     - main\n | ......^",
    ),
    (
        "self-requirement",
        {"resources/main.yaml": "metadata:\n  actionId: main\n  requires: [main]\n"},
        "WF/resources/main.yaml:3:14: requires cycle: main -> main\n"
        " |   requires: [main]\n"
        " | .............^",
    ),
    (
        "bad-duration",
        {
            "workflow.yaml": HEADER + "settings:\n  session:\n    ttl: 10 min\n",
            "resources/main.yaml": MAIN,
        },
        "WF/workflow.yaml:9:10: settings.session.ttl: invalid duration '10 min': use one or "
        "more <number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'\n"
        " |     ttl: 10 min\n"
        " | .........^",
    ),
    (
        "bad-chat-duration",
        {
            "resources/main.yaml": MAIN + "  chat:\n    prompt: hi\n    timeoutDuration: 30\n",
        },
        "WF/resources/main.yaml:8:22: run.chat.timeoutDuration: invalid duration 30: a "
        "duration needs a unit; use one or more <number><unit> with units ms, s, m, h, d, "
        "such as '30m' or '1h30m'\n"
        " |     timeoutDuration: 30\n"
        " | .....................^",
    ),
    (
        "unknown-target",
        {"workflow.yaml": HEADER.replace("main", "mian"), "resources/main.yaml": MAIN},
        "WF/workflow.yaml:6:19: unknown targetActionId 'mian'; did you mean 'main'? "
        "(resources: main)\n"
        " |   targetActionId: mian\n"
        " | ..................^",
    ),
    (
        "missing-metadata",
        {"workflow.yaml": "kind: Workflow\n", "resources/main.yaml": MAIN},
        "WF/workflow.yaml:1:1: workflow.yaml needs metadata with name and targetActionId\n"
        " | kind: Workflow\n"
        " | ^",
    ),
    (
        "wrong-kind",
        {"resources/main.yaml": "kind: Workflow\n" + MAIN},
        "WF/resources/main.yaml:1:7: kind must be 'Resource', not 'Workflow'\n"
        " | kind: Workflow\n"
        " | ......^",
    ),
    (
        "missing-action-id",
        {"resources/main.yaml": MAIN + "---\nmetadata:\n  name: x\n"},
        "WF/resources/main.yaml:8:3: metadata.actionId is required\n |   name: x\n | ..^",
    ),
    (
        "chat-without-prompt",
        {"resources/main.yaml": MAIN + "  chat:\n    model: llama3\n"},
        "WF/resources/main.yaml:7:5: run.chat needs a prompt\n |     model: llama3\n | ....^",
    ),
    (
        "bad-status-code",
        {"resources/main.yaml": MAIN + "  apiResponse:\n    meta:\n      statusCode: 99\n"},
        "WF/resources/main.yaml:8:19: run.apiResponse.meta.statusCode must be an HTTP status "
        "code from 100 to 599\n"
        " |       statusCode: 99\n"
        " | ..................^",
    ),
    (
        "bad-method",
        {"resources/main.yaml": MAIN + "  restrictToHttpMethods: [FETCH]\n"},
        "WF/resources/main.yaml:6:27: unknown HTTP method 'FETCH' "
        "(known: GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD)\n"
        " |   restrictToHttpMethods: [FETCH]\n"
        " | ..........................^",
    ),
    (
        "duplicate-route",
        {
            "workflow.yaml": HEADER
            + "settings:\n  apiServer:\n    routes:\n"
            + "      - {path: /a, methods: [GET]}\n      - {path: /a, methods: [GET, POST]}\n",
            "resources/main.yaml": MAIN,
        },
        "WF/workflow.yaml:11:10: route GET /a is declared twice (first on line 10)\n"
        " |       - {path: /a, methods: [GET, POST]}\n"
        " | .........^",
    ),
    (
        "route-to-unknown-action",
        {
            "workflow.yaml": HEADER
            + "settings:\n  apiServer:\n    routes:\n"
            + "      - {path: /a, methods: [GET], actionId: nope}\n",
            "resources/main.yaml": MAIN,
        },
        "WF/workflow.yaml:10:46: unknown route actionId 'nope' (resources: main)\n"
        " |       - {path: /a, methods: [GET], actionId: nope}\n"
        " | .............................................^",
    ),
    (
        "invalid-yaml",
        {"resources/main.yaml": "metadata: [\n"},
        "WF/resources/main.yaml:2:1: invalid YAML: did not find expected node content\n | \n | ^",
    ),
    (
        "bad-header-name",
        {
            "resources/main.yaml": MAIN
            + "  apiResponse:\n    meta:\n      headers:\n        'X Bad': v\n"
        },
        "WF/resources/main.yaml:9:9: invalid HTTP header name 'X Bad'\n"
        " |         'X Bad': v\n"
        " | ........^",
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [row[1:] for row in LOAD_ERROR_ROWS], ids=[r[0] for r in LOAD_ERROR_ROWS]
)
def test_load_errors(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert load_error(tmp_path, files) == expected


def test_every_error_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    files = {
        "workflow.yaml": HEADER + "settings:\n  session:\n    ttl: forever\n",
        "resources/a.yaml": MAIN + "  chatt: {}\n  exprBefore: [get(]\n",
        "resources/b.yaml": "metadata:\n  actionId: b\n  requires: [zz]\n",
    }
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflow(write_workflow(tmp_path, files))
    errors = caught.value.errors
    assert [(e.where, e.line, e.column) for e in errors] == [
        (f"{tmp_path}/workflow.yaml", 9, 10),
        (f"{tmp_path}/resources/a.yaml", 6, 3),
        (f"{tmp_path}/resources/a.yaml", 7, 19),
        (f"{tmp_path}/resources/b.yaml", 3, 14),
    ]
    assert str(caught.value) == "\n".join(error.render() for error in errors)


def test_a_numeric_version_is_kept_as_written(tmp_path: Path) -> None:
    files = {"workflow.yaml": HEADER.replace('"1.2"', "1.10"), "resources/main.yaml": MAIN}
    assert load_workflow(write_workflow(tmp_path, files)).version == "1.10"


def test_workflow_file_and_its_template_conflict(tmp_path: Path) -> None:
    files = {"workflow.yaml.j2": HEADER, "resources/main.yaml": MAIN}
    assert load_error(tmp_path, files) == (
        "WF: the workflow folder has both workflow.yaml and workflow.yaml.j2"
    )


def test_missing_workflow_file(tmp_path: Path) -> None:
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflow(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: the workflow folder has no workflow.yaml or workflow.yaml.j2"
    )


def test_jinja2_renders_j2_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREETING", "Bonjour")
    files = {
        "resources/main.yaml.j2": """\
        metadata:
          actionId: main
        run:
          chat:
            prompt: "{{ env.GREETING }} << get('name') >>{% for _ in range(2) %}!{% endfor %}"
        """,
        "resources/plain.yaml": """\
        metadata:
          actionId: plain
        run:
          chat:
            prompt: "{{ get('name') }}{% raw %}"
        """,
    }
    workflow = load_workflow(write_workflow(tmp_path, files))
    prompts = {
        action_id: resource.action.field("prompt")
        for action_id, resource in workflow.resources.items()
        if resource.action is not None
    }
    assert {k: v.source for k, v in prompts.items() if isinstance(v, Dynamic)} == {
        "main": "Bonjour << get('name') >>!!",
        "plain": "{{ get('name') }}{% raw %}",
    }


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "metadata:\n  actionId: main\n{% if %}\n",
            "WF/resources/main.yaml.j2:3:1: Jinja2 template error: Expected an expression, "
            "got 'end of statement block'\n | {% if %}\n | ^",
        ),
        (
            "metadata:\n  actionId: main\n  name: {{ env.NO_SUCH_VARIABLE_X }}\n",
            "WF/resources/main.yaml.j2:3:16: Jinja2 template error: "
            "the environment variable NO_SUCH_VARIABLE_X is not set (env.NO_SUCH_VARIABLE_X)\n"
            " |   name: {{ env.NO_SUCH_VARIABLE_X }}\n | ...............^",
        ),
        (
            "metadata:\n  actionId: main\n  name: {{ env.__class__.__mro__ }}\n",
            "WF/resources/main.yaml.j2:3:1: Jinja2 template error: "
            "access to attribute '__class__' of 'environ' object is unsafe.\n"
            " |   name: {{ env.__class__.__mro__ }}\n | ^",
        ),
    ],
    ids=["syntax", "undefined-variable", "sandboxed"],
)
def test_jinja2_errors(tmp_path: Path, template: str, expected: str) -> None:
    assert load_error(tmp_path, {"resources/main.yaml.j2": template}) == expected


def test_delimiters_can_be_switched_off_per_workflow(tmp_path: Path) -> None:
    engine = Engine(hot_after=7)
    files = {
        "workflow.yaml": HEADER + "settings:\n  templates:\n    delimiters: ['{{']\n",
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          chat:
            prompt: "print(a << 2) for {{ get('who') }}"
        """,
    }
    workflow = load_workflow(write_workflow(tmp_path, files), engine)
    assert workflow.engine.delimiters == ("{{",)
    assert workflow.engine.hot_after == 7  # everything but the delimiters is the caller's
    assert engine.delimiters == ("{{", "<<")
    chat = workflow.resources["main"].action
    assert chat is not None
    prompt = chat.field("prompt")
    assert isinstance(prompt, Dynamic) and prompt.reading.kind == "template"


def test_value_strings_are_read_by_the_spec_rule(tmp_path: Path) -> None:
    files = {
        "resources/main.yaml": """\
        metadata:
          actionId: main
        run:
          apiResponse:
            response:
              template: "{{ get('a') }} items"
              expression: len(get('a'))
              text: Price (USD)
              almost: max(kW)
              number: 3
              nested: [[get('a')]]
        """,
    }
    inspection = inspect_workflow(write_workflow(tmp_path, files))
    assert [(value.text, value.kind) for value in inspection.values] == [
        ("{{ get('a') }} items", "template"),
        ("len(get('a'))", "expression"),
        ("Price (USD)", "text"),
        ("max(kW)", "text"),
        ("get('a')", "expression"),
    ]


CHECK_WORKFLOW = {
    "resources/main.yaml": """\
    metadata:
      actionId: main
      requires: [save]
    run:
      exprBefore:
        - get('user')
        - get('user', 'sesion')
        - get('token', 'session')
        - set('language', get('language', 'en'), 'session')
        - set('save', 1)
      chat:
        prompt: "Hi {{ info('nme') }} {{ len(get('user', 'session')) }}"
    """,
    "resources/save.yaml": """\
    metadata:
      actionId: save
    run:
      expr:
        - set('user', get('name'), 'session')
        - unset('user', 'sesion')
    """,
}


def test_check_prints_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write_workflow(tmp_path, CHECK_WORKFLOW))]) == 0
    assert capsys.readouterr().out.replace(str(tmp_path), "WF") == (
        "WF/resources/main.yaml:6:7: warning: get('user') never reads the session, where "
        "'user' is stored (WF/resources/save.yaml:5:7) and where KDeps would have read it; "
        "write get('user', 'session') to read it\n"
        " |     - get('user')\n"
        " | ......^\n"
        "WF/resources/main.yaml:7:7: warning: get('user', 'sesion'): 'sesion' is not a source, "
        "so it is read as the default value; did you mean the source 'session'?\n"
        " |     - get('user', 'sesion')\n"
        " | ......^\n"
        "WF/resources/main.yaml:8:7: warning: get('token', 'session'): no resource stores "
        "'token' in the session\n"
        " |     - get('token', 'session')\n"
        " | ......^\n"
        "WF/resources/main.yaml:9:23: warning: get('language', 'en') reads the request only; "
        "KDeps read the session first: a request without 'language' stores 'en' here, where "
        "KDeps kept the stored value; to keep it, write get('language') ?? "
        "get('language', 'session') ?? 'en'\n"
        " |     - set('language', get('language', 'en'), 'session')\n"
        " | ......................^\n"
        "WF/resources/main.yaml:10:7: warning: set('save', …): 'save' is the actionId of a "
        "resource; this call fails\n"
        " |     - set('save', 1)\n"
        " | ......^\n"
        "WF/resources/main.yaml:12:20: warning: info('nme'): unknown field (known: sessionId, "
        "requestId, timestamp, method, path, ip, actionId, workflow.name, workflow.version, "
        "workflow.description, files, filenames, filetypes, filecount, current, prev, next, "
        "index, count)\n"
        " |     prompt: \"Hi {{ info('nme') }} {{ len(get('user', 'session')) }}\"\n"
        " | ...................^\n"
        "WF/resources/save.yaml:6:7: warning: unset(): 'sesion' is not a scope "
        "(known: 'memory', 'session', 'loop'); this call fails\n"
        " |     - unset('user', 'sesion')\n"
        " | ......^\n"
        "demo: 2 resources, 0 errors, 7 warnings\n"
    )


def test_check_reports_errors_and_warnings_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {**CHECK_WORKFLOW, "resources/broken.yaml": MAIN.replace("main", "broken") + "  x: 1\n"}
    assert main(["check", str(write_workflow(tmp_path, files))]) == 1
    out = capsys.readouterr().out.replace(str(tmp_path), "WF")
    assert out.startswith(
        "WF/resources/broken.yaml:6:3: unknown key 'x' in run (kdeps-expr schema lists the keys)"
    )
    assert out.count(": warning: ") == 7
    assert out.endswith("\nWF: 3 resources, 1 error, 7 warnings\n")


def test_check_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {"resources/main.yaml": MAIN + "  apiResponse:\n    response:\n      a: max(kW)\n"}
    assert main(["check", "--explain", str(write_workflow(tmp_path, files))]) == 0
    assert capsys.readouterr().out.replace(str(tmp_path), "WF") == (
        "WF/resources/main.yaml:8:10: text: 'max(kW)'\ndemo: 1 resource, 0 errors, 0 warnings\n"
    )


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "---\n"], ids=["empty", "comment", "bare"]
)
def test_an_empty_workflow_file_is_a_load_error(tmp_path: Path, text: str) -> None:
    files = {"workflow.yaml": text, "resources/main.yaml": MAIN}
    assert load_error(tmp_path, files) == (
        "WF/workflow.yaml: workflow.yaml is empty: it needs metadata with name and targetActionId"
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "  apiResponse:\n    response:\n      a: .nan\n",
            "WF/resources/main.yaml:8:10: the YAML number .nan is not a value: "
            "numbers must be finite\n |       a: .nan\n | .........^",
        ),
        (
            "  apiResponse:\n    response: [-.inf]\n",
            "WF/resources/main.yaml:7:16: the YAML number -.inf is not a value: "
            "numbers must be finite\n |     response: [-.inf]\n | ...............^",
        ),
        (
            "  apiResponse:\n    meta:\n      headers:\n        X-N: 99999999999999999999\n",
            "WF/resources/main.yaml:9:14: integer out of range: 99999999999999999999 "
            "does not fit in 64 bits\n"
            " |         X-N: 99999999999999999999\n"
            " | .............^",
        ),
        (
            "  skipCondition: [.NaN]\n",
            "WF/resources/main.yaml:6:19: the YAML number .NaN is not a value: "
            "numbers must be finite\n |   skipCondition: [.NaN]\n | ..................^",
        ),
    ],
    ids=["nan", "inf-in-list", "big-int-header", "nan-step"],
)
def test_yaml_numbers_outside_the_value_types_are_load_errors(
    tmp_path: Path, entry: str, expected: str
) -> None:
    """SPEC §1: no inf/nan, integers are 64-bit; a YAML constant cannot smuggle them in."""
    assert load_error(tmp_path, {"resources/main.yaml": MAIN + entry}) == expected


def test_an_empty_method_list_restricts_nothing(tmp_path: Path) -> None:
    """``restrictToHttpMethods: []`` reads like ``restrictToRoutes: []``: no restriction."""
    files = {"resources/main.yaml": MAIN + "  restrictToHttpMethods: []\n  restrictToRoutes: []\n"}
    resource = load_workflow(write_workflow(tmp_path, files)).resources["main"]
    assert (resource.methods, resource.routes) == (None, None)


def test_a_null_preflight_message_is_the_default_message(tmp_path: Path) -> None:
    """SPEC §6: without its ``message`` the message is ``preflight check failed``."""
    files = {
        "resources/main.yaml": MAIN
        + "  preflightCheck:\n    validations: [false]\n    error:\n      code: 401\n"
        + "      message:\n"
    }
    preflight = load_workflow(write_workflow(tmp_path, files)).resources["main"].preflight
    assert preflight is not None
    assert (preflight.code, preflight.message) == (401, None)


@pytest.mark.parametrize("code", [100, 101, 204, 205, 304])
@pytest.mark.parametrize(
    ("block", "where"),
    [
        (
            "  apiResponse:\n    meta:\n      statusCode: {code}\n",
            "run.apiResponse.meta.statusCode",
        ),
        (
            "  preflightCheck:\n    validations: [false]\n    error:\n      code: {code}\n",
            "run.preflightCheck.error.code",
        ),
    ],
    ids=["statusCode", "preflight-code"],
)
def test_a_status_without_a_body_is_a_load_error(
    tmp_path: Path, code: int, block: str, where: str
) -> None:
    """SPEC §6: every answer carries a JSON body, which HTTP forbids with these statuses."""
    message = load_error(tmp_path, {"resources/main.yaml": MAIN + block.format(code=code)})
    first = message.splitlines()[0]
    assert first.endswith(
        f": {where} {code} cannot carry the JSON body of a response; use a status from 200 to "
        "599 other than 204, 205 and 304"
    )


def test_value_strings_are_listed_in_file_order(tmp_path: Path) -> None:
    """``check --explain`` lists each value string where it stands in the file."""
    files = {
        "resources/main.yaml": MAIN
        + "  apiResponse:\n    success: len('a')\n    response: {a: x}\n"
        + "    meta:\n      headers:\n        X-A: y\n"
        + "  preflightCheck:\n    validations: [true]\n    error: {message: z}\n"
        + "  chat:\n    model: m\n    prompt: p\n"
    }
    found = inspect_workflow(write_workflow(tmp_path, files)).values
    assert [value.text for value in found] == ["len('a')", "x", "y", "z", "m", "p"]


def test_a_byte_order_mark_does_not_shift_positions(tmp_path: Path) -> None:
    """Editors on Windows save UTF-8 with a BOM; errors still point at the right character."""
    write_workflow(tmp_path, {"resources/main.yaml": ""})
    text = "metadata:\n  actionId: main\nrun:\n  expr: ['1 +', \"get(\"]\n"
    (tmp_path / "resources/main.yaml").write_text("\ufeff" + text, encoding="utf-8")
    assert load_error(tmp_path, {}) == (
        "WF/resources/main.yaml:4:14: unexpected end of expression\n"
        " |   expr: ['1 +', \"get(\"]\n"
        " | .............^\n"
        "WF/resources/main.yaml:4:21: unclosed '('\n"
        " |   expr: ['1 +', \"get(\"]\n"
        " | ....................^"
    )


@pytest.mark.parametrize(
    "name",
    ["Content-Length", "transfer-encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer"],
)
def test_headers_the_transport_owns_are_load_errors(tmp_path: Path, name: str) -> None:
    """SPEC §6: a header that frames the HTTP message would corrupt the JSON answer."""
    files = {
        "resources/main.yaml": MAIN
        + f"  apiResponse:\n    meta:\n      headers:\n        {name}: 1\n"
    }
    assert load_error(tmp_path, files) == (
        f"WF/resources/main.yaml:9:9: {name} is set by the server, "
        "not by apiResponse.meta.headers\n"
        f" |         {name}: 1\n"
        " | ........^"
    )


def test_the_garbage_collector_pauses_while_a_workflow_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    read = loader.read_resource

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return read(*args, **kwargs)

    monkeypatch.setattr(loader, "read_resource", watched)
    root = write_workflow(tmp_path, {"resources/main.yaml": MAIN})
    assert gc.isenabled()
    load_workflow(root)
    inspect_workflow(root)
    assert seen == [False, False]
    assert gc.isenabled()

    (root / "resources" / "main.yaml").write_text("run: [")  # a failed load resumes it too
    with pytest.raises(WorkflowLoadError):
        load_workflow(root)
    assert gc.isenabled()


def test_loads_in_threads_share_one_pause_and_a_disabled_collector_stays_off(
    tmp_path: Path,
) -> None:
    root = write_workflow(tmp_path, {"resources/main.yaml": MAIN})
    with ThreadPoolExecutor(4) as pool:
        names = list(pool.map(lambda _: load_workflow(root).name, range(16)))
    assert names == ["demo"] * 16
    assert gc.isenabled()

    gc.disable()
    try:
        load_workflow(root)
        assert not gc.isenabled()
    finally:
        gc.enable()
