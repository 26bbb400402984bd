"""A stack walked through every phase with `pulumi up` on real clusters, checked as a user would."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from kafka_migration.config.model import Phase, Strategy
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.grants import SOURCE_TOPIC_OPERATIONS, TARGET_TOPIC_OPERATIONS
from kafka_migration.planning.phases import Step, steps
from tests.helpers import create_topic, wait_for
from tests.integration.conftest import Walk, connectors, doc, green_bootstrap, refused
from tests.integration.estate import PARTITIONS, committed_offsets, produce, wait_until_copied

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90
FORCED_SOAK = "rehearsal: soak waived by the on-call lead"


def step_and_check_preview(stack: MigrationStack, step: Step) -> dict:
    """Preview then up one step: the preview announces exactly what the up changes, and a second up changes nothing."""
    stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
    planned = {k: v for k, v in stack.preview().change_summary.items() if k != "same"}
    applied = {k: v for k, v in stack.up_when_gates_pass(GATE_WAIT_S).summary.resource_changes.items() if k != "same"}
    assert planned == applied, (step, planned, applied)
    again = stack.preview().change_summary
    assert set(again) == {"same"}, (step, again)
    return applied


def test_bidirectional_walk_through_every_phase(walk) -> None:
    blue, routing_dir, make = walk.blue, walk.routing_dir, walk.make
    stack, config = make("bidirectional")
    green = green_bootstrap(config)
    billing_on_blue = {
        t: committed_offsets(blue.bootstrap_servers, "billing", t, n) for t, n in (("orders", 3), ("payments", 2))
    }

    for step in steps(Strategy.BIDIRECTIONAL, 2, 2):
        if step.phase is Phase.REVERSE_DISABLED:
            a_consumer_left_on_blue_refuses_reverse_disabled(stack, walk)
        if step.phase is Phase.VERIFIED:
            a_soak_window_not_elapsed_refuses_verified_until_forced(stack, config)
        step_and_check_preview(stack, step)
        out = stack.outputs()
        assert out["step"] == step.as_output()
        phase = step.phase

        if phase is Phase.GREEN_PROVISIONED:
            blue_inv = read_inventory({"bootstrap.servers": blue.bootstrap_servers}, 10)
            green_inv = read_inventory({"bootstrap.servers": green}, 10)
            for name in ("orders", "payments", "audit.events"):
                for copy in (name, f"A.{name}"):
                    assert green_inv.topics[copy].partitions == blue_inv.topics[name].partitions
                    assert green_inv.topics[copy].configs == blue_inv.topics[name].configs
            mirrored = {(a.resource_name, a.principal, a.operation) for a in green_inv.acls}
            assert {("orders", "User:billing", "Read"), ("A.orders", "User:billing", "Read")} <= mirrored
        if phase is Phase.REPLICATING:
            assert connectors(config, walk.data_root) == [
                "A->B.MirrorCheckpointConnector",
                "A->B.MirrorSourceConnector",
                "B->A.MirrorHeartbeatConnector",
            ]
        if phase is Phase.BIDIRECTIONAL:
            assert len(connectors(config, walk.data_root)) == 6
            assert doc(routing_dir, "billing")["topics"] == {
                "orders": "orders",
                "payments": "payments",
                "B.orders": "orders",
                "B.payments": "payments",
            }
        if phase is Phase.PRODUCERS_SWITCHED:
            assert doc(routing_dir, "orders-service")["cluster"] == "B"
            assert doc(routing_dir, "payments-service")["cluster"] == ("B" if step.producer_waves == 2 else "A")
        if step == Step(Phase.PRODUCERS_SWITCHED, 2, 0):
            # What producers switched to green write to its orders; B->A copies it into blue's B.orders.
            for p in range(PARTITIONS["orders"]):
                for i in range(5):
                    produce(green, "orders", p, f"written on green {i}")
            wait_until_copied(green, blue.bootstrap_servers, prefix="B.")
        if phase is Phase.CONSUMERS_SWITCHED and step.consumer_waves == 1:
            billing = doc(routing_dir, "billing")
            assert (billing["cluster"], billing["bootstrapServers"], billing["paused"]) == ("B", green, False)
            assert doc(routing_dir, "auditor")["cluster"] == "A"
            # The group continues on green exactly where it stopped on blue (A.<topic> is a 1:1 copy here);
            # a partition it never committed on blue gets an explicit offset: its log start (autoOffsetReset
            # earliest), never nothing, which would leave the clients' auto.offset.reset to decide.
            for topic, partitions in (("orders", 3), ("payments", 2)):
                expected = {p: max(offset, 0) for p, offset in billing_on_blue[topic].items()}
                assert committed_offsets(green, "billing", f"A.{topic}", partitions) == expected
            both_flows_sampled_by_data_parity(out)
        if phase is Phase.REVERSE_DISABLED:
            assert connectors(config, walk.data_root) == [
                "A->B.MirrorCheckpointConnector",
                "A->B.MirrorSourceConnector",
                "B->A.MirrorHeartbeatConnector",
            ]
        if phase is Phase.VERIFIED:
            assert out["forcedGates"] == {"soak-elapsed": FORCED_SOAK}
            assert out["history"][-1]["forced"] == {"soak-elapsed": FORCED_SOAK}
        if phase is Phase.MM2_STOPPED:
            assert connectors(config, walk.data_root) == []
            for cluster in (blue.bootstrap_servers, green):
                names = set(AdminClient({"bootstrap.servers": cluster}).list_topics(timeout=10).topics)
                assert not {n for n in names if n.startswith("mm2-") or "heartbeats" in n or "checkpoints" in n}, names
        if phase is Phase.DECOMMISSIONED:
            producer = Producer({"bootstrap.servers": blue.bootstrap_servers, "message.timeout.ms": 5000})
            errors = []
            producer.produce("orders", b"late", on_delivery=lambda err, _msg, sink=errors: sink.append(err))
            producer.flush(10)
            assert errors and errors[0] is not None and "AUTHORIZATION" in errors[0].name(), errors


def both_flows_sampled_by_data_parity(outputs: dict) -> None:
    """The first consumer wave's data-parity verdict sampled every partition of both flows."""
    verdict = {g["gate"]: g for g in outputs["gates"]}["data-parity"]
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


def a_consumer_left_on_blue_refuses_reverse_disabled(stack: MigrationStack, walk: Walk) -> None:
    """A consumer left behind on blue keeps the reverse flow from being switched off (`blue-idle`)."""
    stop = threading.Event()

    def straggler() -> None:
        consumer = Consumer(
            {"bootstrap.servers": walk.blue.bootstrap_servers, "group.id": "billing", "auto.offset.reset": "latest"}
        )
        consumer.subscribe(["orders"])
        while not stop.is_set():
            consumer.poll(0.5)
        consumer.close()

    thread = threading.Thread(target=straggler, daemon=True)
    thread.start()
    time.sleep(5)
    stack.goto("reverse-disabled", 2, 2)
    try:
        message = refused(stack, "blue-idle")
        assert "active groups {'billing': 1}" in message
    finally:
        stop.set()
        thread.join(10)


def a_soak_window_not_elapsed_refuses_verified_until_forced(stack: MigrationStack, config: dict) -> None:
    """The soak window (1 h here) refuses `verified`; an operator forces that one gate, with a reason."""
    stack.configure({"gates": {**config["gates"], "soakSeconds": 3600}})
    stack.goto("verified", 2, 2)
    refused(stack, "soak-elapsed")
    stack.configure({"force": {"soak-elapsed": FORCED_SOAK}})


def test_rollbacks_are_safe_where_allowed_and_refused_with_a_reason(walk) -> None:
    blue, routing_dir, make = walk.blue, walk.routing_dir, walk.make
    stack, config = make("bidirectional")
    green = green_bootstrap(config)
    order = steps(Strategy.BIDIRECTIONAL, 2, 2)
    for step in order[: order.index(Step(Phase.CONSUMERS_SWITCHED, 2, 1)) + 1]:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)
    on_green = committed_offsets(green, "billing", "A.orders", 3)

    # Skipping ahead is refused, naming the step to take.
    stack.goto("verified", 2, 2)
    with pytest.raises(Exception, match=r"skips consumers-switched \(producerWaves=2, consumerWaves=2\)"):
        stack.up_when_gates_pass(GATE_WAIT_S)

    # Back one consumer wave: billing is handed back to blue with its offsets.
    stack.goto("producers-switched", 2, 0)
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert doc(routing_dir, "billing")["cluster"] == "A"
    assert committed_offsets(blue.bootstrap_servers, "billing", "orders", 3) == on_green
    # ...and forward again.
    stack.goto("consumers-switched", 2, 1)
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert doc(routing_dir, "billing")["cluster"] == "B"
    assert committed_offsets(green, "billing", "A.orders", 3) == on_green

    # A topic created on blue mid-migration shows up in the next preview as new green topics.
    create_topic(blue.bootstrap_servers, "audit.logins", 2)
    # MM2 creates the remote copy within its refresh interval, before our next update: the
    # stack adopts it (import) and creates green's local copy.
    wait_for(
        lambda: "A.audit.logins" in AdminClient({"bootstrap.servers": green}).list_topics(timeout=10).topics,
        60,
        "MM2 to create A.audit.logins on green",
    )
    # MM2's grants on green are literal per topic: the new topic's copy and green's own topic get theirs.
    mm2_grants = len(TARGET_TOPIC_OPERATIONS) + len(SOURCE_TOPIC_OPERATIONS)
    summary = stack.preview().change_summary
    assert (summary.get("import"), summary.get("create")) == (1, 1 + mm2_grants), summary
    stack.up_when_gates_pass(GATE_WAIT_S)

    # Walk on to mm2-stopped; from there no rollback is possible.
    for step in order[
        order.index(Step(Phase.CONSUMERS_SWITCHED, 2, 2)) : order.index(Step(Phase.MM2_STOPPED, 2, 2)) + 1
    ]:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)
    stack.goto("verified", 2, 2)
    refusal = "MirrorMaker 2 was stopped and its offsets and internal topics deleted"
    with pytest.raises(Exception, match=refusal):
        stack.preview()
    with pytest.raises(Exception, match=refusal):
        stack.up_when_gates_pass(GATE_WAIT_S)
    assert stack.outputs()["step"] == Step(Phase.MM2_STOPPED, 2, 2).as_output()
