"""Where a served request's time goes: one kdeps server of :mod:`benchmarks.bench_server`
sampled by ``py-spy`` under the benchmark's own load.

The server is started and loaded exactly as ``bench_server`` does it (same workflow copy,
same CPU pinning, same client); ``py-spy`` samples it during the timed rounds (every
thread, idle ones left out; ``--gil`` keeps only the thread holding the GIL, i.e. where
the CPU goes) and the functions that hold the most samples are printed, inclusive and
self, with the collapsed stacks (for a flame graph) written beside them. Throughput,
CPU time per request and the tail against the floor and the peers are ``bench_server``'s.

Usage::

    .venv/bin/python -m benchmarks.profile_server --store sqlite --workload add
        [--rounds 5] [--gil] [--out /tmp/kdeps-profile.txt]

``py-spy`` needs ``pip install py-spy`` and permission to trace the server (root, or
``ptrace_scope`` 0). Redis keys and PostgreSQL schemas are the run's own and are removed
at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path

from benchmarks import bench_server as bench
from benchmarks.server_load import Load, client


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
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        places = bench.Places(
            Path(folder),
            args.redis_url,
            f"kdeps-profile-{run}:",
            args.postgres_url,
            f"kdeps_profile_{run}",
        )
        row = next(
            row
            for row in bench.rows(places, False)
            if row.server == bench.KDEPS and row.store == args.store
        )
        if row.store == "redis":
            stack.callback(bench.clean_redis, args.redis_url, places.prefix)
        if row.store == "postgres":
            stack.enter_context(bench.postgres_schema(args.postgres_url, places.schema))
        server = stack.enter_context(bench.running_servers([row], places.folder))[row]
        load = Load(server.port, server.process.pid, args.workload, args.concurrency)
        pool = stack.enter_context(get_context("spawn").Pool(1))
        pool.apply(client, (load, args.requests, bench.client_cpu()))  # warm up
        command = [_py_spy(), "record", "--pid", str(server.process.pid), "--format", "raw"]
        command += ["--threads", "--rate", str(args.rate), "--output", str(collapsed)]
        command += ["--nonblocking"] + (["--gil"] if args.gil else [])
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        rates = [
            pool.apply(client, (load, args.requests, bench.client_cpu())).rate
            for _ in range(args.rounds)
        ]
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", choices=bench.STORES, default="sqlite")
    parser.add_argument("--workload", choices=bench.WORKLOADS, default="add")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=100, help="per connection and round")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--gil", action="store_true", help="only samples of the thread holding the GIL (CPU)"
    )
    parser.add_argument("--out", default="/tmp/kdeps-profile.txt")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--postgres-url", default="postgresql://127.0.0.1:5432/test")
    return profile(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
