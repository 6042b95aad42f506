"""KDeps' accessors over resource outputs: every name, and outputs of every shape."""

from __future__ import annotations

from typing import Any

import pytest

from kdeps_expr import Context, Engine
from kdeps_expr.actions.accessors import ACCESSORS, accessor_functions

OUTPUTS: dict[str, Any] = {
    "http": {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": '{"a":1}',
        "data": {"a": 1},
    },
    "exec": {"success": False, "exitCode": 2, "stdout": "o", "stderr": "e", "error": "x"},
    "python": {"stdout": "o", "stderr": "e", "error": "exit status 2", "exitCode": 2},
    "llm": {"message": {"role": "assistant", "content": "Paris."}, "model": "m"},
}


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("http.responseBody", (), {"a": 1}),
        ("http.responseHeader", ("content-type",), "application/json"),
        ("exec.stdout", (), "o"),
        ("exec.stderr", (), "e"),
        ("exec.exitCode", (), 2),
        ("python.stdout", (), "o"),
        ("python.stderr", (), "e"),
        ("python.exitCode", (), 2),
        ("llm.response", (), "Paris."),
    ],
)
def test_each_accessor_reads_its_action_output(
    name: str, arguments: tuple[Any, ...], expected: Any
) -> None:
    output = OUTPUTS[name.split(".")[0]]
    assert ACCESSORS[name](output, *arguments) == expected


@pytest.mark.parametrize("name", sorted(ACCESSORS))
@pytest.mark.parametrize("output", [None, 1, "text", [1], {}])
def test_no_accessor_raises_on_any_output(name: str, output: Any) -> None:
    arguments = ("Content-Type",) if name == "http.responseHeader" else ()
    assert ACCESSORS[name](output, *arguments) in ("", 0, None, "text", "1", "[1]", "{}", {})


def test_registered_accessors_read_outputs_by_action_id() -> None:
    engine = Engine(functions=accessor_functions())
    context = Context(outputs=OUTPUTS, action_ids=frozenset(OUTPUTS))
    assert engine.evaluate("exec.exitCode('exec') + python.exitCode('python')", context) == 4
    assert engine.evaluate("http.responseHeader('http', 'CONTENT-TYPE')", context) == (
        "application/json"
    )
    assert engine.evaluate("http.responseBody('http').a", context) == 1
    assert engine.evaluate("[exec.stderr('nothing'), exec.exitCode(nil)]", context) == ["", 0]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"message": {"role": "assistant", "content": "Paris."}, "model": "m"}, "Paris."),
        ({"answer": "Paris", "confidence": 0.9}, {"answer": "Paris", "confidence": 0.9}),
        ({"response": "from a generate call", "message": {"content": "x"}}, "from a generate call"),
        ({"data": [1, 2]}, [1, 2]),
        ("plain text", "plain text"),
        (None, None),
        ([1], None),
    ],
    ids=["response-object", "json-response", "response-key", "data", "text", "not-run", "list"],
)
def test_llm_response_reads_a_chat_output_as_kdeps_does(output: Any, expected: Any) -> None:
    assert ACCESSORS["llm.response"](output) == expected
