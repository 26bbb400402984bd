"""The consumer-group handoff: pause, drain, translate, commit on the other cluster, verify.

Run by a consumer group's routing resource when its wave is switched (or rolled
back), between publishing `paused: true` and publishing the new cluster. Every wait is
bounded; a failure raises HandoffError naming the `consumer-handoff` gate, and the
caller puts the previous routing back, so a failed `pulumi up` leaves clients where
they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from evidence.topics import read_offset_syncs, watermarks
from operations.offset_search import search_translation
from planning.handoff import Direction, OffsetMove
from planning.offsets import (
    SyncHistory,
    SyncKey,
    Translation,
    nearest_sync_below,
    translate_downstream,
    translate_upstream,
)

GATE = "consumer-handoff"


class HandoffError(RuntimeError):
    """The handoff could not be completed safely; nothing was committed on the target."""

    def __init__(self, message: str) -> None:
        super().__init__(f"gate {GATE} failed: {message}")


@dataclass
class HandoffReport:
    """What a handoff did, recorded in the routing resource's outputs."""

    group_id: str
    from_cluster: str
    to_cluster: str
    committed: dict[str, int] = field(default_factory=dict)
    """`topic:partition` on the target -> offset committed there."""
    reread_bound: int = 0
    """At most this many records may be delivered again (0: exact)."""
    waited_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "groupId": self.group_id,
            "from": self.from_cluster,
            "to": self.to_cluster,
            "committed": dict(sorted(self.committed.items())),
            "rereadBound": self.reread_bound,
            "waitedSeconds": round(self.waited_s, 1),
        }


@dataclass(frozen=True)
class HandoffRequest:
    """Everything one handoff needs; built from the routing resource's inputs."""

    group_id: str
    from_alias: str
    to_alias: str
    moves: list[OffsetMove]
    client_configs: dict[str, dict[str, Any]]
    """librdkafka settings per cluster alias."""
    timeout_s: float
    exact_wait_s: float = 15.0
    """How long to wait for MM2's syncs to cover the group's last records before settling for a bounded re-read."""


def _wait_group_empty(admin: AdminClient, group_id: str, alias: str, deadline: float) -> None:
    while True:
        desc = admin.describe_consumer_groups([group_id])[group_id].result(timeout=10)
        if not desc.members:
            return
        if time.monotonic() > deadline:
            raise HandoffError(
                f"group {group_id} still has {len(desc.members)} member(s) on {alias}; its clients did not pause"
            )
        time.sleep(0.5)


def _committed(admin: AdminClient, group_id: str, topics: set[str], timeout_s: float) -> dict[tuple[str, int], int]:
    request = ConsumerGroupTopicPartitions(group_id)
    result = admin.list_consumer_group_offsets([request])[group_id].result(timeout=timeout_s)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions
        if tp.topic in topics and tp.offset >= 0 and tp.error is None
    }


def _stable_committed(
    admin: AdminClient, group_id: str, topics: set[str], deadline: float
) -> dict[tuple[str, int], int]:
    """Committed offsets that did not change over a second: the group's final position."""
    before = _committed(admin, group_id, topics, 10)
    while True:
        time.sleep(1)
        after = _committed(admin, group_id, topics, 10)
        if after == before:
            return after
        if time.monotonic() > deadline:
            raise HandoffError(f"committed offsets of {group_id} keep changing; a member is still consuming")
        before = after


def _translate(history: SyncHistory | None, direction: Direction, committed: int) -> Translation | None:
    if history is None:
        return None
    return (translate_downstream if direction is Direction.FORWARD else translate_upstream)(history, committed)


def _translate_partition(
    request: HandoffRequest, move: OffsetMove, history: SyncHistory | None, partition: int, offset: int, settle: bool
) -> Translation | None:
    """Where the group continues on the target: exact if the syncs or the records say so.

    With `settle`, falls back to the conservative position (a bounded re-read, never a
    skip); otherwise returns None so the caller waits for MM2 to catch up.
    """
    src_conf = request.client_configs[request.from_alias]
    dst_conf = request.client_configs[request.to_alias]
    low, _high = watermarks(src_conf, move.from_topic, partition)
    if offset <= low:
        # Nothing left of what the group consumed here: it starts at the target's beginning.
        return Translation(watermarks(dst_conf, move.to_topic, partition)[0], True, 0)
    forward = move.direction is Direction.FORWARD
    by_syncs = _translate(history, move.direction, offset)
    if by_syncs is not None and by_syncs.exact:
        return by_syncs
    anchor = nearest_sync_below(history, offset, forward)
    exact = search_translation(src_conf, move.from_topic, dst_conf, move.to_topic, partition, offset, anchor, 30)
    if exact is not None:
        return Translation(exact, True, 0)
    if not settle:
        return None
    if by_syncs is not None:
        return by_syncs
    start = watermarks(dst_conf, move.to_topic, partition)[0]
    return Translation(start, False, offset - low)


def hand_off(request: HandoffRequest, log: Callable[[str], None] = lambda _m: None) -> HandoffReport:
    """Move `request.group_id`'s committed position from one cluster to the other."""
    started = time.monotonic()
    deadline = started + request.timeout_s
    src_conf = request.client_configs[request.from_alias]
    dst_conf = request.client_configs[request.to_alias]
    src, dst = AdminClient(src_conf), AdminClient(dst_conf)
    report = HandoffReport(request.group_id, request.from_alias, request.to_alias)

    _wait_group_empty(src, request.group_id, request.from_alias, deadline)
    by_from = {m.from_topic: m for m in request.moves}
    committed = _stable_committed(src, request.group_id, set(by_from), deadline)
    log(f"{request.group_id}: left {request.from_alias} with {len(committed)} committed partition(s)")

    targets: dict[tuple[str, int], Translation] = {}
    exact_deadline = min(deadline, time.monotonic() + request.exact_wait_s)
    while True:
        syncs = {
            (alias, topic): read_offset_syncs(request.client_configs[alias], topic, 15)
            for alias, topic in {(m.syncs_on, m.syncs_topic) for m in request.moves}
        }
        settle = time.monotonic() > exact_deadline
        targets, missing = {}, []
        for (topic, partition), offset in committed.items():
            move = by_from[topic]
            history = syncs[(move.syncs_on, move.syncs_topic)].get(SyncKey(move.sync_key_topic, partition))
            t = _translate_partition(request, move, history, partition, offset, settle)
            if t is None:
                missing.append(f"{topic}:{partition}@{offset}")
            else:
                targets[(move.to_topic, partition)] = t
        if not missing:
            break
        if time.monotonic() > deadline:
            raise HandoffError(f"cannot place {', '.join(missing)} on {request.to_alias}; MM2 has not copied that far")
        time.sleep(1)

    _wait_group_empty(dst, request.group_id, request.to_alias, deadline)
    tps = [TopicPartition(topic, p, t.offset) for (topic, p), t in sorted(targets.items())]
    for tp in tps:
        end = watermarks(dst_conf, tp.topic, tp.partition)[1]
        if tp.offset > end:
            raise HandoffError(f"translated {tp.topic}:{tp.partition}@{tp.offset} is past the end offset {end}")
    if tps:
        dst.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(request.group_id, tps)])[
            request.group_id
        ].result(timeout=30)
        written = _committed(dst, request.group_id, {tp.topic for tp in tps}, 30)
        for tp in tps:
            if written.get((tp.topic, tp.partition)) != tp.offset:
                raise HandoffError(
                    f"{tp.topic}:{tp.partition} reads back {written.get((tp.topic, tp.partition))}, not {tp.offset}"
                )
    report.committed = {f"{topic}:{p}": t.offset for (topic, p), t in targets.items()}
    report.reread_bound = sum(t.reread_bound for t in targets.values())
    report.waited_s = time.monotonic() - started
    log(
        f"{request.group_id}: committed {len(tps)} offset(s) on {request.to_alias}, re-read bound {report.reread_bound}"
    )
    return report
