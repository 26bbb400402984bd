"""Blue's estate for a rehearsal: topics with their configs, ACLs, history and committed consumer groups."""

from __future__ import annotations

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

from config.model import ClientGroup, ClientRole, OffsetReset


@dataclass(frozen=True)
class TopicSeed:
    """A topic to create on blue."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


DEFAULT_TOPICS = (
    TopicSeed("orders", 6, {"retention.ms": "604800000", "max.message.bytes": "2097152"}),
    TopicSeed("payments", 3, {"retention.ms": "86400000", "compression.type": "lz4"}),
    # Compacted: the latest event per key is what auditors need. Segments roll rarely, so
    # nothing is compacted away during a rehearsal and every record can be checked.
    TopicSeed("audit.events", 2, {"cleanup.policy": "compact", "min.compaction.lag.ms": "3600000"}),
)


def create_topics(bootstrap: str, topics: Iterable[TopicSeed]) -> None:
    """Create the topics (single-node cluster: replication factor 1)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t.name, t.partitions, 1, config=t.config) for t in topics])
    for future in futures.values():
        future.result(timeout=30)


def grant_clients(bootstrap: str, clients: Iterable[ClientGroup]) -> None:
    """The ACLs blue's applications have: producers write their topics, consumers read theirs and use their group."""
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
    if bindings:
        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until every future resolves
        for future in admin.create_acls(bindings).values():
            future.result(timeout=30)


def _allow(rtype: ResourceType, name: str, principal: str, operation: AclOperation) -> AclBinding:
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, principal, "*", operation, AclPermissionType.ALLOW)


def produce_history(bootstrap: str, topics: Iterable[str], records: int) -> None:
    """Records written before the migration starts (MM2 must copy this history too)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(records):
        for topic in topics:
            producer.produce(
                topic, key=f"history-{i % 13}", value=f"{topic}-history-{i}", headers=[("seq", str(i).encode())]
            )
        if i % 500 == 0:
            producer.poll(0)
    producer.flush(60)


def consume_and_commit(bootstrap: str, group: str, topics: list[str], count: int) -> dict[tuple[str, int], int]:
    """Read `count` records as `group`, commit, and return the committed offsets."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
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


def commit_ends_where_uncommitted(bootstrap: str, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Commit the end offset for `group` on every partition of `topics` it has no committed offset on.

    What a running `auto.offset.reset=latest` group has: a position everywhere. Without it
    its clients would start at the end when they join and skip the records producers wrote
    just before. Returns what was committed.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
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


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """Partition -> committed offset of `group` on `topic` (-1001 when none)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def seed(
    bootstrap: str, clients: list[ClientGroup], topics: Iterable[TopicSeed] = DEFAULT_TOPICS, history: int = 300
) -> None:
    """A realistic blue: topics, ACLs, history, and consumer groups part-way through it.

    A consumer group with `autoOffsetReset: latest` also gets blue's end offset on the
    partitions where half the history left it no committed offset.
    """
    topics = list(topics)
    create_topics(bootstrap, topics)
    grant_clients(bootstrap, clients)
    produce_history(bootstrap, [t.name for t in topics], history)
    for c in clients:
        if c.role is ClientRole.CONSUMER:
            consume_and_commit(bootstrap, c.consumer_group_id, c.topics, history // 2)
            if c.auto_offset_reset is OffsetReset.LATEST:
                commit_ends_where_uncommitted(bootstrap, c.consumer_group_id, c.topics)
