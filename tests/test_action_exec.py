"""SPEC §12, exec: the shell-script form with every inserted value kept as data, the args form
without a shell, env, working directory, timeouts that kill the process group, KDeps'
output map and its accessors. Every run is a real process."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kdeps_expr import Context, Engine, Request
from kdeps_expr.actions.exec import (
    ExecSpec,
    exec_exit_code,
    exec_stderr,
    exec_stdout,
    run_exec,
    script_argument,
)
from kdeps_expr.actions.failures import ExecutorError
from kdeps_expr.actions.shell import ShellScript
from kdeps_expr.errors import WorkflowError

ENGINE = Engine()

HOSTILE = [
    pytest.param("; rm -rf ~", id="semicolon"),
    pytest.param("$(touch CANARY)", id="command-substitution"),
    pytest.param("`touch CANARY`", id="backticks"),
    pytest.param("a'b\"c\\d", id="quotes-and-backslash"),
    pytest.param("x\ntouch CANARY\n", id="newlines"),
    pytest.param("*", id="glob"),
    pytest.param("  two  words  ", id="spaces"),
    pytest.param("${HOME} $HOME", id="expansions"),
    pytest.param("", id="empty"),
    pytest.param("EOF", id="heredoc-delimiter"),
    pytest.param("-n", id="option-like"),
]


def run_script(source: str, value: Any, tmp_path: Path, **spec: Any) -> dict[str, Any]:
    """Render ``source`` with the request value ``q`` = ``value`` and run it in ``tmp_path``."""
    script = ShellScript(ENGINE.compile_template(source))
    text, variables = script.render(Context(Request(query={"q": value})))
    env = {**spec.pop("env", {}), **variables}
    return run_exec(ExecSpec("shell", text, env=env, working_dir=str(tmp_path), timeout=10, **spec))


# ---- values reach the script as data, wherever the template stands ---------------------------


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    ("source", "shown"),
    [
        pytest.param("printf '[%s]' {{ get('q') }}", "[{}]", id="unquoted"),
        pytest.param("printf '[%s]' x{{ get('q') }}y", "[x{}y]", id="mid-word"),
        pytest.param("printf '[%s]' \"{{ get('q') }}\"", "[{}]", id="double-quotes"),
        pytest.param("printf '[%s]' 'a{{ get('q') }}b'", "[a{}b]", id="single-quotes"),
        pytest.param(
            "printf '[%s]' \"`printf '%s' {{ get('q') }}`\"x", "[{}x]", id="backticks-in-quotes"
        ),
        pytest.param(
            "printf '[%s]' \"$(printf '%s' \"{{ get('q') }}\")\"",
            "[{}]",
            id="command-substitution",
        ),
        pytest.param("cat \\<<EOF\n[{{ get('q') }}]\nEOF", "[{}]\n", id="heredoc"),
    ],
)
def test_a_value_is_one_piece_of_data(source: str, shown: str, value: str, tmp_path: Path) -> None:
    output = run_script(source, value, tmp_path)
    if "printf '%s'" in source:
        value = value.rstrip("\n")  # $(…) and `…` drop trailing newlines, as sh does
    assert output["stdout"] == shown.format(value)
    assert not (tmp_path / "CANARY").exists()


def test_semicolon_rm_arrives_as_one_harmless_argument(tmp_path: Path) -> None:
    output = run_script("set -- {{ get('q') }}; echo \"$#:$1\"", "; rm -rf ~", tmp_path)
    assert output["stdout"] == "1:; rm -rf ~\n"


def test_kdeps_json_payload_inside_single_quotes_keeps_working(tmp_path: Path) -> None:
    """KDeps' exec.md example: a value inside '{"query": "…"}'."""
    source = "printf '%s' '{\"query\": \"{{ get('q') }}\"}'"
    output = run_script(source, "it's $(id)", tmp_path)
    assert output["stdout"] == '{"query": "it\'s $(id)"}'


def test_kdeps_variable_assignment_example_keeps_working(tmp_path: Path) -> None:
    source = "NAME=\"{{ get('q') }}_{{ get('q') }}\"; printf '%s' \"$NAME\""
    assert run_script(source, "a b", tmp_path)["stdout"] == "a b_a b"


def test_a_comment_swallows_the_value(tmp_path: Path) -> None:
    output = run_script("# {{ get('q') }}\necho done", "x\ntouch CANARY", tmp_path)
    assert output["stdout"] == "done\n"
    assert not (tmp_path / "CANARY").exists()


def test_lists_and_maps_arrive_as_json(tmp_path: Path) -> None:
    output = run_script("printf '%s' {{ get('q') }}", {"a": [1, "x y"]}, tmp_path)
    assert output["stdout"] == '{"a":[1,"x y"]}'


def test_the_rendered_script_holds_references_not_values() -> None:
    script = ShellScript(ENGINE.compile_template("echo {{ get('q') }} '{{ get('q') }}'"))
    text, variables = script.render(Context(Request(query={"q": "; id"})))
    assert text == "echo \"${_KDEPS_V1}\" ''\"${_KDEPS_V2}\"''"
    assert variables == {"_KDEPS_V1": "; id", "_KDEPS_V2": "; id"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "echo $(( {{ get('n') }} + 1 ))",
            "a template cannot stand here in a shell script: arithmetic evaluates its operands'"
            " text; pass the value to a command instead (1:10)\n"
            " | echo $(( {{ get('n') }} + 1 ))\n"
            " | .........^",
            id="arithmetic",
        ),
        pytest.param(
            "echo ${{ get('n') }}",
            "a template cannot stand here in a shell script: right after '$' it would be read"
            " as a variable name (1:7)\n"
            " | echo ${{ get('n') }}\n"
            " | ......^",
            id="after-dollar",
        ),
        pytest.param(
            "echo ${X:-{{ get('n') }}}",
            "a template cannot stand here in a shell script: inside ${…} bash evaluates array"
            " subscripts; assign the value to a variable first (1:11)\n"
            " | echo ${X:-{{ get('n') }}}\n"
            " | ..........^",
            id="parameter-expansion",
        ),
        pytest.param(
            "cat \\<<'EOF'\n{{ get('n') }}\nEOF",
            "a template cannot stand here in a shell script: inside a quoted here-document"
            " nothing expands; write <<EOF, not <<'EOF' (2:1)\n"
            " | {{ get('n') }}\n"
            " | ^",
            id="quoted-heredoc",
        ),
        pytest.param(
            "cat \\<<{{ get('n') }}",
            "a template cannot stand here in a shell script: it cannot be a here-document's"
            " delimiter (1:8)\n"
            " | cat \\<<{{ get('n') }}\n"
            " | .......^",
            id="heredoc-delimiter",
        ),
    ],
)
def test_places_a_value_cannot_stand_are_refused_at_load(source: str, expected: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        ShellScript(ENGINE.compile_template(source))
    assert str(caught.value) == expected


def test_a_heredoc_after_its_end_is_code_again(tmp_path: Path) -> None:
    source = "cat \\<<'EOF'\n$HOME\nEOF\nprintf '%s' {{ get('q') }}"
    assert run_script(source, "a b", tmp_path)["stdout"] == "$HOME\na b"


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("sh", ("-c", "echo {{x}}"), 1),
        ("/bin/bash", ("-e", "-c", "script"), 2),
        ("sh", ("-ec", "script"), 1),
        ("sh", ("script.sh", "-c", "x"), None),
        ("echo", ("-c", "x"), None),
        ("sh", ("-c",), None),
    ],
)
def test_script_argument_of_the_sh_c_form(
    command: str, args: tuple[str, ...], expected: int | None
) -> None:
    assert script_argument(command, args) == expected


# ---- the args form, env, working directory --------------------------------------------------


def test_args_run_without_a_shell(tmp_path: Path) -> None:
    output = run_exec(
        ExecSpec("echoer", "printf", ("%s|", "; rm -rf ~", "$(id)"), working_dir=str(tmp_path))
    )
    assert output == {
        "success": True,
        "exitCode": 0,
        "stdout": "; rm -rf ~|$(id)|",
        "stderr": "",
        "command": "printf %s| ; rm -rf ~ $(id)",
        "result": "; rm -rf ~|$(id)|",
        "timedOut": False,
    }


def test_env_is_added_to_the_inherited_environment(tmp_path: Path) -> None:
    output = run_exec(
        ExecSpec("env", 'printf "%s %s" "$GREETING" "${PATH:+has-path}"', env={"GREETING": "hi"})
    )
    assert output["stdout"] == "hi has-path"


def test_working_directory(tmp_path: Path) -> None:
    output = run_exec(ExecSpec("cwd", "pwd", working_dir=str(tmp_path)))
    assert output["stdout"] == f"{tmp_path}\n"


# ---- failures --------------------------------------------------------------------------------


def test_non_zero_exit_fails_with_kdeps_output(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError) as caught:
        run_exec(ExecSpec("failing", "echo out; echo oops >&2; exit 3"))
    error = caught.value
    assert (error.status, error.message) == (500, "exec failed in failing: exit status 3")
    assert error.output == {
        "success": False,
        "exitCode": 3,
        "stdout": "out\n",
        "stderr": "oops\n",
        "command": "echo out; echo oops >&2; exit 3",
        "error": "exit status 3",
        "timedOut": False,
    }
    assert error.detail == "oops\n"


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_timeout_kills_the_process_group_grandchildren_included() -> None:
    started = time.monotonic()
    with pytest.raises(ExecutorError) as caught:
        run_exec(ExecSpec("slow", "sleep 30 & echo $!; sleep 30", timeout=0.5))
    assert time.monotonic() - started < 5
    error = caught.value
    assert (error.status, error.message) == (504, "exec failed in slow: timed out after 0.5s")
    assert error.output["timedOut"] is True
    assert error.output["exitCode"] == -1
    assert error.output["error"] == "command timed out"
    grandchild = int(error.output["stdout"])
    deadline = time.monotonic() + 5
    while not _dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(grandchild)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            ExecSpec("a", "no-such-program-kdeps", ("x",)),
            "exec failed in a: program 'no-such-program-kdeps' not found",
            id="not-found",
        ),
        pytest.param(ExecSpec("a", "  "), "exec failed in a: command is empty", id="empty-command"),
        pytest.param(
            ExecSpec("a", "pwd", working_dir="/no/such/dir"),
            "exec failed in a: working directory '/no/such/dir' does not exist",
            id="no-working-dir",
        ),
        pytest.param(
            ExecSpec("a", "echo", ("a\0b",)),
            "exec failed in a: an argument or variable holds a NUL character",
            id="nul",
        ),
        pytest.param(
            ExecSpec("a", "yes", max_output=100_000),
            "exec failed in a: stdout is over 100,000 bytes",
            id="too-much-output",
        ),
    ],
)
def test_failures_are_one_message(spec: ExecSpec, message: str) -> None:
    with pytest.raises(ExecutorError) as caught:
        run_exec(spec)
    assert (caught.value.status, caught.value.message) == (500, message)


def test_shell_command_not_found_is_exit_127() -> None:
    with pytest.raises(ExecutorError) as caught:
        run_exec(ExecSpec("a", "no-such-program-kdeps"))
    assert caught.value.output["exitCode"] == 127
    assert "not found" in caught.value.output["stderr"]


# ---- accessors -------------------------------------------------------------------------------


def test_accessors_read_the_output() -> None:
    output = run_exec(ExecSpec("a", "echo out; echo err >&2"))
    assert (exec_stdout(output), exec_stderr(output), exec_exit_code(output)) == (
        "out\n",
        "err\n",
        0,
    )
    failure = {"exitCode": 2, "stdout": "", "stderr": "bad"}
    assert (exec_stderr(failure), exec_exit_code(failure)) == ("bad", 2)


@pytest.mark.parametrize("output", [None, "text", [1], {"exitCode": "x"}])
def test_accessors_never_raise(output: Any) -> None:
    assert (exec_stdout(output), exec_stderr(output), exec_exit_code(output)) == ("", "", 0)


# ---- waiting does not hold the GIL -----------------------------------------------------------


def test_an_event_loop_keeps_running_while_a_process_runs() -> None:
    """A worker thread waits for a 1 s process; the loop meanwhile ticks every 10 ms."""

    async def main() -> int:
        worker = asyncio.get_running_loop().run_in_executor(
            None, run_exec, ExecSpec("slow", "sleep 1")
        )
        ticks = 0
        while not worker.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await worker
        return ticks

    assert asyncio.run(main()) >= 40


def test_many_runs_in_parallel_threads(tmp_path: Path) -> None:
    results: list[str] = []

    def one(number: int) -> None:
        results.append(run_exec(ExecSpec("p", "printf", (str(number),)))["stdout"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=int) == [str(n) for n in range(16)]


def test_exec_runs_the_interpreter_given_by_args() -> None:
    output = run_exec(ExecSpec("py", sys.executable, ("-c", "print(6 * 7)")))
    assert output["stdout"] == "42\n"
    assert os.environ.get("_KDEPS_V1") is None


def test_a_command_that_is_one_template_runs_no_request_syntax(tmp_path: Path) -> None:
    """``command: "{{ get('q') }}"``: the value is one program name, never a script."""
    with pytest.raises(ExecutorError) as caught:
        run_script("{{ get('q') }}", "echo hi; touch CANARY", tmp_path)
    assert caught.value.output["exitCode"] == 127
    assert caught.value.output["stdout"] == ""
    assert not (tmp_path / "CANARY").exists()
