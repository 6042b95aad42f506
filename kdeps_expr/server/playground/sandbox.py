"""The playground's Engine: the workflow's functions, delimiters and limits, without the
process environment.

An expression typed into the playground runs in the server's process, so ``env('X')`` and
``get('X', 'env')`` would show the server's environment (API keys among it) to whoever
can open the page. Here both are errors that say why. Nothing else a function can reach
leaves the try: the session and memory are the page's JSON, uploaded files are never
there, and the Engine's limits (SPEC §9) bound every evaluation.
"""

from __future__ import annotations

from typing import Any

from ...errors import EvaluationError
from ...language.context import Context
from ...language.engine import Engine
from ...language.functions import BUILTINS, Function

_UNSET: Any = object()
NO_ENVIRONMENT = "the playground never reads the server's environment"


def _env(name: Any) -> Any:
    raise EvaluationError(f"env(): {NO_ENVIRONMENT}")


def _get(builtin: Function) -> Function:
    """``get`` as the language has it, except for the ``env`` source."""

    def get(ctx: Context, key: Any, source: Any = _UNSET, default: Any = _UNSET) -> Any:
        if isinstance(source, str) and source == "env":
            raise EvaluationError(f"get(key, 'env'): {NO_ENVIRONMENT}")
        extra = [value for value in (source, default) if value is not _UNSET]
        return builtin.impl(ctx, key, *extra)

    return Function.wrap("get", get, pass_context=True)


def without_environment(base: Engine | None = None) -> Engine:
    """An Engine like ``base`` (default: a plain one) whose functions cannot read the
    process environment."""
    functions = dict(base.functions if base is not None else BUILTINS)
    functions["env"] = Function.wrap("env", _env)
    functions["get"] = _get(functions["get"])
    if base is None:
        return Engine(functions=functions)
    return Engine(functions=functions, delimiters=base.delimiters, limits=base.limits)
