"""KDeps' resource accessors (``http.responseHeader('api', 'Content-Type')``…), over outputs.

Each accessor takes a resource's output (``get('<actionId>')``, ``None`` when the resource
has not run) and its further arguments, and never raises: like KDeps, an unknown id or an
output of another shape gives ``''``, ``0`` or ``nil``. The workflow layer registers them
under their KDeps names as functions of ``(actionId, …)`` that look the output up first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exec import exec_exit_code, exec_stderr, exec_stdout
from .http_client import response_body, response_header
from .python import python_exit_code, python_stderr, python_stdout

ACCESSORS: dict[str, Callable[..., Any]] = {
    "http.responseBody": response_body,
    "http.responseHeader": response_header,
    "exec.stdout": exec_stdout,
    "exec.stderr": exec_stderr,
    "exec.exitCode": exec_exit_code,
    "python.stdout": python_stdout,
    "python.stderr": python_stderr,
    "python.exitCode": python_exit_code,
}
"""KDeps name → ``accessor(output, *arguments)``."""
