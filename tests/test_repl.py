"""``kdeps-expr repl`` through a real pseudo-terminal (pexpect): values, what set()
changed, multi-line input, completion, the commands, and history kept across runs."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from _server import environment

from kdeps_expr.cli.repl import Repl, State, history_path
from kdeps_expr.language.context import Request
from kdeps_expr.language.engine import Engine

TIMEOUT = 20
_CODES = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"
"""Terminal control sequences prompt_toolkit may write before a printed line."""


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history"


def spawn(history: Path, *options: str) -> pexpect.spawn:
    env = {**environment(), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    command = ["-m", "kdeps_expr.cli", "repl", "--history", str(history), *options]
    child = pexpect.spawn(
        sys.executable, command, env=env, encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 200)
    )
    child.expect_exact("kdeps-expr repl: :help for the commands, :quit or Ctrl-D to leave")
    child.expect_exact("kdeps>")
    return child


@pytest.fixture
def repl(history: Path) -> Iterator[pexpect.spawn]:
    child = spawn(history, "--session", "visits=41", "--query", "name=Ada")
    try:
        yield child
    finally:
        child.close(force=True)


def enter(child: pexpect.spawn, text: str) -> None:
    child.send(text + "\r")


def printed(child: pexpect.spawn, *lines: str) -> None:
    """The lines the last input printed, in order, each on a line of its own."""
    for line in lines:
        child.expect(r"(?:^|\n)" + _CODES + re.escape(line) + r"\r?\n")


def test_values_changes_and_errors(repl: pexpect.spawn) -> None:
    enter(repl, "set('visits', get('visits', 'session') + 1, 'session')")
    printed(repl, "42", "session: ~ visits: 41 -> 42")
    enter(repl, "set('seen', [get('name')])")
    printed(repl, '["Ada"]', 'memory: + seen = ["Ada"]')
    enter(repl, "set('visits', 0, 'session') + (1 / 0)")
    printed(repl, "division by zero (1:34)", " | set('visits', 0, 'session') + (1 / 0)")
    enter(repl, "get('visits', 'session')")
    printed(repl, "42")
    enter(repl, ":quit")
    repl.expect(pexpect.EOF)


def test_an_unclosed_bracket_continues_on_the_next_line(repl: pexpect.spawn) -> None:
    enter(repl, "sum([100,")
    repl.expect_exact("......")
    enter(repl, "  23])")
    printed(repl, "123")
    enter(repl, "{'a':")
    repl.expect_exact("......")
    enter(repl, "[1, 2.0]}")
    printed(repl, '{"a": [1, 2.0]}')
    enter(repl, "'no end")  # a string cannot span lines: an error at once
    printed(repl, "unclosed string (1:1)")
    enter(repl, "1 +")  # not unclosed: an error at once
    printed(repl, "unexpected end of expression (1:4)")


def test_tab_completes_function_names_and_keys(repl: pexpect.spawn) -> None:
    repl.send("uppe\t")
    repl.send("(get('na\t")
    enter(repl, "'))")
    printed(repl, '"ADA"')
    repl.send("get('vis\t")
    enter(repl, "', 'session')")
    printed(repl, "41")


def test_commands_show_and_change_the_state(repl: pexpect.spawn) -> None:
    enter(repl, ":session")
    printed(repl, "{", '  "visits": 41', "}")
    enter(repl, ':request {"method": "post", "query": {"name": "Bob"}, "body": {"n": 2}}')
    printed(repl, '  "method": "POST",', '    "name": "Bob"')
    enter(repl, "get('name') + string(get('n'))")
    printed(repl, '"Bob2"')
    enter(repl, ':memory {"m": 1}')
    enter(repl, "get('m')")
    printed(repl, "1")
    enter(repl, ":render Hi {{ get('name') }} #{{ get('visits', 'session') }}")
    printed(repl, "Hi Bob #41")
    enter(repl, ":reset")
    printed(repl, "session, memory and request reset")
    enter(repl, "[get('name'), get('m'), get('visits', 'session')]")
    printed(repl, '["Ada", null, 41]')
    enter(repl, ":session [1]")
    printed(repl, ":session: expected a JSON object {…}")
    enter(repl, ":nope")
    printed(repl, "unknown command :nope (:help lists them)")
    enter(repl, ":help")
    printed(repl, "  :reset             the session, memory and request the command line gave")


def test_history_is_kept_across_runs(history: Path) -> None:
    first = spawn(history)
    enter(first, "21 * 2")
    printed(first, "42")
    first.expect_exact("kdeps>")
    time.sleep(0.3)
    first.sendcontrol("d")  # Ctrl-D leaves
    first.expect(pexpect.EOF)
    assert "+21 * 2" in history.read_text()
    second = spawn(history)
    try:
        time.sleep(1.0)  # prompt_toolkit reads the history file on a thread of its own
        second.send("\x1b[A")  # up: the line of the last run
        second.expect_exact("21 * 2")
        enter(second, "")
        printed(second, "42")
    finally:
        second.close(force=True)


def test_history_lives_in_the_xdg_state_folder(tmp_path: Path) -> None:
    env = {
        **environment(),
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "XDG_STATE_HOME": str(tmp_path / "xdg"),
    }
    command = ["-m", "kdeps_expr.cli", "repl"]
    child = pexpect.spawn(sys.executable, command, env=env, encoding="utf-8", timeout=TIMEOUT)
    try:
        child.expect_exact("kdeps>")
        enter(child, "'kept'")
        printed(child, '"kept"')
        enter(child, ":quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "+'kept'" in (tmp_path / "xdg" / "kdeps-expr" / "history").read_text()
    assert history_path().parts[-2:] == ("kdeps-expr", "history")


def test_what_counts_as_unclosed() -> None:
    repl = Repl(Engine(), State(Request(), {}, {}))
    texts = ("len(", "[1,", "{a: 1", "{'a':", "f(1,", "'x", "1 +", "('(' +", "f(1))", ":s {", "2")
    assert {text: repl.complete_input(text) for text in texts} == {
        "len(": False,
        "[1,": False,
        "{a: 1": False,
        "{'a':": False,
        "f(1,": False,
        "'x": True,
        "1 +": True,
        "('(' +": False,
        "f(1))": True,
        ":s {": True,
        "2": True,
    }
