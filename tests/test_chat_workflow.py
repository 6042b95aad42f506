"""Chat resources in workflows (SPEC §5, §11): every key read at load and each plain value
checked at its place, settings.llm, the request a block renders, replies from real model
servers on loopback, llm.response, failures with their status, and what a request that
fails leaves behind: nothing."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _llm_server import Answer, ModelServer, ollama_error, openai_error
from session_backends import SHARED_BACKENDS, open_backend

from kdeps_expr.actions.chat import (
    ChatRequest,
    ChatService,
    LLMSettings,
    Message,
    RetryPolicy,
    Sampling,
)
from kdeps_expr.actions.chat.options import IGNORED_SETTINGS, SETTINGS_KEYS
from kdeps_expr.language.context import Context, Request
from kdeps_expr.sessions import MemoryStore, SessionStore
from kdeps_expr.workflow import Workflow, inspect_workflow, load_workflow
from kdeps_expr.workflow.chat import READ, chat_request
from kdeps_expr.workflow.runner import Response, Runner
from kdeps_expr.workflow.schema import definition

META = {"requestId": "r1", "timestamp": "2026-01-02T03:04:05Z"}
FAST = RetryPolicy(base=0.01, cap=0.02)


def write(root: Path, chat: str, *, settings: str = "", more: str = "") -> Path:
    """A workflow whose target ``main`` runs the chat block ``chat`` (its lines indented
    under ``chat:``), with ``settings`` (lines under ``settings:``) and ``more`` resources."""
    (root / "resources").mkdir(parents=True, exist_ok=True)
    header = "metadata:\n  name: demo\n  targetActionId: main\n"
    if settings:
        header += "settings:\n" + settings
    (root / "workflow.yaml").write_text(header)
    (root / "resources" / "main.yaml").write_text(f"actionId: main\nchat:\n{chat}{more}")
    return root


def rendered(root: Path, errors: Any) -> list[str]:
    return [error.render().replace(f"{root}/", "") for error in errors]


def request(**query: Any) -> Request:
    return Request(query=query, request_id="r1", timestamp=META["timestamp"])


def failed(status: int, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": status, "message": message}, "meta": META}


@pytest.fixture
def store() -> Iterator[SessionStore]:
    memory = MemoryStore(60.0)
    yield memory
    memory.close()


def runner_for(workflow: Workflow, store: SessionStore, **options: Any) -> Runner:
    """A Runner whose chat service reads the workflow's settings.llm and no environment,
    and retries after a few milliseconds."""
    chat = ChatService(workflow.llm_settings, environ={}, retry=FAST)
    return Runner(workflow, workflow.engine, store, chat=chat, **options)


# ---- at load: each plain value checked where it is written ------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "backend: olama",
            "resources/main.yaml:4:12: chat.backend: unknown backend 'olama' (did you mean "
            "'ollama'?); known: anthropic, echo, ollama, openai\n"
            " |   backend: olama\n"
            " | ...........^",
        ),
        (
            "backend: groq",
            "resources/main.yaml:4:12: chat.backend: backend 'groq' is not run here; it speaks "
            "OpenAI's protocol: use backend 'openai' with its baseUrl\n"
            " |   backend: groq\n"
            " | ...........^",
        ),
        (
            "role: admin",
            "resources/main.yaml:4:9: chat.role: unknown role 'admin'; known: assistant, "
            "system, user\n"
            " |   role: admin\n"
            " | ........^",
        ),
        (
            "temperature: 3",
            "resources/main.yaml:4:16: chat.temperature: 3 is outside 0 to 2\n"
            " |   temperature: 3\n"
            " | ...............^",
        ),
        (
            "temperature: warm",
            "resources/main.yaml:4:16: chat.temperature: expected a number from 0 to 2, got text\n"
            " |   temperature: warm\n"
            " | ...............^",
        ),
        (
            "topP: '1.5'",
            "resources/main.yaml:4:9: chat.topP: 1.5 is outside 0 to 1\n"
            " |   topP: '1.5'\n"
            " | ........^",
        ),
        (
            "maxTokens: 0",
            "resources/main.yaml:4:14: chat.maxTokens: 0 is not at least 1\n"
            " |   maxTokens: 0\n"
            " | .............^",
        ),
        (
            "contextLength: -5",
            "resources/main.yaml:4:18: chat.contextLength: -5 is not at least 1\n"
            " |   contextLength: -5\n"
            " | .................^",
        ),
        (
            "frequencyPenalty: 2.5",
            "resources/main.yaml:4:21: chat.frequencyPenalty: 2.5 is outside -2 to 2\n"
            " |   frequencyPenalty: 2.5\n"
            " | ....................^",
        ),
        (
            "seed: 1.5",
            "resources/main.yaml:4:9: chat.seed must be an integer (or a value string), not 1.5\n"
            " |   seed: 1.5\n"
            " | ........^",
        ),
        (
            "timeout: 10",
            "resources/main.yaml:4:12: chat.timeout: invalid duration 10: a duration needs a "
            "unit; use one or more <number><unit> with units ms, s, m, h, d, such as '30m' or "
            "'1h30m'\n"
            " |   timeout: 10\n"
            " | ...........^",
        ),
        (
            "timeoutDuration: 0s",
            "resources/main.yaml:4:20: chat.timeoutDuration: the timeout '0s' must be longer "
            "than zero\n"
            " |   timeoutDuration: 0s\n"
            " | ...................^",
        ),
        (
            "jsonResponse: maybe",
            "resources/main.yaml:4:17: chat.jsonResponse: expected true or false, got text "
            "'maybe'\n"
            " |   jsonResponse: maybe\n"
            " | ................^",
        ),
        (
            "streaming: often",
            "resources/main.yaml:4:14: chat.streaming: expected true or false, got text 'often'\n"
            " |   streaming: often\n"
            " | .............^",
        ),
        (
            "backend: openai\n  baseUrl: ftp://models.example",
            "resources/main.yaml:5:12: chat.baseUrl: 'ftp://models.example' is not an http or "
            "https URL\n"
            " |   baseUrl: ftp://models.example\n"
            " | ...........^",
        ),
        (
            "apiKey: 12345678",
            "resources/main.yaml:4:11: chat.apiKey: expected text, got a number\n"
            " |   apiKey: ********\n"
            " | ..........^",
        ),
        (
            "model: {name: llama3.2}",
            "resources/main.yaml:4:10: chat.model: expected text, got a map {'name': "
            "'llama3.2'}\n"
            " |   model: {name: llama3.2}\n"
            " | .........^",
        ),
        (
            "scenario:\n    - role: narrator\n      prompt: Once upon a time",
            "resources/main.yaml:5:13: chat.scenario[0].role: unknown role 'narrator'; known: "
            "assistant, system, user\n"
            " |     - role: narrator\n"
            " | ............^",
        ),
    ],
    ids=[
        "backend",
        "openai-compatible",
        "role",
        "temperature",
        "temperature-text",
        "topP-text",
        "maxTokens",
        "contextLength",
        "frequencyPenalty",
        "seed",
        "timeout",
        "timeoutDuration",
        "jsonResponse",
        "streaming",
        "baseUrl",
        "apiKey",
        "model-map",
        "scenario-role",
    ],
)
def test_a_plain_option_that_cannot_be_used_is_a_load_error_at_its_value(
    tmp_path: Path, line: str, expected: str
) -> None:
    root = write(tmp_path, f"  prompt: hi\n  {line}\n")
    inspection = inspect_workflow(root)
    assert rendered(root, inspection.errors) == [expected]


def test_templated_options_are_not_judged_at_load(tmp_path: Path) -> None:
    chat = "".join(
        f"  {key}: \"{{{{ get('{key}') }}}}\"\n"
        for key in ("backend", "role", "temperature", "maxTokens", "timeout", "jsonResponse")
    )
    scenario = "  scenario:\n    - role: \"{{ get('role') }}\"\n      prompt: Be brief.\n"
    root = write(tmp_path, "  prompt: hi\n" + chat + scenario)
    inspection = inspect_workflow(root)
    assert (inspection.errors, inspection.warnings) == ([], [])


SETTINGS_ERRORS = [
    (
        "backend: gpt",
        "workflow.yaml:6:14: settings.llm.backend: unknown backend 'gpt'; known: anthropic, "
        "echo, ollama, openai\n"
        " |     backend: gpt\n"
        " | .............^",
    ),
    (
        "temperature: 5",
        "workflow.yaml:6:18: settings.llm.temperature: 5 is outside 0 to 2\n"
        " |     temperature: 5\n"
        " | .................^",
    ),
    (
        "retries: 11",
        "workflow.yaml:6:14: settings.llm.retries: 11 is not from 0 to 10\n"
        " |     retries: 11\n"
        " | .............^",
    ),
    (
        "timeout: soon",
        "workflow.yaml:6:14: settings.llm.timeout: invalid duration 'soon': use one or more "
        "<number><unit> with units ms, s, m, h, d, such as '30m' or '1h30m'\n"
        " |     timeout: soon\n"
        " | .............^",
    ),
    (
        "modle: llama3.2",
        "workflow.yaml:6:5: unknown key 'modle' in settings.llm; did you mean 'model'? "
        "(kdeps-expr schema lists the keys)\n"
        " |     modle: llama3.2\n"
        " | ....^",
    ),
    (
        "backend: anthropic\n    baseUrl: localhost:9000",
        "workflow.yaml:7:14: settings.llm.baseUrl: 'localhost:9000' is not an http or https URL\n"
        " |     baseUrl: localhost:9000\n"
        " | .............^",
    ),
    (
        "apiKey: 1234567",
        "workflow.yaml:6:13: settings.llm.apiKey must be text\n |     apiKey: *******\n"
        " | ............^",
    ),
]


@pytest.mark.parametrize(
    ("line", "expected"), SETTINGS_ERRORS, ids=[line.split(":")[0] for line, _ in SETTINGS_ERRORS]
)
def test_settings_llm_is_checked_at_load(tmp_path: Path, line: str, expected: str) -> None:
    root = write(tmp_path, "  prompt: hi\n", settings=f"  llm:\n    {line}\n")
    assert rendered(root, inspect_workflow(root).errors) == [expected]


def test_kdeps_own_settings_llm_keys_are_accepted(tmp_path: Path) -> None:
    settings = "  llm:\n    executionType: repl\n    prompt: Ask me\n    sessionId: s1\n"
    root = write(tmp_path, "  prompt: hi\n", settings=settings)
    inspection = inspect_workflow(root)
    assert (inspection.errors, inspection.warnings) == ([], [])
    assert inspection.workflow is not None
    assert inspection.workflow.llm_settings == LLMSettings()


def test_the_schema_describes_settings_llm_as_the_service_reads_it() -> None:
    described = definition("settings")["properties"]["llm"]["properties"]
    assert set(described) == set(SETTINGS_KEYS) | IGNORED_SETTINGS


def test_every_chat_key_is_read_or_warned_about() -> None:
    """The schema is the one list of chat keys: each is read by a request, or carries the
    warning check prints (onError, which belongs to the resource, among them)."""
    keys = definition("action.chat")["properties"]
    warned = {key for key, schema in keys.items() if "x-kdeps-warning" in schema}
    assert set(keys) >= READ
    assert READ.isdisjoint(warned)
    assert set(keys) == READ | warned


@pytest.mark.parametrize(
    ("line", "warning"),
    [
        (
            "tools:\n    - name: calc",
            "resources/main.yaml:4:3: warning: chat.tools is ignored by this engine: the model "
            "gets no tools (function calling is not run)\n |   tools:\n | ..^",
        ),
        (
            "files: [photo.png]",
            "resources/main.yaml:4:3: warning: chat.files is ignored by this engine: no file or "
            "image is attached to the prompt\n |   files: [photo.png]\n | ..^",
        ),
        (
            "ollamaPullModel: true",
            "resources/main.yaml:4:3: warning: chat.ollamaPullModel is ignored by this engine: "
            "no model is pulled (pull it with `ollama pull` first)\n"
            " |   ollamaPullModel: true\n | ..^",
        ),
        (
            "jsonResponseKeys: [answer]",
            "resources/main.yaml:4:3: warning: chat.jsonResponseKeys does nothing without "
            "jsonResponse: true\n |   jsonResponseKeys: [answer]\n | ..^",
        ),
        (
            "scenario:\n    - role: system\n      prompt: Be brief.\n"
            "      cacheControl: {type: ephemeral}",
            "resources/main.yaml:7:7: warning: chat.scenario[0].cacheControl is ignored by this "
            "engine: nothing is cached\n |       cacheControl: {type: ephemeral}\n | ......^",
        ),
        (
            "apiKey: sk-literal-0123456789",
            "resources/main.yaml:4:11: warning: chat.apiKey is written in the file, where anyone "
            "who reads the file finds the key: write \"{{ env('OPENAI_API_KEY') }}\" instead, or "
            "leave it out (the environment's OPENAI_API_KEY or ANTHROPIC_API_KEY is used)\n"
            f" |   apiKey: {'*' * len('sk-literal-0123456789')}\n | ..........^",
        ),
    ],
    ids=["tools", "files", "ollamaPullModel", "jsonResponseKeys", "cacheControl", "apiKey"],
)
def test_check_warns_about_keys_that_do_nothing_here(
    tmp_path: Path, line: str, warning: str
) -> None:
    root = write(tmp_path, f"  prompt: hi\n  {line}\n")
    inspection = inspect_workflow(root)
    assert (inspection.errors, rendered(root, inspection.warnings)) == ([], [warning])


# ---- at run time: the request each block renders, the reply each one stores -------------


EVERY_KEY = """\
  model: "{{ get('model') }}"
  backend: ollama
  baseUrl: http://127.0.0.1:9/
  apiKey: "{{ get('key') }}"
  role: "{{ get('role') }}"
  prompt: "Capital of {{ get('country') }}?"
  scenario:
    - role: system
      prompt: "You answer questions about {{ get('topic') }}."
    - role: user
      prompt: Capital of Italy?
      name: ada
    - role: assistant
      prompt: Rome.
  messages: get('history')
  jsonResponse: "{{ get('json') }}"
  jsonResponseKeys: answer
  timeout: 5s
  timeoutDuration: "{{ get('wait') }}"
  temperature: "{{ get('temperature') }}"
  maxTokens: 64
  topP: 0.9
  seed: 7
  contextLength: 4096
  frequencyPenalty: 0.5
  presencePenalty: -0.5
  streaming: true
"""


def test_a_request_renders_every_key_of_the_block(tmp_path: Path) -> None:
    workflow = load_workflow(write(tmp_path, EVERY_KEY))
    action = workflow.resources["main"].action
    assert action is not None
    query = {
        "model": "llama3.2",
        "key": "sk-1",
        "role": "user",
        "country": "France",
        "topic": "geography",
        "json": "true",
        "wait": "2m",
        "temperature": "0.25",
    }
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    context = Context(Request(query=query, body={"history": history}), action_id="main")
    assert chat_request(action, context, None) == ChatRequest(
        "Capital of France?",
        "main",
        model="llama3.2",
        role="user",
        backend="ollama",
        timeout=120.0,
        base_url="http://127.0.0.1:9/",
        api_key="sk-1",
        scenario=(
            Message("system", "You answer questions about geography."),
            Message("user", "Capital of Italy?", "ada"),
            Message("assistant", "Rome."),
            Message("user", "Hi"),
            Message("assistant", "Hello."),
        ),
        json_response=True,
        json_response_keys=("answer",),
        sampling=Sampling(0.25, 64, 0.9, 7, 4096, 0.5, -0.5),
        streaming=True,
    )


def test_every_key_reaches_the_model_in_kdeps_order(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    """Scenario system items, the JSON instruction, the other items, the history of
    ``messages``, then the prompt; the options under Ollama's names."""
    chat = EVERY_KEY.replace("http://127.0.0.1:9/", model_server.url)
    model_server.text = '{"answer": "Paris", "confidence": 0.9}'
    workflow = load_workflow(write(tmp_path, chat))
    query = {"model": "llama3.2", "country": "France", "topic": "maps", "json": "true"}
    query |= {"wait": "2m", "temperature": "0.25", "role": "user"}
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    with runner_for(workflow, store) as runner:
        response = runner.handle(Request(query=query, body={"history": history}))
    assert (response.status, response.body["data"]) == (200, {"answer": "Paris"})
    [sent] = model_server.received
    assert sent.body == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "You answer questions about maps."},
            {
                "role": "system",
                "content": "Respond in JSON format: reply with one JSON object with the keys "
                '"answer" and nothing else.',
            },
            {"role": "user", "content": "Capital of Italy?"},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "stream": True,
        "format": "json",
        "options": {
            "temperature": 0.25,
            "num_predict": 64,
            "top_p": 0.9,
            "seed": 7,
            "num_ctx": 4096,
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
        },
    }


ASK = """\
  prompt: "{{ get('q') }}"
"""
READER = """
---
actionId: reader
requires: [main]
apiResponse:
  response:
    text: llm.response('main')
    content: get('main').message.content
    model: get('main').model
    output: get('main')
"""


@pytest.mark.parametrize("backend", ["ollama", "openai", "anthropic"])
def test_settings_llm_points_every_chat_at_its_server(
    tmp_path: Path, store: SessionStore, model_server: ModelServer, backend: str
) -> None:
    model_server.text = "Paris."
    model_server.model = "served-model-1"
    settings = f"  llm:\n    backend: {backend}\n    baseUrl: {model_server.url}\n    model: m\n"
    workflow = load_workflow(write(tmp_path, ASK, settings=settings, more=READER))
    with runner_for(workflow, store) as runner:
        target = runner.handle(request(q="Capital of France?"))
        reader = runner.handle(request(q="Capital of France?"), "reader")
    assert (target.status, target.body["data"]) == (200, "Paris.")
    output = {"message": {"role": "assistant", "content": "Paris."}, "model": "served-model-1"}
    assert reader.body["data"] == {
        "text": "Paris.",
        "content": "Paris.",
        "model": "served-model-1",
        "output": output,
    }
    assert [sent.body["model"] for sent in model_server.received] == ["m", "m"]


def test_a_resource_overrides_settings_llm(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    settings = (
        "  llm:\n    backend: anthropic\n    baseUrl: http://127.0.0.1:9\n    model: claude\n"
    )
    chat = f"  backend: ollama\n  baseUrl: {model_server.url}\n  model: llama3.2\n" + ASK
    workflow = load_workflow(write(tmp_path, chat, settings=settings))
    with runner_for(workflow, store) as runner:
        response = runner.handle(request(q="Hi"))
    assert (response.status, response.body["data"]) == (200, "Hello from the model")
    assert [(s.path, s.body["model"]) for s in model_server.received] == [("/api/chat", "llama3.2")]


def test_the_environment_names_the_server_when_the_workflow_does_not(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    workflow = load_workflow(write(tmp_path, "  backend: ollama\n  model: llama3.2\n" + ASK))
    environ = {"OLLAMA_HOST": model_server.url.removeprefix("http://")}
    chat = ChatService(workflow.llm_settings, environ=environ)
    with chat, Runner(workflow, workflow.engine, store, chat=chat) as runner:
        response = runner.handle(request(q="Hi"))
    assert (response.status, response.body["data"]) == (200, "Hello from the model")


def test_a_json_reply_is_the_output_and_a_targets_data(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    model_server.text = '```json\n{"answer": "Paris", "confidence": 0.9}\n```'
    chat = (
        f"  backend: openai\n  baseUrl: {model_server.url}\n  model: gpt\n"
        "  jsonResponse: true\n  jsonResponseKeys: [answer, confidence]\n" + ASK
    )
    workflow = load_workflow(write(tmp_path, chat, more=READER))
    with runner_for(workflow, store) as runner:
        target = runner.handle(request(q="Capital of France?"))
        reader = runner.handle(request(q="Capital of France?"), "reader")
    parsed = {"answer": "Paris", "confidence": 0.9}
    assert target.body["data"] == parsed
    assert reader.body["data"] == {"text": parsed, "content": None, "model": None, "output": parsed}


def test_an_iterated_chat_answers_each_reply_text(tmp_path: Path, store: SessionStore) -> None:
    """With items, a chat target without apiResponse answers the list of reply texts (the
    echo backend replies with the prompt)."""
    items = "items:\n  - \"{{ get('names') }}\"\n"
    workflow = load_workflow(write(tmp_path, "  prompt: \"Hi {{ get('current') }}\"\n", more=items))
    with runner_for(workflow, store) as runner:
        response = runner.handle(Request(body={"names": ["Ada", "Grace"]}))
    assert (response.status, response.body["data"]) == (200, ["Hi Ada", "Hi Grace"])


def test_a_templated_value_is_checked_per_request(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    chat = (
        f"  backend: ollama\n  baseUrl: {model_server.url}\n  model: m\n"
        "  temperature: \"{{ get('t') }}\"\n" + ASK
    )
    workflow = load_workflow(write(tmp_path, chat))
    with runner_for(workflow, store) as runner:
        fine = runner.handle(request(q="Hi", t="0.5"))
        bad = runner.handle(request(q="Hi", t="7"))
    assert fine.status == 200
    assert model_server.received[0].body["options"] == {"temperature": 0.5}
    message = "chat failed in main: temperature: 7 is outside 0 to 2 (request r1)"
    assert bad == Response(500, failed(500, message))
    assert len(model_server.received) == 1


def test_messages_must_be_a_list_of_messages(tmp_path: Path, store: SessionStore) -> None:
    workflow = load_workflow(write(tmp_path, "  messages: get('q')\n" + ASK))
    with runner_for(workflow, store) as runner:
        response = runner.handle(request(q="Hi"))
    message = (
        "chat failed in main: messages: expected a list of maps with a role and a content, "
        'got "Hi" (request r1)'
    )
    assert response == Response(500, failed(500, message))


# ---- failures ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("answers", "timeout", "status", "reason"),
    [
        (
            [ollama_error(404, 'model "llama3.2" not found, try pulling it first')],
            "5s",
            502,
            'answered 404: model "llama3.2" not found, try pulling it first',
        ),
        ([ollama_error(503, "busy")] * 3, "5s", 502, "answered 503: busy (after 3 attempts)"),
        (
            [Answer(200, b"<html>oops</html>")],
            "5s",
            502,
            "the reply is not JSON: '<html>oops</html>'",
        ),
        ([Answer(delay=2.0)], "300ms", 504, "no complete reply within the 0.3s timeout"),
        (None, "5s", 502, "cannot connect: Connection refused (after 3 attempts)"),
    ],
    ids=["4xx", "5xx", "malformed", "timeout", "refused"],
)
def test_a_model_that_fails_fails_the_request_naming_resource_backend_and_model(
    tmp_path: Path,
    store: SessionStore,
    model_server: ModelServer,
    answers: list[Answer] | None,
    timeout: str,
    status: int,
    reason: str,
) -> None:
    base = model_server.url if answers is not None else f"http://127.0.0.1:{_closed_port()}"
    model_server.script(*(answers or []))
    chat = f"  backend: ollama\n  baseUrl: {base}\n  model: llama3.2\n  timeout: {timeout}\n"
    workflow = load_workflow(write(tmp_path, chat + ASK))
    with runner_for(workflow, store) as runner:
        response = runner.handle(request(q="Hi"))
    message = (
        f"chat failed in main: ollama model 'llama3.2' at {base}/api/chat: {reason} (request r1)"
    )
    assert response == Response(status, failed(status, message))


RETRIED = """\
  backend: ollama
  baseUrl: {url}
  model: m
  prompt: hi
onError:
  action: retry
  maxRetries: 1
  retryDelay: 10ms
  when:
    - error.type == 'TIMEOUT'
"""


def test_on_error_reads_a_model_timeout_as_kdeps_writes_it(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    model_server.script(Answer(delay=1.0))
    workflow = load_workflow(
        write(tmp_path, "  timeout: 200ms\n" + RETRIED.format(url=model_server.url))
    )
    with runner_for(workflow, store) as runner:
        response = runner.handle(request())
    assert (response.status, response.body["data"]) == (200, "Hello from the model")
    assert len(model_server.received) == 2


# ---- what a failed request leaves: nothing ----------------------------------------------


SESSION_CHAT = """\
  backend: ollama
  baseUrl: {url}
  model: m
  prompt: "{{{{ get('n', 'session') }}}}"
"""
COUNT_FIRST = "before:\n  - set('n', get('n', 'session', 0) + 1, 'session')\n"


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
def test_a_request_that_fails_in_chat_leaves_the_stored_session_as_it_was(
    tmp_path: Path, model_server: ModelServer, backend: str
) -> None:
    """The session is written (``n + 1``) before the model is asked; the model fails; the
    stored session is byte for byte what it was."""
    model_server.text = None
    chat = SESSION_CHAT.format(url=model_server.url)
    workflow = load_workflow(write(tmp_path / "w", chat, more=COUNT_FIRST))
    with open_backend(backend, tmp_path) as opened:
        store = opened.make()
        with runner_for(workflow, store) as runner:
            first = runner.handle(request())
            assert (first.status, first.body["data"]) == (200, "1")
            session_id = first.session_id
            assert session_id is not None
            before = opened.raw(store, session_id)
            model_server.script(*[ollama_error(500, "the model crashed")] * 3)
            second = runner.handle(request(), session_id=session_id)
            assert second.status == 502
            assert opened.raw(store, session_id) == before
            third = runner.handle(request(), session_id=session_id)
            assert (third.status, third.body["data"]) == (200, "2")


def test_the_runner_closes_the_service_it_made_and_not_one_it_was_given(
    tmp_path: Path, store: SessionStore, model_server: ModelServer
) -> None:
    """Connections are kept alive between calls (the server sees one client port) until
    the runner that made the service closes; a service passed in stays open."""
    chat = f"  backend: ollama\n  baseUrl: {model_server.url}\n  model: m\n" + ASK
    workflow = load_workflow(write(tmp_path, chat))
    own = Runner(workflow, workflow.engine, store)
    own.handle(request(q="a"))
    own.handle(request(q="b"))
    own.close()
    own.handle(request(q="c"))
    own.close()
    ports = [sent.peer for sent in model_server.received]
    assert ports[0] == ports[1] != ports[2]
    given = ChatService(environ={})
    with given:
        Runner(workflow, workflow.engine, store, chat=given).close()
        with Runner(workflow, workflow.engine, store, chat=given) as runner:
            runner.handle(request(q="d"))
        runner.handle(request(q="e"))
        assert model_server.received[-1].peer == model_server.received[-2].peer


# ---- secrets ----------------------------------------------------------------------------


KEY = "sk-test-0123456789abcdef"


def test_an_api_key_reaches_no_log_line_and_no_error(
    tmp_path: Path,
    store: SessionStore,
    model_server: ModelServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server quotes the key it got (as OpenAI's 401 does) after a retried 503: the
    answer, its debug detail and every log line, httpx's included, hold no key."""
    model_server.api_key = "sk-the-right-one"
    model_server.script(openai_error(503, f"overloaded, key {KEY}"))
    chat = f"  backend: openai\n  baseUrl: {model_server.url}\n  model: gpt\n  apiKey: {KEY}\n"
    workflow = load_workflow(write(tmp_path, chat + ASK))
    with caplog.at_level(logging.DEBUG), runner_for(workflow, store, debug=True) as runner:
        response = runner.handle(request(q="Hi"))
    where = f"openai model 'gpt' at {model_server.url}/v1/chat/completions"
    message = (
        f"chat failed in main: {where}: answered 401: Incorrect API key provided: "
        "[redacted]. (request r1)"
    )
    assert response == Response(502, failed(502, message))
    assert [sent.headers["authorization"] for sent in model_server.received] == [
        f"Bearer {KEY}"
    ] * 2
    logged = [caplog.text, *(str(arg) for r in caplog.records for arg in r.args or ())]
    assert [text for text in logged if KEY in text] == []
    assert "overloaded, key [redacted]; retry 1 of 2" in caplog.text
    assert json.dumps(response.body).count("[redacted]") == 1


def test_an_api_key_is_never_shown_by_check_or_a_load_error(tmp_path: Path) -> None:
    chat = f"  apiKey: {KEY}\n  prompt: hi\n  temperature: 9\n"
    settings = f"  llm:\n    apiKey: {KEY}\n    topP: 2\n"
    root = write(tmp_path, chat, settings=settings)
    inspection = inspect_workflow(root)
    shown = [
        *rendered(root, inspection.errors),
        *rendered(root, inspection.warnings),
        *(value.text for value in inspection.values),
    ]
    assert len(inspection.errors) == 2 and len(inspection.warnings) == 2
    assert [text for text in shown if KEY in text] == []
    assert "[redacted]" in shown
