"""KDeps' three resource layouts, the shipped schema's errors, and what check says about them.

Layouts A (the seed's), B (``run.validations``) and C (flat) load into one model and answer
the same requests the same way; every schema error and warning is a golden string with its
file:line:col and caret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _workflows import HEADER, MAIN, write_workflow

from kdeps_expr.cli import main
from kdeps_expr.errors import WorkflowLoadError
from kdeps_expr.language.context import Request
from kdeps_expr.sessions import MemoryStore
from kdeps_expr.workflow import inspect_workflow, load_workflow
from kdeps_expr.workflow.runner import Response, Runner
from kdeps_expr.workflow.schema import schema, schema_text

META = {"requestId": "r1", "timestamp": "2026-01-02T03:04:05Z"}

COUNT = """\
{head}
run:
  expr:
    - set('calls', 1)
"""

LAYOUTS = {
    "A": """\
        metadata:
          actionId: greet
          requires: [count]
        run:
          restrictToHttpMethods: [GET]
          restrictToRoutes: [/api/greet]
          allowedParams: [name]
          skipCondition:
            - get('skip') == 'yes'
          preflightCheck:
            validations:
              - get('name') != ''
            error:
              code: 422
              message: name is required
          exprBefore:
            - set('greeting', 'Hello ' + get('name'))
          expr:
            - set('done', true)
          apiResponse:
            success: true
            response:
              greeting: get('greeting')
              done: get('done')
              calls: get('calls')
              secret: get('secret')
            meta:
              statusCode: 201
              headers:
                X-Name: get('name')
        ---
        metadata:
          actionId: count
        run:
          expr:
            - set('calls', 1)
        """,
    "B": """\
        metadata:
          actionId: greet
          requires: [count]
        run:
          validations:
            methods: [GET]
            routes: [/api/greet]
            params: [name]
            skip:
              - get('skip') == 'yes'
            check:
              - get('name') != ''
            error:
              code: 422
              message: name is required
          before:
            - set('greeting', 'Hello ' + get('name'))
          after:
            - set('done', true)
          apiResponse:
            success: true
            response:
              greeting: get('greeting')
              done: get('done')
              calls: get('calls')
              secret: get('secret')
            meta:
              statusCode: 201
              headers:
                X-Name: get('name')
        ---
        metadata:
          actionId: count
        run:
          after:
            - set('calls', 1)
        """,
    "C": """\
        actionId: greet
        requires: [count]
        validations:
          methods: [GET]
          routes: [/api/greet]
          params: [name]
          skip:
            - get('skip') == 'yes'
          check:
            - get('name') != ''
          error:
            code: 422
            message: name is required
        before:
          - "{{ set('greeting', 'Hello ' + get('name')) }}"
        after:
          - set('done', true)
        apiResponse:
          success: true
          response:
            greeting: get('greeting')
            done: get('done')
            calls: get('calls')
            secret: get('secret')
          statusCode: 201
          headers:
            X-Name: get('name')
        ---
        actionId: count
        after:
          - set('calls', 1)
        """,
}

GREET_HEADER = HEADER.replace("targetActionId: main", "targetActionId: greet")


def failed(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}, "meta": META}


REQUESTS = [
    pytest.param(
        "GET",
        "/api/greet",
        {"name": "Ada", "secret": "s3", "skip": "yes"},
        Response(
            201,
            {
                "success": True,
                "data": {"greeting": "Hello Ada", "done": True, "calls": 1, "secret": None},
                "meta": META,
            },
            {"X-Name": "Ada"},
        ),
        id="allow-list-hides-params",
    ),
    pytest.param(
        "GET", "/api/greet", {}, Response(422, failed(422, "name is required")), id="check"
    ),
    pytest.param(
        "POST",
        "/api/greet",
        {"name": "Ada"},
        Response(405, failed(405, "method POST not allowed for greet"), {"Allow": "GET"}),
        id="method",
    ),
    pytest.param(
        "GET",
        "/api/other",
        {"name": "Ada"},
        Response(404, failed(404, "route /api/other is not served by greet")),
        id="route",
    ),
]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(("method", "path", "query", "expected"), REQUESTS)
def test_every_layout_answers_alike(
    tmp_path: Path,
    layout: str,
    method: str,
    path: str,
    query: dict[str, str],
    expected: Response,
) -> None:
    files = {"workflow.yaml": GREET_HEADER, "resources/greet.yaml": LAYOUTS[layout]}
    workflow = load_workflow(write_workflow(tmp_path, files))
    assert workflow.resources["greet"].layout == layout
    request = Request(method, path, query, request_id="r1", timestamp=META["timestamp"])
    store = MemoryStore(60.0)
    assert Runner(workflow, workflow.engine, store).handle(request) == expected
    store.close()


def test_layouts_mix_in_one_workflow_and_inline_resources_load(tmp_path: Path) -> None:
    """A workflow may hold resources of every layout; workflow.yaml's ``resources:`` too."""
    files = {
        "workflow.yaml": GREET_HEADER
        + "resources:\n  - actionId: count\n    after: [\"set('calls', 2)\"]\n",
        "resources/greet.yaml": LAYOUTS["A"].split("---")[0],
    }
    workflow = load_workflow(write_workflow(tmp_path, files))
    assert {a: r.layout for a, r in workflow.resources.items()} == {"count": "C", "greet": "A"}
    store = MemoryStore(60.0)
    response = Runner(workflow, workflow.engine, store).handle(
        Request("GET", "/api/greet", {"name": "Bo"}, request_id="r1")
    )
    assert response.body["data"]["calls"] == 2
    store.close()


def test_a_flat_workflow_file_loads(tmp_path: Path) -> None:
    """One KDeps doc writes name and targetActionId at the top level of workflow.yaml."""
    files = {"workflow.yaml": "name: flat\nversion: '2'\ntargetActionId: main\n"}
    workflow = load_workflow(write_workflow(tmp_path, {**files, "resources/main.yaml": MAIN}))
    assert (workflow.name, workflow.version, workflow.target_action_id) == ("flat", "2", "main")


def load_error(root: Path, files: dict[str, str]) -> str:
    with pytest.raises(WorkflowLoadError) as caught:
        load_workflow(write_workflow(root, files))
    return str(caught.value).replace(str(root), "WF")


SCHEMA_ERRORS = [
    (
        "misspelt-layout-c-key",
        "actionId: main\nvalidatons:\n  methods: [GET]\n",
        "WF/resources/main.yaml:2:1: unknown key 'validatons' in a resource; did you mean "
        "'validations'? (kdeps-expr schema lists the keys)\n | validatons:\n | ^",
    ),
    (
        "layout-c-key-beside-metadata",
        "metadata:\n  actionId: main\nvalidations: {}\n",
        "WF/resources/main.yaml:3:1: unknown key 'validations' in a resource; validations is "
        "a layout C key; a resource with metadata: and run: puts it under run: (or drop run: "
        "for layout C) (known: apiVersion, items, kind, metadata, run)\n"
        " | validations: {}\n | ^",
    ),
    (
        "run-in-layout-c",
        "actionId: main\nrun:\n  expr: []\n",
        "WF/resources/main.yaml:2:1: unknown key 'run' in a resource; run: belongs to layouts "
        "A and B (with metadata:); layout C writes the action and its blocks at the top level "
        "(kdeps-expr schema lists the keys)\n | run:\n | ^",
    ),
    (
        "no-action-id",
        "name: nothing\n",
        "WF/resources/main.yaml:1:1: a resource needs an actionId (metadata.actionId in "
        "layouts A and B, actionId in layout C)\n | name: nothing\n | ^",
    ),
    (
        "methods-not-a-list",
        "actionId: main\nvalidations:\n  methods: 5\n",
        "WF/resources/main.yaml:3:12: validations.methods must be a list of HTTP methods, "
        "not 5\n |   methods: 5\n | ...........^",
    ),
    (
        "enum-with-hint",
        "actionId: main\nonError:\n  action: retyr\n",
        "WF/resources/main.yaml:3:11: onError.action must be one of continue, fail, retry, "
        "not 'retyr'; did you mean 'retry'?\n |   action: retyr\n | ..........^",
    ),
    (
        "rule-without-field",
        "actionId: main\nvalidations:\n  rules:\n    - type: string\n",
        "WF/resources/main.yaml:4:7: validations.rules[0].field is required\n"
        " |     - type: string\n | ......^",
    ),
    (
        "rule-type",
        "actionId: main\nvalidations:\n  properties:\n    age: {type: int}\n",
        "WF/resources/main.yaml:4:17: validations.properties.age.type must be one of string, "
        "integer, number, boolean, array, object, email, url, uuid, date, not 'int'; did you "
        "mean 'integer'?\n |     age: {type: int}\n | ................^",
    ),
    (
        "loop-duration",
        "actionId: main\nloop:\n  every: 5 sec\n",
        "WF/resources/main.yaml:3:10: loop.every: invalid duration '5 sec': use one or more "
        "<number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'\n"
        " |   every: 5 sec\n | .........^",
    ),
    (
        "loop-iterations",
        "actionId: main\nloop:\n  maxIterations: 0\n",
        "WF/resources/main.yaml:3:18: loop.maxIterations must be at least 1, not 0\n"
        " |   maxIterations: 0\n | .................^",
    ),
    (
        "misspelt-action-key",
        "actionId: main\nbrowser:\n  urll: https://example.com\n",
        "WF/resources/main.yaml:3:3: unknown key 'urll' in browser; did you mean 'url'? "
        "(known: actions, engine, headless, sessionId, stealthMode, timeout, timeoutDuration, "
        "url, userAgent, viewport, waitFor)\n |   urll: https://example.com\n | ..^",
    ),
    (
        "two-actions",
        "actionId: main\nchat:\n  prompt: hi\npython:\n  script: print(1)\n",
        "WF/resources/main.yaml:4:1: a resource runs one action; this one also has chat (put "
        "the others in before: or after:, or in resources of their own)\n | python:\n | ^",
    ),
    (
        "template-in-a-python-block",
        "actionId: main\npython:\n  script: \"print({{ get('x' }})\"\n",
        "WF/resources/main.yaml:3:18: unclosed '{{'\n"
        " |   script: \"print({{ get('x' }})\"\n"
        " | .................^",
    ),
    (
        "data-and-response",
        "actionId: main\napiResponse:\n  response: 1\n  data: 2\n",
        "WF/resources/main.yaml:4:3: apiResponse has both response and data; keep response\n"
        " |   data: 2\n | ..^",
    ),
    (
        "retries",
        "actionId: main\nonError:\n  action: retry\n  maxRetries: 20\n",
        "WF/resources/main.yaml:4:15: onError.maxRetries must be a number from 1 to 10\n"
        " |   maxRetries: 20\n | ..............^",
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [row[1:] for row in SCHEMA_ERRORS],
    ids=[row[0] for row in SCHEMA_ERRORS],
)
def test_schema_and_model_errors(tmp_path: Path, resource: str, expected: str) -> None:
    assert load_error(tmp_path, {"resources/main.yaml": resource}) == expected


def test_a_value_in_an_action_not_run_here_is_read_by_the_spec_rule(tmp_path: Path) -> None:
    """SPEC §5: every string of every action is read at load, whatever its type; a browser
    url that almost is an expression is text, with check's warning."""
    files = {"resources/main.yaml": "actionId: main\nbrowser:\n  url: get('base') +\n"}
    inspection = inspect_workflow(write_workflow(tmp_path, files))
    assert inspection.errors == []
    assert [(v.text, v.kind) for v in inspection.values] == [("get('base') +", "text")]


YAML_MISTAKES = [
    (
        "unquoted-template",
        "actionId: main\nchat:\n  prompt: {{ get('q') }}\n",
        "WF/resources/main.yaml:3:11: a mapping key must be a plain value (a value that starts "
        "with {{ must be quoted: YAML reads { as the start of a mapping; write it in quotes, "
        "such as \"{{ get('q') }}\")\n |   prompt: {{ get('q') }}\n | ..........^",
    ),
    (
        "unquoted-template-then-text",
        "actionId: main\nchat:\n  prompt: {{ get('q') }} please\n",
        "WF/resources/main.yaml:3:11: invalid YAML: did not find expected key (a value that "
        "starts with {{ must be quoted: YAML reads { as the start of a mapping; write it in "
        "quotes, such as \"{{ get('q') }}\")\n"
        " |   prompt: {{ get('q') }} please\n | ..........^",
    ),
    (
        "tab",
        "actionId: main\nafter:\n\t- set('a', 1)\n",
        "WF/resources/main.yaml:3:1: invalid YAML: found character that cannot start any token "
        "(a tab in the indentation: YAML indents with spaces only)\n |  - set('a', 1)\n | ^",
    ),
    (
        "tag",
        "actionId: main\nvalidations:\n  skip:\n    - !get('ready')\n",
        "WF/resources/main.yaml:4:7: unsupported YAML tag !get('ready') ('!' starts a YAML "
        "tag; an expression that begins with ! must be quoted, such as - \"!get('done')\")\n"
        " |     - !get('ready')\n | ......^",
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [row[1:] for row in YAML_MISTAKES],
    ids=[row[0] for row in YAML_MISTAKES],
)
def test_yaml_mistakes_get_a_hint_at_their_character(
    tmp_path: Path, resource: str, expected: str
) -> None:
    assert load_error(tmp_path, {"resources/main.yaml": resource}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "actionId: main\nchat:\n  prompt: \"{{ get('q') }}\"\n",
            "WF/resources/main.yaml.j2:3:15: Jinja2 template error: 'get' is undefined; {{ }} "
            "in a .j2 file belongs to Jinja2, so get() is not known there: write << get(…) >> "
            "for an expression evaluated at run time\n"
            " |   prompt: \"{{ get('q') }}\"\n | ..............^",
        ),
        (
            "actionId: main\nafter:\n  - \"{{ set('x', 1) }}\"\n",
            "WF/resources/main.yaml.j2:3:9: Jinja2 template error: 'set' is undefined; {{ }} "
            "in a .j2 file belongs to Jinja2, so set() is not known there: write << set(…) >> "
            "for an expression evaluated at run time\n"
            " |   - \"{{ set('x', 1) }}\"\n | ........^",
        ),
    ],
    ids=["get", "set"],
)
def test_j2_errors_suggest_runtime_delimiters(tmp_path: Path, template: str, expected: str) -> None:
    assert load_error(tmp_path, {"resources/main.yaml.j2": template}) == expected


def check_output(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, str]:
    code = main(["check", *options, str(write_workflow(tmp_path, files))])
    return code, capsys.readouterr().out.replace(str(tmp_path), "WF")


WARNINGS = [
    (
        "action-not-run",
        "actionId: main\nbrowser:\n  url: https://example.com\n",
        "WF/resources/main.yaml:2:1: warning: browser is not run by this engine (it runs chat "
        "and expressions); a request that reaches main answers 501\n | browser:\n | ^",
    ),
    (
        "api-response-data",
        "actionId: main\napiResponse:\n  data: 1\n",
        "WF/resources/main.yaml:3:3: warning: KDeps ignores apiResponse.data (its response is "
        "empty); it is read here as response: rename it to response\n |   data: 1\n | ..^",
    ),
    (
        "http-client",
        "actionId: main\nhttpClient:\n  url: https://x.example\n  params: {q: 1}\n",
        "WF/resources/main.yaml:2:1: warning: httpClient is not run by this engine (it runs "
        "chat and expressions); a request that reaches main answers 501\n | httpClient:\n | ^",
    ),
    (
        "mixed-a-and-b",
        "metadata:\n  actionId: main\nrun:\n  skipCondition: [false]\n  validations:\n"
        "    check: [true]\n",
        "WF/resources/main.yaml:5:3: warning: run mixes layout A keys (skipCondition) and "
        "layout B keys (validations); both apply\n |   validations:\n | ..^",
    ),
    (
        "loop-at",
        "actionId: main\nloop:\n  at: ['08:00']\n",
        "WF/resources/main.yaml:3:3: warning: loop.at (a schedule of times) is not run by this "
        "engine: a request that reaches this resource answers 501 (loop.every repeats at a "
        "fixed pace)\n |   at: ['08:00']\n | ..^",
    ),
    (
        "two-timeouts",
        "actionId: main\nchat:\n  prompt: hi\n  timeout: 5s\n  timeoutDuration: 9s\n",
        "WF/resources/main.yaml:4:3: warning: chat.timeout is ignored: timeoutDuration wins\n"
        " |   timeout: 5s\n | ..^",
    ),
    (
        "set-after-the-action",
        "actionId: main\nchat:\n  prompt: \"{{ get('topic') }}\"\nafter:\n  - set('topic', 'x')\n",
        "WF/resources/main.yaml:5:5: warning: set('topic', …) runs in after:, once the chat "
        "action has read get('topic'); move it to before: if the action should see it\n"
        " |   - set('topic', 'x')\n | ....^",
    ),
    (
        "counter",
        "actionId: main\nafter:\n  - set('n', get('n', 0) + 1, 'session')\n",
        "WF/resources/main.yaml:3:14: warning: get('n') never reads the session, where 'n' is "
        "stored (WF/resources/main.yaml:3:5) and where KDeps would have read it; write "
        "get('n', 'session') to read it\n"
        " |   - set('n', get('n', 0) + 1, 'session')\n | .............^",
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [row[1:] for row in WARNINGS], ids=[row[0] for row in WARNINGS]
)
def test_check_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], resource: str, expected: str
) -> None:
    code, out = check_output(tmp_path, {"resources/main.yaml": resource}, capsys)
    count = expected.count(": warning: ")
    plural = "warning" if count == 1 else "warnings"
    assert (code, out) == (0, f"{expected}\ndemo: 1 resource, 0 errors, {count} {plural}\n")


def test_check_strict_fails_on_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"resources/main.yaml": "actionId: main\napiResponse:\n  response: summ([1])\n"}
    code, out = check_output(tmp_path, files, capsys, "--strict")
    assert code == 1
    assert out.endswith(
        "warning: read as text: unknown function summ (did you mean 'sum'?)\n"
        " |   response: summ([1])\n | ............^\n"
        "demo: 1 resource, 0 errors, 1 warning (--strict: warnings fail)\n"
    )
    assert check_output(tmp_path, files, capsys)[0] == 0


def test_run_prints_the_warnings_it_loads_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"resources/main.yaml": "actionId: main\napiResponse:\n  response: summ([1])\n"}
    assert main(["run", str(write_workflow(tmp_path, files)), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.replace(str(tmp_path), "WF") == (
        "WF/resources/main.yaml:3:13: warning: read as text: unknown function summ "
        "(did you mean 'sum'?)\n"
    )
    assert json.loads(captured.out)["body"]["data"] == "summ([1])"


SESSION_SETTINGS = [
    ("type: redis\n    url: redis://127.0.0.1:6379/0\n    path: x.db", "11:5",
     "settings.session.path does not apply to type redis"),
    ("type: redis", "9:5", "settings.session.url must be a non-empty string, not None"),
    ("ttl: 0s", "9:10", "settings.session.ttl must be longer than zero, not '0s'"),
    ("type: redis\n    url: redis://127.0.0.1:6379/x", "10:10",
     "settings.session.url: session store redis://127.0.0.1:6379/x: the database 'x' in the "
     "URL is not a number (use redis://host:port/0)"),
    ("type: memory\n    path: x.db", "10:5", "settings.session.path does not apply to type memory"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("session", "where", "message"),
    SESSION_SETTINGS,
    ids=["redis-with-path", "redis-without-url", "zero-ttl", "redis-database", "memory-with-path"],
)
def test_check_refuses_what_run_and_serve_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], session: str, where: str, message: str
) -> None:
    """SPEC §8: every setting that run or serve would refuse, check refuses first."""
    files = {
        "workflow.yaml": HEADER + "settings:\n  session:\n    " + session + "\n",
        "resources/main.yaml": MAIN,
    }
    code, out = check_output(tmp_path, files, capsys)
    assert code == 1
    assert out.startswith(f"WF/workflow.yaml:{where}: {message}\n")
    assert out.endswith(": 1 resource, 1 error, 0 warnings\n")


def test_hostip_and_portnum_under_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Older KDeps wrote them under settings; apiServer's win when both are given."""
    files = {
        "workflow.yaml": HEADER
        + "settings:\n  hostIp: 0.0.0.0\n  portNum: 9000\n  apiServer:\n    portNum: 9001\n",
        "resources/main.yaml": MAIN,
    }
    workflow = load_workflow(write_workflow(tmp_path, files))
    assert workflow.settings["apiServer"] == {"portNum": 9001, "hostIp": "0.0.0.0"}
    _, out = check_output(tmp_path, files, capsys)
    assert out.startswith(
        "WF/workflow.yaml:9:3: warning: settings.portNum is ignored: settings.apiServer.portNum "
        "is given and wins\n"
    )


def test_credentials_with_any_origin_are_dropped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "workflow.yaml": HEADER
        + "settings:\n  apiServer:\n    cors:\n      allowCredentials: true\n",
        "resources/main.yaml": MAIN,
    }
    assert check_output(tmp_path, files, capsys)[1] == (
        "WF/workflow.yaml:10:7: warning: allowCredentials is ignored with the origin '*' (any "
        "site could read a logged-in user's answers): list the origins allowed\n"
        " |       allowCredentials: true\n | ......^\n"
        "demo: 1 resource, 0 errors, 1 warning\n"
    )


def test_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text()
    document = json.loads(printed)
    jsonschema.Draft202012Validator.check_schema(document)
    assert document == schema()


@pytest.mark.parametrize(
    "key",
    [
        "actionId", "name", "description", "category", "requires", "items", "tool",
        "validations", "loop", "before", "after", "onError", "apiResponse", "chat",
        "httpClient", "sql", "python", "exec", "agent", "component", "scraper", "embedding",
        "searchLocal", "searchWeb", "telephony", "browser", "botReply", "email", "file", "git",
    ],
)  # fmt: skip
def test_no_key_kdeps_documents_is_unknown(key: str) -> None:
    """Layout C's top-level keys (KDeps' resourceMetaKeys and its action types)."""
    assert key in schema()["$defs"]["resourceC"]["properties"]


def test_a_yaml_file_validated_by_the_schema_alone(tmp_path: Path) -> None:
    """What an editor does with the schema: the same file, no kdeps_expr involved."""
    document = {"actionId": "main", "validations": {"methods": ["GET"]}, "chat": {"prompt": "x"}}
    validator = jsonschema.Draft202012Validator(schema())
    assert list(validator.iter_errors(document)) == []
    assert [e.message for e in validator.iter_errors({"actionId": "m", "chatt": {}})] == [
        "Additional properties are not allowed ('chatt' was unexpected)"
    ]
