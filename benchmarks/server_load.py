"""The load client of ``bench_server``, and the CPU time of the server it loads.

The client is the same for every row: raw HTTP/1.1 over ``concurrency`` keep-alive
connections on asyncio (uvloop when installed), timing each request. Before the timed
part every connection warms up (and, for ``view``, fills its cart with ``CART_ITEMS``
items); then all start together. At that start and at the end the client reads the
server's CPU time: ``utime + stime`` from ``/proc/<pid>/stat`` of the server process and
every process below it (a server with workers, or gunicorn's arbiter and worker), so the
CPU time per request counts only the timed requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cart_shape import ITEM, PATH

BODY = json.dumps({"item": ITEM}).encode()
CART_ITEMS = 5
"""Items in every cart the view workload reads."""
ITEMS_PER_SESSION = 10
WARMUP = 20
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """One workload on one server: where to send it, whose CPU to count, how many connections."""

    port: int
    pid: int
    workload: str  # "view" or "add"
    concurrency: int


@dataclass(frozen=True)
class Result:
    """What the client measured: requests, wall time, the server's CPU time, each latency."""

    requests: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_seconds / self.requests


def process_tree(pid: int) -> list[int]:
    """``pid`` and every living process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                parents[int(entry.name)] = int(stat[1])
    tree, index = [pid], 0
    while index < len(tree):
        tree += [child for child, parent in parents.items() if parent == tree[index]]
        index += 1
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` (those still alive), in seconds."""
    ticks = 0
    for pid in pids:
        stat = _stat(pid)
        if stat:
            ticks += int(stat[11]) + int(stat[12])
    return ticks / TICKS


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


class _Connection:
    """One keep-alive HTTP/1.1 connection with its own session cookie."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.cookie = b""

    async def send(self, method: str, body: bytes = b"") -> int:
        head = f"{method} {PATH} HTTP/1.1\r\nHost: bench\r\n".encode()
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
        await self.reader.readexactly(length)
        return status


async def _drive(load: Load, requests: int) -> Result:
    connections = [
        _Connection(*await asyncio.open_connection("127.0.0.1", load.port))
        for _ in range(load.concurrency)
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = asyncio.Barrier(load.concurrency + 1)

    async def request(connection: _Connection, number: int) -> int:
        if load.workload == "view":
            return await connection.send("GET")
        if number % ITEMS_PER_SESSION == 0:
            connection.cookie = b""
        return await connection.send("POST", BODY)

    async def run(connection: _Connection) -> None:
        if load.workload == "view":
            for _ in range(CART_ITEMS):
                await connection.send("POST", BODY)
        for number in range(WARMUP):
            await request(connection, number)
        await start.wait()
        for number in range(requests):
            began = time.perf_counter()
            status = await request(connection, number)
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1

    tasks = [asyncio.create_task(run(connection)) for connection in connections]
    await start.wait()
    server = process_tree(load.pid)
    cpu_before = cpu_seconds(server)
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - began
    cpu = cpu_seconds(server) - cpu_before
    for connection in connections:
        connection.writer.close()
    return Result(len(latencies), seconds, cpu, latencies, statuses)


def client(load: Load, requests: int, cpu: int) -> Result:
    """Entry point of the client process: pin it to ``cpu`` (-1: leave it anywhere), then
    time ``requests`` requests on each connection of ``load``."""
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop

        return uvloop.run(asyncio.wait_for(_drive(load, requests), timeout=300))
    except ImportError:
        return asyncio.run(asyncio.wait_for(_drive(load, requests), timeout=300))
