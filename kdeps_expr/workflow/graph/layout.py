"""A small, deterministic layered layout (Sugiyama's steps, kept short) for :mod:`.svg`.

Why not Graphviz: it would make the ``dot`` binary a system dependency of a pip-installed
tool for graphs that have a handful of nodes, and its output changes between versions.
The ``requires`` graph is acyclic (the loader refuses cycles) and small, so the classic
steps are enough: layers by longest path from the routes, a dummy point on every layer an
edge crosses, a few barycenter sweeps to reduce crossings (ties keep the file order), and
coordinates packed left to right, each node pulled under the nodes pointing at it. The
same graph always gives the same picture, which is what lets a test compare it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from .model import Graph

CHAR_WIDTH = 7.8
"""Width of one character of the 13px monospace font the SVG uses."""
LINE_HEIGHT = 17
PADDING_X = 14
PADDING_Y = 10
GAP_X = 28
GAP_Y = 56
MARGIN = 20
SWEEPS = 4
DUMMY_WIDTH = 24
"""Room kept in a row for an edge passing through it."""


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle: centre ``x``, top ``y``, ``width``, ``height``."""

    x: float
    y: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes: node boxes by id, each edge's points, the canvas size."""

    boxes: Mapping[str, Box]
    routes: tuple[tuple[tuple[float, float], ...], ...]
    """One polyline per edge of the graph, in its order, from source to target."""
    width: float
    height: float


def _layers(graph: Graph) -> dict[str, int]:
    """Longest-path layering: a node sits one layer below the deepest node pointing at it
    (Kahn's order; the graph is acyclic)."""
    outgoing: dict[str, list[str]] = {node.id: [] for node in graph.nodes}
    waiting = dict.fromkeys(outgoing, 0)
    for edge in graph.edges:
        outgoing[edge.source].append(edge.target)
        waiting[edge.target] += 1
    layer = dict.fromkeys(outgoing, 0)
    ready = [node_id for node_id, count in waiting.items() if count == 0]
    while ready:
        node_id = ready.pop()
        for target in outgoing[node_id]:
            layer[target] = max(layer[target], layer[node_id] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return layer


def layout(graph: Graph) -> Layout:
    """Lay ``graph`` out top to bottom."""
    layer = _layers(graph)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in graph.nodes:
        rows[layer[node.id]].append(node.id)
    chains: list[list[str]] = []
    for number, edge in enumerate(graph.edges):
        chain = [edge.source]
        for row in range(layer[edge.source] + 1, layer[edge.target]):
            dummy = f"~{number}.{row}"
            rows[row].append(dummy)
            chain.append(dummy)
        chains.append([*chain, edge.target])
    above: dict[str, list[str]] = {}
    below: dict[str, list[str]] = {}
    for chain in chains:
        for upper, lower in pairwise(chain):
            below.setdefault(upper, []).append(lower)
            above.setdefault(lower, []).append(upper)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        order = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for row in order:
            fixed = rows[row - 1] if downward else rows[row + 1]
            _sort_by_barycenter(rows[row], fixed, above if downward else below)
    sizes = {node.id: _size(node.lines) for node in graph.nodes}
    return _place(rows, sizes, graph, chains, above)


def _sort_by_barycenter(row: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> None:
    """Order ``row`` by the mean position of each node's neighbours in ``fixed``."""
    where = {node_id: index for index, node_id in enumerate(fixed)}

    def key(item: tuple[int, str]) -> tuple[float, int]:
        index, node_id = item
        linked = [where[n] for n in neighbours.get(node_id, []) if n in where]
        return (sum(linked) / len(linked) if linked else float(index), index)

    row[:] = [node_id for _, node_id in sorted(enumerate(row), key=key)]


def _size(lines: tuple[str, ...]) -> tuple[float, float]:
    width = max(len(line) for line in lines) * CHAR_WIDTH + 2 * PADDING_X
    return round(width), len(lines) * LINE_HEIGHT + 2 * PADDING_Y


def _place(
    rows: list[list[str]],
    sizes: dict[str, tuple[float, float]],
    graph: Graph,
    chains: list[list[str]],
    above: dict[str, list[str]],
) -> Layout:
    """Coordinates: each row packed in its order, each node pulled towards the mean of
    the nodes above it that point at it (without overlapping), then the whole shifted
    onto the canvas."""
    width = {node_id: sizes.get(node_id, (DUMMY_WIDTH, 0))[0] for row in rows for node_id in row}
    x: dict[str, float] = {}
    for row in rows:
        wanted = [
            sum(x[n] for n in above[node_id]) / len(above[node_id]) if above.get(node_id) else None
            for node_id in row
        ]
        left = 0.0
        placed: list[float] = []
        for node_id, want in zip(row, wanted, strict=True):
            lowest = left + width[node_id] / 2
            placed.append(max(lowest, want) if want is not None else lowest)
            left = placed[-1] + width[node_id] / 2 + GAP_X
        pulls = [p - w for p, w in zip(placed, wanted, strict=True) if w is not None]
        shift = sum(pulls) / len(pulls) if pulls else 0.0
        for node_id, centre in zip(row, placed, strict=True):
            x[node_id] = centre - shift
    lowest_left = min((x[n] - width[n] / 2 for n in x), default=0.0)
    boxes: dict[str, Box] = {}
    top = float(MARGIN)
    for row in rows:
        height = max((sizes.get(node_id, (0, 0))[1] for node_id in row), default=0)
        for node_id in row:
            own = sizes.get(node_id, (0, height))[1]
            centre = x[node_id] - lowest_left + MARGIN
            boxes[node_id] = Box(round(centre), round(top), width[node_id], own)
        top += height + GAP_Y
    canvas = max((box.x + box.width / 2 for box in boxes.values()), default=0) + MARGIN
    routes = tuple(
        (
            (boxes[chain[0]].x, boxes[chain[0]].bottom),
            *((boxes[p].x, boxes[p].y + boxes[p].height / 2) for p in chain[1:-1]),
            (boxes[chain[-1]].x, boxes[chain[-1]].y),
        )
        for chain in chains
    )
    real = {node.id: boxes[node.id] for node in graph.nodes}
    return Layout(real, routes, round(canvas), round(top - GAP_Y + MARGIN))
