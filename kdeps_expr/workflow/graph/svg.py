"""The ``requires`` graph as a standalone SVG picture, drawn from :func:`.layout.layout`.

Plain SVG 1.1 with inline styles: no script, no external font or stylesheet, so a browser
shows it from a file or an ``<img>``, offline. Every text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .layout import LINE_HEIGHT, PADDING_Y, Box, layout
from .model import Graph, Node

FONT = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
_FILL = {"route": "#e8f0fe", "resource": "#ffffff", "target": "#ffffff", "notrun": "#fff0f0"}
_STROKE = {"route": "#3b5bdb", "resource": "#495057", "target": "#2b8a3e", "notrun": "#c92a2a"}
LEGEND = "route ─serves→ resource ─requires→ resource (runs first); red dashed: answers 501"
_LEGEND_HEIGHT = 24


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _node(node: Node, box: Box) -> list[str]:
    style = node.style
    left = box.x - box.width / 2
    dash = ' stroke-dasharray="5 3"' if style == "notrun" else ""
    radius = box.height / 2 if style == "route" else 6
    shape = (
        f'<rect x="{_number(left)}" y="{_number(box.y)}" width="{_number(box.width)}" '
        f'height="{_number(box.height)}" rx="{_number(radius)}" fill="{_FILL[style]}" '
        f'stroke="{_STROKE[style]}" stroke-width="{3 if style == "target" else 1.5}"{dash}/>'
    )
    parts = [f"<g id={quoteattr(node.id)}>", f"<title>{escape(node.lines[0])}</title>", shape]
    for number, line in enumerate(node.lines):
        baseline = box.y + PADDING_Y + LINE_HEIGHT * number + 13
        weight = ' font-weight="bold"' if number == 0 else ""
        colour = _STROKE["notrun"] if line.startswith("501:") else "#212529"
        parts.append(
            f'<text x="{_number(box.x)}" y="{_number(baseline)}" text-anchor="middle" '
            f'fill="{colour}"{weight}>{escape(line)}</text>'
        )
    parts.append("</g>")
    return parts


def _edge(points: tuple[tuple[float, float], ...], label: str) -> str:
    """A smooth path through ``points``: a vertical S-curve between each pair."""
    (x, y), *rest = points
    path = [f"M{_number(x)} {_number(y)}"]
    for next_x, next_y in rest:
        middle = (y + next_y) / 2
        path.append(
            f"C{_number(x)} {_number(middle)} {_number(next_x)} {_number(middle)} "
            f"{_number(next_x)} {_number(next_y)}"
        )
        x, y = next_x, next_y
    dash = ' stroke-dasharray="2 3"' if label == "serves" else ""
    return (
        f'<path d="{" ".join(path)}" fill="none" stroke="#868e96" stroke-width="1.5"{dash} '
        f'marker-end="url(#arrow)"><title>{escape(label)}</title></path>'
    )


def to_svg(graph: Graph) -> str:
    """The picture of ``graph``: the same graph always gives the same bytes."""
    placed = layout(graph)
    width = max(placed.width, len(LEGEND) * 6.6 + 40)
    height = placed.height + _LEGEND_HEIGHT
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_number(width)}" '
        f'height="{_number(height)}" viewBox="0 0 {_number(width)} {_number(height)}" '
        f'font-family="{FONT}" font-size="13">',
        f"<title>{escape(graph.name)}: requires graph</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
        'fill="#868e96"/></marker></defs>',
        f'<rect width="{_number(width)}" height="{_number(height)}" fill="#ffffff"/>',
    ]
    shift = (width - placed.width) / 2
    lines.append(f'<g transform="translate({_number(shift)} 0)">')
    lines.extend(
        _edge(points, edge.label) for points, edge in zip(placed.routes, graph.edges, strict=True)
    )
    for node in graph.nodes:
        lines.extend(_node(node, placed.boxes[node.id]))
    lines.append("</g>")
    lines.append(
        f'<text x="{_number(width / 2)}" y="{_number(height - 9)}" text-anchor="middle" '
        f'font-size="11" fill="#495057">{escape(LEGEND)}</text>'
    )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
