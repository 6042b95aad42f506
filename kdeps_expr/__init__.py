"""kdeps_expr: the KDeps workflow expression engine."""

from .chat import ChatBackend, EchoChat
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
    WorkflowLoadError,
)
from .functions import Function
from .limits import Limits
from .runner import Response, Runner
from .workflow import Workflow, load_workflow

__all__ = [
    "ChatBackend",
    "ConflictError",
    "Context",
    "EchoChat",
    "Engine",
    "EvaluationError",
    "ExprError",
    "ExprSyntaxError",
    "Expression",
    "Function",
    "LimitError",
    "Limits",
    "Request",
    "Response",
    "Runner",
    "SessionState",
    "StoreError",
    "Template",
    "ValueReading",
    "Workflow",
    "WorkflowError",
    "WorkflowInfo",
    "WorkflowLoadError",
    "load_workflow",
]
