"""A workflow's ``requires`` graph (routes, resources, what answers 501) as Mermaid or SVG."""

from __future__ import annotations

from .mermaid import to_mermaid
from .model import Edge, Graph, Node, not_run, requires_graph
from .svg import to_svg

__all__ = ["Edge", "Graph", "Node", "not_run", "requires_graph", "to_mermaid", "to_svg"]
