"""The ``requires`` graph as Mermaid flowchart text (GitHub, GitLab and most editors draw it)."""

from __future__ import annotations

from .model import Graph, Node

_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
"""Mermaid's entity codes for the characters a quoted label cannot hold as they are."""

STYLES = (
    "classDef route fill:#e8f0fe,stroke:#3b5bdb",
    "classDef resource fill:#ffffff,stroke:#495057",
    "classDef target fill:#ffffff,stroke:#2b8a3e,stroke-width:3px",
    "classDef notrun fill:#fff0f0,stroke:#c92a2a,stroke-dasharray:5 3",
)


def _label(node: Node) -> str:
    text = "<br/>".join("".join(_ESCAPES.get(c, c) for c in line) for line in node.lines)
    return f'(["{text}"])' if node.kind == "route" else f'["{text}"]'


def to_mermaid(graph: Graph) -> str:
    """``flowchart TD`` text: routes (rounded) serve resources, resources require others."""
    lines = ["flowchart TD"]
    lines.extend(f"  {node.id}{_label(node)}" for node in graph.nodes)
    lines.extend(f"  {edge.source} -->|{edge.label}| {edge.target}" for edge in graph.edges)
    lines.extend(f"  {style}" for style in STYLES)
    for style in ("route", "resource", "target", "notrun"):
        members = [node.id for node in graph.nodes if node.style == style]
        if members:
            lines.append(f"  class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"
