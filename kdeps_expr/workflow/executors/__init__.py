"""The workflow side of httpClient, sql, exec and python (SPEC §12): their blocks read at load
(:mod:`.loading`, scripts in :mod:`.scripts`), run for a request (:mod:`.running`), and
``check``'s warnings about templates in scripts and queries (:mod:`.warnings`). The
executors themselves are in :mod:`kdeps_expr.actions`."""

from __future__ import annotations

from .loading import EXECUTOR_KINDS, check_sql_connections, read_executor
from .running import Connections, Executors
from .scripts import Rendered, Script
from .warnings import executor_warnings

__all__ = [
    "EXECUTOR_KINDS",
    "Connections",
    "Executors",
    "Rendered",
    "Script",
    "check_sql_connections",
    "executor_warnings",
    "read_executor",
]
