"""Load benchmark of ``kdeps-expr serve``: the cart example on SQLite and Redis vs bare Starlette.

One run prints one table. The three servers run side by side, each pinned to CPU 0 where
the machine has two or more cores (an idle server costs nothing); the load client runs in
a separate process pinned to CPU 1, so the server under load gets its core. The client is
the same for every row: raw HTTP/1.1 over ``--concurrency`` keep-alive connections on
asyncio (uvloop when installed), timing each request. Rows are measured in ``--rounds``
interleaved rounds and each row shows its median round, so a neighbour's load on a shared
machine hits every row alike.

Workloads, on the routes of ``examples/workflows/cart`` (``/api/v1/cart``):

- ``view``: every connection first adds five items to its own cart, then measures
  ``GET`` (viewCart: one session read and expiry push per request);
- ``add``: every connection measures ``POST`` with a JSON item (addToCart: one session
  read and write), starting a fresh session every ten items so carts stay small.

The bare server answers the same path from a plain Starlette endpoint on the same uvicorn
configuration (``kdeps_expr.server.run_app``): after reading the request body it returns
a ``JSONResponse`` of the document the cart example answers for that method with five
items in the cart (captured from it before the run). Target: the cart rows reach at
least half of bare.

The floor servers show what that target asks of a store. Each is the least a hand-written
Starlette endpoint can do for the cart on the same uvicorn setup: read the session named
by the cookie (one SQLite ``SELECT`` by primary key, or one Redis ``GET``) and, for an
add, write it back (one ``UPDATE``/``INSERT``, or one ``SET … PX``), with no expression
engine, no version check against other processes, no expiry push on a read, no request
id and no error handling. A kdeps row cannot be faster than its floor; the ``vs floor``
column says how close it comes. The ``bare + 1 write`` rows go lower still: the bare
endpoint plus one write of a constant per request (a SQLite ``INSERT OR REPLACE``, a Redis
``SET``) and nothing else, the least any endpoint that stores something can do.

Usage::

    .venv/bin/python benchmarks/bench_server.py [--concurrency 32] [--requests 200] [--rounds 3]

Needs a Redis server (``--redis-url``, default ``redis://127.0.0.1:6379/0``); its keys
go under a prefix unique to the run and are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CART = ROOT / "examples" / "workflows" / "cart"
ITEM = json.dumps({"item": {"name": "widget", "price": 2.5}}).encode()
PATH = "/api/v1/cart"
BARE = "bare starlette"
WRITES = {"sqlite": "bare + 1 write sqlite", "redis": "bare + 1 write redis"}
FLOORS = {"sqlite": "floor sqlite", "redis": "floor redis"}
KDEPS = {"sqlite": "kdeps sqlite", "redis": "kdeps redis"}
SERVERS = (BARE, *(row[store] for store in ("sqlite", "redis") for row in (WRITES, FLOORS, KDEPS)))
METHODS = {"view": "GET", "add": "POST"}
CART_ITEMS = 5
"""Items in a cart the view workload reads, and in the cart whose answers the bare server gives."""
ITEMS_PER_SESSION = 10
WARMUP = 20
STARTUP_TIMEOUT = 20.0
SERVER_CPU = 0
CLIENT_CPU = 1


# --- the load client (runs in its own process) --------------------------------------------


@dataclass(frozen=True)
class Load:
    """One measured workload: where to send it and how much of it."""

    port: int
    workload: str  # "view" or "add"
    concurrency: int
    requests: int


@dataclass(frozen=True)
class Result:
    """What the client measured: request count, wall time and each request's latency."""

    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class _Connection:
    """One keep-alive HTTP/1.1 connection with its own session cookie."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.cookie = b""

    async def send(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n".encode()
        if body:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        if self.cookie:
            head += b"Cookie: " + self.cookie + b"\r\n"
        self.writer.write(head + b"\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"set-cookie":
                self.cookie = value.strip().split(b";", 1)[0]
        return status, await self.reader.readexactly(length)


async def _drive(load: Load) -> Result:
    connections = [
        _Connection(*await asyncio.open_connection("127.0.0.1", load.port))
        for _ in range(load.concurrency)
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = asyncio.Barrier(load.concurrency + 1)

    async def request(connection: _Connection, number: int) -> tuple[int, bytes]:
        if load.workload == "view":
            return await connection.send("GET", PATH)
        if number % ITEMS_PER_SESSION == 0:
            connection.cookie = b""
        return await connection.send("POST", PATH, ITEM)

    async def run(connection: _Connection) -> None:
        if load.workload == "view":
            for _ in range(CART_ITEMS):
                await connection.send("POST", PATH, ITEM)
        for number in range(WARMUP):
            await request(connection, number)
        await start.wait()
        for number in range(load.requests):
            began = time.perf_counter()
            status, _ = await request(connection, number)
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1

    tasks = [asyncio.create_task(run(connection)) for connection in connections]
    await start.wait()
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - began
    for connection in connections:
        connection.writer.close()
    return Result(len(latencies), seconds, latencies, statuses)


def _pin(cpu: int) -> None:
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _client(load: Load) -> Result:
    """Entry point of the client process."""
    _pin(CLIENT_CPU)
    try:
        import uvloop

        return uvloop.run(asyncio.wait_for(_drive(load), timeout=300))
    except ImportError:
        return asyncio.run(asyncio.wait_for(_drive(load), timeout=300))


# --- servers --------------------------------------------------------------------------------


def _bare_app(bodies: dict[str, Any]) -> Any:
    """``PATH`` answering ``bodies[method]`` with a JSONResponse, after reading the body."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse(bodies[request.method])

    return Starlette(routes=[Route(PATH, endpoint, methods=list(bodies))])


def _floor_app(store: str, mode: str, target: str, prefix: str, bodies: dict[str, Any]) -> Any:
    """``PATH`` on ``store`` as a hand-written cart endpoint (``mode`` ``cart``) or as the bare
    endpoint answering ``bodies`` after one write of a constant (``write``): see the module
    docstring."""
    import redis.asyncio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if store == "sqlite":
        database = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
        database.execute(
            "CREATE TABLE IF NOT EXISTS carts (id TEXT PRIMARY KEY, data TEXT, expires REAL)"
        )
        database.execute("CREATE INDEX IF NOT EXISTS carts_expires ON carts (expires)")
    else:
        client = redis.asyncio.Redis.from_url(target)

    async def read(session_id: str) -> list[Any] | None:
        if store == "sqlite":
            query = "SELECT data FROM carts WHERE id = ? AND expires > ?"
            row = database.execute(query, (session_id, time.time())).fetchone()
            text = row[0] if row else None
        else:
            text = await client.get(prefix + session_id)
        return None if text is None else list(json.loads(text))

    async def write(session_id: str, cart: list[Any]) -> None:
        if store == "sqlite":
            query = "INSERT OR REPLACE INTO carts VALUES (?, ?, ?)"
            database.execute(query, (session_id, json.dumps(cart), time.time() + 1800))
        else:
            await client.set(prefix + session_id, json.dumps(cart), px=1_800_000)

    writes = itertools.count()

    async def write_only(request: Request) -> JSONResponse:
        await request.body()
        await write(f"w{next(writes) % 1000}", [])
        return JSONResponse(bodies[request.method])

    async def endpoint(request: Request) -> JSONResponse:
        session_id = request.cookies.get("kdeps_session_id")
        cart = await read(session_id) if session_id else None
        if request.method == "POST":
            item = json.loads(await request.body())["item"]
            if session_id is None or cart is None:
                session_id, cart = secrets.token_urlsafe(32), []
            cart.append(item)
            await write(session_id, cart)
            data: dict[str, Any] = {"cart": cart, "count": len(cart)}
        else:
            cart = cart or []
            data = {"items": cart, "total": sum(item["price"] for item in cart)}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {"success": True, "data": data, "meta": {"timestamp": stamp}}
        response = JSONResponse(body)
        if session_id:
            response.set_cookie("kdeps_session_id", session_id)
        return response

    chosen = write_only if mode == "write" else endpoint
    return Starlette(routes=[Route(PATH, chosen, methods=["GET", "POST"])])


def _serve_floor(
    store: str, mode: str, target: str, prefix: str, body_file: str, port_file: str
) -> None:
    """Entry point of a floor server process."""
    from kdeps_expr.server import bind, run_app

    sock = bind("127.0.0.1", 0)
    Path(port_file).write_text(str(sock.getsockname()[1]))
    app = _floor_app(store, mode, target, prefix, _bodies(body_file))
    run_app(app, sock, access_log=False)


def _bodies(body_file: str) -> dict[str, Any]:
    """The answers captured from the cart example, per method (see :func:`_capture`)."""
    captured = json.loads(Path(body_file).read_text())
    return {method: json.loads(body) for method, body in captured.items()}


def _serve_bare(body_file: str, port_file: str) -> None:
    """Entry point of the bare server process: same uvicorn setup as ``kdeps-expr serve``."""
    from kdeps_expr.server import bind, run_app

    bodies = _bodies(body_file)
    sock = bind("127.0.0.1", 0)
    Path(port_file).write_text(str(sock.getsockname()[1]))
    run_app(_bare_app(bodies), sock, access_log=False)


@contextmanager
def _server(command: Sequence[str], log: Path, port_file: Path | None = None) -> Iterator[int]:
    """Start a server process pinned to its CPU; yield its port once it accepts connections."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=_env()
        )
    try:
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(process.pid, {SERVER_CPU})
        port = _wait_for_port(process, log, port_file)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _wait_for_port(process: subprocess.Popen[bytes], log: Path, port_file: Path | None) -> int:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text()}")
        port = _port_from(log, port_file)
        if port is not None and _answers(port):
            return port
        time.sleep(0.05)
    raise SystemExit(f"server did not start within {STARTUP_TIMEOUT:.0f}s:\n{log.read_text()}")


def _port_from(log: Path, port_file: Path | None) -> int | None:
    if port_file is not None:
        text = port_file.read_text() if port_file.exists() else ""
        return int(text) if text else None
    for line in log.read_text(errors="replace").splitlines():
        if " on http://127.0.0.1:" in line:
            return int(line.rsplit(":", 1)[1])
    return None


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _workflow_copy(base: Path, name: str, session: dict[str, Any]) -> Path:
    target = base / name
    shutil.copytree(CART, target)
    manifest = target / "workflow.yaml"
    document = yaml.safe_load(manifest.read_text())
    document.setdefault("settings", {})["session"] = session
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


# --- the run --------------------------------------------------------------------------------


def _capture(port: int) -> dict[str, str]:
    """What the cart example answers, per method, once its cart holds ``CART_ITEMS`` items."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    bodies: dict[str, str] = {}
    for _ in range(CART_ITEMS):
        connection.request("POST", PATH, ITEM, headers)
        response = connection.getresponse()
        bodies["POST"] = response.read().decode()
        headers["Cookie"] = (response.getheader("set-cookie") or "").split(";", 1)[0]
    connection.request("GET", PATH, headers=headers)
    bodies["GET"] = connection.getresponse().read().decode()
    connection.close()
    return bodies


def _measure(
    pool: ProcessPoolExecutor, port: int, workload: str, args: argparse.Namespace
) -> Result:
    result = pool.submit(_client, Load(port, workload, args.concurrency, args.requests)).result()
    if set(result.statuses) != {200}:
        raise SystemExit(f"{workload} on port {port} answered {result.statuses}")
    return result


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _median(results: list[Result]) -> Result:
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def _table(rows: dict[tuple[str, str], Result], args: argparse.Namespace) -> str:
    lines = [
        f"concurrency {args.concurrency}, {args.requests} requests per connection "
        f"({args.concurrency * args.requests} per round), median of {args.rounds} rounds",
        "",
        "| workload | server | req/s | p50 ms | p99 ms | vs bare | vs floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    floor_of = {kdeps: FLOORS[store] for store, kdeps in KDEPS.items()}
    for (workload, server), result in rows.items():
        ratio = result.rate / rows[workload, BARE].rate
        floor = floor_of.get(server)
        versus_floor = f"{result.rate / rows[workload, floor].rate:.2f}" if floor else ""
        lines.append(
            f"| {workload} | {server} | {result.rate:,.0f} "
            f"| {_percentile(result.latencies, 0.50) * 1000:.2f} "
            f"| {_percentile(result.latencies, 0.99) * 1000:.2f} | {ratio:.2f} | {versus_floor} |"
        )
    return "\n".join(lines)


def _redis_cleanup(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _serve_workflow(stack: ExitStack, base: Path, name: str, session: dict[str, Any]) -> int:
    workflow = _workflow_copy(base, name, session)
    command = [sys.executable, "-m", "kdeps_expr.cli", "serve", str(workflow), "--port", "0"]
    return stack.enter_context(_server(command, base / f"{name}.log"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200, help="measured per connection")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--bare", nargs=2, metavar=("BODY_FILE", "PORT_FILE"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--floor",
        nargs=6,
        metavar=("STORE", "MODE", "TARGET", "PREFIX", "BODY_FILE", "PORT_FILE"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.bare:
        _serve_bare(*args.bare)
        return 0
    if args.floor:
        _serve_floor(*args.floor)
        return 0

    prefix = f"kdeps-bench-{uuid.uuid4().hex[:8]}:"
    results: dict[tuple[str, str], list[Result]] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool,
        ExitStack() as stack,
    ):
        base = Path(folder)
        stack.callback(_redis_cleanup, args.redis_url, prefix)
        sqlite = {"type": "sqlite", "path": "sessions.db", "ttl": "30m"}
        redis = {"type": "redis", "url": args.redis_url, "keyPrefix": prefix, "ttl": "30m"}
        ports = {
            KDEPS["sqlite"]: _serve_workflow(stack, base, "sqlite", sqlite),
            KDEPS["redis"]: _serve_workflow(stack, base, "redis", redis),
        }
        body_file, port_file = base / "bodies.json", base / "bare.port"
        body_file.write_text(json.dumps(_capture(ports[KDEPS["sqlite"]])))
        command = [sys.executable, __file__, "--bare", str(body_file), str(port_file)]
        ports[BARE] = stack.enter_context(_server(command, base / "bare.log", port_file))
        for store in ("sqlite", "redis"):
            for mode, names in (("write", WRITES), ("cart", FLOORS)):
                name = f"{mode}-{store}"
                target = str(base / f"{name}.db") if store == "sqlite" else args.redis_url
                port_file = base / f"{name}.port"
                command = [sys.executable, __file__, "--floor", store, mode, target, prefix]
                command += [str(body_file), str(port_file)]
                log = base / f"{name}.log"
                ports[names[store]] = stack.enter_context(_server(command, log, port_file))
        for workload in METHODS:
            for _ in range(args.rounds):
                for server, port in ports.items():
                    result = _measure(pool, port, workload, args)
                    results.setdefault((workload, server), []).append(result)
    rows = {key: _median(results[key]) for key in sorted(results, key=_row_order)}
    print(_table(rows, args))
    return 0


def _row_order(key: tuple[str, str]) -> tuple[int, int]:
    workload, server = key
    return list(METHODS).index(workload), SERVERS.index(server)


if __name__ == "__main__":
    sys.exit(main())
