"""Load benchmark of ``kdeps-expr serve`` on the seed's cart: kdeps against the hand-written
floors and the Python peers, on SQLite, Redis and PostgreSQL.

One run prints one markdown table: per workload, store and server, the median round's
requests per second, the server's CPU time per request, and the p50, p99 and max latency.

**Method.** Every server runs in its own process(es), started once and kept for the run;
the load client (``server_load``: raw HTTP/1.1 over ``--concurrency`` keep-alive
connections, one session each, uvloop) runs in another process. Cores: the client is
pinned to the last CPU; a single-process server to the first, so server and client never
share a core on a machine with two or more. A 2-worker kdeps server gets the first two
CPUs when the machine has three or more, and on a 2-core machine both cores, one of them
shared with the client (its figures understate what two free cores give). Redis and
PostgreSQL are not pinned. Rows are measured in ``--rounds`` interleaved rounds (every
server once per round, in turn), so a neighbour's load on a shared machine hits every row
alike, and each row shows its median round by req/s. CPU µs/req is the ``utime + stime``
of the server process and every process below it (workers, gunicorn's arbiter and worker;
not Redis or PostgreSQL), read from ``/proc/<pid>/stat`` when the timed requests start and
when they end, divided by the timed requests. Before measuring, every server is checked to
do the cart's work (``cart_shape.check_cart``: two adds give count 2, the view their total).

Workloads, on the routes of ``examples/workflows/cart`` (``/api/v1/cart``):

- ``view``: every connection first adds five items to its own cart, then measures
  ``GET`` (one session read);
- ``add``: every connection measures ``POST`` with a JSON item (a session read and
  write), starting a fresh session every ten items so carts stay small.

Servers, all answering the same JSON document (``cart_shape.answer``):

- ``kdeps``: ``kdeps-expr serve`` on a copy of the cart example whose ``settings.session``
  names the store (SQLite file; Redis under a run-unique key prefix; PostgreSQL in a
  run-unique schema, dropped at the end); ``kdeps, 2 workers``: the same with
  ``--workers 2`` when ``serve --help`` offers it, "not available" otherwise.
- ``hand-written floor``: the least a Starlette endpoint can do for the cart on kdeps'
  uvicorn setup (``cart_asgi``), a floor for the session work (kdeps' own answer path is
  shorter than Starlette's ``JSONResponse``, so light rows can beat it); ``vs floor``
  says how close kdeps comes.
- ``Starlette + starsessions``: its ``RedisStore`` on kdeps' uvicorn setup; it ships no
  SQLite or PostgreSQL store ("–").
- ``Django sessions``: the ``db`` engine on SQLite and PostgreSQL, the ``cache`` engine on
  Redis (``cart_django``); ``Flask-Session``: the ``sqlalchemy`` backend on SQLite and
  PostgreSQL, ``redis`` on Redis (``cart_flask``). Both are served as WSGI by gunicorn, one
  ``gthread`` worker with ``GTHREADS`` threads. Tried on the SQLite and Redis rows against
  Django's ASGI app under uvicorn and Flask under ``a2wsgi`` + uvicorn (kdeps' uvicorn
  settings), gunicorn was faster on every row tried, 1.3 to 5 times: Django's session
  middleware and ORM are synchronous, so under ASGI every request crosses
  ``sync_to_async`` into a thread and back, and a2wsgi does the same for all of Flask.
  Four and eight threads measured alike (within the machine's noise); four is kept.

Peers are single-process servers (gunicorn's arbiter only supervises its one worker).
``vs best peer`` compares a kdeps row with the fastest peer on the same workload and store
(✓ ahead, ✗ behind).

Usage::

    .venv/bin/python -m benchmarks.bench_server [--rounds 3] [--requests 100]
        [--concurrency 32] [--only 'add redis'] [--only kdeps]

``--only`` keeps the measurements whose ``workload store server`` contains every word of
one of the given filters (case-insensitive). Needs Redis (``--redis-url``) and PostgreSQL
(``--postgres-url``); their keys and schema are unique to the run and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from benchmarks.cart_shape import CartError, Store, check_cart
from benchmarks.server_load import Load, Result, client

ROOT = Path(__file__).resolve().parent.parent
CART = ROOT / "examples" / "workflows" / "cart"
WORKLOADS = ("view", "add")
STORES = {"sqlite": "SQLite", "redis": "Redis", "postgres": "PostgreSQL"}
KDEPS, KDEPS_2, FLOOR = "kdeps", "kdeps, 2 workers", "hand-written floor"
STARSESSIONS, DJANGO, FLASK = "Starlette + starsessions", "Django sessions", "Flask-Session"
PEERS = (STARSESSIONS, DJANGO, FLASK)
BACKENDS = {
    DJANGO: {"sqlite": "db", "redis": "cache", "postgres": "db"},
    FLASK: {"sqlite": "sqlalchemy", "redis": "redis", "postgres": "sqlalchemy"},
}
GTHREADS = 4
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True, eq=False)
class Row:
    """One server on one store: how to start it, or why it is not available."""

    server: str
    store: str
    argv: tuple[str, ...] = ()
    """The command; ``{port}`` stands for the port it must listen on."""
    environ: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    missing: str = ""

    @property
    def label(self) -> str:
        backend = BACKENDS.get(self.server, {}).get(self.store)
        return f"{self.server} ({backend})" if backend else self.server


@dataclass(frozen=True)
class Places:
    """Where this run's servers keep their sessions."""

    folder: Path
    redis_url: str
    prefix: str
    postgres_url: str
    schema: str

    def store(self, kind: str, name: str) -> Store:
        """The store of server ``name`` (a file, key prefix or table of its own)."""
        if kind == "sqlite":
            return Store(kind, str(self.folder / f"{name}.db"), "")
        if kind == "redis":
            return Store(kind, self.redis_url, f"{self.prefix}{name}:")
        return Store(kind, self.postgres_url, self.schema)


def rows(places: Places, workers_available: bool) -> list[Row]:
    """Every server on every store, in table order."""
    python = sys.executable
    gunicorn: tuple[str, ...] = (
        python,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        "1",
        "--threads",
        str(GTHREADS),
    )
    gunicorn += ("--keep-alive", "60", "-b", "127.0.0.1:{port}")
    table: list[Row] = []
    for kind in STORES:
        for workers, server in ((1, KDEPS), (2, KDEPS_2)):
            if workers > 1 and not workers_available:
                table.append(Row(server, kind, missing="not available: serve has no --workers"))
                continue
            workflow = _workflow_copy(places, kind, f"kdeps{workers}")
            argv = (python, "-m", "kdeps_expr.cli", "serve", str(workflow), "--port", "{port}")
            extra = ("--workers", str(workers)) if workers > 1 else ()
            table.append(Row(server, kind, argv + extra, workers=workers))
        asgi = (python, "-m", "benchmarks.cart_asgi")
        table.append(
            Row(FLOOR, kind, (*asgi, "floor", "{port}"), places.store(kind, "floor").environ())
        )
        if kind == "redis":
            environ = places.store(kind, "starsessions").environ()
            table.append(Row(STARSESSIONS, kind, (*asgi, "starsessions", "{port}"), environ))
        else:
            table.append(Row(STARSESSIONS, kind, missing=f"no {STORES[kind]} store shipped"))
        for server, app in (
            (DJANGO, "benchmarks.cart_django:application"),
            (FLASK, "benchmarks.cart_flask:app"),
        ):
            environ = places.store(kind, server.split()[0].lower()).environ()
            table.append(Row(server, kind, (*gunicorn, app), environ))
    return table


def _workflow_copy(places: Places, kind: str, name: str) -> Path:
    """A copy of the cart example whose sessions go to this run's ``kind`` store."""
    session: dict[str, Any] = {"type": kind, "ttl": "30m"}
    if kind == "sqlite":
        session["path"] = "sessions.db"
    elif kind == "redis":
        session.update(url=places.redis_url, keyPrefix=f"{places.prefix}{name}:")
    else:
        session.update(url=places.postgres_url, schema=places.schema, table=f"{name}_sessions")
    target = places.folder / f"{name}-{kind}"
    shutil.copytree(CART, target)
    manifest = target / "workflow.yaml"
    document = yaml.safe_load(manifest.read_text())
    document["settings"]["session"] = session
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


def serve_has_workers() -> bool:
    """Whether ``kdeps-expr serve`` takes ``--workers``."""
    command = [sys.executable, "-m", "kdeps_expr.cli", "serve", "--help"]
    shown = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=_environ({}))
    return "--workers" in shown.stdout


# --- cores and processes ------------------------------------------------------------------


def client_cpu() -> int:
    """The CPU of the load client: the last one (-1 on a single core: anywhere)."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[-1] if len(cpus) > 1 else -1


def server_cpus(workers: int) -> set[int]:
    """The CPUs of a server with ``workers`` processes (see the module docstring)."""
    cpus = sorted(os.sched_getaffinity(0))
    return set(cpus[:workers]) if len(cpus) > workers else set(cpus)


def _environ(extra: dict[str, str]) -> dict[str, str]:
    environ = {**os.environ, **extra}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    return environ


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Started:
    """A started server: its process, port and log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path


@contextmanager
def running_servers(rows: Sequence[Row], folder: Path) -> Iterator[dict[Row, Started]]:
    """Start every row's server, each in a session of its own on its CPUs; yield them once
    each answers the cart (:func:`wait_ready`); stop them all (and their process groups)
    at the end."""
    servers: dict[Row, Started] = {}
    try:
        for row in rows:
            servers[row] = _start(row, folder)
        for row, server in servers.items():
            wait_ready(row, server)
        yield servers
    finally:
        for server in servers.values():
            server.process.terminate()
        for server in servers.values():
            _reap(server.process)


def _start(row: Row, folder: Path) -> Started:
    port = free_port()
    log = folder / f"{row.server}-{row.store}.log".replace(" ", "_").replace(",", "")
    cpus = server_cpus(row.workers)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in row.argv],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_environ(row.environ),
            start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
    return Started(process, port, log)


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a terminated server, kill it after ``STOP_TIMEOUT``, then kill whatever is
    left of its process group."""
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_ready(row: Row, server: Started) -> None:
    """Wait until ``server`` accepts connections, then check it does the cart's work."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not _answers(server.port):
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{row.label} on {row.store} did not start:\n{server.log.read_text()}")
        time.sleep(0.1)
    try:
        check_cart(server.port)
    except (CartError, OSError) as exc:
        raise SystemExit(f"{row.label} on {row.store}: {exc}\n{server.log.read_text()}") from exc


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- the run --------------------------------------------------------------------------------


def selected(filters: Sequence[str], workload: str, row: Row) -> bool:
    """Whether ``--only`` keeps ``row`` under ``workload`` (no filter keeps everything)."""
    text = f"{workload} {STORES[row.store]} {row.label}".lower()
    return not filters or any(all(word in text for word in f.lower().split()) for f in filters)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(results: list[Result]) -> Result:
    """The median round by req/s."""
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def table(
    measured: dict[tuple[str, Row], Result], shown: list[tuple[str, Row]], args: argparse.Namespace
) -> str:
    """The markdown table of ``shown`` (measured or missing), with the run's settings above."""
    lines = [
        f"concurrency {args.concurrency}, {args.requests} requests per connection "
        f"({args.concurrency * args.requests} per round), median of {args.rounds} rounds; "
        "latencies in ms",
        "",
        "| workload | store | server | req/s | CPU µs/req | p50 | p99 | max "
        "| vs floor | vs best peer |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workload, row in shown:
        head = f"| {workload} | {STORES[row.store]} | {row.label}"
        result = measured.get((workload, row))
        if result is None:
            lines.append(f"{head} ({row.missing}) | – | – | – | – | – | | |")
            continue
        latencies = [
            _percentile(result.latencies, 0.50),
            _percentile(result.latencies, 0.99),
            max(result.latencies),
        ]
        cells = [
            f"{result.rate:,.0f}",
            f"{result.cpu_per_request * 1e6:,.0f}",
            *(f"{seconds * 1000:.1f}" for seconds in latencies),
            _versus_floor(measured, workload, row),
            _versus_peers(measured, workload, row),
        ]
        lines.append(f"{head} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _rate_of(
    measured: dict[tuple[str, Row], Result], workload: str, store: str, server: str
) -> float | None:
    for (measured_workload, row), result in measured.items():
        if (measured_workload, row.store, row.server) == (workload, store, server):
            return result.rate
    return None


def _versus_floor(measured: dict[tuple[str, Row], Result], workload: str, row: Row) -> str:
    floor = _rate_of(measured, workload, row.store, FLOOR)
    if row.server == FLOOR or floor is None:
        return ""
    return f"{measured[workload, row].rate / floor:.2f}"


def _versus_peers(measured: dict[tuple[str, Row], Result], workload: str, row: Row) -> str:
    rates = [_rate_of(measured, workload, row.store, peer) for peer in PEERS]
    best = max((rate for rate in rates if rate is not None), default=None)
    if row.server not in (KDEPS, KDEPS_2) or best is None:
        return ""
    ratio = measured[workload, row].rate / best
    return f"{ratio:.2f} {'✓' if ratio > 1 else '✗'}"


def clean_redis(url: str, prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(url)
    keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        connection.delete(*keys[start : start + 1000])
    connection.close()


@contextmanager
def postgres_schema(url: str, schema: str) -> Iterator[None]:
    """A schema of this run's own on ``url``, dropped with everything in it at the end."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100, help="measured per connection")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only", action="append", default=[], metavar="WORDS")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres-url", default="postgresql://127.0.0.1:5432/test")
    return parser.parse_args(argv)


def measure(
    shown: list[tuple[str, Row]], servers: dict[Row, Started], args: argparse.Namespace
) -> dict[tuple[str, Row], list[Result]]:
    """Every round of every shown row that has a server, rounds interleaved per workload."""
    results: dict[tuple[str, Row], list[Result]] = {}
    with get_context("spawn").Pool(1) as pool:  # terminated, not waited for, on an error
        for workload in WORKLOADS:
            for _ in range(args.rounds):
                for row in (row for w, row in shown if w == workload and row in servers):
                    server = servers[row]
                    name = f"{workload} {STORES[row.store]} {row.label}"
                    print(f"{name} ...", end=" ", file=sys.stderr, flush=True)
                    load = Load(server.port, server.process.pid, workload, args.concurrency)
                    result = pool.apply(client, (load, args.requests, client_cpu()))
                    print(f"{result.rate:,.0f} req/s", file=sys.stderr)
                    if set(result.statuses) != {200}:
                        raise SystemExit(f"{name} answered {result.statuses}")
                    results.setdefault((workload, row), []).append(result)
    return results


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _stop)  # stop the servers and clean the stores on SIGTERM too
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        places = Places(
            Path(folder),
            args.redis_url,
            f"kdeps-bench-{run}:",
            args.postgres_url,
            f"kdeps_bench_{run}",
        )
        table_rows = rows(places, serve_has_workers())
        every = [(w, row) for w in WORKLOADS for row in table_rows]
        shown = [(w, row) for w, row in every if selected(args.only, w, row)]
        wanted = list(dict.fromkeys(row for _, row in shown if not row.missing))
        if any(row.store == "redis" for row in wanted):
            stack.callback(clean_redis, args.redis_url, places.prefix)
        if any(row.store == "postgres" for row in wanted):
            stack.enter_context(postgres_schema(args.postgres_url, places.schema))
        servers = stack.enter_context(running_servers(wanted, places.folder))
        results = measure(shown, servers, args)
    measured = {key: median(values) for key, values in results.items()}
    print(table(measured, shown, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
