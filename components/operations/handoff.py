"""The consumer-group handoff loop: read a snapshot, decide, act, read again.

Run by a consumer group's routing resource when its wave is switched (or rolled back).
The decisions are `planning.handoff_decision.decide`'s; this module only reads what is
true (the published document, the group on both clusters, partitions, offset-syncs of
the current replication, records where syncs are too sparse) and carries out the one
action decided. Nothing is remembered between turns, so a later `pulumi up` after a
crash resumes from what the clusters and the document say. Every wait is bounded; a
refusal or a timeout raises HandoffError naming the `consumer-handoff` gate. Before
every action the engine must still be there (`require_engine`): a provider whose
`pulumi up` was killed changes nothing more.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kafka_migration.config.clients import OffsetReset
from kafka_migration.evidence.groups import commit_offsets, group_view
from kafka_migration.evidence.topics import partition_watermarks, read_offset_syncs
from kafka_migration.operations.engine_watch import EngineGone, engine_alive, require_engine
from kafka_migration.operations.offset_search import search
from kafka_migration.planning.handoff_decision import (
    Commit,
    Document,
    Done,
    HandoffSnapshot,
    Publish,
    Refuse,
    TopicPartition,
    Wait,
    decide,
    document_content,
    reread_bound,
)
from kafka_migration.planning.handoff_offsets import Direction, OffsetMove
from kafka_migration.planning.offsets import SyncHistory, SyncKey
from kafka_migration.planning.placement import (
    Placement,
    SearchRequest,
    Watermark,
    placement_from_search,
    plan_placement,
)

GATE = "consumer-handoff"
FAULT_HOLD_ENV = "KAFKAMIG_FAULT_HOLD_AFTER"
"""Fault injection (crash tests, the rehearsal's fault campaign): `<point>:<marker file>` makes the handoff
write the marker after reaching `<point>` (pause, commit, publish) and then hold until its engine is killed."""
READ_TIMEOUT_S = 15.0
STABLE_FOR_S = 1.0
"""Committed offsets unchanged over this long (with no member) are final."""


class HandoffError(RuntimeError):
    """The handoff could not be completed safely."""

    def __init__(self, message: str) -> None:
        super().__init__(f"gate {GATE} failed: {message}")


class DocumentSink(Protocol):
    """Where a client group's routing document is published (a file, a ConfigMap, ...)."""

    def read(self) -> Document | None:
        """The document as the clients read it now, or None."""

    def write(self, document: Document) -> None:
        """Publish `document`, atomically."""


@dataclass
class HandoffReport:
    """What a handoff did, recorded in the routing resource's outputs."""

    group_id: str
    from_cluster: str
    to_cluster: str
    committed: dict[str, int] = field(default_factory=dict)
    """`topic:partition` on the target -> offset committed there."""
    reread_bound: int | None = None
    """At most this many records are read again (0: exact); None when no bound is known."""
    basis: dict[str, int] = field(default_factory=dict)
    """How many partitions were placed by each method (`planning.placement.Basis`)."""
    waited_s: float = 0.0
    resumed: bool = False
    """Completed by an earlier, interrupted update: this one found the document already published."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "groupId": self.group_id,
            "from": self.from_cluster,
            "to": self.to_cluster,
            "committed": dict(sorted(self.committed.items())),
            "basis": dict(sorted(self.basis.items())),
            "waitedSeconds": round(self.waited_s, 1),
            "resumed": self.resumed,
        }
        if self.reread_bound is not None:
            body["rereadBound"] = self.reread_bound
        return body


@dataclass(frozen=True)
class HandoffRequest:
    """Everything one handoff needs; built from the routing resource's inputs."""

    group_id: str
    from_alias: str
    to_alias: str
    moves: list[OffsetMove]
    client_configs: dict[str, dict[str, Any]]
    """librdkafka settings per cluster alias."""
    target: Document
    """The document that routes the group to `to_alias`."""
    reset: OffsetReset
    timeout_s: float
    exact_wait_s: float = 15.0
    """How long to wait for MM2 to copy the group's last records before settling for a bounded re-read."""


def read_snapshot(request: HandoffRequest, published: Document | None, settle: bool) -> HandoffSnapshot:
    """What is true now about the handoff of `request` (placements only once the group is drained and pinned)."""
    src, dst = request.client_configs[request.from_alias], request.client_configs[request.to_alias]
    from_topics, to_topics = {m.from_topic for m in request.moves}, {m.to_topic for m in request.moves}
    started = time.monotonic()
    source = group_view(src, request.group_id, from_topics, READ_TIMEOUT_S)
    destination = group_view(dst, request.group_id, to_topics, READ_TIMEOUT_S)
    source_partitions = partition_watermarks(src, from_topics, READ_TIMEOUT_S)
    destination_partitions = partition_watermarks(dst, to_topics, READ_TIMEOUT_S)
    stable, placements = True, {}
    if published and published.get("paused") and not source.members:
        time.sleep(max(0.0, STABLE_FOR_S - (time.monotonic() - started)))
        again = group_view(src, request.group_id, from_topics, READ_TIMEOUT_S)
        stable = again.committed == source.committed and not again.members
        if stable and set(source_partitions) <= set(source.committed):
            placements = _placements(request, source.committed, source_partitions, destination_partitions)
    return HandoffSnapshot(
        group_id=request.group_id,
        from_alias=request.from_alias,
        to_alias=request.to_alias,
        published=published,
        target=request.target,
        moves=tuple(request.moves),
        reset=request.reset,
        source=source,
        destination=destination,
        source_stable=stable,
        source_partitions=source_partitions,
        destination_partitions=destination_partitions,
        placements=placements,
        settle=settle,
    )


def _placements(
    request: HandoffRequest,
    committed: dict[TopicPartition, int],
    source_partitions: dict[TopicPartition, Watermark],
    destination_partitions: dict[TopicPartition, Watermark],
) -> dict[TopicPartition, Placement]:
    """Where the group continues on the target, for every partition it reads on the source."""
    syncs: dict[tuple[str, str], dict[SyncKey, SyncHistory]] = {
        (alias, topic): read_offset_syncs(request.client_configs[alias], topic, READ_TIMEOUT_S)
        for alias, topic in sorted({(m.syncs_on, m.syncs_topic) for m in request.moves})
    }
    by_from = {m.from_topic: m for m in request.moves}
    src, dst = request.client_configs[request.from_alias], request.client_configs[request.to_alias]
    placements: dict[TopicPartition, Placement] = {}
    for (topic, partition), window in sorted(source_partitions.items()):
        move = by_from[topic]
        target_window = destination_partitions.get((move.to_topic, partition))
        if target_window is None:
            continue  # decide() waits for MM2 to create the partition
        history = syncs[(move.syncs_on, move.syncs_topic)].get(SyncKey(move.sync_key_topic, partition))
        forward = move.direction is Direction.FORWARD
        planned = plan_placement(committed[(topic, partition)], history, forward, window, target_window)
        if isinstance(planned, SearchRequest):
            found = search(src, topic, dst, move.to_topic, partition, planned, READ_TIMEOUT_S)
            planned = placement_from_search(planned, found)
        placements[(topic, partition)] = planned
    return placements


def _report(request: HandoffRequest, snapshot: HandoffSnapshot, started: float, resumed: bool) -> HandoffReport:
    to_topics = {m.to_topic for m in request.moves}
    basis: dict[str, int] = {}
    for placement in snapshot.placements.values():
        basis[placement.basis.value] = basis.get(placement.basis.value, 0) + 1
    return HandoffReport(
        group_id=request.group_id,
        from_cluster=request.from_alias,
        to_cluster=request.to_alias,
        committed={f"{t}:{p}": o for (t, p), o in snapshot.destination.committed.items() if t in to_topics},
        reread_bound=None if resumed else reread_bound(snapshot.placements),
        basis=basis,
        waited_s=time.monotonic() - started,
        resumed=resumed,
    )


def hand_off(
    request: HandoffRequest, sink: DocumentSink, log: Callable[[str], None] = lambda _m: None
) -> HandoffReport:
    """Move `request.group_id` to `request.to_alias` and publish its document there; resumes where a crash left it."""
    started = time.monotonic()
    deadline = started + request.timeout_s
    settle_at: float | None = None
    acted = False
    while True:
        settle = settle_at is not None and time.monotonic() > settle_at
        snapshot = read_snapshot(request, sink.read(), settle)
        if snapshot.placements and settle_at is None:
            settle_at = time.monotonic() + request.exact_wait_s
        action = decide(snapshot)
        if isinstance(action, Done):
            return _report(request, snapshot, started, resumed=not acted)
        if isinstance(action, Refuse):
            raise HandoffError(action.why)
        if isinstance(action, Wait):
            if time.monotonic() > deadline:
                raise HandoffError(f"gave up after {request.timeout_s:.0f}s: {action.why}")
            time.sleep(0.5)
            continue
        log(f"{request.group_id}: {action.why}")
        require_engine(action.why)
        acted = True
        if isinstance(action, Commit):
            commit_offsets(request.client_configs[action.cluster], request.group_id, action.offsets, READ_TIMEOUT_S)
            _fault_point("commit" if action.cluster == request.to_alias else "pin")
        elif isinstance(action, Publish):
            sink.write(action.document)
            if document_content(action.document) == document_content(request.target):
                _fault_point("publish")
                return _report(request, snapshot, started, resumed=False)
            _fault_point("pause")


def _fault_point(point: str) -> None:
    """Hold here until the engine is gone when `KAFKAMIG_FAULT_HOLD_AFTER` names this point."""
    spec = os.environ.get(FAULT_HOLD_ENV, "")
    name, _, marker = spec.partition(":")
    if name != point:
        return
    Path(marker).write_text(point)
    while engine_alive():
        time.sleep(0.2)
    raise EngineGone(f"the step after {point}")
