"""Running one child process for exec and python: a deadline, a process group, bounded output.

The child starts in a session of its own (``start_new_session``), so it leads a new
process group; when the deadline passes, or an output stream grows past its bound, the
whole group gets ``SIGKILL``, children and grandchildren included. Both pipes are read
in the calling thread with a selector, which waits without holding the GIL: a server
runs this on a worker thread and its event loop keeps answering other requests.

As in KDeps (Go's ``exec.Cmd``), the run ends when both output pipes are closed and the
child has exited: a background process that keeps stdout open keeps the run going until
the deadline. A background process that closes its output is left running.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import IO

MAX_OUTPUT = 10 * 1024 * 1024
"""Default bound on each of stdout and stderr, in bytes."""
_CHUNK = 65536
_DRAIN = 1.0
"""Seconds spent collecting what is left in the pipes after the group was killed."""


class OutputTooLarge(Exception):
    """A stream passed its bound; ``stream`` is ``stdout`` or ``stderr``."""

    def __init__(self, stream: str, limit: int) -> None:
        super().__init__(f"{stream} is over {limit:,} bytes")
        self.stream = stream
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Finished:
    """How a child ended: its exit code (-1 when a signal ended it), its output, and why."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    signal_name: str | None = None

    @property
    def error(self) -> str:
        """KDeps' ``error`` text: ``exit status N``, ``command timed out`` or the signal."""
        if self.timed_out:
            return "command timed out"
        if self.signal_name is not None:
            return f"killed by signal {self.signal_name}"
        return f"exit status {self.exit_code}"


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    max_output: int = MAX_OUTPUT,
) -> Finished:
    """Run ``argv`` until it ends or ``timeout`` seconds pass; the group is killed at the end.

    Raises ``OSError`` when the program cannot start (``FileNotFoundError``,
    ``PermissionError``), ``ValueError`` for a NUL character in an argument or variable,
    and :class:`OutputTooLarge` (after killing the group) when a stream passes
    ``max_output`` bytes.
    """
    deadline = time.monotonic() + timeout
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    streams = {"stdout": process.stdout, "stderr": process.stderr}
    output = {"stdout": bytearray(), "stderr": bytearray()}
    try:
        timed_out = not _read(streams, output, deadline, max_output)
        if not timed_out:
            try:
                process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                timed_out = True
        if timed_out:
            _kill_group(process)
            _read(streams, output, time.monotonic() + _DRAIN, max_output)
    except OutputTooLarge:
        _kill_group(process)
        raise
    finally:
        for stream in streams.values():
            stream.close()
        with suppress(subprocess.TimeoutExpired):
            process.wait(_DRAIN)
    code = process.returncode
    name = None
    if code is not None and code < 0 and not timed_out:
        with suppress(ValueError):
            name = signal.Signals(-code).name
    return Finished(
        exit_code=-1 if code is None or code < 0 else code,
        stdout=output["stdout"].decode("utf-8", "replace"),
        stderr=output["stderr"].decode("utf-8", "replace"),
        timed_out=timed_out,
        signal_name=name,
    )


def _read(
    streams: Mapping[str, IO[bytes]],
    output: Mapping[str, bytearray],
    deadline: float,
    limit: int,
) -> bool:
    """Copy the open pipes into ``output`` until both close (True) or the deadline (False)."""
    with selectors.DefaultSelector() as selector:
        for name, stream in streams.items():
            if not stream.closed:
                selector.register(stream, selectors.EVENT_READ, name)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = output[key.data]
                buffer += chunk
                if len(buffer) > limit:
                    raise OutputTooLarge(key.data, limit)
    return True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it leads one: ``start_new_session``)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
