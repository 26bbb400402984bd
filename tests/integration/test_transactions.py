"""Transactions on blue: only committed records reach green, and a commit marker is not lag."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.helpers import wait_for
from tests.integration.conftest import green_bootstrap

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90


def write_transactions(bootstrap: str, topic: str, committed: int, aborted: int) -> tuple[set[str], set[str]]:
    """Alternating committed and aborted transactions of three records each; the last one commits.

    A partition whose last entry is a commit marker ends one offset after its last record.
    """
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txn-{topic}-{time.time_ns()}"})
    producer.init_transactions(30)
    kept, dropped = set(), set()
    for n in range(committed + aborted):
        abort = n % 2 == 1 and n // 2 < aborted
        producer.begin_transaction()
        for i in range(3):
            value = f"txn-{n}-{i}"
            producer.produce(topic, key=f"k{i}".encode(), value=value.encode())
            (dropped if abort else kept).add(value)
        producer.flush(30)  # on the broker before the outcome: an abort would otherwise purge them unsent
        if abort:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    return kept, dropped


def every_value(bootstrap: str, topic: str, isolation: str) -> list[str]:
    """Every record of the topic as a consumer with `isolation` sees it."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "probe",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out, ended, deadline = [], set(), time.monotonic() + 30
        while len(ended) < len(parts) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                ended.add(msg.partition())
                continue
            out.append(msg.value().decode())
        return out
    finally:
        consumer.close()


def test_aborted_transactions_stay_on_blue_and_a_commit_marker_is_not_lag(walk) -> None:
    stack, config = walk.make("one-way")
    kept, dropped = write_transactions(walk.blue.bootstrap_servers, "orders", committed=4, aborted=3)
    stack.goto("green-provisioned")
    stack.up()
    stack.goto("replicating")
    stack.up_when_gates_pass(GATE_WAIT_S)

    green = green_bootstrap(config)
    wait_for(lambda: kept <= set(every_value(green, "orders", "read_uncommitted")), 60, "committed records on green")
    on_green = every_value(green, "orders", "read_uncommitted")
    assert not dropped & set(on_green), "records of aborted transactions were copied to green"
    assert len(on_green) == len(set(on_green)), "a record was copied twice"

    # Blue's `orders` partitions end with commit markers: nothing is left to copy, so
    # the lag gate (maxLagRecords: 0) passes without being forced.
    stack.goto("consumers-switched", 0, 1)
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert stack.outputs()["step"]["phase"] == "consumers-switched"
    assert not stack.outputs()["forcedGates"]
