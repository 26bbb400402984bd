"""Each safety gate made to fail for real: `pulumi up` is refused naming it, nothing changes, then it passes."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)

from local_runtime import process
from local_runtime.stack_harness import MigrationStack
from tests.integration.conftest import connectors, doc, green_bootstrap

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90


def refused(stack: MigrationStack, *gates: str) -> str:
    """Run `pulumi up`, expect a gate refusal naming `gates`, and check nothing moved."""
    before = stack.outputs()
    with pytest.raises(Exception) as exc:
        stack.up()
    message = str(exc.value)
    assert "nothing was changed" in message, message
    for gate in gates:
        assert f"  {gate}: " in message, (gate, message)
    after = stack.outputs()
    assert after["step"] == before["step"] and after["routing"] == before["routing"]
    return message


def set_green_topic_config(bootstrap: str, topic: str, key: str, value: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)],
    )
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def test_parity_lag_and_mm2_gates(walk) -> None:
    stack, config = walk.make("bidirectional")
    green = green_bootstrap(config)
    for phase in ("blue-only", "green-provisioned"):
        stack.goto(phase)
        stack.up()

    # An ACL created only on blue, and a topic config changed on green.
    admin = AdminClient({"bootstrap.servers": walk.blue.bootstrap_servers})
    acl = AclBinding(
        ResourceType.TOPIC,
        "payments",
        ResourcePatternType.LITERAL,
        "User:late-app",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([acl]).values():
        future.result(timeout=30)
    set_green_topic_config(green, "orders", "retention.ms", "1000")
    stack.goto("replicating")
    refused(stack, "acl-parity", "topic-parity")
    assert connectors(config) == []

    # The causes go away: the ACL mirror picks up the new ACL at the current phase, the config is put back.
    stack.goto("green-provisioned")
    stack.up()
    set_green_topic_config(green, "orders", "retention.ms", "604800000")
    stack.goto("replicating")
    stack.up()
    assert len(connectors(config)) == 3

    # MM2 dies and a burst lands on blue: lag and MM2 health refuse the next step.
    process.stop(walk.data_root / "connect-migration")
    producer = Producer({"bootstrap.servers": walk.blue.bootstrap_servers})
    for i in range(500):
        producer.produce("orders", key=f"burst-{i % 9}", value=f"burst-{i}")
    producer.flush()
    stack.goto("bidirectional")
    refused(stack, "replication-lag", "mm2-healthy")
    # `pulumi up` at the current phase restarts the worker; MM2 catches up and the step passes.
    stack.goto("replicating")
    stack.up()
    stack.goto("bidirectional")
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert len(connectors(config)) == 6
    gates = {g["gate"]: g for g in stack.outputs()["gates"]}
    assert gates["replication-lag"]["passed"] and gates["mm2-healthy"]["passed"]


def test_blue_idle_and_forced_soak(walk) -> None:
    stack, config = walk.make("bidirectional")
    stack.configure({"gates": {**config["gates"], "soakSeconds": 3600}})
    for phase, p, c in [
        ("blue-only", 0, 0), ("green-provisioned", 0, 0), ("replicating", 0, 0), ("bidirectional", 0, 0),
        ("producers-switched", 1, 0), ("producers-switched", 2, 0), ("consumers-switched", 2, 1), ("consumers-switched", 2, 2),
    ]:  # fmt: skip
        stack.goto(phase, p, c)
        stack.up_when_gates_pass(GATE_WAIT_S)
    assert doc(walk.routing_dir, "billing")["cluster"] == "B"

    # A consumer left behind on blue keeps the reverse flow from being switched off.
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
    stack.up_when_gates_pass(GATE_WAIT_S)

    # The soak window (1 h here) refuses `verified`; an operator can force that one gate, with a reason.
    stack.goto("verified", 2, 2)
    refused(stack, "soak-elapsed")
    stack.configure({"force": {"soak-elapsed": "rehearsal: soak waived by the on-call lead"}})
    stack.up_when_gates_pass(GATE_WAIT_S)
    outputs = stack.outputs()
    assert outputs["step"]["phase"] == "verified"
    assert outputs["forcedGates"] == {"soak-elapsed": "rehearsal: soak waived by the on-call lead"}
    assert outputs["history"][-1]["forced"] == {"soak-elapsed": "rehearsal: soak waived by the on-call lead"}
