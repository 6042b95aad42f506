"""Route patterns, as KDeps writes them in routes and in resources' ``validations.routes``.

A pattern is a path whose segments may be ``*`` (any one segment) or ``:name`` (any one
non-empty segment, as the router's ``/api/users/:id``); a trailing ``*`` matches one or
more further segments, so ``/api/*`` matches ``/api/v1`` and ``/api/v1/users`` but not
``/api`` itself (KDeps' docs say so; its code also matched ``/api``). Anything else must be
equal. There is no trailing-slash folding, and the query string is not part of the path.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


def is_pattern(route: str) -> bool:
    """True when ``route`` has a ``*`` or ``:name`` segment."""
    return any(part == "*" or part.startswith(":") for part in route.split("/"))


@lru_cache(maxsize=1024)
def _segments(pattern: str) -> tuple[tuple[str, ...], bool]:
    parts = tuple(pattern.split("/"))
    if parts[-1] == "*":
        return parts[:-1], True
    return parts, False


def route_matches(pattern: str, path: str) -> bool:
    """True when ``path`` is served by ``pattern``."""
    if pattern == path:
        return True
    if "*" not in pattern and ":" not in pattern:
        return False
    parts, open_ended = _segments(pattern)
    segments = path.split("/")
    if open_ended:
        if len(segments) <= len(parts):
            return False
        segments = segments[: len(parts)]
    elif len(segments) != len(parts):
        return False
    return all(
        part == segment or part == "*" or (part.startswith(":") and segment != "")
        for part, segment in zip(parts, segments, strict=True)
    )


def any_route_matches(patterns: Iterable[str], path: str) -> bool:
    """True when one of ``patterns`` serves ``path``."""
    return any(route_matches(pattern, path) for pattern in patterns)
