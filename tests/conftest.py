"""Fixtures shared by the test modules: the two evaluation tiers of an Expression, and a
fake model server with a chat service for the chat tests.

A test that takes ``engine`` (or ``hot_after``, to build its own Engine) runs twice: on
the closures of compiler.py (``closures``: never promoted) and on the generated code of
codegen.py (``generated``: promoted at the first evaluation). Both must give the same
values and the same errors, to the character.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from _llm_server import ModelServer

from kdeps_expr import Engine
from kdeps_expr.actions.chat import ChatService, RetryPolicy

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


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A fake model server on loopback: Ollama, OpenAI and Anthropic (tests/_llm_server.py)."""
    with ModelServer() as running:
        yield running


@pytest.fixture
def chat_service() -> Iterator[ChatService]:
    """A ChatService that reads no environment and retries after a few milliseconds."""
    with ChatService(environ={}, retry=RetryPolicy(base=0.01, cap=0.02)) as running:
        yield running
