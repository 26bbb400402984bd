"""Where the machine's CPU went during a measurement: the whole machine and each process of interest.

Read from Linux's /proc (clock ticks, `os.sysconf("SC_CLK_TCK")`), so a missed target can say
whether the cores were saturated and by whom: the Connect workers, the brokers or the tools.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class CpuTicks:
    """A /proc reading: the machine's busy and total ticks, and each named process's ticks."""

    busy: int
    total: int
    processes: dict[str, int]


@dataclass(frozen=True)
class CpuUse:
    """Between two readings: how many of the machine's cores were busy, and each process's share in cores."""

    cores: int
    seconds: float
    busy_cores: float
    process_cores: dict[str, float]

    @property
    def saturated(self) -> bool:
        """Nine tenths of the machine's cores busy or more: the machine, not the software, sets the pace."""
        return self.busy_cores >= 0.9 * self.cores

    def core_seconds_per(self, records: int) -> float:
        """Machine-wide CPU seconds per record over the interval, when `records` went through in it."""
        return self.busy_cores * self.seconds / records if records else float("nan")

    def describe(self) -> str:
        parts = ", ".join(f"{name} {cores:.2f}" for name, cores in sorted(self.process_cores.items()))
        return f"{self.busy_cores:.2f} of {self.cores} cores busy ({parts})"


def parse_machine_ticks(stat_text: str) -> tuple[int, int]:
    """(busy, total) ticks from /proc/stat's `cpu` line; idle and iowait are the not-busy ones."""
    fields = next(line for line in stat_text.splitlines() if line.startswith("cpu ")).split()[1:]
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def parse_process_ticks(stat_text: str) -> int:
    """The process's user + system ticks from /proc/<pid>/stat (fields 14 and 15; the command name may hold spaces)."""
    after_name = stat_text.rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])


def read_ticks(pids: Mapping[str, int]) -> CpuTicks:
    """The machine's ticks now and each live process's (a process gone reads 0)."""
    busy, total = parse_machine_ticks((PROC / "stat").read_text())
    processes = {}
    for name, pid in pids.items():
        try:
            processes[name] = parse_process_ticks((PROC / str(pid) / "stat").read_text())
        except (FileNotFoundError, ProcessLookupError):
            processes[name] = 0
    return CpuTicks(busy, total, processes)


def cpu_use(before: CpuTicks, after: CpuTicks, cores: int | None = None) -> CpuUse:
    """Busy cores over the interval between two readings (the total ticks count every core's)."""
    cores = cores or os.cpu_count() or 1
    elapsed = (after.total - before.total) / cores  # ticks of one core
    if elapsed <= 0:
        raise ValueError("the two CPU readings are the same moment: measure over an interval")
    return CpuUse(
        cores,
        elapsed / os.sysconf("SC_CLK_TCK"),
        (after.busy - before.busy) / elapsed,
        {name: max(0, after.processes.get(name, 0) - ticks) / elapsed for name, ticks in before.processes.items()},
    )
