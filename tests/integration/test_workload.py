"""The rehearsal workload on two real clusters: a manual handoff A -> B, judged by the checker.

No MirrorMaker here, so the producer moves first: the consumer group then drains A,
pauses (leaves A), gets offsets committed on B and resumes there. A correct handoff loses
nothing; one that commits past B's first records must be caught by the checker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.local_runtime.kafka import KafkaNode
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.checker import CheckResult, LedgerData, check
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import ProducerClient
from kafka_migration.rehearsal.routed_client import write_route
from kafka_migration.rehearsal.workload import ConsumerSpec, Workload
from tests.helpers import create_topic, wait_for

pytestmark = pytest.mark.integration

PARTITIONS = 3
WRITER = ClientGroup(name="orders-writer", role=ClientRole.PRODUCER, wave=1, topics=["orders"])
BILLING = ClientGroup(name="billing", role=ClientRole.CONSUMER, wave=1, topics=["orders"])


def route(client: ClientGroup, node: KafkaNode, alias: str, paused: bool = False) -> RoutingDocument:
    consumer = client.role is ClientRole.CONSUMER
    return RoutingDocument(
        client_group=client.name,
        role=client.role,
        cluster=alias,
        bootstrap_servers=node.bootstrap_servers,
        security_protocol="PLAINTEXT",
        topics={"orders": "orders"},
        group_id=client.consumer_group_id if consumer else None,
        paused=paused,
    )


def end_offsets(node: KafkaNode) -> dict[int, int]:
    probe = Consumer({"bootstrap.servers": node.bootstrap_servers, "group.id": "probe"})
    try:
        return {p: probe.get_watermark_offsets(TopicPartition("orders", p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        probe.close()


def committed(node: KafkaNode, group: str) -> dict[int, int]:
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition("orders", p) for p in range(PARTITIONS)])
    result = admin.list_consumer_group_offsets([request])[group].result(timeout=10)
    return {tp.partition: max(tp.offset, 0) for tp in result.topic_partitions}


def members(node: KafkaNode, group: str) -> int:
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers})
    return len(admin.describe_consumer_groups([group])[group].result(timeout=10).members)


def commit(node: KafkaNode, group: str, offsets: dict[int, int]) -> None:
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition("orders", p, o) for p, o in offsets.items()])
    admin.alter_consumer_group_offsets([request])[group].result(timeout=10)


def consumed_on(ledger: Ledger, cluster: str) -> int:
    return sum(1 for c in ledger.snapshot().consumed if c.cluster == cluster)


def rehearse_handoff(kafka_cluster, routing: Path, skip: int) -> tuple[CheckResult, LedgerData]:
    """Run the workload on A, hand both groups over to B (committing `skip` records past B's start), check."""
    blue, green = kafka_cluster("A"), kafka_cluster("B")
    for node in (blue, green):
        create_topic(node.bootstrap_servers, "orders", PARTITIONS)
    write_route(routing, route(WRITER, blue, "A"))
    write_route(routing, route(BILLING, blue, "A"))

    with Workload([WRITER, BILLING], routing, total_rate_per_s=20, drain_s=30) as workload:
        ledger = workload.ledger
        wait_for(lambda: consumed_on(ledger, "A") >= 30, 60, "billing consuming on A")

        # Producers first: without MM2 nothing else would carry A's later records to B.
        start_on_b = end_offsets(green)
        write_route(routing, route(WRITER, green, "B"))
        wait_for(lambda: any(p.cluster == "B" for p in ledger.snapshot().produced), 30, "a record acknowledged on B")
        ends_on_a = end_offsets(blue)  # final: the producer flushed A before it moved
        wait_for(lambda: committed(blue, "billing") == ends_on_a, 60, "billing drained A")

        write_route(routing, route(BILLING, blue, "A", paused=True))
        wait_for(lambda: members(blue, "billing") == 0, 60, "billing left its group on A")
        if skip:
            wait_for(
                lambda: all(e >= skip for e in end_offsets(green).values()), 30, f"{skip} records per partition on B"
            )
        commit(green, "billing", {p: o + skip for p, o in start_on_b.items()})
        write_route(routing, route(BILLING, green, "B"))
        wait_for(lambda: consumed_on(ledger, "B") >= 30, 60, "billing consuming on B")

    data = ledger.snapshot()
    return check(data, [WRITER, BILLING]), data


def test_a_clean_handoff_loses_and_duplicates_nothing(kafka_cluster, tmp_path) -> None:
    result, data = rehearse_handoff(kafka_cluster, tmp_path / "routing", skip=0)

    row = result.row("billing", "orders")
    assert row.produced_by_cluster["A"] >= 30 and row.produced_by_cluster["B"] >= 30, row
    assert row.lost == 0 and row.lost_by_cluster == {}, row
    assert row.consumed == row.produced, row
    assert row.duplicates == 0 and row.order_violations == 0, row
    assert result.clean
    assert {c.cluster for c in data.consumed} == {"A", "B"}
    assert data.attempts == len(data.produced)  # no delivery failed, so nothing was re-sent
    assert len(data.pauses) == 1 and 0 < result.totals.max_consumer_pause_s < 60


def test_a_handoff_committing_past_greens_first_records_is_caught(kafka_cluster, tmp_path) -> None:
    skip = 5
    result, data = rehearse_handoff(kafka_cluster, tmp_path / "routing", skip=skip)

    row = result.row("billing", "orders")
    skipped = {p.id for p in data.produced if p.cluster == "B" and p.offset < skip}
    assert row.lost == len(skipped) == skip * PARTITIONS, row
    assert row.lost_by_cluster == {"B": skip * PARTITIONS}
    assert set(row.lost_sample) <= skipped
    assert row.duplicates == 0
    assert not result.clean


def test_records_whose_delivery_failed_are_resent_until_acknowledged(kafka_cluster, tmp_path) -> None:
    blue = kafka_cluster("A")
    routing = tmp_path / "routing"
    write_route(routing, route(WRITER, blue, "A"))  # `orders` does not exist yet: every delivery fails
    ledger = Ledger()
    producer = ProducerClient(WRITER.name, routing, ["k0"], 20, ledger, message_timeout_ms=1000)
    producer.start()
    try:
        wait_for(lambda: ledger.snapshot().attempts >= 60, 30, "deliveries failing and being re-sent")
        assert not ledger.snapshot().produced
        create_topic(blue.bootstrap_servers, "orders", PARTITIONS)
        wait_for(lambda: len(ledger.snapshot().produced) >= 60, 60, "records acknowledged once the topic exists")
    finally:
        producer.stop()

    data = ledger.snapshot()
    assert producer.error is None
    assert data.attempts > len(data.produced)
    assert sorted(p.seq for p in data.produced) == list(range(len(data.produced)))  # each seq acknowledged once


def test_a_fenced_static_member_is_replaced_and_reads_on(kafka_cluster, tmp_path) -> None:
    """A static member fenced by another with its `group.instance.id` gets a fatal error: the client starts again.

    The campaign's `blue-broker-pause` met this after a frozen broker resumed (librdkafka:
    "Static consumer fenced by other consumer with same group.instance.id", its own retried
    JoinGroup being the other); a fenced consumer never reads again, so every later record was lost.
    Here the other member is real, which fences the client every time.
    """
    blue = kafka_cluster("A")
    create_topic(blue.bootstrap_servers, "orders", PARTITIONS)
    routing = tmp_path / "routing"
    write_route(routing, route(WRITER, blue, "A"))
    write_route(routing, route(BILLING, blue, "A"))

    specs = {BILLING.name: ConsumerSpec(static=True)}
    with Workload([WRITER, BILLING], routing, total_rate_per_s=100, drain_s=60, consumer_specs=specs) as workload:
        ledger = workload.ledger
        wait_for(lambda: consumed_on(ledger, "A") >= 100, 60, "billing consuming on A")
        intruder = Consumer(
            {
                "bootstrap.servers": blue.bootstrap_servers,
                "group.id": BILLING.consumer_group_id,
                "group.instance.id": BILLING.name,  # the workload's static member's id
                "enable.auto.commit": False,  # it commits nothing: billing's offsets stay billing's
            }
        )
        try:
            intruder.subscribe(["orders"])
            wait_for(lambda: intruder.poll(0.5) is not None and bool(intruder.assignment()), 60, "the intruder joined")
        finally:
            intruder.close()
        fenced = len(ledger.snapshot().produced)
        wait_for(lambda: consumed_on(ledger, "A") >= fenced + 500, 90, "billing reading again after it was fenced")

    result = check(ledger.snapshot(), [WRITER, BILLING])
    row = result.row("billing", "orders")
    assert row.lost == 0 and row.consumed == row.produced, row
    # A fenced instance still fetches, but none of its commits lands: a handoff would start far back.
    assert committed(blue, BILLING.consumer_group_id) == end_offsets(blue), "billing's offsets committed to the end"
