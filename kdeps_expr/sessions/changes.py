"""What a request (or one evaluation) changed in a map of values: the session, memory.

``run --trace``, the playground and the REPL all show changes this way: ``+ key = value``
for a key added, ``~ key: before -> after`` for a key whose value changed, ``- key`` for a
key removed. Values are compared as JSON, so ``1``, ``1.0`` and ``true`` differ, as they
do in a store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal["added", "changed", "removed"]


def shown(value: Any) -> str:
    """A value as the change lines show it: JSON, text as it is (no \\u escapes)."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Change:
    """One key's change; ``before`` is None when added, ``after`` None when removed."""

    kind: ChangeKind
    key: str
    before: Any = None
    after: Any = None

    def render(self) -> str:
        if self.kind == "added":
            return f"+ {self.key} = {shown(self.after)}"
        if self.kind == "changed":
            return f"~ {self.key}: {shown(self.before)} -> {shown(self.after)}"
        return f"- {self.key}"


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Each key added (in ``after``'s order), then each changed, then each removed."""
    return [
        *(Change("added", k, after=v) for k, v in after.items() if k not in before),
        *(
            Change("changed", k, before[k], v)
            for k, v in after.items()
            if k in before and shown(before[k]) != shown(v)
        ),
        *(Change("removed", k, before=v) for k, v in before.items() if k not in after),
    ]
