"""The ``exec`` executor: a shell script, or a program with its arguments and no shell.

KDeps' two forms (resources/exec.md): with no ``args``, ``command`` is a shell script run
as ``/bin/sh -c <command>``; with ``args``, ``command`` names a program (looked up on
``PATH``) that runs with exactly those arguments, without a shell. The values a template
inserts into a shell script are quoted by :mod:`.shell` before this module sees the text.

The output is KDeps' map, and a failure (a non-zero exit, a timeout) fails the resource
with that map attached to the error, as KDeps returns it alongside its error::

    {"success": true, "exitCode": 0, "stdout": "...", "stderr": "...",
     "command": "<command> <args…>", "result": "<stdout>", "timedOut": false}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import processes
from .failures import INTERNAL, TIMEOUT, ExecutorError, seconds

DEFAULT_TIMEOUT = 30.0
SHELL = "/bin/sh"
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash"})
"""Programs whose ``-c`` argument is a shell script (KDeps' ``command: sh`` form)."""


@dataclass(frozen=True, slots=True)
class ExecSpec:
    """One ``exec`` run, every value already rendered.

    ``env`` is added to the inherited environment (KDeps' current behaviour; its older
    versions replaced it and lost ``PATH``). ``working_dir`` defaults to the server's
    working directory; the runner passes the workflow's folder.
    """

    action_id: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = processes.MAX_OUTPUT


def run_exec(spec: ExecSpec) -> dict[str, Any]:
    """Run ``spec``; KDeps' output map, or :class:`ExecutorError` (500, 504 on timeout)."""
    if not spec.command.strip():
        raise ExecutorError("exec", spec.action_id, "command is empty")
    argv = [spec.command, *spec.args] if spec.args else [SHELL, "-c", spec.command]
    shown = " ".join([spec.command, *spec.args])
    finished = run_program(
        "exec",
        spec.action_id,
        argv,
        env=spec.env,
        working_dir=spec.working_dir,
        timeout=spec.timeout,
        max_output=spec.max_output,
    )
    output: dict[str, Any] = {
        "success": finished.exit_code == 0 and not finished.timed_out,
        "exitCode": finished.exit_code,
        "stdout": finished.stdout,
        "stderr": finished.stderr,
        "command": shown,
    }
    if output["success"]:
        output["result"] = finished.stdout
    else:
        output["error"] = finished.error
    output["timedOut"] = finished.timed_out
    if finished.timed_out:
        raise ExecutorError(
            "exec",
            spec.action_id,
            f"timed out after {seconds(spec.timeout)}",
            status=TIMEOUT,
            output=output,
            detail=finished.stderr,
        )
    if not output["success"]:
        raise ExecutorError(
            "exec", spec.action_id, finished.error, output=output, detail=finished.stderr
        )
    return output


def run_program(
    action: str,
    action_id: str,
    argv: list[str],
    *,
    env: Mapping[str, str],
    working_dir: str | None,
    timeout: float,
    max_output: int,
) -> processes.Finished:
    """:func:`processes.run` with the environment added to this process's own, and every
    way a program can fail to start or run told as one :class:`ExecutorError`."""
    if working_dir is not None and not os.path.isdir(working_dir):
        raise ExecutorError(action, action_id, f"working directory {working_dir!r} does not exist")
    try:
        return processes.run(
            argv,
            timeout=timeout,
            env={**os.environ, **env} if env else None,
            cwd=working_dir,
            max_output=max_output,
        )
    except FileNotFoundError:
        raise ExecutorError(action, action_id, f"program {argv[0]!r} not found") from None
    except PermissionError:
        raise ExecutorError(action, action_id, f"program {argv[0]!r} cannot be run") from None
    except ValueError:  # subprocess refuses NUL characters
        raise ExecutorError(
            action, action_id, "an argument or variable holds a NUL character"
        ) from None
    except processes.OutputTooLarge as exc:
        raise ExecutorError(action, action_id, str(exc), status=INTERNAL) from None
    except OSError as exc:
        raise ExecutorError(
            action, action_id, f"cannot start {argv[0]!r}: {exc.strerror}"
        ) from None


def script_argument(command: str, args: tuple[str, ...] | list[str]) -> int | None:
    """Index in ``args`` of the shell script in KDeps' ``command: sh`` + ``args: [-c, …]``
    form (the argument after the option ``-c``, alone or with others: ``-ec``), or ``None``.
    That argument is a shell script: its templates are read like ``command``'s."""
    if os.path.basename(command) not in SHELLS:
        return None
    index = 0
    while index < len(args) - 1:
        arg = args[index]
        if arg in ("-o", "+o"):
            index += 2
            continue
        if not arg.startswith(("-", "+")) or arg in ("-", "--"):
            return None
        if arg.startswith("-") and "c" in arg[1:]:
            return index + 1
        index += 1
    return None


# ---- accessors: exec.stdout(id), exec.stderr(id), exec.exitCode(id) -------------------------


def exec_stdout(output: Any) -> str:
    """``exec.stdout(id)``: the output's ``stdout``, or ``''``."""
    return _text(output, "stdout")


def exec_stderr(output: Any) -> str:
    """``exec.stderr(id)``: the output's ``stderr``, or ``''``."""
    return _text(output, "stderr")


def exec_exit_code(output: Any) -> int | float:
    """``exec.exitCode(id)``: the output's ``exitCode``, or 0 (KDeps: unknown id too)."""
    code = output.get("exitCode") if isinstance(output, dict) else None
    if isinstance(code, int | float) and not isinstance(code, bool):
        return code
    return 0


def _text(output: Any, key: str) -> str:
    value = output.get(key) if isinstance(output, dict) else None
    return value if isinstance(value, str) else ""
