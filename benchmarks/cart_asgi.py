"""The cart as Starlette apps on kdeps' uvicorn setup: the hand-written floors and the
Starlette + starsessions peer.

``python -m benchmarks.cart_asgi floor|starsessions PORT`` serves one of them with
``kdeps_expr.server.run_app`` (the same uvicorn, httptools and uvloop configuration as
``kdeps-expr serve``) on the store named by the environment (``cart_shape.store_from_env``).

The floor is the least a hand-written endpoint can do for the cart: read the session named
by the cookie (one SQLite ``SELECT`` by primary key, one Redis ``GET``, or one PostgreSQL
``SELECT`` on a pooled autocommit connection of psycopg 3's ``AsyncConnectionPool``) and,
for an add, write it back (one ``INSERT OR REPLACE``, ``SET … PX`` or ``INSERT … ON
CONFLICT``), with no expression engine, no version check against other processes, no
expiry push on a read and no error handling; like ``kdeps-expr serve`` it freezes what it
loaded out of the garbage collector's full passes (``kdeps_expr.heap.settle_heap``),
which otherwise stall every request in flight now and then (a p99 of 44-61 ms on the
Redis rows). It is a floor for the session work; its HTTP answer is Starlette's
``JSONResponse``.

The starsessions peer is Starlette's ``SessionMiddleware`` of ``starsessions`` with its
``RedisStore`` (the only server-side store it ships besides memory), loading the session
in the endpoint and saving it when changed.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.cart_shape import PATH, SESSION_SECONDS, Store, added, answer, store_from_env

COOKIE = "kdeps_session_id"
Read = Callable[[str], Awaitable[list[Any] | None]]
Write = Callable[[str, list[Any]], Awaitable[None]]


def floor_app(store: Store) -> Starlette:
    """The hand-written cart endpoint on ``store`` (see the module docstring)."""
    read, write, lifespan = _session_io(store)

    async def endpoint(request: Request) -> JSONResponse:
        session_id = request.cookies.get(COOKIE)
        cart = await read(session_id) if session_id else None
        if request.method == "POST":
            if session_id is None or cart is None:
                session_id = secrets.token_urlsafe(32)
            cart = added(cart, await request.body())
            await write(session_id, cart)
        response = JSONResponse(answer(request.method, cart))
        if session_id:
            response.set_cookie(COOKIE, session_id)
        return response

    return Starlette(routes=[Route(PATH, endpoint, methods=["GET", "POST"])], lifespan=lifespan)


def _session_io(store: Store) -> tuple[Read, Write, Any]:
    """The floor's read and write of one session on ``store``, and the app's lifespan."""
    if store.kind == "sqlite":
        return _sqlite_io(store)
    if store.kind == "redis":
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(store.target)

        async def read(session_id: str) -> list[Any] | None:
            text = await client.get(store.namespace + session_id)
            return None if text is None else list(json.loads(text))

        async def write(session_id: str, cart: list[Any]) -> None:
            key = store.namespace + session_id
            await client.set(key, json.dumps(cart), px=SESSION_SECONDS * 1000)

        return read, write, None
    return _postgres_io(store)


def _sqlite_io(store: Store) -> tuple[Read, Write, Any]:
    import sqlite3

    database = sqlite3.connect(store.target, isolation_level=None, check_same_thread=False)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute(
        "CREATE TABLE IF NOT EXISTS carts (id TEXT PRIMARY KEY, data TEXT, expires REAL)"
    )
    database.execute("CREATE INDEX IF NOT EXISTS carts_expires ON carts (expires)")

    async def read(session_id: str) -> list[Any] | None:
        query = "SELECT data FROM carts WHERE id = ? AND expires > ?"
        row = database.execute(query, (session_id, time.time())).fetchone()
        return None if row is None else list(json.loads(row[0]))

    async def write(session_id: str, cart: list[Any]) -> None:
        query = "INSERT OR REPLACE INTO carts VALUES (?, ?, ?)"
        database.execute(query, (session_id, json.dumps(cart), time.time() + SESSION_SECONDS))

    return read, write, None


def _postgres_io(store: Store) -> tuple[Read, Write, Any]:
    from contextlib import asynccontextmanager

    from psycopg_pool import AsyncConnectionPool

    table = f'"{store.namespace}".floor_carts'
    pool = AsyncConnectionPool(
        store.target, min_size=4, max_size=16, kwargs={"autocommit": True}, open=False
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await pool.open(wait=True)
        async with pool.connection() as connection:
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {table} "
                "(id text PRIMARY KEY, data text NOT NULL, expires double precision NOT NULL)"
            )
        yield
        await pool.close()

    async def read(session_id: str) -> list[Any] | None:
        async with pool.connection() as connection:
            query = f"SELECT data FROM {table} WHERE id = %s AND expires > %s"
            cursor = await connection.execute(query, (session_id, time.time()))
            row = await cursor.fetchone()
        return None if row is None else list(json.loads(row[0]))

    async def write(session_id: str, cart: list[Any]) -> None:
        query = (
            f"INSERT INTO {table} VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires"
        )
        async with pool.connection() as connection:
            await connection.execute(
                query, (session_id, json.dumps(cart), time.time() + SESSION_SECONDS)
            )

    return read, write, lifespan


def starsessions_app(store: Store) -> Starlette:
    """The cart on Starlette + starsessions with its Redis store (see the module docstring)."""
    import redis.asyncio
    from starlette.middleware import Middleware
    from starsessions import SessionMiddleware, load_session
    from starsessions.stores.redis import RedisStore

    async def endpoint(request: Request) -> JSONResponse:
        await load_session(request)
        cart = request.session.get("cart")
        if request.method == "POST":
            cart = request.session["cart"] = added(cart, await request.body())
        return JSONResponse(answer(request.method, cart))

    connection = redis.asyncio.Redis.from_url(store.target)
    session = Middleware(
        SessionMiddleware,
        store=RedisStore(connection=connection, prefix=store.namespace),
        lifetime=SESSION_SECONDS,
        cookie_https_only=False,
    )
    return Starlette(routes=[Route(PATH, endpoint, methods=["GET", "POST"])], middleware=[session])


APPS = {"floor": floor_app, "starsessions": starsessions_app}


def main(argv: list[str]) -> None:
    """Serve ``APPS[argv[0]]`` on port ``argv[1]`` of 127.0.0.1."""
    from kdeps_expr.heap import settle_heap
    from kdeps_expr.server import bind, run_app

    kind, port = argv
    app = APPS[kind](store_from_env())
    if kind == "floor":
        settle_heap()  # as kdeps-expr serve does: no full collection stalls the floor either
    run_app(app, bind("127.0.0.1", int(port)))


if __name__ == "__main__":
    main(sys.argv[1:])
