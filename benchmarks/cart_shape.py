"""What every server of ``bench_server`` does for the cart, and the check that it does.

The seed's cart (``examples/workflows/cart``) on ``/api/v1/cart``: ``POST`` with
``{"item": …}`` appends the item to the session's cart and answers the cart and its count;
``GET`` answers the cart's items and their total. Every peer and floor builds its answer
with :func:`answer` so all of them send the same JSON document as kdeps
(``{"success": true, "data": …, "meta": {"requestId": …, "timestamp": …}}``).
:func:`check_cart` drives a running server through a short cart and raises
:class:`CartError` unless it answers as kdeps does.

A peer server learns its store from the environment (:func:`store_from_env`): the
benchmark sets ``BENCH_STORE`` (``sqlite``, ``redis`` or ``postgres``), ``BENCH_TARGET``
(the SQLite file or the server URL) and ``BENCH_NAMESPACE`` (the Redis key prefix or the
PostgreSQL schema).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

PATH = "/api/v1/cart"
ITEM = {"name": "widget", "price": 2.5}
SESSION_SECONDS = 1800


@dataclass(frozen=True)
class Store:
    """Where a peer keeps its sessions."""

    kind: str  # "sqlite", "redis" or "postgres"
    target: str  # the SQLite file, or the server URL
    namespace: str  # the Redis key prefix, or the PostgreSQL schema

    def environ(self) -> dict[str, str]:
        """The variables :func:`store_from_env` reads back."""
        return {
            "BENCH_STORE": self.kind,
            "BENCH_TARGET": self.target,
            "BENCH_NAMESPACE": self.namespace,
        }


def store_from_env() -> Store:
    """The store the benchmark gave this server process."""
    return Store(
        os.environ["BENCH_STORE"], os.environ["BENCH_TARGET"], os.environ["BENCH_NAMESPACE"]
    )


def added(cart: list[Any] | None, body: bytes) -> list[Any]:
    """``cart`` with the request body's item appended (a new list)."""
    return [*(cart or []), json.loads(body)["item"]]


def answer(method: str, cart: list[Any] | None) -> dict[str, Any]:
    """The document kdeps' cart answers for ``method`` once the session holds ``cart``."""
    items = cart or []
    if method == "POST":
        data: dict[str, Any] = {"cart": items, "count": len(items)}
    else:
        data = {"items": items, "total": sum(item["price"] for item in items)}
    meta = {
        "requestId": secrets.token_hex(16),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return {"success": True, "data": data, "meta": meta}


class CartError(Exception):
    """A server under test did not answer as the cart example does."""


def check_cart(port: int) -> None:
    """Add two items on a new session, view the cart, view without a session; raise
    :class:`CartError` when an answer differs from kdeps' (requestId and timestamp aside)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"item": ITEM})
    cookie = ""
    try:
        for count in (1, 2):
            data, cookie = _data(connection, "POST", cookie, body)
            _expect(data, {"cart": [ITEM] * count, "count": count}, f"add {count}")
        data, _ = _data(connection, "GET", cookie)
        _expect(data, {"items": [ITEM] * 2, "total": 5.0}, "view")
        data, _ = _data(connection, "GET", "")
        _expect({**data, "items": data["items"] or []}, {"items": [], "total": 0}, "fresh view")
    finally:
        connection.close()


def _data(
    connection: http.client.HTTPConnection, method: str, cookie: str, body: str | None = None
) -> tuple[dict[str, Any], str]:
    """The ``data`` of one answer, and the session cookie to send next (``cookie`` unless
    the answer set one)."""
    headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
    connection.request(method, PATH, body, headers)
    response = connection.getresponse()
    text = response.read().decode()
    if response.status != 200:
        raise CartError(f"{method} {PATH} answered {response.status}: {text[:200]}")
    document = json.loads(text)
    if document.get("success") is not True or set(document.get("meta", {})) != {
        "requestId",
        "timestamp",
    }:
        raise CartError(f"{method} {PATH} answered another shape: {text[:200]}")
    set_cookie = response.getheader("set-cookie")
    return document["data"], set_cookie.split(";", 1)[0] if set_cookie else cookie


def _expect(data: dict[str, Any], wanted: dict[str, Any], step: str) -> None:
    if data != wanted:
        raise CartError(f"{step}: got {data}, wanted {wanted}")
