"""Built-in functions (SPEC §3) as plain documented functions in one dict, ``BUILTINS``.

Each family module registers its functions when imported; importing this package
imports them all.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each family registers its built-ins when imported)
    bitwise,
    containers,
    conversions,
    iteration,
    kdeps,
    numbers,
    predicates,
    request,
    scope,
    strings,
)
from .base import BUILTINS, OBJECTS, Function, Predicate, closest
from .scope import INFO_ALIASES, INFO_FIELDS, SCOPES, SOURCES

__all__ = [
    "BUILTINS",
    "INFO_ALIASES",
    "INFO_FIELDS",
    "OBJECTS",
    "SCOPES",
    "SOURCES",
    "Function",
    "Predicate",
    "closest",
]
