"""MirrorMaker 2 on a real Connect worker between two real clusters, and what our code assumes of it."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_migration.config.model import Strategy
from kafka_migration.config.settings import Mm2Settings
from kafka_migration.evidence.topics import read_checkpoints, read_offset_syncs
from kafka_migration.local_runtime import connect
from kafka_migration.planning.mm2 import Endpoint, FlowSpec, connector_configs
from kafka_migration.planning.naming import checkpoints_topic, offset_syncs_topic
from kafka_migration.planning.offsets import SyncKey, translate_downstream
from tests.helpers import create_topic, wait_for

pytestmark = pytest.mark.integration

RECORDS = 300


def test_records_and_group_offsets_cross_from_a_to_b(kafka_cluster, connect_worker) -> None:
    blue, green = kafka_cluster("A"), kafka_cluster("B")
    worker = connect_worker("B", green)
    create_topic(blue.bootstrap_servers, "orders", 3)

    producer = Producer({"bootstrap.servers": blue.bootstrap_servers, "enable.idempotence": True})
    for i in range(RECORDS):
        producer.produce("orders", key=f"k{i % 11}", value=f"v{i}", headers=[("seq", str(i).encode())])
    producer.flush()

    # A consumer group on blue reads 120 records and commits.
    group = "billing"
    consumer = Consumer(
        {
            "bootstrap.servers": blue.bootstrap_servers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["orders"])
    read = 0
    while read < 120:
        msg = consumer.poll(1)
        if msg is not None and not msg.error():
            read += 1
    consumer.commit(asynchronous=False)
    committed = {tp.partition: tp.offset for tp in consumer.committed([TopicPartition("orders", p) for p in range(3)])}
    consumer.close()

    flow = FlowSpec(
        source=Endpoint("A", blue.bootstrap_servers),
        target=Endpoint("B", green.bootstrap_servers),
        strategy=Strategy.BIDIRECTIONAL,
        topics=("orders",),
        topics_exclude=(),
        groups=(group,),
        mm2=Mm2Settings(
            internal_topic_replication_factor=1, emit_checkpoints_interval_seconds=1, refresh_groups_interval_seconds=1
        ),
    )
    rest = connect.rest_client(worker)
    for name, config in connector_configs(flow, replication_factor=1).items():
        rest.put_config(name, config)

    # Every record arrives on green as A.orders, same partition, same order, keys and headers intact.
    mirrored: dict[int, list[tuple[bytes, bytes, list]]] = {0: [], 1: [], 2: []}
    reader = Consumer(
        {"bootstrap.servers": green.bootstrap_servers, "group.id": "verify", "auto.offset.reset": "earliest"}
    )
    wait_for(lambda: "A.orders" in reader.list_topics(timeout=5).topics, 60, "A.orders on green")
    reader.subscribe(["A.orders"])
    deadline = time.monotonic() + 90
    while sum(map(len, mirrored.values())) < RECORDS and time.monotonic() < deadline:
        msg = reader.poll(1)
        if msg is not None and not msg.error():
            mirrored[msg.partition()].append((msg.key(), msg.value(), msg.headers()))
    reader.close()
    source = Consumer(
        {"bootstrap.servers": blue.bootstrap_servers, "group.id": "verify-src", "auto.offset.reset": "earliest"}
    )
    source.subscribe(["orders"])
    original: dict[int, list[tuple[bytes, bytes, list]]] = {0: [], 1: [], 2: []}
    deadline = time.monotonic() + 60
    while sum(map(len, original.values())) < RECORDS and time.monotonic() < deadline:
        msg = source.poll(1)
        if msg is not None and not msg.error():
            original[msg.partition()].append((msg.key(), msg.value(), msg.headers()))
    source.close()
    assert sum(map(len, mirrored.values())) == RECORDS
    for p in range(3):
        assert [(k, v) for k, v, _ in mirrored[p]] == [(k, v) for k, v, _ in original[p]]
        assert all(("seq", h[0][1]) == h[0] for _, _, h in mirrored[p])
        assert [h for _, _, h in mirrored[p]] == [h for _, _, h in original[p]]

    # Offset-syncs are readable with our decoder (topic on blue), and our translation of the
    # group's committed offsets agrees with the checkpoints MM2 emitted on green.
    conf_a = {"bootstrap.servers": blue.bootstrap_servers}
    conf_b = {"bootstrap.servers": green.bootstrap_servers}

    def checkpoints_complete():
        cps = [c for c in read_checkpoints(conf_b, checkpoints_topic("A"), 10) if c.group == group]
        latest = {c.partition: c for c in cps}
        return (
            latest
            if all(latest.get(p) and latest[p].upstream == committed[p] for p in committed if committed[p] > 0)
            else None
        )

    latest = wait_for(checkpoints_complete, 90, "checkpoints of the billing group on green")
    syncs = read_offset_syncs(conf_a, offset_syncs_topic("B"), 10)
    assert {k.topic for k in syncs} == {"orders"}
    for p, offset in committed.items():
        if offset <= 0:
            continue
        ours = translate_downstream(syncs[SyncKey("orders", p)], offset)
        assert ours is not None
        assert latest[p].topic == "A.orders"  # checkpoints name the topic as it is on the target
        # A fresh remote topic keeps offsets 1:1, so `offset` is the ideal translation. MM2's
        # checkpoint is conservative (its sync store thins old syncs out); ours reads every
        # sync, so it re-reads less, and neither ever skips a record.
        assert latest[p].downstream <= ours.offset <= offset, (p, offset, ours, latest[p])
        assert offset - ours.offset == ours.reread_bound

    # Once the group has drained its partitions, the last record's sync arrives (MM2 flushes
    # delayed syncs at its next offset commit) and the handover is exact.
    ends = {p: len(original[p]) for p in range(3)}
    drained = Consumer({"bootstrap.servers": blue.bootstrap_servers, "group.id": group, "enable.auto.commit": False})
    drained.commit(offsets=[TopicPartition("orders", p, end) for p, end in ends.items()], asynchronous=False)
    drained.close()

    def exact_everywhere():
        current = read_offset_syncs(conf_a, offset_syncs_topic("B"), 10)
        result = {p: translate_downstream(current[SyncKey("orders", p)], end) for p, end in ends.items()}
        return result if all(t is not None and t.exact for t in result.values()) else None

    exact = wait_for(exact_everywhere, 60, "offset-syncs covering the last record of every partition")
    assert {p: t.offset for p, t in exact.items()} == ends
