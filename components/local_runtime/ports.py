"""Free TCP ports on 127.0.0.1 for throwaway clusters (tests, rehearsal).

A port is chosen now and bound later, by a JVM that starts seconds after. Ports the
kernel hands out for `bind(0)` come from its ephemeral range, the same range every
outgoing connection (a Kafka client's, a Pulumi plugin's) takes its local port from, so
one of those could take the port in between. Ports are therefore drawn at random from
below that range, where only listeners that ask for a port by number go.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 20000
"""Listeners below this are left to system services."""


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now, outside the kernel's ephemeral range when it leaves room."""
    low, high = listener_range()
    if high - low < 4 * count:
        return _kernel_ports(count)
    chosen: list[int] = []
    draw = random.SystemRandom()
    while len(chosen) < count:
        port = draw.randrange(low, high)
        if port not in chosen and _bindable(port):
            chosen.append(port)
    return chosen


def free_port_blocks(count: int, length: int) -> list[int]:
    """The first ports of `count` blocks of `length` consecutive free ports, drawn like `free_ports`.

    A Connect group of `length` workers takes a block of REST ports and one of metrics ports.
    """
    low, high = listener_range()
    draw = random.SystemRandom()
    starts: list[int] = []
    while len(starts) < count:
        start = draw.randrange(low, max(low + 1, high - length))
        block = range(start, start + length)
        clear = all(abs(start - other) >= length for other in starts)
        if clear and all(_bindable(port) for port in block):
            starts.append(start)
    return starts


def listener_range(ephemeral: Path | None = None) -> tuple[int, int]:
    """[low, high) to draw listener ports from: from `LOWEST` up to the ephemeral range's start."""
    try:
        first = int((ephemeral or EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default start
    return LOWEST, max(LOWEST, first)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_ports(count: int) -> list[int]:
    """Ports the kernel reports free right now (from its ephemeral range), all distinct."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
