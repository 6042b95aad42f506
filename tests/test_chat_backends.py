"""Each chat backend against a real HTTP server on loopback: what goes on the wire, what comes back.

The server (tests/_llm_server.py) speaks Ollama's, OpenAI's and Anthropic's protocols and
records every request, so the tests assert the body and headers each API receives, and
the reply each streamed or whole answer makes.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from _llm_server import Answer, ModelServer

from kdeps_expr.actions.chat import ChatRequest, ChatService, LLMSettings, Message, Sampling

KEY = "sk-test-0123456789"
SCENARIO = (
    Message("system", "You are terse."),
    Message("user", "What is REST?", name="ann"),
    Message("assistant", "An architectural style."),
)
SAMPLING = Sampling(
    temperature=0.2,
    top_p=0.9,
    seed=42,
    max_tokens=64,
    context_length=8192,
    frequency_penalty=0.5,
    presence_penalty=-0.5,
)
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is REST?"},
    {"role": "assistant", "content": "An architectural style."},
    {"role": "user", "content": "And SOAP?"},
]


def _request(model_server: ModelServer, backend: str, **fields: Any) -> ChatRequest:
    fields = {"model": "m1", "backend": backend, "base_url": model_server.url} | fields
    return ChatRequest("And SOAP?", "ask", **fields)


EXPECTED_BODIES = {
    "ollama": (
        "/api/chat",
        {
            "model": "m1",
            "messages": CONVERSATION,
            "stream": False,
            "options": {
                "temperature": 0.2,
                "top_p": 0.9,
                "seed": 42,
                "num_predict": 64,
                "num_ctx": 8192,
                "frequency_penalty": 0.5,
                "presence_penalty": -0.5,
            },
        },
    ),
    "openai": (
        "/v1/chat/completions",
        {
            "model": "m1",
            "messages": [
                CONVERSATION[0],
                CONVERSATION[1] | {"name": "ann"},
                CONVERSATION[2],
                CONVERSATION[3],
            ],
            "stream": False,
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 64,
            "seed": 42,
            "frequency_penalty": 0.5,
            "presence_penalty": -0.5,
        },
    ),
    "anthropic": (
        "/v1/messages",
        {
            "model": "m1",
            "max_tokens": 64,
            "messages": CONVERSATION[1:],
            "stream": False,
            "system": "You are terse.",
            "temperature": 0.2,
            "top_p": 0.9,
        },
    ),
}


@pytest.mark.parametrize("backend", sorted(EXPECTED_BODIES))
def test_request_body_on_the_wire(
    backend: str, model_server: ModelServer, chat_service: ChatService
) -> None:
    reply = chat_service.send(
        _request(model_server, backend, scenario=SCENARIO, api_key=KEY, sampling=SAMPLING)
    )
    assert reply.output == {
        "message": {"role": "assistant", "content": "Hello from the model"},
        "model": "m1",
    }
    assert reply.data == "Hello from the model"
    (received,) = model_server.received
    assert (received.path, received.body) == EXPECTED_BODIES[backend]


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("ollama", {"authorization": f"Bearer {KEY}"}),
        ("openai", {"authorization": f"Bearer {KEY}"}),
        ("anthropic", {"x-api-key": KEY, "anthropic-version": "2023-06-01"}),
    ],
)
def test_headers_carry_the_key_the_api_expects(
    backend: str, expected: dict[str, str], model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.api_key = KEY
    chat_service.send(_request(model_server, backend, api_key=KEY))
    headers = model_server.received[0].headers
    assert {name: headers.get(name) for name in expected} == expected
    assert headers["content-type"] == "application/json"
    others = {"authorization", "x-api-key"} - set(expected)
    assert not others & set(headers)


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_no_key_no_authorization_header(
    backend: str, model_server: ModelServer, chat_service: ChatService
) -> None:
    chat_service.send(_request(model_server, backend))
    assert "authorization" not in model_server.received[0].headers


def test_keys_from_the_environment(model_server: ModelServer) -> None:
    model_server.api_key = KEY
    environ = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": model_server.url + "/v1"}
    with ChatService(environ=environ) as chat_service:
        reply = chat_service.send(ChatRequest("hi", "ask", backend="openai", model="m"))
    assert reply.text == "Hello from the model"
    assert model_server.received[0].headers["authorization"] == f"Bearer {KEY}"


def test_settings_llm_choose_the_backend(model_server: ModelServer) -> None:
    settings = LLMSettings.from_mapping(
        {"backend": "ollama", "baseUrl": model_server.url, "model": "llama3.2", "temperature": 0.5}
    )
    with ChatService(settings, environ={}) as chat_service:
        reply = chat_service.send(ChatRequest("hi", "ask"))
    assert reply.output["model"] == "llama3.2"
    assert model_server.received[0].body["options"] == {"temperature": 0.5}


@pytest.mark.parametrize("backend", sorted(EXPECTED_BODIES))
def test_streaming_is_accumulated(backend: str, chat_service: ChatService) -> None:
    text = "A streamed answer, in many small pieces."
    with ModelServer(text) as model_server:
        reply = chat_service.send(_request(model_server, backend, streaming=True))
    assert reply.output == {"message": {"role": "assistant", "content": text}, "model": "m1"}
    assert model_server.received[0].body["stream"] is True


@pytest.mark.parametrize("backend", sorted(EXPECTED_BODIES))
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
def test_the_model_named_in_the_reply_is_the_output_model(
    backend: str, streaming: bool, chat_service: ChatService
) -> None:
    with ModelServer(model="m1:8b-q4") as model_server:
        reply = chat_service.send(_request(model_server, backend, streaming=streaming))
    assert reply.output["model"] == "m1:8b-q4"


@pytest.mark.parametrize(
    ("backend", "asked"),
    [
        ("ollama", {"format": "json"}),
        ("openai", {"response_format": {"type": "json_object"}}),
        ("anthropic", {}),
    ],
)
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
def test_json_response_over_the_wire(
    backend: str, asked: dict[str, Any], streaming: bool, chat_service: ChatService
) -> None:
    text = '{"answer": 42, "confidence": 0.9, "extra": [1]}'
    with ModelServer(text) as model_server:
        request = _request(
            model_server, backend, json_response=True, json_response_keys=("answer", "confidence")
        )
        reply = chat_service.send(request)
    assert reply.output == reply.data == {"answer": 42, "confidence": 0.9}
    body = model_server.received[0].body
    assert {key: body[key] for key in asked} == asked
    instruction = (
        'Respond in JSON format: reply with one JSON object with the keys "answer", '
        '"confidence" and nothing else.'
    )
    system = body["system"] if backend == "anthropic" else body["messages"][0]["content"]
    assert system == instruction


def test_echo_makes_no_network_call(chat_service: ChatService) -> None:
    reply = chat_service.send(
        ChatRequest("Hello Ada", "greet", model="llama3.2", scenario=SCENARIO)
    )
    assert reply.output == {
        "message": {"role": "assistant", "content": "Hello Ada"},
        "model": "llama3.2",
    }
    echo = chat_service.send(ChatRequest("Hello", "greet"))
    assert echo.output["model"] == "echo"


@pytest.mark.parametrize("backend", sorted(EXPECTED_BODIES))
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
def test_one_kept_alive_connection_serves_consecutive_calls(
    backend: str, streaming: bool, model_server: ModelServer, chat_service: ChatService
) -> None:
    for _ in range(3):
        chat_service.send(_request(model_server, backend, streaming=streaming))
    assert len(model_server.received) == 3
    assert len({received.peer for received in model_server.received}) == 1


def test_many_threads_share_one_service() -> None:
    with ModelServer(text=None) as model_server, ChatService(environ={}) as chat_service:
        results: dict[int, str] = {}

        def ask(number: int) -> None:
            request = ChatRequest(
                f"question {number}", "ask", backend="ollama", model="m", base_url=model_server.url
            )
            results[number] = chat_service.send(request).text

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {n: f"question {n}" for n in range(20)}


@pytest.mark.parametrize(
    ("backend", "body"),
    [
        ("ollama", {"model": "m1", "message": {"role": "assistant", "content": "whole"}}),
        ("openai", {"model": "m1", "choices": [{"message": {"content": "whole"}}]}),
        ("anthropic", {"model": "m1", "content": [{"type": "text", "text": "whole"}]}),
    ],
)
def test_a_server_that_cannot_stream_may_answer_whole(
    backend: str, body: dict[str, Any], model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(Answer(body=body))
    reply = chat_service.send(_request(model_server, backend, streaming=True))
    assert reply.text == "whole"
    assert model_server.received[0].body["stream"] is True


def test_a_slow_model_does_not_hold_up_other_calls(
    model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(Answer(delay=2.0, text="slow"))
    slow: dict[str, str] = {}
    waiting = threading.Thread(
        target=lambda: slow.update(text=chat_service.send(_request(model_server, "ollama")).text)
    )
    started = time.monotonic()
    waiting.start()
    while not model_server.received:  # the slow call is at the server
        time.sleep(0.01)
    with ThreadPoolExecutor(8) as pool:
        texts = list(
            pool.map(lambda _: chat_service.send(_request(model_server, "ollama")).text, range(50))
        )
    assert texts == ["Hello from the model"] * 50
    assert waiting.is_alive() and time.monotonic() - started < 2.0
    waiting.join()
    assert slow == {"text": "slow"}
