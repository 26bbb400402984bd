"""`source-intact` sees records blue deleted while MM2 was down, after MM2 has caught up again."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from pulumi import automation as auto

from kafka_migration.evidence.connect_rest import ConnectClient
from kafka_migration.evidence.lag import partition_lags
from kafka_migration.local_runtime.stack_harness import MigrationStack
from tests.helpers import wait_for
from tests.integration.conftest import connect_rest, connector_action

pytestmark = pytest.mark.integration
GATE_WAIT_S = 240
SOURCE = "A->B.MirrorSourceConnector"
LOST, KEPT = 10, 3


def source_state(rest: ConnectClient) -> set[str]:
    """States of the source connector and its tasks."""
    status = rest.status(SOURCE) or {}
    return {status.get("connector", {}).get("state")} | {t.get("state") for t in status.get("tasks", [])}


def produce(bootstrap: str, partition: int, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for value in values:
        producer.produce("orders", value=value.encode(), partition=partition)
    producer.flush(30)


def transactions(bootstrap: str, partition: int) -> None:
    """Two committed transactions around an aborted one: commit markers and aborted records MM2 skips."""
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txn-{time.time_ns()}"})
    producer.init_transactions(30)
    for n, abort in enumerate((False, True, False)):
        producer.begin_transaction()
        for i in range(3):
            producer.produce("orders", value=f"txn-{n}-{i}".encode(), partition=partition)
        producer.flush(30)  # on the broker before the outcome: an abort would otherwise purge them unsent
        if abort:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)


def end_offset(bootstrap: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
    try:
        return consumer.get_watermark_offsets(TopicPartition("orders", partition), timeout=10)[1]
    finally:
        consumer.close()


def caught_up(bootstrap: str) -> bool:
    """MM2 copied everything a read_committed reader sees on blue's `orders` (its offset-syncs say so)."""
    lags = partition_lags({"bootstrap.servers": bootstrap}, "mm2-offset-syncs.B.internal", {"orders": 3}, 10)
    return all(p.lag_records == 0 and p.replicated_through is not None for p in lags)


def refusal(stack: MigrationStack, timeout_s: float) -> str:
    """`pulumi up` until `source-intact` refuses it (other gates may need a few tries to settle)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stack.up()
        except auto.CommandError as err:
            message = str(err)
            if "  source-intact: " in message or time.monotonic() > deadline:
                return message
            time.sleep(3)
        else:
            pytest.fail("source-intact let the step in although blue deleted records MM2 never copied")


def test_records_deleted_while_mm2_was_down_fail_source_intact_after_it_caught_up(walk) -> None:
    stack, config = walk.make("one-way")
    blue = walk.blue.bootstrap_servers
    transactions(blue, partition=1)
    stack.goto("green-provisioned")
    stack.up()
    stack.goto("replicating")
    stack.up_when_gates_pass(GATE_WAIT_S)
    wait_for(lambda: caught_up(blue), 120, "MM2 to copy blue's history")

    # MM2 stops copying; blue receives records and deletes them before MM2 is back (as
    # retention does, but deterministic). MM2's position is then below blue's log start:
    # its consumer resets to `earliest`, copies what came after, and catches up.
    rest = connect_rest(config, walk.data_root)
    connector_action(config, walk.data_root, SOURCE, "pause")
    wait_for(lambda: source_state(rest) == {"PAUSED"}, 60, "the source connector to pause")
    time.sleep(3)  # a fetch in flight when it paused has answered (empty) by now
    produce(blue, 0, [f"lost-{i}" for i in range(LOST)])
    log_start = end_offset(blue, 0)
    admin = AdminClient({"bootstrap.servers": blue})
    for future in admin.delete_records([TopicPartition("orders", 0, log_start)], request_timeout=30).values():
        assert future.result(timeout=30).low_watermark == log_start
    produce(blue, 0, [f"kept-{i}" for i in range(KEPT)])
    connector_action(config, walk.data_root, SOURCE, "resume")
    wait_for(lambda: source_state(rest) == {"RUNNING"}, 60, "the source connector to resume")
    wait_for(lambda: caught_up(blue), 120, "MM2 to catch up after the deletion")

    stack.goto("consumers-switched", 0, 1)
    message = refusal(stack, GATE_WAIT_S)
    assert "nothing was changed" in message, message
    assert "  source-intact: " in message, message
    assert f"A->B orders:0: offsets {log_start - LOST}..{log_start - 1} were skipped" in message, message
    assert f"log start {log_start}" in message, message
    # Partition 1's commit markers and aborted records were skipped too: blue still has
    # them, a read_committed reader finds nothing MM2 left out, so they are no gap.
    assert "orders:1" not in message, message
    assert stack.outputs()["step"]["phase"] == "replicating"
