"""kdeps_expr: the KDeps workflow expression engine."""

from .compiler import Limits
from .context import Context, Request, SessionState, WorkflowInfo
from .engine import Engine, Expression, Template, ValueReading
from .errors import (
    ConflictError,
    EvaluationError,
    ExprError,
    ExprSyntaxError,
    LimitError,
    StoreError,
    WorkflowError,
)
from .functions import Function

__all__ = [
    "ConflictError",
    "Context",
    "Engine",
    "EvaluationError",
    "ExprError",
    "ExprSyntaxError",
    "Expression",
    "Function",
    "LimitError",
    "Limits",
    "Request",
    "SessionState",
    "StoreError",
    "Template",
    "ValueReading",
    "WorkflowError",
    "WorkflowInfo",
]
