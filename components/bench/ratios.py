"""The benchmark's figures as ratios against a baseline measured on the same machine in the same run.

An absolute figure on a shared 2-core machine says little; a ratio says how close the
migration's machinery runs to what the machine does without it. Pure functions only: the
measuring is in `bench.replication`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ratio:
    """One measured figure over its baseline, the target the ratio must meet, and both sides' raw figures."""

    id: str
    name: str
    measured: float
    baseline: float
    target: float | None
    """None: a comparison shown for what it tells, with no target to meet."""
    higher_is_better: bool
    raw: dict[str, float | int | str] = field(default_factory=dict)
    """Both sides' raw figures and the settings they ran with (written to results.json)."""
    cause: str = ""
    """Why a missed target was missed (what the measurement showed), written next to it."""
    difference: bool = False
    """The figure is `measured - baseline` (a latency added, in the sides' unit), not their quotient."""

    @property
    def value(self) -> float:
        if self.difference:
            return self.measured - self.baseline
        return self.measured / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def harmonic_bound(produce_rate: float, consume_rate: float) -> float:
    """Records/s of consuming then producing each record on one machine, when each alone runs at its rate.

    A copy reads a record and writes it again; when both sides share the machine's cores,
    a record costs the time of both: 1 / (1/produce + 1/consume).
    """
    if produce_rate <= 0 or consume_rate <= 0:
        raise ValueError(f"rates must be positive, got produce {produce_rate} and consume {consume_rate}")
    return 1 / (1 / produce_rate + 1 / consume_rate)


def sustained_rate(progress: Sequence[tuple[float, int]], total: int, low: float = 0.1, high: float = 0.9) -> float:
    """Records/s between the moments `low` and `high` of `total` records had arrived.

    `progress` is (seconds, records arrived so far), in time order. The window leaves out the
    start (connectors starting, tasks assigned, remote topics created) and the tail (the last
    poll), so the figure is the copy's steady rate. Crossing times are interpolated between samples.
    """
    start = crossing_time(progress, low * total)
    end = crossing_time(progress, high * total)
    if end <= start:
        raise ValueError(f"progress reaches {high:.0%} of {total} no later than {low:.0%}: too few samples")
    return (high - low) * total / (end - start)


def crossing_time(progress: Sequence[tuple[float, int]], level: float) -> float:
    """When the records arrived first reached `level` (interpolated); ValueError if they never did."""
    previous: tuple[float, int] | None = None
    for t, count in progress:
        if count >= level:
            if previous is None or count == previous[1]:
                return t
            t0, c0 = previous
            return t0 + (t - t0) * (level - c0) / (count - c0)
        previous = (t, count)
    reached = progress[-1][1] if progress else 0
    raise ValueError(f"the records arrived never reached {level:,.0f} (last sample {reached:,})")


def interval_rates(progress: Sequence[tuple[float, int]]) -> list[tuple[float, float]]:
    """(seconds, records/s over the interval ending there) between consecutive samples, for the throughput plot."""
    return [(t1, (c1 - c0) / (t1 - t0)) for (t0, c0), (t1, c1) in itertools.pairwise(progress) if t1 > t0]
