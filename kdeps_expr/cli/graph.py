"""``graph``: draw a workflow's ``requires`` graph as Mermaid text or an SVG picture."""

from __future__ import annotations

import argparse
import sys

from ..workflow.graph import requires_graph, to_mermaid, to_svg
from ..workflow.loader import load_workflow
from .common import Subcommands, add_command

FORMATS = {"mermaid": to_mermaid, "svg": to_svg}


def register(commands: Subcommands) -> None:
    """``graph WORKFLOW [--format mermaid|svg]``."""
    help_text = (
        "Draw a workflow's requires graph: its routes, the resources they run, which "
        "resource requires which, and which answer 501 here; as Mermaid text or SVG."
    )
    parser = add_command(commands, "graph", help_text, _cmd_graph, workflow=True)
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="mermaid", help="mermaid (default) or svg"
    )


def _cmd_graph(args: argparse.Namespace) -> int:
    drawing = FORMATS[args.format](requires_graph(load_workflow(args.workflow)))
    sys.stdout.write(drawing)
    return 0
