"""`data-parity` compares every partition of every topic, record by record, also between MM2's offset-syncs.

Both flows of the bidirectional strategy are sampled in the bidirectional phase walk.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from kafka_migration.config.model import Strategy
from kafka_migration.evidence import parity
from kafka_migration.evidence.parity import FlowSides, sample_flow
from kafka_migration.planning.cluster_inventory import TopicInfo
from kafka_migration.planning.naming import offset_syncs_topic
from kafka_migration.planning.offsets import OffsetSync, SyncKey, encode_sync
from tests.helpers import create_topic, wait_for
from tests.integration.conftest import green_bootstrap
from tests.integration.estate import PARTITIONS, produce, wait_until_copied

pytestmark = pytest.mark.integration
GATE_WAIT_S = 120
SAMPLE = 50
"""Records compared per partition: more than any partition of the estate holds, so every record is compared."""


def test_every_partition_sampled_and_records_between_syncs_compared(walk) -> None:
    stack, config = walk.make("one-way")
    # MM2's own default: an offset-sync every 100 records at most, so most records lie between syncs.
    stack.configure(
        {
            "gates": {**config["gates"], "dataParitySample": SAMPLE},
            "mm2": {**config["mm2"], "offsetLagMax": 100},
        }
    )
    green = green_bootstrap(config)
    for phase in ("blue-only", "green-provisioned", "replicating"):
        stack.goto(phase)
        stack.up_when_gates_pass(GATE_WAIT_S)
    wait_until_copied(walk.blue.bootstrap_servers, green)

    # A record on green's orders:0 that MM2 did not write, then one MM2 copies after it: green's
    # partition is no longer a copy of blue's, though every record at an offset-sync still is.
    produce(green, "orders", 0, "not from blue")
    produce(walk.blue.bootstrap_servers, "orders", 0, "copied after the intruder")
    blue_ends = wait_until_copied(walk.blue.bootstrap_servers, green)

    stack.goto("consumers-switched", 0, 1)
    message = ""
    deadline = time.monotonic() + GATE_WAIT_S
    while "data-parity" not in message:
        assert time.monotonic() < deadline, f"data-parity never refused the step: {message}"
        with pytest.raises(Exception) as refusal:
            stack.up()
        message = str(refusal.value)
    assert "A->B orders:0" in message, message

    # Forced by an operator, the step goes ahead and the verdict records what was compared.
    stack.configure({"force": {"data-parity": "test: the intruder on green is known"}})
    stack.up_when_gates_pass(GATE_WAIT_S)
    verdict = {g["gate"]: g for g in stack.outputs()["gates"]}["data-parity"]
    print(verdict["summary"])
    assert not verdict["passed"]
    figures = verdict["figures"]["A->B"]
    assert figures["topics"] == len(PARTITIONS)
    assert figures["partitions"] == sum(PARTITIONS.values())
    per_partition = figures["perPartition"]
    assert set(per_partition) == set(blue_ends)
    assert set(figures["different"]) == {"orders:0"}
    for name, end in blue_ends.items():
        if name == "orders:0":
            # Every record up to the intruder is identical; the intruder is where the comparison stops.
            assert per_partition[name] == end, (name, per_partition)
        else:
            # Every record of the partition was compared, not only those at offset-syncs.
            assert per_partition[name] == (end if end else "empty"), (name, per_partition)
    assert figures["recordsCompared"] == sum(v for v in per_partition.values() if isinstance(v, int))


def test_records_mm2_copied_again_after_a_restart_without_an_offset_sync_are_not_a_difference(
    kafka_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed Connect worker restarts from its last committed source offset: green gets records it already holds
    again, and MM2's sync for the first of them can be replaced by a later one before it is written (its
    offset-sync writer keeps one pending sync per partition). Seen in CI: data-parity refused for an hour."""
    blue, green = kafka_cluster("A"), kafka_cluster("B")
    create_topic(blue.bootstrap_servers, "orders", 1)
    create_topic(green.bootstrap_servers, "orders", 1)
    create_topic(blue.bootstrap_servers, offset_syncs_topic("B"), 1)
    # r0 is live traffic, timestamped now; r1..r9 a backlog written with older timestamps (as the rehearsal's
    # history is): a lookup by r3's timestamp lands on r0, further back than the read allows (3 records here).
    monkeypatch.setattr(parity, "EARLIER_READ", 3)
    records = [
        (f"k{i}".encode(), f"v{i}".encode(), [("seq", str(i).encode())], 1_700_000_000_000 + (i or 100) * 1000)
        for i in range(10)
    ]
    # Green: r0..r5 copied, the worker killed with r3 as its last committed offset, r3..r5 copied again, r6..r9.
    copied = [*range(6), 3, 4, 5, *range(6, 10)]
    for bootstrap, order in ((blue.bootstrap_servers, range(10)), (green.bootstrap_servers, copied)):
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in order:
            key, value, headers, ts = records[i]
            producer.produce("orders", key=key, value=value, headers=headers, timestamp=ts, partition=0)
        assert producer.flush(30) == 0
    # The syncs MM2 wrote: r0 -> 0 and r5 -> 5 before the kill; after it r7 -> 10 (r3 -> 6 was replaced).
    flow = _flow_with_syncs(blue.bootstrap_servers, green.bootstrap_servers, "orders", ((0, 0), (5, 5), (7, 10)))
    # Budget 6: a window from r0 (4 records) and one from the sync r5 -> 5 (2 records), which meets r3..r5 again.
    [sample] = sample_flow(flow, [TopicInfo("orders", 1, 1)], budget=6, timeout_s=15)
    assert sample.difference is None, sample
    assert (sample.compared, sample.repeated_copies) == (6, 3), sample

    # A record on green that blue never held is still a difference.
    produce(green.bootstrap_servers, "orders", 0, "not from blue")
    intruder = Producer({"bootstrap.servers": blue.bootstrap_servers})
    intruder.produce("orders", key=b"k10", value=b"v10", partition=0)
    assert intruder.flush(30) == 0
    [sample] = sample_flow(flow, [TopicInfo("orders", 1, 1)], budget=20, timeout_s=15)
    assert sample.difference is not None and "downstream offset 13" in sample.difference, sample


COMPACTED = {
    "cleanup.policy": "compact",
    "segment.ms": "1000",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
}


def test_a_compacted_topic_compacted_on_one_side_only_is_not_a_difference(kafka_cluster) -> None:
    """Each cluster compacts on its own: blue may drop hundreds of superseded values green still holds (MM2 copied
    them first), more than one window reads. Seen in CI: data-parity refused audit.events for five minutes."""
    blue, green = kafka_cluster("A"), kafka_cluster("B")
    create_topic(blue.bootstrap_servers, "audit.events", 1, COMPACTED)
    create_topic(green.bootstrap_servers, "audit.events", 1, {**COMPACTED, "min.compaction.lag.ms": "3600000"})
    create_topic(blue.bootstrap_servers, offset_syncs_topic("B"), 1)
    # 400 values of 4 keys on both sides, as MM2 copied them (timestamps included); one more record timestamped
    # 2 s later rolls the segment (segment.ms), and blue's log cleaner keeps the newest value of each key
    # (green's compaction lag keeps all of them for an hour).
    history = [(f"k{i % 4}".encode(), f"v{i}".encode()) for i in range(400)]
    stamp = int(time.time() * 1000)
    for bootstrap in (blue.bootstrap_servers, green.bootstrap_servers):
        _produce_all(bootstrap, history, stamp)
        _produce_all(bootstrap, [(b"k9", b"after the roll")], stamp + 2000)
    wait_for(lambda: _count(blue.bootstrap_servers) < 100, 90, "blue's log cleaner to compact audit.events")
    flow = _flow_with_syncs(blue.bootstrap_servers, green.bootstrap_servers, "audit.events", ((0, 0),))
    topic = TopicInfo("audit.events", 1, 1, {"cleanup.policy": "compact"})
    [sample] = sample_flow(flow, [topic], budget=50, timeout_s=15)
    assert sample.difference is None, sample
    # Blue's survivors (the newest value of each key and the record after the roll) are compared; the values
    # only green still holds are compacted away on blue, not missing.
    assert sample.compared == 5 and sample.compacted_away >= 300, sample

    # The newest value of a key altered on green is still a difference.
    _produce_all(blue.bootstrap_servers, [(b"k1", b"newest")], stamp + 2000)
    _produce_all(green.bootstrap_servers, [(b"k1", b"altered")], stamp + 2000)
    [sample] = sample_flow(flow, [topic], budget=50, timeout_s=15)
    assert sample.difference is not None and "downstream offset 401" in sample.difference, sample


def _flow_with_syncs(blue: str, green: str, topic: str, syncs: tuple[tuple[int, int], ...]) -> FlowSides:
    """Flow A->B between the two clusters, with these (upstream, downstream) offset-syncs of `topic`:0 on blue."""
    producer = Producer({"bootstrap.servers": blue})
    for upstream, downstream in syncs:
        key, value = encode_sync(SyncKey(topic, 0), OffsetSync(upstream, downstream))
        producer.produce(offset_syncs_topic("B"), key=key, value=value)
    assert producer.flush(30) == 0
    return FlowSides("A->B", {"bootstrap.servers": blue}, {"bootstrap.servers": green}, Strategy.ONE_WAY)


def _produce_all(bootstrap: str, records: list[tuple[bytes, bytes]], timestamp_ms: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in records:
        producer.produce("audit.events", key=key, value=value, partition=0, timestamp=timestamp_ms)
    assert producer.flush(30) == 0


def _count(bootstrap: str) -> int:
    """Records audit.events:0 holds now (read from its start to its end)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "count", "enable.partition.eof": True})
    consumer.assign([TopicPartition("audit.events", 0, 0)])
    count = 0
    try:
        while True:
            msg = consumer.poll(10)
            if msg is None or (msg.error() and msg.error().code() == KafkaError._PARTITION_EOF):
                return count
            count += 1
    finally:
        consumer.close()
