"""SPEC §12, python: inline scripts and script files, args, the interpreter (a venv when
given), timeouts, stdout parsed as JSON, KDeps' failure map and accessors, and template
values written into a script as Python data. Every run is a real interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kdeps_expr import Context, Engine, Request
from kdeps_expr.actions.failures import ExecutorError
from kdeps_expr.actions.python import (
    PythonSpec,
    parse_stdout,
    python_exit_code,
    python_stderr,
    python_stdout,
    run_python,
)
from kdeps_expr.actions.python_source import PythonScript, python_literal
from kdeps_expr.errors import WorkflowError

ENGINE = Engine()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param(
            'import json; print(json.dumps({"b": 1, "a": [2.5, None]}))',
            {"b": 1, "a": [2.5, None]},
            id="object",
        ),
        pytest.param("print('[1, 2]')", [1, 2], id="list"),
        pytest.param("print(42)", 42, id="number"),
        pytest.param("print('\"text\"')", "text", id="json-string"),
        pytest.param("print('hello')", "hello\n", id="text-kept-raw"),
        pytest.param("print('{broken')", "{broken\n", id="not-json"),
        pytest.param("print('NaN')", "NaN\n", id="nan-is-text"),
        pytest.param("pass", "", id="no-output"),
    ],
)
def test_stdout_is_parsed_when_it_is_json(script: str, expected: Any) -> None:
    assert run_python(PythonSpec("py", script=script)) == expected


def test_args_reach_sys_argv_as_kdeps_passes_them() -> None:
    script = "import json, sys; print(json.dumps(sys.argv))"
    output = run_python(PythonSpec("py", script=script, args=("--q", "; rm -rf ~")))
    assert output == ["-c", "--q", "; rm -rf ~"]


def test_script_file_relative_to_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "echo.py").write_text(
        "import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}))\n"
    )
    spec = PythonSpec("py", script_file="scripts/echo.py", args=("a",), working_dir=str(tmp_path))
    assert run_python(spec) == {"argv": ["a"], "cwd": str(tmp_path)}


def test_a_venv_runs_the_script(tmp_path: Path) -> None:
    venv = tmp_path / "venvs" / "tools"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    script = "import json, os, sys; print(json.dumps([sys.prefix, os.environ['VIRTUAL_ENV']]))"
    output = run_python(PythonSpec("py", script=script, venv=str(venv)))
    assert output == [str(venv), str(venv)]


def test_env_and_the_current_interpreter_by_default() -> None:
    script = "import json, os, sys; print(json.dumps([sys.executable, os.environ['X']]))"
    assert run_python(PythonSpec("py", script=script, env={"X": "1"})) == [sys.executable, "1"]


def test_a_failing_script_fails_with_kdeps_output() -> None:
    script = "import sys; print('partial'); print('bad input', file=sys.stderr); sys.exit(4)"
    with pytest.raises(ExecutorError) as caught:
        run_python(PythonSpec("calc", script=script))
    error = caught.value
    assert (error.status, error.message) == (500, "python failed in calc: exit status 4")
    assert error.output == {
        "stdout": "partial\n",
        "stderr": "bad input\n",
        "error": "exit status 4",
        "exitCode": 4,
    }
    assert (python_stdout(error.output), python_stderr(error.output)) == (
        "partial\n",
        "bad input\n",
    )
    assert python_exit_code(error.output) == 4


def test_a_timeout_is_a_504() -> None:
    with pytest.raises(ExecutorError) as caught:
        run_python(PythonSpec("slow", script="import time; time.sleep(30)", timeout=0.3))
    assert (caught.value.status, caught.value.message) == (
        504,
        "python failed in slow: timed out after 0.3s",
    )
    assert caught.value.output["error"] == "command timed out"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            PythonSpec("py"),
            "python failed in py: neither script nor scriptFile is given",
            id="none",
        ),
        pytest.param(
            PythonSpec("py", script_file="missing.py"),
            "python failed in py: no script file 'missing.py'",
            id="no-file",
        ),
        pytest.param(
            PythonSpec("py", script="pass", venv="/no/venv"),
            "python failed in py: no virtual environment at '/no/venv' (create it with:"
            " python -m venv <folder>)",
            id="no-venv",
        ),
    ],
)
def test_failures_are_one_message(spec: PythonSpec, message: str) -> None:
    with pytest.raises(ExecutorError) as caught:
        run_python(spec)
    assert (caught.value.status, caught.value.message) == (500, message)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        pytest.param("text\n", ("text\n", "", 0), id="text"),
        pytest.param({"a": 1}, ('{"a":1}', "", 0), id="parsed"),
        pytest.param(None, ("", "", 0), id="no-output"),
    ],
)
def test_accessors_after_a_success(output: Any, expected: tuple[str, str, int]) -> None:
    assert (python_stdout(output), python_stderr(output), python_exit_code(output)) == expected


def test_parse_stdout_keeps_text_that_is_not_one_document() -> None:
    assert parse_stdout("1\n2\n") == "1\n2\n"


# ---- template values are Python data ---------------------------------------------------------

HOSTILE = "x\"; import os; os.system('touch CANARY') #\n'''\"\"\"{}\\ é \x00"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("v = {{ get('q') }}", HOSTILE, id="code"),
        pytest.param("v = '{{ get('q') }}'", HOSTILE, id="single-quotes"),
        pytest.param("v = \"{{ get('q') }}\"", HOSTILE, id="double-quotes"),
        pytest.param('v = """<{{ get(\'q\') }}>"""', f"<{HOSTILE}>", id="triple-quotes"),
        pytest.param("v = f'{1 + 1}{{ get('q') }}\\{{x}}'", f"2{HOSTILE}{{x}}", id="f-string"),
        pytest.param("v = b'{{ get('q') }}'.decode()", HOSTILE, id="bytes"),
        pytest.param("v = 'ok'  # {{ get('q') }}", "ok", id="comment"),
    ],
)
def test_a_template_value_is_python_data(source: str, expected: str, tmp_path: Path) -> None:
    script = PythonScript(ENGINE.compile_template(source + "\nimport json; print(json.dumps(v))"))
    text = script.render(Context(Request(query={"q": HOSTILE})))
    output = run_python(PythonSpec("py", script=text, working_dir=str(tmp_path)))
    assert output == expected
    assert not (tmp_path / "CANARY").exists()


def test_kdeps_data_splice_gives_the_python_value() -> None:
    """python.md: ``data = {{ get('inputData') }}`` then ``len(data)``."""
    source = "import json\ndata = {{ get('inputData') }}\nprint(json.dumps([len(data), data]))"
    value = [{"a": 1, "ok": True, "none": None}, 2.5, "s"]
    text = PythonScript(ENGINE.compile_template(source)).render(
        Context(Request(body={"inputData": value}))
    )
    assert "data = [{'a': 1, 'ok': True, 'none': None}, 2.5, 's']" in text
    assert run_python(PythonSpec("py", script=text)) == [3, value]


def test_python_literal_of_every_type() -> None:
    value = {"n": None, "b": False, "i": -3, "f": 0.1, "s": "it's", "l": [1, [2]], "m": {}}
    assert python_literal(value) == (
        "{'n': None, 'b': False, 'i': -3, 'f': 0.1, 's': \"it's\", 'l': [1, [2]], 'm': {}}"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "v = r'{{ get('q') }}'",
            "a template cannot stand here in a python script: a raw string (r'…') has no"
            " escapes; use a plain string (1:7)\n | v = r'{{ get('q') }}'\n | ......^",
            id="raw-string",
        ),
        pytest.param(
            "v = f'{ {{ get('q') }} }'",
            "a template cannot stand here in a python script: it is inside an f-string's {…}"
            " field; compute the value in code first (1:9)\n"
            " | v = f'{ {{ get('q') }} }'\n | ........^",
            id="f-string-field",
        ),
        pytest.param(
            "v{{ get('q') }} = 1",
            "a template cannot stand here in a python script: it is glued to a name or number"
            " (1:2)\n | v{{ get('q') }} = 1\n | .^",
            id="glued",
        ),
        pytest.param(
            "v = '''{{ get('q') }}",
            "a template cannot stand here in a python script: the script cannot be read as"
            " Python: EOF in multi-line string (1:8)\n | v = '''{{ get('q') }}\n | .......^",
            id="unreadable",
        ),
    ],
)
def test_places_a_value_cannot_stand_are_refused_at_load(source: str, expected: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        PythonScript(ENGINE.compile_template(source))
    assert str(caught.value) == expected


def test_a_script_without_templates_is_kept_as_written() -> None:
    source = "print('{')  # no blocks"
    assert PythonScript(ENGINE.compile_template(source)).render() == source
