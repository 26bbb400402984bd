"""`data-parity` compares every partition of every topic, record by record, also between MM2's offset-syncs."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.integration.conftest import green_bootstrap

pytestmark = pytest.mark.integration
GATE_WAIT_S = 120
SAMPLE = 50
"""Records compared per partition: more than any partition of the estate holds, so every record is compared."""
PARTITIONS = {"audit.events": 1, "orders": 3, "payments": 2}


def end_offsets(bootstrap: str, prefix: str = "") -> dict[str, int]:
    """`topic:partition` -> end offset of the estate's topics, named `<prefix><topic>` on that cluster."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "parity-test-reader"})
    try:
        out = {}
        for topic, count in PARTITIONS.items():
            for p in range(count):
                out[f"{topic}:{p}"] = consumer.get_watermark_offsets(TopicPartition(prefix + topic, p), timeout=10)[1]
        return out
    finally:
        consumer.close()


def wait_until_copied(source: str, target: str, prefix: str = "", timeout_s: float = 90) -> dict[str, int]:
    """The source's end offsets, once its copies on the target (`<prefix><topic>`) hold as many records."""
    deadline = time.monotonic() + timeout_s
    while True:
        wanted, copied = end_offsets(source), end_offsets(target, prefix)
        if all(copied.get(k, 0) >= v for k, v in wanted.items()):
            return wanted
        assert time.monotonic() < deadline, f"MM2 did not copy everything: source {wanted}, copies {copied}"
        time.sleep(1)


def produce(bootstrap: str, topic: str, partition: int, value: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"parity-test", value=value.encode(), partition=partition)
    assert producer.flush(30) == 0


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


def test_both_flows_sampled_under_bidirectional(walk) -> None:
    stack, config = walk.make("bidirectional")
    green = green_bootstrap(config)
    for phase, p in [
        ("blue-only", 0), ("green-provisioned", 0), ("replicating", 0), ("bidirectional", 0),
        ("producers-switched", 1), ("producers-switched", 2),
    ]:  # fmt: skip
        stack.goto(phase, p, 0)
        stack.up_when_gates_pass(GATE_WAIT_S)
    # What producers switched to green write to its orders; B->A copies it into blue's B.orders.
    for p in range(PARTITIONS["orders"]):
        for i in range(5):
            produce(green, "orders", p, f"written on green {i}")
    wait_until_copied(green, walk.blue.bootstrap_servers, prefix="B.")

    stack.goto("consumers-switched", 2, 1)
    stack.up_when_gates_pass(GATE_WAIT_S)
    verdict = {g["gate"]: g for g in stack.outputs()["gates"]}["data-parity"]
    print(verdict["summary"])
    assert verdict["passed"], verdict["summary"]
    forward, reverse = verdict["figures"]["A->B"], verdict["figures"]["B->A"]
    names = {f"{t}:{p}" for t, count in PARTITIONS.items() for p in range(count)}
    assert set(forward["perPartition"]) == set(reverse["perPartition"]) == names
    # Blue's history: every partition sampled, up to the default 20 records each.
    assert all(isinstance(n, int) and 1 <= n <= 20 for n in forward["perPartition"].values()), forward
    # Green's own records: only orders has any; the other topics are empty on green.
    for name, count in reverse["perPartition"].items():
        assert (1 <= count <= 5) if name.startswith("orders:") else count == "empty", (name, reverse)
    assert "(empty: audit.events:0, payments:0, payments:1)" in verdict["summary"]
