"""Request ids: 16 random bytes from ``os.urandom``, in hex, drawn 256 ids at a time.

``secrets.token_hex(16)`` makes one system call per id, and ``os.urandom`` releases the GIL
for it. On the event loop's thread, getting the GIL back means waiting for a worker thread
to give it up (up to ``sys.getswitchinterval()``, 5 ms): under load, a py-spy profile of
the server found the event loop's thread waiting there in a fifth of its samples
(docs/server.md, "Profile under load, and the tail"). Drawing the bytes for 256 ids per
call keeps the ids as random and makes that wait 256 times rarer. Each thread draws from a
buffer of its own.
"""

from __future__ import annotations

import os
import threading

ID_BYTES = 16
IDS_PER_DRAW = 256


class _Buffer(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.used = 0


_buffer = _Buffer()


def new_request_id() -> str:
    """A fresh request id: 32 hex digits of ``os.urandom`` bytes."""
    buffer = _buffer
    start = buffer.used
    if start >= len(buffer.data):
        buffer.data, start = os.urandom(ID_BYTES * IDS_PER_DRAW), 0
    buffer.used = start + ID_BYTES
    return buffer.data[start : start + ID_BYTES].hex()
