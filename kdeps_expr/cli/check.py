"""``check``: load a workflow and print every error and warning, at its file:line:col."""

from __future__ import annotations

import argparse

from ..workflow.lint import check_resources
from ..workflow.loader import inspect_workflow
from .common import Subcommands, count


def register(commands: Subcommands) -> None:
    """``check WORKFLOW [--explain]``."""
    help_text = "Load a workflow and print every error and warning; exit 1 on an error."
    parser = commands.add_parser("check", help=help_text, description=help_text, allow_abbrev=False)
    parser.add_argument("workflow", metavar="WORKFLOW", help="the workflow folder")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also print how each value string was read: template, expression or text",
    )
    parser.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    inspection = inspect_workflow(args.workflow)
    warnings = check_resources(inspection.resources, inspection.values)
    for problem in [*inspection.errors, *warnings]:
        print(problem.render())
    if args.explain:
        for value in inspection.values:
            print(f"{value.site.location()}: {value.kind}: {value.text!r}")
    name = inspection.workflow.name if inspection.workflow else args.workflow
    print(
        f"{name}: {count(len(inspection.resources), 'resource')}, "
        f"{count(len(inspection.errors), 'error')}, {count(len(warnings), 'warning')}"
    )
    return 1 if inspection.errors else 0
