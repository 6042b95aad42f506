"""The ``python`` executor: an inline script or a script file, run by a chosen interpreter.

As KDeps runs it (resources/python.md): an inline ``script`` runs as
``python -c <script> <args…>`` (so ``sys.argv[0]`` is ``-c``), a ``scriptFile`` as
``python <file> <args…>``, with the workflow's folder as working directory. The
interpreter is the ``python`` of a virtual environment when one is given (``venv``: a
folder made by ``python -m venv``; nothing is created or installed at request time),
else the interpreter running kdeps-expr.

Output: stdout parsed as JSON when it is one JSON document (an object, a list, a number…),
else the raw stdout text. A non-zero exit or a timeout fails the resource with KDeps'
failure map ``{"stdout", "stderr", "error", "exitCode"}`` attached to the error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..language.context import request_json
from ..language.values import to_json
from . import processes
from .exec import run_program
from .failures import INTERNAL, TIMEOUT, ExecutorError, seconds

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class PythonSpec:
    """One ``python`` run, every value already rendered: ``script`` or ``script_file``.

    ``venv`` is a virtual environment's folder; ``interpreter`` names a program directly
    (both ``None``: the current interpreter). ``env`` is added to the inherited environment.
    """

    action_id: str
    script: str | None = None
    script_file: str | None = None
    args: tuple[str, ...] = ()
    venv: str | None = None
    interpreter: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = processes.MAX_OUTPUT


def interpreter_of(spec: PythonSpec) -> str:
    """The program that runs ``spec``: the venv's python, ``interpreter``, or this one."""
    if spec.venv is not None:
        folder = Path(spec.venv)
        for name in ("bin/python", "bin/python3", "Scripts/python.exe"):
            if (folder / name).is_file():
                return str(folder / name)
        raise ExecutorError(
            "python",
            spec.action_id,
            f"no virtual environment at {spec.venv!r} (create it with: python -m venv <folder>)",
        )
    return spec.interpreter or sys.executable


def run_python(spec: PythonSpec) -> Any:
    """Run ``spec``; its output (parsed JSON or stdout), or :class:`ExecutorError`."""
    if spec.script_file is not None:
        target = [spec.script_file]
        path = Path(spec.working_dir or ".", spec.script_file)
        if not path.is_file():
            raise ExecutorError("python", spec.action_id, f"no script file {spec.script_file!r}")
    elif spec.script is not None:
        target = ["-c", spec.script]
    else:
        raise ExecutorError("python", spec.action_id, "neither script nor scriptFile is given")
    env = dict(spec.env)
    if spec.venv is not None:
        folder = os.path.abspath(spec.venv)
        env["VIRTUAL_ENV"] = folder
        env["PATH"] = os.pathsep.join([os.path.join(folder, "bin"), os.environ.get("PATH", "")])
    finished = run_program(
        "python",
        spec.action_id,
        [interpreter_of(spec), *target, *spec.args],
        env=env,
        working_dir=spec.working_dir,
        timeout=spec.timeout,
        max_output=spec.max_output,
    )
    if finished.timed_out or finished.exit_code != 0:
        failure = {
            "stdout": finished.stdout,
            "stderr": finished.stderr,
            "error": finished.error,
            "exitCode": finished.exit_code,
        }
        timed_out = finished.timed_out
        raise ExecutorError(
            "python",
            spec.action_id,
            f"timed out after {seconds(spec.timeout)}" if timed_out else finished.error,
            status=TIMEOUT if timed_out else INTERNAL,
            output=failure,
            detail=finished.stderr,
        )
    return parse_stdout(finished.stdout)


def parse_stdout(stdout: str) -> Any:
    """The JSON document ``stdout`` holds (white space around it allowed), else ``stdout``."""
    text = stdout.strip()
    if not text:
        return stdout
    try:
        return request_json(text)
    except ValueError:
        return stdout


# ---- accessors: python.stdout(id), python.stderr(id), python.exitCode(id) --------------------


def _failure(output: Any) -> dict[str, Any] | None:
    if isinstance(output, dict) and {"stdout", "stderr", "error", "exitCode"} <= output.keys():
        return output
    return None


def python_stdout(output: Any) -> str:
    """``python.stdout(id)``: the text the script printed (a parsed output printed as JSON)."""
    failure = _failure(output)
    if failure is not None:
        return str(failure["stdout"])
    if output is None:
        return ""
    return output if isinstance(output, str) else to_json(output)


def python_stderr(output: Any) -> str:
    """``python.stderr(id)``: a failed run's stderr; ``''`` after a success (KDeps keeps none)."""
    failure = _failure(output)
    return str(failure["stderr"]) if failure is not None else ""


def python_exit_code(output: Any) -> int:
    """``python.exitCode(id)``: a failed run's exit code; 0 otherwise."""
    failure = _failure(output)
    code = failure["exitCode"] if failure is not None else 0
    return code if isinstance(code, int) else 0
