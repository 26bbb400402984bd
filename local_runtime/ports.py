"""Free TCP ports on 127.0.0.1 for throwaway clusters (tests, rehearsal)."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """Ports the kernel reports free right now, all distinct."""
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
