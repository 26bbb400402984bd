"""The consumer handoff on real clusters, through `pulumi up`: cases where a group could skip or go backwards.

Each test asserts on records a consumer reads on green and on committed offsets, the
way a user would notice a loss: a record written to blue that the group never sees.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kafka_migration.config.model import Phase, Strategy
from kafka_migration.evidence.groups import commit_offsets
from kafka_migration.local_runtime.stack_harness import MigrationStack, kill_session, pulumi_up_process
from kafka_migration.operations.handoff import FAULT_HOLD_ENV
from kafka_migration.planning.phases import Step, steps
from tests.helpers import create_topic, wait_for
from tests.integration.conftest import doc, green_bootstrap

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90
PARTITIONS = 3
ORDERS_ONLY = {"include": ["orders"]}


def clients(reset: str = "earliest") -> list[dict]:
    return [
        {"name": "orders-service", "role": "producer", "wave": 1, "topics": ["orders"]},
        {"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders"], "autoOffsetReset": reset},
    ]


def produce(bootstrap: str, per_partition: dict[int, int], tag: str) -> None:
    """`per_partition[p]` records into orders partition p, values `<tag>-<p>-<i>`."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for p, count in per_partition.items():
        for i in range(count):
            producer.produce("orders", key=f"k{i}", value=f"{tag}-{p}-{i}", partition=p)
    assert producer.flush(30) == 0


def trickle(bootstrap: str, per_partition: int, tag: str) -> None:
    """Records one at a time, each acknowledged before the next: MM2 writes an offset-sync for each."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(per_partition):
        for p in range(PARTITIONS):
            producer.produce("orders", key=f"k{i}", value=f"{tag}-{p}-{i}", partition=p)
        assert producer.flush(30) == 0
        time.sleep(0.1)


def ends(bootstrap: str) -> dict[int, tuple[int, int]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition("orders", p), timeout=10) for p in range(PARTITIONS)}
    finally:
        consumer.close()


def commit(bootstrap: str, group: str, offsets: dict[int, int]) -> None:
    commit_offsets({"bootstrap.servers": bootstrap}, group, {("orders", p): o for p, o in offsets.items()}, 30)


def committed(bootstrap: str, group: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition("orders", p) for p in range(PARTITIONS)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def read_as_group(bootstrap: str, group: str, reset: str, idle_s: float = 6) -> list[str]:
    """What a client of `group` with `auto.offset.reset=reset` reads from its committed offsets until idle."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": reset, "enable.auto.commit": False}
    )
    consumer.subscribe(["orders"])
    values: list[str] = []
    last = time.monotonic()
    try:
        while time.monotonic() - last < idle_s:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                values.append(msg.value().decode())
                last = time.monotonic()
        if values:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return values


def walk_to(stack: MigrationStack, last: Step) -> None:
    """One `pulumi up` per step, from the step after the applied one up to `last`."""
    order = steps(Strategy.ONE_WAY, 1, 1)
    applied = Step.from_output(stack.outputs().get("step"))
    start = order.index(applied) + 1 if applied in order else 0
    for step in order[start : order.index(last) + 1]:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)


REPLICATING = Step(Phase.REPLICATING)
CONSUMERS_SWITCHED = Step(Phase.CONSUMERS_SWITCHED, 0, 1)


def test_a_partition_the_group_never_committed_is_read_on_green_by_a_latest_consumer(bare_walk) -> None:
    """Blue p1 is empty when billing leaves; producers, still on blue, then write to p1."""
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    produce(blue, {0: 20, 2: 20}, "history")
    assert len(read_as_group(blue, "billing", "earliest")) == 40
    assert committed(blue, "billing")[1] < 0  # never committed on p1
    stack, config = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients("latest"))
    green = green_bootstrap(config)

    walk_to(stack, CONSUMERS_SWITCHED)
    assert doc(bare_walk.routing_dir, "billing")["cluster"] == "B"
    produce(blue, {1: 15}, "after")
    wait_for(lambda: ends(green)[1][1] == 15, 60, "MM2 copying p1")

    read = read_as_group(green, "billing", "latest")
    assert sorted(read) == sorted(f"after-1-{i}" for i in range(15))


def test_offset_syncs_of_an_earlier_replication_are_not_used_after_a_rollback_to_blue_only(bare_walk) -> None:
    """Forward, back to blue-only (green destroyed), blue's log start moves, forward again."""
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    produce(blue, dict.fromkeys(range(PARTITIONS), 40), "history")
    stack, config = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients())
    green = green_bootstrap(config)
    walk_to(stack, REPLICATING)
    trickle(blue, 30, "live")  # the first run syncs each of these records
    wait_for(lambda: all(high == 70 for _low, high in ends(green).values()), 60, "MM2 copying the live records")
    commit(blue, "billing", dict.fromkeys(range(PARTITIONS), 60))

    stack.goto("blue-only")
    stack.up_when_gates_pass(GATE_WAIT_S)
    admin = AdminClient({"bootstrap.servers": blue})
    deleted = admin.delete_records([TopicPartition("orders", p, 30) for p in range(PARTITIONS)])
    for future in deleted.values():
        future.result(timeout=30)
    produce(blue, dict.fromkeys(range(PARTITIONS), 100), "later")

    walk_to(stack, CONSUMERS_SWITCHED)
    # Green's orders now starts at blue's offset 30, so blue's 60 is green's 30.
    assert committed(green, "billing") == dict.fromkeys(range(PARTITIONS), 30)
    read = read_as_group(green, "billing", "earliest")
    for p in range(PARTITIONS):
        mine = [v for v in read if v.startswith((f"live-{p}-", f"later-{p}-"))]
        assert mine[0] == f"live-{p}-20", mine[:3]  # blue offset 60 = the 21st live record
        assert len(mine) == 10 + 100


def replicating_with_billing_read_to_the_end(bare_walk) -> tuple[MigrationStack, str, str]:
    """One-way stack at `replicating`: 20 records per partition, read and committed by billing on blue, copied."""
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    produce(blue, dict.fromkeys(range(PARTITIONS), 20), "history")
    assert len(read_as_group(blue, "billing", "earliest")) == 60
    stack, config = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients())
    green = green_bootstrap(config)
    walk_to(stack, REPLICATING)
    wait_for(lambda: all(high == 20 for _low, high in ends(green).values()), 60, "MM2 copying history")
    return stack, blue, green


def test_an_update_interrupted_after_routing_to_green_does_not_hand_the_group_over_again(bare_walk) -> None:
    """The state a `kill -9` leaves when the green document was written but the engine saved nothing.

    The clients then consume on green and commit. The next `pulumi up` must not pause
    them, re-translate blue's stale offsets and move green's committed offsets backwards.
    """
    stack, blue, green = replicating_with_billing_read_to_the_end(bare_walk)

    # What the interrupted update had done: offsets committed on green, green document published.
    commit(green, "billing", dict.fromkeys(range(PARTITIONS), 20))
    published = {**doc(bare_walk.routing_dir, "billing")}
    published.update(cluster="B", bootstrapServers=green, revision="written-by-the-interrupted-update")
    (bare_walk.routing_dir / "billing.json").write_text(json.dumps(published))
    # The clients moved: producers on blue add records, MM2 copies them, billing reads them on green.
    produce(blue, dict.fromkeys(range(PARTITIONS), 10), "after")
    wait_for(lambda: all(high == 30 for _low, high in ends(green).values()), 60, "MM2 copying")
    assert len(read_as_group(green, "billing", "earliest")) == 30
    assert committed(green, "billing") == dict.fromkeys(range(PARTITIONS), 30)

    stack.goto(CONSUMERS_SWITCHED.phase.value, 0, 1)
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert committed(green, "billing") == dict.fromkeys(range(PARTITIONS), 30)
    assert doc(bare_walk.routing_dir, "billing")["cluster"] == "B"
    assert not doc(bare_walk.routing_dir, "billing")["paused"]


@pytest.mark.parametrize("point", ["pause", "commit", "publish"])
def test_pulumi_up_killed_mid_handoff_is_completed_by_the_next_up(bare_walk, tmp_path: Path, point: str) -> None:
    """`kill -9` of `pulumi` at each point of the handoff; the provider stops, the next `up` completes it."""
    stack, blue, green = replicating_with_billing_read_to_the_end(bare_walk)

    stack.goto(CONSUMERS_SWITCHED.phase.value, 0, 1)
    marker = tmp_path / "held"
    up = pulumi_up_process(stack, bare_walk.project_dir, tmp_path / "state", {FAULT_HOLD_ENV: f"{point}:{marker}"})
    try:
        wait_for(marker.exists, 180, f"the handoff reaching {point}")
        engine = psutil.Process(up.pid)
        providers = [p for p in engine.children(recursive=True) if "python" in p.name()]
        os.kill(up.pid, signal.SIGKILL)
        up.wait(10)
        _gone, alive = psutil.wait_procs(providers, timeout=15)
        assert not alive, f"provider processes outlived their engine: {[p.cmdline() for p in alive]}"
    finally:
        kill_session(up.pid)
    billing = doc(bare_walk.routing_dir, "billing")
    assert (billing["cluster"], billing["paused"]) == {
        "pause": ("A", True),
        "commit": ("A", True),
        "publish": ("B", False),
    }[point]

    # Recovery as the README says: the killed update left its lock; `pulumi cancel`, then `pulumi up` again.
    stack.stack.cancel()
    stack.up_when_gates_pass(GATE_WAIT_S)
    billing = doc(bare_walk.routing_dir, "billing")
    assert (billing["cluster"], billing["paused"]) == ("B", False)
    assert committed(green, "billing") == dict.fromkeys(range(PARTITIONS), 20)
    produce(blue, dict.fromkeys(range(PARTITIONS), 5), "after")
    wait_for(lambda: all(high == 25 for _low, high in ends(green).values()), 60, "MM2 copying")
    assert sorted(read_as_group(green, "billing", "latest")) == sorted(
        f"after-{p}-{i}" for p in range(PARTITIONS) for i in range(5)
    )


def last_handoff(stack: MigrationStack, group: str) -> dict:
    for resource in stack.stack.export_stack().deployment["resources"]:
        if resource["type"].endswith("RoutingDocument") and resource["urn"].endswith(f"-{group}"):
            return resource["outputs"]["last_handoff"]
    raise AssertionError(f"no routing resource for {group}")


def test_the_reported_reread_bound_is_true_when_blue_deleted_what_the_group_had_not_read(bare_walk) -> None:
    """Billing read 10 records per partition; blue's retention then deleted up to 25; green still has all 40."""
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    produce(blue, dict.fromkeys(range(PARTITIONS), 40), "history")
    commit(blue, "billing", dict.fromkeys(range(PARTITIONS), 10))
    stack, config = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients())
    green = green_bootstrap(config)
    walk_to(stack, REPLICATING)
    wait_for(lambda: all(high == 40 for _low, high in ends(green).values()), 60, "MM2 copying history")
    admin = AdminClient({"bootstrap.servers": blue})
    for future in admin.delete_records([TopicPartition("orders", p, 25) for p in range(PARTITIONS)]).values():
        future.result(timeout=30)

    walk_to(stack, CONSUMERS_SWITCHED)
    read = read_as_group(green, "billing", "earliest")
    already_read = [v for v in read if int(v.rsplit("-", 1)[1]) < 10]
    report = last_handoff(stack, "billing")
    if "rereadBound" in report:  # absent means "no bound known", which is honest too
        assert len(already_read) <= report["rereadBound"], report
    for p in range(PARTITIONS):  # nothing the group had not read is skipped, although blue lost it
        missing = {f"history-{p}-{i}" for i in range(10, 40)} - set(read)
        assert not missing, (sorted(missing), report, committed(green, "billing"))
