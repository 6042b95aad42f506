"""Test support for workflows: write a workflow folder from a map of file texts."""

from __future__ import annotations

import textwrap
from pathlib import Path

HEADER = """\
apiVersion: kdeps.io/v1
kind: Workflow
metadata:
  name: demo
  version: "1.2"
  targetActionId: main
"""
"""A workflow.yaml whose target is ``main``."""

MAIN = """\
metadata:
  actionId: main
run:
  expr:
    - set('x', 1)
"""
"""A resource ``main`` with one expression."""


def write_workflow(root: Path, files: dict[str, str]) -> Path:
    """A workflow folder holding ``files`` (dedented); workflow.yaml defaults to HEADER."""
    for name, text in {"workflow.yaml": HEADER, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root
