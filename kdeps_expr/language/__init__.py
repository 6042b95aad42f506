"""The expression language (SPEC §1-§4), usable without any workflow: parse, compile, evaluate,
render templates."""

from __future__ import annotations

from .context import Context, Request, WorkflowInfo
from .engine import Engine, Expression, Template, ValueReading
from .functions import Function
from .limits import Limits

__all__ = [
    "Context",
    "Engine",
    "Expression",
    "Function",
    "Limits",
    "Request",
    "Template",
    "ValueReading",
    "WorkflowInfo",
]
