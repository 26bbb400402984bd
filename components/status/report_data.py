"""The status report's data: what `kafka-migration status` shows and records, as plain values with their JSON.

`decisions` turns what was read into these; `live_reader` and `pulumi_stack` read; `render`
shows them. A `Sample` is one line of `samples.jsonl` (`append_sample`, `read_samples`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from kafka_migration.planning.phases import Step

NO_PHASE = "(none)"
"""The phase shown for a stack that was never updated."""

Series = list[tuple[float, float]]
"""(epoch seconds, value) points."""


def iso(t: float) -> str:
    """Epoch seconds as an ISO-8601 UTC time."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds")


def clean(value: Any) -> Any:
    """`value` made JSON-safe: NaN and infinities (metrics without data) become None, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


class GateState(StrEnum):
    """What a gate of the next step says now."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    FORCED = "FORCED"
    """Failed, but the stack's `force` names it with a reason: `pulumi up` would go ahead."""
    UNKNOWN = "UNKNOWN"
    """Not evaluated: the evidence could not be read (the summary says why)."""


@dataclass(frozen=True)
class GateStatus:
    """One gate of the next step, with the figures behind its verdict."""

    gate: str
    state: GateState
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    forced_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": self.state.value,
            "passed": None if self.state is GateState.UNKNOWN else self.state is GateState.PASS,
            "summary": self.summary,
            "figures": self.figures,
            "forcedReason": self.forced_reason,
        }


@dataclass(frozen=True)
class PartitionStatus:
    """How far one flow is behind on one source partition."""

    topic: str
    partition: int
    end_offset: int
    replicated_through: int | None
    lag_records: int
    lag_seconds: float


@dataclass(frozen=True)
class FlowStatus:
    """One running replication flow (`A->B`), as the clusters and MM2's metrics show it."""

    name: str
    partitions: tuple[PartitionStatus, ...] = ()
    heartbeat_age_s: float | None = None
    connectors: dict[str, str] = field(default_factory=dict)
    record_failures: float = 0.0
    record_age_ms: float | None = None
    replication_latency_ms: float | None = None
    byte_rate: float | None = None
    """Bytes per second MM2 copies on this flow (None: no metrics)."""
    error: str | None = None
    """Why the flow could not be read (its figures are then empty)."""

    @property
    def max_lag_records(self) -> int | None:
        if self.error and not self.partitions:
            return None
        return max((p.lag_records for p in self.partitions), default=0)

    @property
    def max_lag_seconds(self) -> float | None:
        if self.error and not self.partitions:
            return None
        return max((p.lag_seconds for p in self.partitions), default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "maxLagRecords": self.max_lag_records,
            "maxLagSeconds": None if self.max_lag_seconds is None else round(self.max_lag_seconds, 1),
            "recordAgeMs": self.record_age_ms,
            "replicationLatencyMs": self.replication_latency_ms,
            "byteRate": self.byte_rate,
            "heartbeatAgeSeconds": None if self.heartbeat_age_s is None else round(self.heartbeat_age_s, 1),
            "recordFailures": self.record_failures,
            "connectors": self.connectors,
            "partitions": {
                f"{p.topic}:{p.partition}": {
                    "lagRecords": p.lag_records,
                    "lagSeconds": round(p.lag_seconds, 1),
                    "endOffset": p.end_offset,
                    "replicatedThrough": p.replicated_through,
                }
                for p in self.partitions
            },
            "error": self.error,
        }


@dataclass(frozen=True)
class ClientStatus:
    """Where one client group is told to connect."""

    name: str
    role: str | None
    wave: int | None
    cluster: str
    """Alias of the cluster the group uses."""
    side: str
    """`blue`, `green`, or `unknown` (an alias that is neither)."""
    paused: bool
    source: str
    """`document` (the published routing document), `outputs` (the stack's outputs) or `not published`."""
    group_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "wave": self.wave,
            "cluster": self.cluster,
            "side": self.side,
            "paused": self.paused,
            "source": self.source,
            "groupId": self.group_id,
        }


@dataclass(frozen=True)
class Sample:
    """One line of `samples.jsonl`: lag per flow and end offsets per cluster at one time."""

    stack: str
    at: float
    """Epoch seconds."""
    flows: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Flow -> maxLagRecords, maxLagSeconds, recordAgeMs, replicationLatencyMs, byteRate."""
    end_offsets: dict[str, int | None] = field(default_factory=dict)
    """Cluster alias -> sum of the end offsets of its migrated topics (None: not readable)."""

    def to_json(self) -> dict[str, Any]:
        return clean(
            {
                "stack": self.stack,
                "time": iso(self.at),
                "at": round(self.at, 3),
                "flows": self.flows,
                "endOffsets": self.end_offsets,
            }
        )

    @staticmethod
    def from_json(value: object) -> Sample | None:
        """The sample a line holds, or None when the line is not one."""
        if not isinstance(value, dict):
            return None
        try:
            return Sample(
                stack=str(value["stack"]),
                at=float(value["at"]),
                flows={str(k): dict(v) for k, v in (value.get("flows") or {}).items()},
                end_offsets={
                    str(k): (None if v is None else int(v)) for k, v in (value.get("endOffsets") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class StatusReport:
    """Everything `kafka-migration status` shows."""

    stack: str
    strategy: str
    generated_at: float
    applied: Step | None
    high_water: Step | None
    next: Step | None
    """The step after the applied one (None: the migration is complete)."""
    clusters: dict[str, str]
    """Alias -> `blue` / `green`."""
    gates: tuple[GateStatus, ...] = ()
    flows: dict[str, FlowStatus] = field(default_factory=dict)
    clients: dict[str, ClientStatus] = field(default_factory=dict)
    forced_gates: dict[str, str] = field(default_factory=dict)
    """Gates forced by earlier updates (the stack's `forcedGates` output)."""
    history: tuple[dict[str, Any], ...] = ()
    errors: tuple[str, ...] = ()
    throughput: dict[str, float] = field(default_factory=dict)
    """Cluster alias -> records/s appended to its migrated topics between the last two samples."""
    samples_file: str | None = None
    sample_count: int = 0
    plots: tuple[str, ...] = ()

    @property
    def phase(self) -> str:
        return self.applied.phase.value if self.applied else NO_PHASE

    def to_json(self) -> dict[str, Any]:
        return clean(
            {
                "stack": self.stack,
                "strategy": self.strategy,
                "generatedAt": iso(self.generated_at),
                "phase": self.phase,
                "step": self.applied.as_output() if self.applied else None,
                "highWater": self.high_water.as_output() if self.high_water else None,
                "nextStep": self.next.as_output() if self.next else None,
                "clusters": self.clusters,
                "gates": [g.to_json() for g in self.gates],
                "forcedGates": self.forced_gates,
                "flows": {name: f.to_json() for name, f in self.flows.items()},
                "clients": {name: c.to_json() for name, c in self.clients.items()},
                "throughput": self.throughput,
                "samples": {"file": self.samples_file, "count": self.sample_count},
                "plots": list(self.plots),
                "errors": list(self.errors),
            }
        )


# --- samples.jsonl -----------------------------------------------------------------------


def append_sample(path: Path, sample: Sample) -> None:
    """Append one sample line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(sample.to_json(), sort_keys=True) + "\n")


def read_samples(path: Path, stack: str) -> list[Sample]:
    """The stack's samples in `path`, oldest first (lines of other stacks, or not samples, are skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            sample = Sample.from_json(json.loads(line))
        except ValueError:
            continue
        if sample is not None and sample.stack == stack:
            out.append(sample)
    return sorted(out, key=lambda s: s.at)
