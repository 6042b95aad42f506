"""KDeps' resource accessors (``http.responseHeader('api', 'Content-Type')``…), over outputs.

Each accessor takes a resource's output (``get('<actionId>')``, ``None`` when the resource
has not run) and its further arguments, and never raises: like KDeps, an unknown id or an
output of another shape gives ``''``, ``0`` or ``nil``. The workflow layer registers them
under their KDeps names as functions of ``(actionId, …)`` that look the output up first:
:func:`accessor_functions` makes them, for ``Engine(functions=…)`` or ``Engine.register``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from ..language.context import Context
from ..language.engine import Engine
from ..language.functions import BUILTINS, Function
from .chat.replies import llm_response
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
    "llm.response": llm_response,
}
"""KDeps name → ``accessor(output, *arguments)``."""


def _output(context: Context, action_id: Any) -> Any:
    return context.outputs.get(action_id) if isinstance(action_id, str) else None


def _of_output(accessor: Callable[[Any], Any]) -> Callable[[Context, Any], Any]:
    def call(context: Context, action_id: Any) -> Any:
        return accessor(_output(context, action_id))

    return call


def _header(context: Context, action_id: Any, name: Any) -> Any:
    return response_header(_output(context, action_id), name)


def accessor_functions() -> dict[str, Function]:
    """The accessors as language functions of ``(actionId, …)``: ``exec.exitCode('run')``."""
    return {
        name: Function.wrap(
            name,
            _header if name == "http.responseHeader" else _of_output(accessor),
            pass_context=True,
        )
        for name, accessor in ACCESSORS.items()
    }


@cache
def _accessors() -> dict[str, Function]:
    """:func:`accessor_functions`, made once (wrapping reads each signature)."""
    return accessor_functions()


def with_accessors(engine: Engine) -> Engine:
    """``engine`` when it knows every accessor, else an Engine like it that does (the
    workflow loader compiles with it, so ``exec.exitCode('run')`` is a known function)."""
    missing = {
        name: function for name, function in _accessors().items() if name not in engine.functions
    }
    if not missing:
        return engine
    registered = {
        name: function
        for name, function in engine.functions.items()
        if BUILTINS.get(name) is not function  # a new Engine has the built-ins already
    }
    return Engine(
        functions={**registered, **missing},
        delimiters=engine.delimiters,
        limits=engine.limits,
        hot_after=engine.hot_after,
    )
