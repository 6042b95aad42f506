"""``schema``: print the JSON Schema of KDeps files, for editors and other tools."""

from __future__ import annotations

import argparse
import sys

from ..workflow.schema import schema_text
from .common import Subcommands


def register(commands: Subcommands) -> None:
    """``schema``."""
    help_text = (
        "Print the JSON Schema of workflow.yaml and resource files (layouts A, B and C) that "
        "check and the loader use; point an editor's YAML support at it."
    )
    parser = commands.add_parser(
        "schema", help=help_text, description=help_text, allow_abbrev=False
    )
    parser.set_defaults(handler=_cmd_schema)


def _cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
