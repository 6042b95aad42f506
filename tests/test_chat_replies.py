"""What a reply becomes: the response object, or with jsonResponse the parsed JSON object.

The echo backend replies with the rendered prompt, so these run offline: the prompt
stands for what a model wrote. tests/test_chat_backends.py runs the same over the wire.
"""

from __future__ import annotations

from typing import Any

import pytest

from kdeps_expr.actions.chat import ChatReply, ChatRequest, ChatService
from kdeps_expr.errors import ActionError

SERVICE = ChatService(environ={})


def _send(text: str, keys: tuple[str, ...] = (), json_response: bool = True) -> ChatReply:
    request = ChatRequest(text, "ask", json_response=json_response, json_response_keys=keys)
    return SERVICE.send(request)


def test_a_plain_reply_is_kdeps_response_object() -> None:
    reply = _send("Bonjour", json_response=False)
    assert reply.output == {"message": {"role": "assistant", "content": "Bonjour"}, "model": "echo"}
    assert reply.data == "Bonjour"


@pytest.mark.parametrize(
    ("text", "keys", "expected"),
    [
        pytest.param(
            '{"answer": 42, "why": "because"}', (), {"answer": 42, "why": "because"}, id="object"
        ),
        pytest.param(' \n{"a": 1}\n ', (), {"a": 1}, id="white-space-around"),
        pytest.param('```json\n{"a": 1}\n```', (), {"a": 1}, id="fenced-json"),
        pytest.param('```JSON\n{"a": 1}```\n', (), {"a": 1}, id="fenced-upper-case"),
        pytest.param('\n```\n{"a": [1, 2]}\n```', (), {"a": [1, 2]}, id="fenced-bare"),
        pytest.param(
            '{"c": 3, "b": 2, "a": 1, "d": 4}',
            ("a", "b", "c"),
            {"a": 1, "b": 2, "c": 3},
            id="kept-to-keys-in-order",
        ),
        pytest.param('{"a": null}', ("a",), {"a": None}, id="a-null-key-is-present"),
        pytest.param(
            '{"n": 12345678901234567890}', (), {"n": 12345678901234567890}, id="big-integer"
        ),
    ],
)
def test_json_replies_that_parse(
    text: str, keys: tuple[str, ...], expected: dict[str, Any]
) -> None:
    reply = _send(text, keys)
    assert reply.output == reply.data == expected
    assert reply.text == text


@pytest.mark.parametrize(
    ("text", "keys", "reason"),
    [
        pytest.param(
            'Sure! Here it is: {"a": 1}',
            (),
            "the reply is not JSON (Expecting value at 1:1): 'Sure! Here it is: {\"a\": 1}'",
            id="prose",
        ),
        pytest.param(
            'Here:\n```json\n{"a": 1}\n```',
            (),
            "the reply is not JSON (Expecting value at 1:1): 'Here:\\n```json\\n{\"a\": 1}\\n```'",
            id="fence-after-prose",
        ),
        pytest.param(
            '{"a": 1 "b": 2}',
            (),
            "the reply is not JSON (Expecting ',' delimiter at 1:9): '{\"a\": 1 \"b\": 2}'",
            id="broken",
        ),
        pytest.param("[1, 2]", (), "the reply is a list, not a JSON object: '[1, 2]'", id="list"),
        pytest.param(
            '"yes"', (), "the reply is a string, not a JSON object: '\"yes\"'", id="string"
        ),
        pytest.param("null", (), "the reply is null, not a JSON object: 'null'", id="null"),
        pytest.param(
            '{"a": NaN}', (), "the reply is not JSON (NaN is not JSON): '{\"a\": NaN}'", id="nan"
        ),
        pytest.param(
            '{"answer": 1}',
            ("answer", "score", "why"),
            "the reply has no 'score', 'why' (jsonResponseKeys): '{\"answer\": 1}'",
            id="missing-keys",
        ),
        pytest.param("", (), "the reply is not JSON (Expecting value at 1:1): ''", id="empty"),
    ],
)
def test_json_replies_that_fail(text: str, keys: tuple[str, ...], reason: str) -> None:
    with pytest.raises(ActionError) as caught:
        _send(text, keys)
    assert (caught.value.status, str(caught.value)) == (
        502,
        f"chat failed in ask: echo model 'echo': jsonResponse: {reason}",
    )


def test_a_long_reply_is_shortened_in_the_message() -> None:
    with pytest.raises(ActionError) as caught:
        _send("x" * 500)
    assert str(caught.value).endswith(f": '{'x' * 80}…'")
