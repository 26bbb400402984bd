"""Each safety gate made to fail for real: `pulumi up` is refused naming it, nothing changes, then it passes."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from kafka_migration.local_runtime import process
from tests.integration.conftest import connectors, green_bootstrap, refused
from tests.integration.estate import set_topic_config

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90


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
    set_topic_config(green, "orders", "retention.ms", "1000")
    stack.goto("replicating")
    refused(stack, "acl-parity", "topic-parity")
    assert connectors(config, walk.data_root) == []

    # The causes go away: the ACL mirror picks up the new ACL at the current phase, the config is put back.
    stack.goto("green-provisioned")
    stack.up()
    set_topic_config(green, "orders", "retention.ms", "604800000")
    stack.goto("replicating")
    stack.up()
    assert len(connectors(config, walk.data_root)) == 3

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
    assert len(connectors(config, walk.data_root)) == 6
    gates = {g["gate"]: g for g in stack.outputs()["gates"]}
    assert gates["replication-lag"]["passed"] and gates["mm2-healthy"]["passed"]
