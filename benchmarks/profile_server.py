"""Where a served request's time goes: kdeps against its floor, and a profile under load.

Two commands, both on the cart example and the servers of :mod:`benchmarks.bench_server`
(same load client, same floor endpoints, same CPU pinning):

- ``compare``: kdeps and the hand-written floor for each store and workload, in many
  short interleaved rounds (kdeps, floor, kdeps, floor, …), so a neighbour's load on a
  shared machine hits both alike. Each row shows the median req/s of its rounds, the
  median of the per-round ratios kdeps/floor, p50, p99 and max latency over all of its
  rounds' requests (the tail is what a single round hides), and the server's CPU time per
  request (user + system, all its threads, from ``/proc``): the figure a neighbour's load
  on a shared machine moves least.
- ``profile``: one kdeps server under load, sampled by ``py-spy`` (every thread, idle
  ones left out), printing the functions that hold the most samples, inclusive and self,
  and writing the collapsed stacks (for a flame graph) beside them.

Usage::

    .venv/bin/python -m benchmarks.profile_server compare [--stores sqlite redis]
        [--workloads view add] [--rounds 9] [--requests 100] [--concurrency 32]
    .venv/bin/python -m benchmarks.profile_server profile --store sqlite --workload add
        [--rounds 5] [--out /tmp/kdeps-profile.txt]

``py-spy`` needs ``pip install py-spy`` and permission to trace the server (root, or
``ptrace_scope`` 0). Redis keys go under a prefix unique to the run and are removed at
the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from multiprocessing import get_context
from pathlib import Path

from benchmarks import bench_server as bench

STORES = ("sqlite", "redis")
REDIS_URL = "redis://127.0.0.1:6379/0"


def _session(store: str, base: Path, prefix: str) -> dict[str, str]:
    if store == "sqlite":
        return {"type": "sqlite", "path": "sessions.db", "ttl": "30m"}
    return {"type": "redis", "url": REDIS_URL, "keyPrefix": prefix, "ttl": "30m"}


def _start_kdeps(stack: ExitStack, base: Path, store: str, prefix: str) -> int:
    return bench._serve_workflow(stack, base, f"kdeps-{store}", _session(store, base, prefix))


def _start_floor(stack: ExitStack, base: Path, store: str, prefix: str, body_file: Path) -> int:
    name = f"floor-{store}"
    target = str(base / f"{name}.db") if store == "sqlite" else REDIS_URL
    port_file = base / f"{name}.port"
    command = [sys.executable, bench.__file__, "--floor", store, "cart", target, prefix]
    command += [str(body_file), str(port_file)]
    return stack.enter_context(bench._server(command, base / f"{name}.log", port_file))


def _load(
    pool: ProcessPoolExecutor, port: int, workload: str, args: argparse.Namespace
) -> bench.Result:
    load = bench.Load(port, workload, args.concurrency, args.requests)
    result = pool.submit(bench._client, load).result()
    if set(result.statuses) != {200}:
        raise SystemExit(f"{workload} on port {port} answered {result.statuses}")
    return result


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(
    pool: ProcessPoolExecutor, port: int, workload: str, args: argparse.Namespace
) -> tuple[bench.Result, float]:
    """One load on the server at ``port``: the client's result and the server's CPU
    microseconds per request (the warm-up requests of the load count too)."""
    pid = _listening_pid(port)
    before = _cpu_seconds(pid)
    result = _load(pool, port, workload, args)
    sent = result.requests + args.concurrency * (
        bench.WARMUP + (bench.CART_ITEMS if workload == "view" else 0)
    )
    return result, (_cpu_seconds(pid) - before) / sent * 1e6


def _latencies(results: list[bench.Result]) -> str:
    values = [latency for result in results for latency in result.latencies]
    shown = [bench._percentile(values, 0.5), bench._percentile(values, 0.99), max(values)]
    return " | ".join(f"{value * 1000:.2f}" for value in shown)


@contextmanager
def _run_place() -> Iterator[tuple[ProcessPoolExecutor, ExitStack, Path, str]]:
    """The client's process pool, a stack the servers stop on, a folder and a Redis key
    prefix for this run (its keys removed at the end)."""
    prefix = f"kdeps-profile-{uuid.uuid4().hex[:8]}:"
    with (
        tempfile.TemporaryDirectory() as folder,
        ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool,
        ExitStack() as stack,
    ):
        stack.callback(bench._redis_cleanup, REDIS_URL, prefix)
        yield pool, stack, Path(folder), prefix


def compare(args: argparse.Namespace) -> int:
    kdeps: dict[tuple[str, str], list[tuple[bench.Result, float]]] = {}
    floor: dict[tuple[str, str], list[tuple[bench.Result, float]]] = {}
    with _run_place() as (pool, stack, base, prefix):
        ports = {store: _start_kdeps(stack, base, store, prefix) for store in args.stores}
        body_file = base / "bodies.json"
        body_file.write_text(bench.json.dumps(bench._capture(ports[args.stores[0]])))
        floors = {
            store: _start_floor(stack, base, store, prefix, body_file) for store in args.stores
        }
        for _ in range(args.rounds):
            for workload in args.workloads:
                for store in args.stores:
                    key = (workload, store)
                    kdeps.setdefault(key, []).append(_measured(pool, ports[store], workload, args))
                    floor.setdefault(key, []).append(_measured(pool, floors[store], workload, args))
    print(
        f"concurrency {args.concurrency}, {args.requests} requests per connection, "
        f"{args.rounds} interleaved rounds; req/s is the median round, latencies over all rounds"
    )
    print()
    print(
        "| workload | store | server | req/s | p50 ms | p99 ms | max ms | CPU µs/req | vs floor |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in kdeps:
        workload, store = key
        ratios = [k.rate / f.rate for (k, _), (f, _) in zip(kdeps[key], floor[key], strict=True)]
        for name, rounds in (("floor", floor[key]), ("kdeps", kdeps[key])):
            results = [result for result, _ in rounds]
            rate = statistics.median(result.rate for result in results)
            cpu = statistics.median(cpu for _, cpu in rounds)
            versus = f"{statistics.median(ratios):.2f}" if name == "kdeps" else ""
            print(
                f"| {workload} | {store} | {name} | {rate:,.0f} | {_latencies(results)} "
                f"| {cpu:.0f} | {versus} |"
            )
    return 0


def _top(collapsed: Path, count: int) -> str:
    """The functions with the most samples in py-spy's collapsed stacks: inclusive, self."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        number = int(samples)
        frames = [frame.split(" (", 1)[0] + _where(frame) for frame in stack.split(";")]
        total += number
        own[frames[-1]] += number
        for frame in set(frames):
            inclusive[frame] += number
    lines = [f"{total} samples (all threads, idle left out)", "", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(count)]
    lines += ["", "self:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(count)]
    return "\n".join(lines)


def _where(frame: str) -> str:
    """`` (module.py)`` of a py-spy frame ``name (path/module.py:line)``, or nothing."""
    _, _, where = frame.partition(" (")
    return f" ({Path(where.split(':', 1)[0]).name})" if where else ""


def profile(args: argparse.Namespace) -> int:
    out = Path(args.out)
    collapsed = out.with_suffix(".collapsed")
    with _run_place() as (pool, stack, base, prefix):
        port = _start_kdeps(stack, base, args.store, prefix)
        _load(pool, port, args.workload, args)  # warm up (and, for view, fill the carts)
        pid = _listening_pid(port)
        command = [_py_spy(), "record", "--pid", str(pid), "--format", "raw", "--threads"]
        command += ["--rate", str(args.rate), "--output", str(collapsed), "--nonblocking"]
        if args.gil:
            command.append("--gil")
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        rates = [_load(pool, port, args.workload, args).rate for _ in range(args.rounds)]
        spy.send_signal(2)
        _, errors = spy.communicate(timeout=60)
        if not collapsed.exists():
            raise SystemExit(f"py-spy wrote nothing: {errors.decode(errors='replace')}")
    report = (
        f"kdeps {args.store} {args.workload}: {statistics.median(rates):,.0f} req/s "
        f"(median of {args.rounds} rounds under py-spy at {args.rate} Hz"
        f"{', GIL holder only' if args.gil else ''})\n\n" + _top(collapsed, args.top)
    )
    out.write_text(report + "\n")
    print(report)
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


def _py_spy() -> str:
    """The ``py-spy`` beside this Python (a venv's), else the one on ``PATH``."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


def _listening_pid(port: int) -> int:
    """The process listening on ``port`` (the server; ``serve`` runs in the child we spawn)."""
    found = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(found.split("pid=", 1)[1].split(",", 1)[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("compare", "profile"):
        command = commands.add_parser(name)
        command.add_argument("--concurrency", type=int, default=32)
        command.add_argument("--requests", type=int, default=100, help="per connection")
    compared = commands.choices["compare"]
    compared.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    compared.add_argument("--workloads", nargs="+", choices=bench.METHODS, default=["view", "add"])
    compared.add_argument("--rounds", type=int, default=9)
    profiled = commands.choices["profile"]
    profiled.add_argument("--store", choices=STORES, default="sqlite")
    profiled.add_argument("--workload", choices=bench.METHODS, default="add")
    profiled.add_argument("--rounds", type=int, default=5)
    profiled.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    profiled.add_argument("--top", type=int, default=30)
    profiled.add_argument(
        "--gil", action="store_true", help="only samples of the thread holding the GIL (CPU)"
    )
    profiled.add_argument("--out", default="/tmp/kdeps-profile.txt")
    args = parser.parse_args(argv)
    return compare(args) if args.command == "compare" else profile(args)


if __name__ == "__main__":
    sys.exit(main())
