"""Fixtures shared by the test modules: the two evaluation tiers of an Expression.

A test that takes ``engine`` (or ``hot_after``, to build its own Engine) runs twice: on
the closures of compiler.py (``closures``: never promoted) and on the generated code of
codegen.py (``generated``: promoted at the first evaluation). Both must give the same
values and the same errors, to the character.
"""

from __future__ import annotations

import sys

import pytest

from kdeps_expr import Engine

TIERS = {"closures": sys.maxsize, "generated": 0}
"""``hot_after`` for each tier."""


@pytest.fixture(scope="session", params=sorted(TIERS))
def hot_after(request: pytest.FixtureRequest) -> int:
    """The ``hot_after`` of the tier under test."""
    return TIERS[request.param]


@pytest.fixture(scope="session")
def engine(hot_after: int) -> Engine:
    """A default Engine on the tier under test, shared like a served workflow's."""
    return Engine(hot_after=hot_after)
