"""The playground: a web page to try expressions and templates against a request and a
session, beside the readings and the graph of a workflow (docs/playground.md)."""

from __future__ import annotations

from .app import PLAYGROUND_PATH, playground_app, playground_routes
from .bench import Bench

__all__ = ["PLAYGROUND_PATH", "Bench", "playground_app", "playground_routes"]
