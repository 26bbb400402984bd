"""A consumer group as one cluster sees it: members and committed offsets."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from kafka_migration.planning.handoff_decision import GroupView


def committed_offsets(
    admin: AdminClient, group_id: str, topics: Iterable[str], timeout_s: float
) -> dict[tuple[str, int], int]:
    """`(topic, partition) -> committed offset` of `group_id` on `topics`; partitions never committed are absent."""
    wanted = set(topics)
    request = ConsumerGroupTopicPartitions(group_id)
    result = admin.list_consumer_group_offsets([request], request_timeout=timeout_s)[group_id].result(timeout=timeout_s)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions
        if tp.topic in wanted and tp.offset >= 0 and tp.error is None
    }


def group_view(conf: dict[str, Any], group_id: str, topics: Iterable[str], timeout_s: float) -> GroupView:
    """Members (static ones named) and committed offsets of `group_id` on the cluster of `conf`."""
    admin = AdminClient(conf)
    described = admin.describe_consumer_groups([group_id], request_timeout=timeout_s)[group_id].result(
        timeout=timeout_s
    )
    static = tuple(sorted(m.group_instance_id for m in described.members if m.group_instance_id))
    return GroupView(len(described.members), static, committed_offsets(admin, group_id, topics, timeout_s))


COORDINATOR_MOVING = frozenset(
    {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE}
)
"""Group coordinator answers that mean "ask again": the coordinator is loading, moving or not yet elected."""


def commit_offsets(conf: dict[str, Any], group_id: str, offsets: dict[tuple[str, int], int], timeout_s: float) -> None:
    """Commit `offsets` for `group_id` (which must have no member on that cluster) and check they read back.

    The admin API reports failures per partition inside a successful result (a group
    coordinator still loading answers COORDINATOR_LOAD_IN_PROGRESS): retriable ones are
    retried until `timeout_s`, anything else raises.
    """
    admin = AdminClient(conf)
    pending = dict(offsets)
    deadline = time.monotonic() + timeout_s
    while pending:
        tps = [TopicPartition(topic, partition, offset) for (topic, partition), offset in sorted(pending.items())]
        result = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id, tps)])[group_id]
        failed = {
            (tp.topic, tp.partition): tp.error for tp in result.result(timeout=timeout_s).topic_partitions if tp.error
        }
        fatal = {tp: err for tp, err in failed.items() if not (err.retriable() or err.code() in COORDINATOR_MOVING)}
        if fatal or (failed and time.monotonic() > deadline):
            raise RuntimeError(f"committing offsets of {group_id} failed: {fatal or failed}")
        pending = {tp: pending[tp] for tp in failed}
        if pending:
            time.sleep(0.5)
    written = committed_offsets(admin, group_id, {t for t, _p in offsets}, timeout_s)
    wrong = {tp: written.get(tp) for tp, offset in offsets.items() if written.get(tp) != offset}
    if wrong:
        raise RuntimeError(f"committed offsets of {group_id} read back as {wrong}, not {offsets}")
