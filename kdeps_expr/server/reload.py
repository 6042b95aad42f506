"""``serve --reload``: load the workflow again when one of its files changes.

:class:`Reloader` watches the workflow's folder with watchfiles (inotify on Linux, no
polling) for the files the loader reads: ``*.yaml``, ``*.yml`` and ``*.j2``, outside
``.kdeps/`` (where the SQLite store writes on every request) and the folders watchfiles
ignores by default (``.git``, ``__pycache__``, …). After a burst of changes settles it
loads the workflow again, on a thread. A workflow that loads replaces the old one from
the next request on: its routes, resources and expressions, on the same session store
(requests in flight finish on the old one). One that fails to load changes nothing: the
old workflow keeps serving and every error is logged at its ``file:line:col``.

What a reload cannot change while the server runs (the session store's settings, the
host, the port, CORS, ``settings.llm``: the process's one chat service was made from it)
is logged as needing a restart, and keeps its old value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio
import watchfiles

from ..errors import ExprError
from ..heap import settle_heap
from ..workflow.loader import TEMPLATE_SUFFIX, YAML_SUFFIXES, load_workflow
from ..workflow.model import Workflow
from .app import Handler, Retarget, logger

WATCHED_SUFFIXES = (*YAML_SUFFIXES, *(s + TEMPLATE_SUFFIX for s in YAML_SUFFIXES))
IGNORED_DIRS = (".kdeps",)
DEBOUNCE_MS = 300
"""How long the files must stay unchanged before a reload (an editor saves in steps)."""
_RESTART_SETTINGS = ("session", "apiServer", "llm")


class _Filter(watchfiles.DefaultFilter):
    """The files the loader reads, outside the store's folder."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=(*self.ignore_dirs, *IGNORED_DIRS))

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        return path.endswith(WATCHED_SUFFIXES) and super().__call__(change, path)


class Reloader:
    """Loads ``path`` again when its files change; hands each loaded workflow to ``use``.

    ``runner(workflow)`` makes what requests run on (the same way ``serve`` made the
    first); ``also`` are told of each workflow that loaded (the playground's bench).
    """

    def __init__(
        self,
        path: str | Path,
        workflow: Workflow,
        runner: Callable[[Workflow], Handler],
        also: Iterable[Callable[[Workflow], None]] = (),
    ) -> None:
        self.path = path
        self.workflow = workflow
        self.runner = runner
        self.also = tuple(also)

    async def watch(self, retarget: Retarget) -> None:
        """Reload on every settled burst of changes, until cancelled."""
        logger.info("watching %s for changes (--reload)", self.path)
        async for changed in watchfiles.awatch(
            self.workflow.root, watch_filter=_Filter(), debounce=DEBOUNCE_MS, step=50
        ):
            names = sorted({_relative(self.workflow.root, path) for _, path in changed})
            await self.reload(retarget, names)

    async def reload(self, retarget: Retarget, names: list[str]) -> bool:
        """Load the workflow again; True when it loaded and now serves."""
        try:
            workflow = await anyio.to_thread.run_sync(load_workflow, self.path)
        except ExprError as exc:
            logger.error(
                "reload failed (%s changed); still serving the previous workflow:\n%s",
                ", ".join(names),
                exc.render(),
            )
            return False
        for warning in workflow.warnings:
            logger.warning("%s", warning.render())
        for key in _RESTART_SETTINGS:
            if _setting(workflow.settings, key) != _setting(self.workflow.settings, key):
                logger.warning(
                    "settings.%s changed: restart the server to apply it (kept as it was)", key
                )
        retarget(workflow.api_routes, workflow.resources, self.runner(workflow))
        for tell in self.also:
            tell(workflow)
        self.workflow = workflow
        settle_heap()
        shown = ", ".join(names)
        logger.info("reloaded workflow %s %s (%s changed)", workflow.name, workflow.version, shown)
        return True


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    """``settings[key]`` without the routes, which a reload does apply."""
    value = settings.get(key)
    if key == "apiServer" and isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "routes"}
    return value


def _relative(root: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path
