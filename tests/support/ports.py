"""Free ports for the servers tests start, taken below the kernel's ephemeral range.

A port the kernel hands out for `bind(0)` comes from the same range as the local ports of outgoing
connections, so between choosing it and the server binding it a client connection (to PostgreSQL, to
the Temporal server) may take it: the server then fails with "address already in use" (seen in CI).
Ports below the range are only ever taken by an explicit bind.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _below_ephemeral() -> tuple[int, int]:
    try:
        low = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return 10000, max(10001, min(low, 65536)) - 1


def free_port() -> int:
    first, last = _below_ephemeral()
    for _ in range(200):
        port = random.randint(first, last)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {first} and {last}")
