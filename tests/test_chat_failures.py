"""Chat failures: retries and backoff, timeouts, refused connections, error answers, bad replies.

Every failure is an ActionError (502, or 504 for time) whose message names the resource,
the backend, the model and the endpoint; an API key never shows in it, nor in a log line.
The model servers are real HTTP servers on loopback (tests/_llm_server.py).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import pytest
from _llm_server import (
    Answer,
    ModelServer,
    anthropic_error,
    ollama_error,
    openai_error,
    sse,
)

from kdeps_expr.actions.chat import ChatRequest, ChatService, LLMSettings, RetryPolicy, Sampling
from kdeps_expr.actions.failures import ExecutorError
from kdeps_expr.errors import ActionError

KEY = "sk-live-SECRET-4f9a2c"
FAST = RetryPolicy(base=0.01, cap=0.02)
PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


def _request(model_server: ModelServer, backend: str = "openai", **fields: Any) -> ChatRequest:
    fields = {"model": "m1", "backend": backend, "base_url": model_server.url} | fields
    return ChatRequest("hi", "ask", **fields)


def _failure(chat_service: ChatService, request: ChatRequest) -> ActionError:
    with pytest.raises(ActionError) as caught:
        chat_service.send(request)
    return caught.value


def _where(model_server: ModelServer, backend: str = "openai") -> str:
    return f"{backend} model 'm1' at {model_server.url}{PATHS[backend]}"


@pytest.mark.parametrize(
    ("backend", "first", "second"),
    [
        (
            "openai",
            openai_error(429, "Rate limit reached", "rate_limit_exceeded"),
            openai_error(503, "busy"),
        ),
        ("ollama", ollama_error(500, "server busy"), ollama_error(502, "bad gateway")),
        (
            "anthropic",
            anthropic_error(529, "overloaded_error", "Overloaded"),
            anthropic_error(429, "rate_limit_error", "slow down"),
        ),
    ],
)
def test_429_and_5xx_are_retried_then_succeed(
    backend: str,
    first: Answer,
    second: Answer,
    model_server: ModelServer,
    chat_service: ChatService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model_server.script(first, second)
    with caplog.at_level(logging.WARNING, "kdeps_expr.chat"):
        reply = chat_service.send(_request(model_server, backend))
    assert reply.text == "Hello from the model"
    assert len(model_server.received) == 3
    assert [record.getMessage().split(" in 0.")[0] for record in caplog.records] == [
        f"chat in ask: {backend} model 'm1': answered {first.status}: "
        f"{_message(first)}; retry 1 of 2",
        f"chat in ask: {backend} model 'm1': answered {second.status}: "
        f"{_message(second)}; retry 2 of 2",
    ]


def _message(answer: Answer) -> str:
    error = answer.body["error"]
    return error if isinstance(error, str) else error["message"]


def test_retries_exhausted(model_server: ModelServer, chat_service: ChatService) -> None:
    model_server.script(*[openai_error(503, "The server is overloaded")] * 3)
    error = _failure(chat_service, _request(model_server))
    assert (error.status, str(error)) == (
        502,
        f"chat failed in ask: {_where(model_server)}: answered 503: The server is overloaded "
        "(after 3 attempts)",
    )
    assert isinstance(error, ExecutorError) and (error.action, error.action_id) == ("chat", "ask")
    assert len(model_server.received) == 3


def test_settings_retries_bound_the_attempts(model_server: ModelServer) -> None:
    model_server.script(*[ollama_error(500, "boom")] * 5)
    settings = LLMSettings.from_mapping({"retries": 0})
    with ChatService(settings, environ={}, retry=FAST) as chat_service:
        error = _failure(chat_service, _request(model_server, "ollama"))
    assert str(error).endswith("answered 500: boom")
    assert len(model_server.received) == 1


@pytest.mark.parametrize(
    ("header", "value", "least"),
    [("retry-after", "0.4", 0.4), ("retry-after-ms", "300", 0.3)],
)
def test_retry_after_is_respected(
    header: str, value: str, least: float, model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(openai_error(429, "slow down", "rate_limit_exceeded", {header: value}))
    started = time.monotonic()
    chat_service.send(_request(model_server))
    assert least <= time.monotonic() - started < least + 1.0
    assert len(model_server.received) == 2


def test_no_retry_past_the_timeout(model_server: ModelServer, chat_service: ChatService) -> None:
    model_server.script(
        openai_error(429, "slow down", "rate_limit_exceeded", {"retry-after": "20"})
    )
    started = time.monotonic()
    error = _failure(chat_service, _request(model_server, timeout=1.0))
    assert time.monotonic() - started < 0.5
    assert str(error) == (
        f"chat failed in ask: {_where(model_server)}: answered 429: slow down; a retry in 20s "
        "would pass the 1s timeout"
    )


@pytest.mark.parametrize(
    ("backend", "answer", "reason"),
    [
        (
            "openai",
            openai_error(429, "You exceeded your current quota", "insufficient_quota"),
            "answered 429: You exceeded your current quota",
        ),
        (
            "anthropic",
            Answer(
                429,
                {
                    "type": "error",
                    "error": {
                        "type": "rate_limit_error",
                        "message": "spend limit reached",
                        "details": {"error_code": "enforced_spend_limit_reached"},
                    },
                },
            ),
            "answered 429: spend limit reached",
        ),
        (
            "ollama",
            ollama_error(404, 'model "m1" not found, try pulling it first'),
            'answered 404: model "m1" not found, try pulling it first',
        ),
        (
            "openai",
            openai_error(400, "This model's maximum context length is 8192 tokens"),
            "answered 400: This model's maximum context length is 8192 tokens",
        ),
        (
            "anthropic",
            anthropic_error(403, "permission_error", "not allowed"),
            "answered 403: not allowed",
        ),
        ("openai", Answer(422, {"detail": "bad field"}), "answered 422: bad field"),
        ("openai", Answer(404, b"Not Found"), "answered 404: Not Found"),
    ],
)
def test_answers_a_retry_cannot_help_fail_at_once(
    backend: str, answer: Answer, reason: str, model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(answer)
    error = _failure(chat_service, _request(model_server, backend))
    assert (error.status, str(error)) == (
        502,
        f"chat failed in ask: {_where(model_server, backend)}: {reason}",
    )
    assert len(model_server.received) == 1


def test_a_connection_dropped_before_an_answer_is_retried(
    model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(Answer(drop=True))
    assert chat_service.send(_request(model_server, "ollama")).text == "Hello from the model"
    assert len(model_server.received) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_connection(chat_service: ChatService) -> None:
    port = _closed_port()
    request = ChatRequest("hi", "ask", backend="ollama", model="m1", base_url=f"127.0.0.1:{port}")
    error = _failure(chat_service, request)
    assert (error.status, str(error)) == (
        502,
        f"chat failed in ask: ollama model 'm1' at http://127.0.0.1:{port}/api/chat: "
        "cannot connect: Connection refused (after 3 attempts)",
    )


@pytest.mark.parametrize("backend", sorted(PATHS))
def test_a_model_that_does_not_answer_in_time_is_a_504(
    backend: str, model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(Answer(delay=3.0))
    started = time.monotonic()
    error = _failure(chat_service, _request(model_server, backend, timeout=0.3))
    assert 0.3 <= time.monotonic() - started < 1.5
    assert (error.status, str(error)) == (
        504,
        f"chat failed in ask: {_where(model_server, backend)}: no complete reply within the "
        "0.3s timeout",
    )
    assert len(model_server.received) == 1


def test_a_stream_that_trickles_past_the_timeout_is_cut_off(
    model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.script(Answer(text="x" * 80, pause=0.15))  # 21 pieces, 3 s in all
    started = time.monotonic()
    error = _failure(chat_service, _request(model_server, "ollama", timeout=0.5, streaming=True))
    assert 0.5 <= time.monotonic() - started < 1.2
    assert error.status == 504


def _lines(*lines: Any) -> list[bytes]:
    return [
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    ]


PIECE = {"model": "m1", "message": {"role": "assistant", "content": "Hel"}, "done": False}
CHUNK = {
    "model": "m1",
    "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
}


@pytest.mark.parametrize(
    ("backend", "streaming", "answer", "reason"),
    [
        (
            "ollama",
            False,
            Answer(body=b"<html>oops</html>"),
            "the reply is not JSON: '<html>oops</html>'",
        ),
        ("ollama", False, Answer(body={"model": "m1"}), "the reply has no message.content text"),
        ("ollama", False, Answer(body=[1, 2]), "the reply is not a JSON object"),
        (
            "ollama",
            False,
            Answer(body={"error": "out of memory"}),
            "the server reported an error: out of memory",
        ),
        (
            "ollama",
            True,
            Answer(chunks=_lines(PIECE, {"error": "out of memory"})),
            "the server reported an error: out of memory",
        ),
        (
            "ollama",
            True,
            Answer(chunks=_lines(PIECE, PIECE)),
            'the stream ended before its last line ("done": true)',
        ),
        (
            "ollama",
            True,
            Answer(chunks=_lines(PIECE, b"garbage")),
            "line 2 of the stream is not JSON: 'garbage'",
        ),
        (
            "ollama",
            False,
            Answer(body=b"plain", headers={"content-encoding": "gzip"}),
            "the reply cannot be decoded: Error -3 while decompressing data: incorrect header "
            "check",
        ),
        ("openai", False, Answer(body={"id": "x"}), "the reply has no choices"),
        (
            "openai",
            False,
            Answer(body={"error": {"message": "upstream model crashed"}}),
            "the server reported an error: upstream model crashed",
        ),
        (
            "openai",
            False,
            Answer(
                body={
                    "choices": [
                        {
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "refusal": "I can't help with that.",
                            }
                        }
                    ]
                }
            ),
            "the model refused: I can't help with that.",
        ),
        (
            "openai",
            False,
            Answer(body={"choices": [{"message": {"role": "assistant", "content": 7}}]}),
            "the reply's choices[0].message.content is not text",
        ),
        (
            "openai",
            True,
            Answer(
                chunks=[
                    b"data: " + json.dumps(CHUNK).encode() + b"\n\n",
                    b'data: {"error": {"message": "boom"}}\n\n',
                ]
            ),
            "the server reported an error: boom",
        ),
        (
            "openai",
            True,
            Answer(chunks=[b"data: " + json.dumps(CHUNK).encode() + b"\n\n"]),
            "the stream ended before data: [DONE]",
        ),
        (
            "openai",
            True,
            Answer(chunks=[b"data: {not json\n\n"]),
            "event 1 of the stream is not JSON: '{not json'",
        ),
        ("anthropic", False, Answer(body={"type": "message"}), "the reply has no content blocks"),
        (
            "anthropic",
            True,
            Answer(
                chunks=[
                    sse("message_start", {"type": "message_start", "message": {"model": "m1"}}),
                    sse(
                        "error",
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    ),
                ]
            ),
            "the server reported an error: Overloaded",
        ),
        (
            "anthropic",
            True,
            Answer(
                chunks=[sse("message_start", {"type": "message_start", "message": {"model": "m1"}})]
            ),
            "the stream ended before its message_stop event",
        ),
    ],
)
def test_replies_that_cannot_be_used(
    backend: str,
    streaming: bool,
    answer: Answer,
    reason: str,
    model_server: ModelServer,
    chat_service: ChatService,
) -> None:
    model_server.script(answer)
    error = _failure(chat_service, _request(model_server, backend, streaming=streaming))
    assert (error.status, str(error)) == (
        502,
        f"chat failed in ask: {_where(model_server, backend)}: {reason}",
    )
    assert len(model_server.received) == 1


def test_anthropic_refuses_a_temperature_above_one_before_any_call(
    model_server: ModelServer, chat_service: ChatService
) -> None:
    error = _failure(
        chat_service, _request(model_server, "anthropic", sampling=Sampling(temperature=1.5))
    )
    assert (error.status, str(error)) == (
        500,
        f"chat failed in ask: {_where(model_server, 'anthropic')}: temperature: 1.5 is outside "
        "0 to 1, the range Anthropic takes",
    )
    assert model_server.received == []


@pytest.mark.parametrize("backend", sorted(PATHS))
def test_the_api_key_never_leaks(
    backend: str,
    model_server: ModelServer,
    chat_service: ChatService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model_server.api_key = "sk-the-right-key"
    model_server.script(
        openai_error(503, f"upstream said {KEY}"), *[openai_error(503, "again")] * 2
    )
    with caplog.at_level(logging.DEBUG):
        error = _failure(chat_service, _request(model_server, backend, api_key=KEY))
    assert str(error).endswith("answered 503: again (after 3 attempts)")
    texts = [
        str(error),
        repr(error),
        caplog.text,
        *(str(arg) for r in caplog.records for arg in r.args or ()),
    ]
    assert [text for text in texts if KEY in text] == []
    assert "[redacted]" in caplog.text
    assert any(record.name.startswith(("httpx", "httpcore")) for record in caplog.records)


def test_a_wrong_key_quoted_back_by_the_server_is_redacted(
    model_server: ModelServer, chat_service: ChatService
) -> None:
    model_server.api_key = "sk-the-right-key"
    error = _failure(chat_service, _request(model_server, "openai", api_key=KEY))
    assert str(error) == (
        f"chat failed in ask: {_where(model_server)}: answered 401: Incorrect API key provided: "
        "[redacted]."
    )
