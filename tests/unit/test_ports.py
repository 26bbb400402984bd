"""Throwaway ports are drawn below the kernel's ephemeral range, which outgoing connections use."""

from __future__ import annotations

import socket
from pathlib import Path

from kafka_migration.local_runtime.ports import LOWEST, free_ports, listener_range


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    low, high = listener_range()
    ports = free_ports(50)
    assert len(set(ports)) == 50
    assert all(low <= p < high for p in ports), ports
    for port in ports[:5]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))


def test_a_port_in_use_is_never_chosen(monkeypatch, tmp_path: Path) -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    # 20 ports around the taken one, 5 drawn 20 times over: without the check it would be drawn.
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text(f"{port + 10}\t60999\n")
    monkeypatch.setattr("kafka_migration.local_runtime.ports.EPHEMERAL_RANGE", ephemeral)
    monkeypatch.setattr("kafka_migration.local_runtime.ports.LOWEST", port - 10)
    assert listener_range() == (port - 10, port + 10)
    try:
        drawn = [p for _ in range(20) for p in free_ports(5)]
    finally:
        taken.close()
    assert port not in drawn


def test_the_range_starts_where_the_kernel_s_ephemeral_range_does(tmp_path: Path) -> None:
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text("40000\t60999\n")
    assert listener_range(ephemeral) == (LOWEST, 40000)
    assert listener_range(tmp_path / "missing") == (LOWEST, 32768)
