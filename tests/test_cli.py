"""``kdeps-expr eval`` and ``kdeps-expr render``: options, output and errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdeps_expr import load_workflow
from kdeps_expr.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one command line."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("argv", "stdout"),
    [
        (["eval", "1 + 2"], "3\n"),
        (["eval", "7 / 2"], "3.5\n"),
        (["eval", "2.0"], "2.0\n"),
        (["eval", "[1, 2.0, nil, true]"], "[1, 2.0, null, true]\n"),
        (["eval", "{b: 1, a: 'x'}"], '{"b": 1, "a": "x"}\n'),
        (["eval", "get('name')", "--query", "name=Ada"], '"Ada"\n'),
        (["eval", "get('name')", "--query=name=Ada"], '"Ada"\n'),
        (["eval", "get('q')", "--query", "q=a=b"], '"a=b"\n'),
        (["eval", "get('x-token')", "--header", "X-Token=t1"], '"t1"\n'),
        (["eval", "get('item').price", "--body", '{"item": {"price": 4}}'], "4\n"),
        (["eval", "get('n', 'session') + 1", "--session", "n=41"], "42\n"),
        (["eval", "get('tags', 'memory')", "--memory", 'tags=["a"]'], '["a"]\n'),
        (["eval", "--", "-1 + 2"], "1\n"),
        (["eval", "--query", "a=xy", "--", "-len(get('a'))"], "-2\n"),
        (["render", "Hi {{ get('n') }}!", "--query", "n=Bo"], "Hi Bo!\n"),
        (["render", "{{ [1, 2.0] }}"], "[1, 2.0]\n"),
        (["render", "a {{ [1, 2.0] }}"], "a [1,2.0]\n"),
        (["render", "{{ 2.0 }} and {{ nil }}."], "2 and .\n"),
        (["render", r"\{{ x }}"], "{{ x }}\n"),
    ],
    ids=[
        "int",
        "division-float",
        "float-stays-float",
        "list-json",
        "map-order-kept",
        "query",
        "option-equals-form",
        "value-with-equals",
        "header-case-insensitive",
        "json-body",
        "session",
        "memory",
        "double-dash-ends-options",
        "options-then-double-dash",
        "render-text",
        "render-native-list",
        "render-list-in-text",
        "render-rules",
        "render-escape",
    ],
)
def test_output(capsys: pytest.CaptureFixture[str], argv: list[str], stdout: str) -> None:
    assert run(capsys, *argv) == (0, stdout, "")


@pytest.mark.parametrize(
    ("argv", "stdout"),
    [
        (
            ["eval", "set('visits', get('visits', 'session') + 1, 'session')", "--state"],
            '{"value": 1, "session": {"visits": 1}, "memory": {}}\n',
        ),
        (
            ["eval", "set('x', 2) * 2", "--session", "k=true", "--state"],
            '{"value": 4, "session": {"k": true}, "memory": {"x": 2}}\n',
        ),
        (
            ["render", "{{ clear('session') }}done", "--session", "k=1", "--state"],
            '{"value": "done", "session": {}, "memory": {}}\n',
        ),
    ],
    ids=["session-write", "memory-write", "render-clear"],
)
def test_state_shows_what_set_did(
    capsys: pytest.CaptureFixture[str], argv: list[str], stdout: str
) -> None:
    assert run(capsys, *argv) == (0, stdout, "")


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["eval", "1 +"], "unexpected end of expression (1:4)\n | 1 +\n | ...^\n"),
        (
            ["eval", "lenn('a')"],
            "unknown function lenn (did you mean 'len'?) (1:1)\n | lenn('a')\n | ^\n",
        ),
        (["eval", "1 / 0"], "division by zero (1:3)\n | 1 / 0\n | ..^\n"),
        (["render", "x {{ y"], "unclosed '{{' (1:3)\n | x {{ y\n | ..^\n"),
    ],
    ids=["syntax", "unknown-function", "evaluation", "template"],
)
def test_errors_print_the_caret_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], stderr: str
) -> None:
    assert run(capsys, *argv) == (1, "", stderr)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "1", "--query", "novalue"], "--query expects KEY=VALUE, got 'novalue'"),
        (
            ["eval", "1", "--body", "{bad"],
            "--body is not valid JSON (Expecting property name enclosed in double quotes "
            "at column 2)",
        ),
        (
            ["eval", "1", "--session", "k=nope"],
            "--session k is not valid JSON (Expecting value at column 1)",
        ),
    ],
    ids=["pair-without-equals", "bad-body", "bad-session-json"],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.endswith(f"kdeps-expr: error: {message}\n")


def test_a_lone_surrogate_is_refused_at_the_door() -> None:
    """``"\\ud800"`` names no character: no store or response could hold it (no traceback)."""
    command = ["render", "<{{ get('s') }}>", "--body", '{"s": "\\ud800"}']
    result = subprocess.run(
        [sys.executable, "-m", "kdeps_expr.cli", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.endswith(
        "kdeps-expr: error: --body is not valid JSON "
        "(a \\u escape is half of a surrogate pair, not a character)\n"
    )


def test_a_session_id_may_begin_with_a_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """URL-safe base64 ids begin with ``-`` one time in 64; ``--session-id -…`` must work."""
    folder = shutil.copytree(EXAMPLES / "cart", tmp_path / "cart")
    session_id = "-" + "A" * 42
    store = load_workflow(folder).open_store()
    store.save(session_id, {"cart": [{"sku": "tea", "price": 4.5}]}, 0)
    store.close()
    status, out, err = run(
        capsys, "run", str(folder), "--action", "viewCart", "--session-id", session_id, "--json"
    )
    assert (status, err) == (0, "")
    response = json.loads(out)
    assert (response["sessionId"], response["body"]["data"]["total"]) == (session_id, 4.5)


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    command = [sys.executable, "-m", "kdeps_expr.cli", "eval", "repeat('ab', 400000)"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head` that has seen enough
    error = process.stderr.read()
    assert (process.wait(timeout=30), error) == (141, b"")


# --- the first hour: help, version, python -m, standard input, unknown session ids -----


def command(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """``python -m kdeps_expr ARGV`` in a child process, fed ``stdin``."""
    return subprocess.run(
        [sys.executable, "-m", "kdeps_expr", *argv],
        input=stdin.decode("utf-8", "surrogateescape"),
        capture_output=True,
        text=True,
        errors="surrogateescape",
        check=False,
        timeout=30,
    )


def test_python_m_kdeps_expr_is_the_command() -> None:
    assert (command("eval", "1 + 2").stdout, command("eval", "1 + 2").returncode) == ("3\n", 0)


def test_version() -> None:
    done = command("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, "kdeps-expr 0.1.0\n", "")


def test_bare_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert (status, err) == (0, "")
    assert out.startswith("usage: kdeps-expr [-h] [--version] COMMAND ...\n")
    for name in ("eval", "render", "check", "run", "sessions", "serve"):
        assert f"\n    {name} " in out


@pytest.mark.parametrize(
    ("argv", "stdin", "stdout"),
    [
        (["eval", "-"], b"int(get('n')) + 1\n", "42\n"),
        (
            ["eval", "-", "--state"],
            b"set('a', 1, 'session')",
            '{"value": 1, "session": {"a": 1}, "memory": {}}\n',
        ),
        (["render", "-"], b"Hi {{ get('n') }},\nbye\r\n", "Hi 41,\nbye\n"),
        (["render", "-"], b"", "\n"),
    ],
    ids=["eval", "eval-state", "render-multi-line", "render-empty"],
)
def test_a_dash_reads_standard_input(argv: list[str], stdin: bytes, stdout: str) -> None:
    done = command(*argv, "--query", "n=41", stdin=stdin)
    assert (done.returncode, done.stdout, done.stderr) == (0, stdout, "")


def test_standard_input_that_is_not_utf8_is_one_error() -> None:
    done = command("eval", "-", stdin=b"'\xff'")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith("kdeps-expr: error: standard input is not UTF-8 text (byte 1)\n")


def test_run_says_when_its_session_id_is_unknown_or_expired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shutil.copytree(EXAMPLES / "cart", tmp_path / "cart")
    body = '{"item": {"sku": "tea", "price": 4.5}}'
    unknown = "A" * 43
    status, out, err = run(
        capsys,
        "run",
        str(folder),
        "--action",
        "addToCart",
        "--body",
        body,
        "--session-id",
        unknown,
        "--json",
    )
    assert (status, err) == (
        0,
        f"kdeps-expr: no live session '{unknown}' (unknown or expired): "
        "this request starts a new one\n",
    )
    session_id = json.loads(out)["sessionId"]
    assert session_id not in (None, unknown)
    status, out, err = run(capsys, "run", str(folder), "--session-id", session_id, "--json")
    assert (status, err, json.loads(out)["body"]["data"]["total"]) == (0, "", 4.5)
