"""What the gates judge: plain data read from blue, green and MM2 (see evidence/collect.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planning.inventory import ClusterInventory


@dataclass(frozen=True)
class PartitionLag:
    """How far one flow is behind on one upstream partition."""

    topic: str
    partition: int
    log_start: int
    end_offset: int
    replicated_through: int | None
    """Upstream offset of the newest record MM2 reports as copied (offset-syncs), None if none yet."""
    lag_records: int
    lag_seconds: float


@dataclass(frozen=True)
class FlowEvidence:
    """One replication flow, as the clusters and MM2 show it."""

    name: str
    lags: tuple[PartitionLag, ...] = ()
    heartbeat_age_s: float | None = None
    """Age of the newest heartbeat that crossed the flow (None: none arrived)."""
    connector_states: dict[str, str] = field(default_factory=dict)
    """Connector -> state, with `/FAILED` tasks listed as `name#task`."""
    record_failures: float = 0.0
    record_age_ms: float | None = None
    replication_latency_ms: float | None = None

    @property
    def max_lag_records(self) -> int:
        return max((p.lag_records for p in self.lags), default=0)

    @property
    def max_lag_seconds(self) -> float:
        return max((p.lag_seconds for p in self.lags), default=0.0)


@dataclass(frozen=True)
class ParitySample:
    """One record compared on both sides at offsets MM2 says are the same record."""

    topic: str
    partition: int
    upstream_offset: int
    downstream_offset: int
    equal: bool


@dataclass(frozen=True)
class GroupActivity:
    """A consumer group on one cluster."""

    group_id: str
    members: int
    topics: tuple[str, ...]
    """Topics assigned to its members."""


@dataclass(frozen=True)
class Evidence:
    """Everything read for one gate evaluation; fields a step does not need stay empty."""

    now: float
    blue: ClusterInventory
    green: ClusterInventory | None = None
    flows: dict[str, FlowEvidence] = field(default_factory=dict)
    parity: tuple[ParitySample, ...] = ()
    blue_groups: dict[str, GroupActivity] = field(default_factory=dict)
    blue_writes: dict[str, int] | None = None
    """Records appended to each migrated blue topic during the idle window (None: not measured)."""
    known_topic_ids: dict[str, str] = field(default_factory=dict)
    """Blue topic ids recorded by earlier updates."""
    history: list[dict[str, Any]] = field(default_factory=list)
