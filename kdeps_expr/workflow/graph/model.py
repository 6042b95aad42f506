"""A workflow's ``requires`` graph: its routes, the resources they reach, what runs here.

The graph is data, drawn by :mod:`.mermaid` and :mod:`.svg`. Edges point from a route to
the resource it serves and from a resource to each resource it ``requires`` (which runs
first). A resource that reaches an action this engine does not run, or KDeps' ``loop.at``
schedule, answers 501 (SPEC §5): its node says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...actions import ACTIONS_RUN
from ..model import Resource, Workflow


@dataclass(frozen=True, slots=True)
class Node:
    """A route or a resource: an id safe in any drawing, its label lines and its status."""

    id: str
    kind: str
    """``route`` or ``resource``."""
    lines: tuple[str, ...]
    runs: bool = True
    """False when a request that reaches it answers 501."""
    target: bool = False
    """True for the workflow's ``targetActionId``."""

    @property
    def style(self) -> str:
        """How a drawing shows it: ``route``, ``notrun`` (501), ``target`` or ``resource``."""
        if self.kind == "route":
            return "route"
        if not self.runs:
            return "notrun"
        return "target" if self.target else "resource"


@dataclass(frozen=True, slots=True)
class Edge:
    """``source`` serves (a route) or requires (a resource) ``target``."""

    source: str
    target: str
    label: str


@dataclass(frozen=True, slots=True)
class Graph:
    """Nodes in a stable order (routes as listed, then resources as loaded) and edges."""

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def not_run(resource: Resource) -> list[str]:
    """What makes a request that reaches ``resource`` answer 501 (empty when it runs here)."""
    reasons = [action.kind for action in resource.actions() if action.kind not in ACTIONS_RUN]
    if resource.loop is not None and resource.loop.at:
        reasons.append("loop.at")
    return list(dict.fromkeys(reasons))


def _does(resource: Resource) -> str:
    """One line for what the resource does: its actions, else its blocks."""
    kinds = [action.kind for action in resource.actions()]
    parts = list(dict.fromkeys(kinds)) or ["expressions"]
    if resource.items is not None:
        parts.append("items")
    if resource.loop is not None:
        parts.append("loop")
    if resource.api_response is not None:
        parts.append("apiResponse")
    return ", ".join(parts)


def _only(resource: Resource) -> str | None:
    """The line for ``validations.methods``/``routes``: when the resource runs at all."""
    methods = " ".join(sorted(resource.methods)) if resource.methods else ""
    routes = " ".join(sorted(resource.routes)) if resource.routes else ""
    if not methods and not routes:
        return None
    return "only " + " on ".join(part for part in (methods, routes) if part)


def requires_graph(workflow: Workflow) -> Graph:
    """The graph of ``workflow``: routes, resources and ``requires``."""
    ids = {action_id: f"a{number}" for number, action_id in enumerate(workflow.resources)}
    nodes: list[Node] = []
    edges: list[Edge] = []
    for number, route in enumerate(workflow.api_routes):
        route_id = f"r{number}"
        nodes.append(Node(route_id, "route", (f"{' '.join(route.methods)} {route.path}",)))
        edges.append(Edge(route_id, ids[route.action_id], "serves"))
    for action_id, resource in workflow.resources.items():
        target = action_id == workflow.target_action_id
        lines = [action_id + (" (target)" if target else ""), _does(resource)]
        only = _only(resource)
        if only:
            lines.append(only)
        reasons = not_run(resource)
        if reasons:
            lines.append(f"501: {', '.join(reasons)} not run here")
        nodes.append(Node(ids[action_id], "resource", tuple(lines), not reasons, target))
        edges.extend(Edge(ids[action_id], ids[needed], "requires") for needed in resource.requires)
    return Graph(workflow.name, tuple(nodes), tuple(edges))
