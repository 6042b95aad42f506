"""What ``kdeps-expr run --trace`` prints: each resource's blocks, expressions and values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..sessions.changes import changes, shown
from .model import Resource


@dataclass
class ResourceTrace:
    """What one resource did: its outcome, and each block with its expressions' values."""

    action_id: str
    file: str
    outcome: str = "ran"
    blocks: list[tuple[str, list[tuple[str, Any]]]] = field(default_factory=list)


class Trace:
    """A request's evaluations, for ``kdeps-expr run --trace``.

    Pass one to :meth:`Runner.handle`; it records, per resource, the blocks that ran with
    each expression and its value, and the session keys the request changed.
    """

    def __init__(self) -> None:
        self.resources: list[ResourceTrace] = []
        self.session_changes: list[str] = []

    def start(self, resource: Resource) -> None:
        """A resource begins (a retried transaction starts the list again)."""
        self.resources.append(ResourceTrace(resource.action_id, resource.file))

    def block(self, name: str) -> None:
        self.resources[-1].blocks.append((name, []))

    def record(self, source: str, value: Any) -> None:
        self.resources[-1].blocks[-1][1].append((source, value))

    def outcome(self, text: str) -> None:
        self.resources[-1].outcome = text

    def compare_session(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Note each key the request added, changed or removed."""
        self.session_changes = [change.render() for change in changes(before, after)]

    def render(self) -> str:
        lines: list[str] = []
        for resource in self.resources:
            lines.append(f"{resource.action_id} ({resource.file}): {resource.outcome}")
            for name, entries in resource.blocks:
                lines.append(f"  {name}")
                lines.extend(
                    f"    {_one_line(source)}  =>  {shown(value)}" for source, value in entries
                )
        lines.append("session changes:" if self.session_changes else "session unchanged")
        lines.extend(f"  {change}" for change in self.session_changes)
        return "\n".join(lines)


def _one_line(source: str) -> str:
    """A multi-line source (a block scalar) on one trace line, its breaks written ``\\n``."""
    return source.strip().replace("\n", "\\n")
