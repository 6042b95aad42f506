"""``kdeps-expr graph``: the requires graph as Mermaid text and as an SVG picture."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _workflows import write_workflow

from kdeps_expr.workflow.graph import requires_graph, to_mermaid, to_svg
from kdeps_expr.workflow.graph.layout import layout
from kdeps_expr.workflow.loader import load_workflow

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

SHOP = {
    "workflow.yaml": """\
        apiVersion: kdeps.io/v1
        kind: Workflow
        metadata:
          name: shop
          version: "1.0.0"
          targetActionId: answer
        settings:
          apiServer:
            routes:
              - path: /api/v1/order
                methods: [POST]
              - path: /api/v1/report
                methods: [GET]
                actionId: report
        """,
    "resources/all.yaml": """\
        actionId: load
        apiResponse:
          response: get('x')
        ---
        actionId: price
        requires: [load]
        validations:
          methods: [POST]
        chat:
          model: m
          prompt: "{{ get('x') }}"
        ---
        actionId: stock
        requires: [load]
        exec:
          command: echo "<&>"
        ---
        actionId: answer
        requires: [price, stock, load]
        apiResponse:
          response: get('price')
        ---
        actionId: report
        requires: [load]
        loop:
          at: ["09:00"]
        apiResponse:
          response: 1
        """,
}

SHOP_MERMAID = """\
flowchart TD
  r0(["POST /api/v1/order"])
  r1(["GET /api/v1/report"])
  a0["load<br/>expressions, apiResponse"]
  a1["price<br/>chat<br/>only POST"]
  a2["stock<br/>exec<br/>501: exec not run here"]
  a3["answer (target)<br/>expressions, apiResponse"]
  a4["report<br/>expressions, loop, apiResponse<br/>501: loop.at not run here"]
  r0 -->|serves| a3
  r1 -->|serves| a4
  a1 -->|requires| a0
  a2 -->|requires| a0
  a3 -->|requires| a1
  a3 -->|requires| a2
  a3 -->|requires| a0
  a4 -->|requires| a0
  classDef route fill:#e8f0fe,stroke:#3b5bdb
  classDef resource fill:#ffffff,stroke:#495057
  classDef target fill:#ffffff,stroke:#2b8a3e,stroke-width:3px
  classDef notrun fill:#fff0f0,stroke:#c92a2a,stroke-dasharray:5 3
  class r0,r1 route
  class a0,a1 resource
  class a3 target
  class a2,a4 notrun
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_workflow(tmp_path / "shop", SHOP)


def test_mermaid_names_routes_targets_requires_and_what_answers_501(shop: Path) -> None:
    assert to_mermaid(requires_graph(load_workflow(shop))) == SHOP_MERMAID


def test_mermaid_escapes_what_a_label_cannot_hold(tmp_path: Path) -> None:
    files = {
        "workflow.yaml": SHOP["workflow.yaml"].replace("/api/v1/order", '/api/"q"#<x>&'),
        "resources/all.yaml": SHOP["resources/all.yaml"],
    }
    text = to_mermaid(requires_graph(load_workflow(write_workflow(tmp_path / "w", files))))
    assert '  r0(["POST /api/#quot;q#quot;#35;#lt;x#gt;#amp;"])' in text.splitlines()


def test_svg_draws_every_node_and_edge_without_overlap(shop: Path) -> None:
    graph = requires_graph(load_workflow(shop))
    svg = to_svg(graph)
    assert svg == to_svg(requires_graph(load_workflow(shop))), "deterministic"
    root = ET.fromstring(svg)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    assert sorted(groups) == ["a0", "a1", "a2", "a3", "a4", "r0", "r1"]
    texts = [[t.text for t in groups[i].iter(f"{SVG}text")] for i in ("a2", "a4")]
    assert texts == [
        ["stock", "exec", "501: exec not run here"],
        ["report", "expressions, loop, apiResponse", "501: loop.at not run here"],
    ]
    dashed = {i for i, g in groups.items() if g.find(f"{SVG}rect").get("stroke-dasharray")}
    assert dashed == {"a2", "a4"}
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(paths) == len(graph.edges) == 8
    boxes = layout(graph).boxes
    # routes on top, the target under its route, load (required by all) at the bottom
    assert boxes["r0"].y == boxes["r1"].y < boxes["a3"].y < boxes["a1"].y < boxes["a0"].y
    for first in boxes.values():
        for second in boxes.values():
            if first is not second and first.y == second.y:
                gap = abs(first.x - second.x) - (first.width + second.width) / 2
                assert gap > 0, "boxes of one row overlap"


def test_graph_command_prints_mermaid_and_svg(shop: Path) -> None:
    def graph(*options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "kdeps_expr.cli", "graph", str(shop), *options]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    mermaid = graph()
    assert (mermaid.returncode, mermaid.stdout, mermaid.stderr) == (0, SHOP_MERMAID, "")
    svg = graph("--format", "svg")
    assert svg.returncode == 0 and svg.stdout.startswith("<svg ")
    ET.fromstring(svg.stdout)
    bad = graph("--format", "png")
    assert bad.returncode == 2
    assert "error: argument --format: invalid choice: 'png'" in bad.stderr


def test_graph_of_a_broken_workflow_is_its_load_errors(tmp_path: Path) -> None:
    files = {"resources/main.yaml": "actionId: main\nrequires: [nowhere]\n"}
    broken = write_workflow(tmp_path / "broken", files)
    command = [sys.executable, "-m", "kdeps_expr.cli", "graph", str(broken)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"{broken}/resources/main.yaml:2:12: unknown requires target 'nowhere' (resources: main)\n"
        " | requires: [nowhere]\n"
        " | ...........^\n"
    )
