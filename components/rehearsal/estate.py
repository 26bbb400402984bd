"""Blue's estate for a rehearsal: topics with their configs, ACLs, history and committed consumer groups."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from kafka_migration.config.clients import ClientGroup, ClientRole, OffsetReset
from kafka_migration.rehearsal.identities import Connection, client_settings

HOUR_MS = 3_600_000
"""`retention.ms` and `min.compaction.lag.ms` where they act in a run: longer than any run, so no record
the workload writes is deleted or compacted away (the checker would call it lost), only older history."""
HISTORY_VALUE_BYTES = 1024
"""Size of a history record's value (random, so compression does not shrink the segments)."""
SEEDED_SHARE = 5
"""A consumer group has read 1/`SEEDED_SHARE` of its topics' history when the rehearsal starts."""
SMALL_SEGMENTS = {"segment.bytes": "1048576", "segment.ms": "30000"}
"""Segments roll every MiB (Kafka's minimum) or 30 s, so retention and compaction find closed segments in a run."""


@dataclass(frozen=True)
class History:
    """Records a topic holds before the migration starts (MM2 must copy them too)."""

    records: int
    ages_s: tuple[float, float] = (0.0, 0.0)
    """How old the first and the last record's timestamp are when seeding starts; those between are spread evenly."""
    keys: int = 13
    """Distinct keys, `history-<n>`, cycled through."""
    tombstone_every: int = 0
    """Every n-th record is a tombstone (null value); 0: none."""

    def timestamp_ms(self, index: int, seeded_at: float) -> int:
        """Timestamp of record `index` when seeding started at epoch seconds `seeded_at`."""
        first, last = self.ages_s
        share = index / (self.records - 1) if self.records > 1 else 0.0
        return round((seeded_at - first + (first - last) * share) * 1000)


def an_hour_old_between(first_s: float, last_s: float) -> tuple[float, float]:
    """`History.ages_s` for a history whose records turn `HOUR_MS` old from `first_s` to `last_s` after seeding.

    On a topic with `retention.ms` (or `min.compaction.lag.ms`) `HOUR_MS` its segments are
    deleted (compacted) one after the other in that window, on blue and, since MM2 copies
    timestamps, on green, while every record the workload writes stays.
    """
    return HOUR_MS / 1000 - first_s, HOUR_MS / 1000 - last_s


@dataclass(frozen=True)
class TopicSeed:
    """A topic to create on blue, and its history."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    history: History = History(300)


DEFAULT_TOPICS = (
    # Retention-limited: its history is deleted segment by segment from 2.5 to 4.5 minutes after
    # seeding, when MM2 and every group (none of them slow on orders) have read it.
    TopicSeed(
        "orders",
        6,
        {**SMALL_SEGMENTS, "retention.ms": str(HOUR_MS), "max.message.bytes": "2097152"},
        History(12_000, an_hour_old_between(150, 270)),
    ),
    # The long history: fraud-check reads it slowly (rehearsal/run.py CONSUMER_MIX) and is part-way
    # through it when its wave hands it over; nothing of it expires in a run.
    TopicSeed(
        "payments", 3, {**SMALL_SEGMENTS, "retention.ms": "86400000", "compression.type": "lz4"}, History(30_000)
    ),
    # Compacted: the latest event per key is what auditors need. The history's segments become
    # cleanable from 1 to 3.5 minutes after seeding (superseded values and tombstones go, on both
    # sides); the workload's records stay uncompacted (min.compaction.lag.ms), every one is checked.
    TopicSeed(
        "audit.events",
        2,
        {
            **SMALL_SEGMENTS,
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": str(HOUR_MS),
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "1000",
        },
        History(6_000, an_hour_old_between(60, 210), keys=50, tombstone_every=7),
    ),
)


def create_topics(connection: Connection, topics: Iterable[TopicSeed]) -> None:
    """Create the topics (single-node cluster: replication factor 1)."""
    admin = AdminClient(client_settings(connection))
    futures = admin.create_topics([NewTopic(t.name, t.partitions, 1, config=t.config) for t in topics])
    for future in futures.values():
        future.result(timeout=30)


def grant_clients(connection: Connection, clients: Iterable[ClientGroup]) -> None:
    """The ACLs blue's applications have: producers write their topics, consumers read theirs and use their group.

    A producer group may also run transactions under its own name as `transactional.id`
    (the rehearsal's ledger-writer does): Write on that TransactionalId.
    """
    bindings = []
    for c in clients:
        if not c.principal:
            continue
        operation = AclOperation.WRITE if c.role is ClientRole.PRODUCER else AclOperation.READ
        for topic in c.topics:
            bindings.append(_allow(ResourceType.TOPIC, topic, c.principal, operation))
            bindings.append(_allow(ResourceType.TOPIC, topic, c.principal, AclOperation.DESCRIBE))
        if c.role is ClientRole.CONSUMER:
            bindings.append(_allow(ResourceType.GROUP, c.consumer_group_id, c.principal, AclOperation.READ))
        else:
            bindings.append(_allow(ResourceType.TRANSACTIONAL_ID, c.name, c.principal, AclOperation.WRITE))
    if bindings:
        admin = AdminClient(client_settings(connection))  # kept alive until every future resolves
        for future in admin.create_acls(bindings).values():
            future.result(timeout=30)


def _allow(rtype: ResourceType, name: str, principal: str, operation: AclOperation) -> AclBinding:
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, principal, "*", operation, AclPermissionType.ALLOW)


def produce_history(connection: Connection, topics: Iterable[TopicSeed]) -> None:
    """Write every topic's history, batched.

    Raises:
        RuntimeError: Records not acknowledged within two minutes.
    """
    producer = Producer(
        {**client_settings(connection), "enable.idempotence": True, "linger.ms": 50, "batch.size": 1_048_576}
    )
    seeded_at = time.time()
    for topic in topics:
        history = topic.history
        for i in range(history.records):
            tombstone = history.tombstone_every > 0 and (i + 1) % history.tombstone_every == 0
            producer.produce(
                topic.name,
                key=f"history-{i % history.keys}",
                value=None if tombstone else _history_value(topic.name, i),
                headers=[("seq", str(i).encode())],
                timestamp=history.timestamp_ms(i, seeded_at),
            )
            if i % 1000 == 0:
                producer.poll(0)
    left = producer.flush(120)
    if left:
        raise RuntimeError(
            f"{left} history record(s) not acknowledged by {client_settings(connection)['bootstrap.servers']}"
        )


def _history_value(topic: str, index: int) -> bytes:
    """`<topic>-history-<index>-<random hex>`, `HISTORY_VALUE_BYTES` long: not a workload record (no JSON)."""
    text = f"{topic}-history-{index}-"
    room = max(0, HISTORY_VALUE_BYTES - len(text))
    return (text + os.urandom((room + 1) // 2).hex()[:room]).encode()


def consume_and_commit(connection: Connection, group: str, topics: list[str], count: int) -> dict[tuple[str, int], int]:
    """Read `count` records as `group`, commit, and return the committed offsets."""
    consumer = Consumer(
        {
            **client_settings(connection),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    read = 0
    while read < count:
        msg = consumer.poll(1)
        if msg is not None and not msg.error():
            read += 1
    consumer.commit(asynchronous=False)
    committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(consumer.assignment(), timeout=10)}
    consumer.close()
    return committed


def commit_ends_where_uncommitted(connection: Connection, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Commit the end offset for `group` on every partition of `topics` it has no committed offset on.

    What a running `auto.offset.reset=latest` group has: a position everywhere. Without it
    its clients would start at the end when they join and skip the records producers wrote
    just before. Returns what was committed.
    """
    consumer = Consumer({**client_settings(connection), "group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(metadata.topics[t].partitions)]
        missing = [tp for tp in consumer.committed(partitions, timeout=10) if tp.offset < 0]
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in missing}
        if ends:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False)
        return ends
    finally:
        consumer.close()


def committed_offsets(connection: Connection, group: str, topic: str, partitions: int) -> dict[int, int]:
    """Partition -> committed offset of `group` on `topic` (-1001 when none)."""
    consumer = Consumer({**client_settings(connection), "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def seed(connection: Connection, clients: list[ClientGroup], topics: Iterable[TopicSeed] = DEFAULT_TOPICS) -> None:
    """A realistic blue: topics, ACLs, history, and consumer groups part-way through it.

    Each consumer group reads 1/`SEEDED_SHARE` of its topics' history and commits. A group
    with `autoOffsetReset: latest` also gets blue's end offset on the partitions where that
    left it no committed offset. On a secured blue, `connection` is the operator's (it acts
    for every group).
    """
    topics = list(topics)
    create_topics(connection, topics)
    grant_clients(connection, clients)
    produce_history(connection, topics)
    records = {t.name: t.history.records for t in topics}
    for c in clients:
        if c.role is ClientRole.CONSUMER:
            share = sum(records.get(t, 0) for t in c.topics) // SEEDED_SHARE
            consume_and_commit(connection, c.consumer_group_id, c.topics, share)
            if c.auto_offset_reset is OffsetReset.LATEST:
                commit_ends_where_uncommitted(connection, c.consumer_group_id, c.topics)
