"""KDeps workflow files: load and check them (every expression compiled at load), run requests."""

from __future__ import annotations

from .loader import inspect_workflow, load_workflow
from .model import Resource, Workflow
from .runner import Response, Runner

__all__ = ["Resource", "Response", "Runner", "Workflow", "inspect_workflow", "load_workflow"]
