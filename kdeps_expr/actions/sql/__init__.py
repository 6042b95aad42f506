"""The ``sql`` action: named connections, bound parameters, transactions, KDeps' outputs."""

from __future__ import annotations

from .connections import (
    POOLS,
    PoolSettings,
    SqlConnection,
    SqlPools,
    sql_connection,
    sql_connections,
)
from .executor import SqlSpec, Statement, run_sql
from .templated import QueryTemplate

__all__ = [
    "POOLS",
    "PoolSettings",
    "QueryTemplate",
    "SqlConnection",
    "SqlPools",
    "SqlSpec",
    "Statement",
    "run_sql",
    "sql_connection",
    "sql_connections",
]
