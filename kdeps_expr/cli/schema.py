"""``schema``: print the JSON Schema of KDeps files, for editors and other tools."""

from __future__ import annotations

import argparse
import sys

from ..workflow.schema import schema_text
from .common import Subcommands, add_command


def register(commands: Subcommands) -> None:
    """``schema``."""
    help_text = (
        "Print the JSON Schema of workflow.yaml and resource files (layouts A, B and C) that "
        "check and the loader use; point an editor's YAML support at it."
    )
    add_command(commands, "schema", help_text, _cmd_schema)


def _cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
