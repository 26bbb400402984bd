"""What the gates judge: plain data read from blue, green and MM2 (see evidence/collect.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka_migration.planning.cluster_inventory import ClusterInventory


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
    """What the data-parity gate compared on one partition of one flow.

    Where to read and what the records show: planning/parity_comparison.py; the reads: evidence/parity.py.
    """

    flow: str
    topic: str
    """The topic on the flow's source; its copy on the target is `remote_topic` of it."""
    partition: int
    compared: int = 0
    """Records compared on both sides (key, value, headers, timestamp), a differing one included."""
    repeated_copies: int = 0
    """Copies MM2 delivered again (at least once), skipped."""
    compacted_away: int = 0
    """Records of a compacted topic on one side only (each cluster compacts on its own), skipped."""
    difference: str | None = None
    """The first record of the target that is not the copy it should be."""
    unsampled: str | None = None
    """When nothing was compared: `empty` (no committed record on the source) or why not (the gate fails)."""


@dataclass(frozen=True)
class GroupActivity:
    """A consumer group on one cluster."""

    group_id: str
    members: int
    topics: tuple[str, ...]
    """Topics assigned to its members."""


@dataclass(frozen=True)
class SourceGap:
    """Upstream offsets a flow skipped that are not known to be only transaction markers, aborted or compacted records.

    See planning/skipped_offsets.py for how they are found.
    """

    flow: str
    source: str
    """The cluster the flow reads (`blue`, or `green` for B->A)."""
    topic: str
    partition: int
    first: int
    last: int
    skipped: int
    """How many of the offsets first..last MM2 did not copy (the others it wrote downstream in between)."""
    downstream: tuple[int, int]
    """Downstream offsets of the offset-syncs on either side: green's side of the range."""
    log_start: int
    verifiable: bool
    """The range is still on the source (at or above its log start): a read_committed reader checked it."""
    missing: int | None = None
    """Verifiable: committed records in the range that MM2 did not copy; None when it could not be read back."""


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
    source_gaps: tuple[SourceGap, ...] = ()
    """What the active flows skipped on their source that was not shown harmless (source-intact)."""
    source_covered: dict[str, dict[str, int]] = field(default_factory=dict)
    """Flow -> `topic:partition` -> newest synced upstream offset the source-intact check looked through."""
