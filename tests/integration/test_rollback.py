"""Rolling back under traffic: what producers wrote to green is copied back and read before its flow stops."""

from __future__ import annotations

import pytest

from kafka_migration.config.clients import ClientGroup
from kafka_migration.rehearsal.checker import check
from kafka_migration.rehearsal.workload import Workload
from tests.helpers import wait_for
from tests.integration.estate import CLIENTS

pytestmark = pytest.mark.integration
GATE_WAIT_S = 120


def test_a_rollback_from_producers_switched_to_replicating_strands_nothing(walk) -> None:
    stack, _config = walk.make("bidirectional")
    for phase, producer_waves in (("green-provisioned", 0), ("replicating", 0), ("bidirectional", 0)):
        stack.goto(phase, producer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)
    stack.goto("producers-switched", 1)
    stack.up_when_gates_pass(GATE_WAIT_S)

    clients = [ClientGroup.model_validate(c) for c in CLIENTS]
    with Workload(clients, walk.routing_dir, total_rate_per_s=60, drain_s=90) as workload:
        ledger = workload.ledger
        wait_for(
            lambda: sum(p.cluster == "B" for p in ledger.snapshot().produced) >= 100, 60, "orders written to green"
        )
        # Back two steps while orders-service still writes to green and billing reads B.orders on blue.
        stack.goto("replicating")
        stack.up()
        wait_for(
            lambda: sum(p.cluster == "A" and p.topic == "orders" for p in ledger.snapshot().produced) >= 40,
            60,
            "orders written to blue again",
        )

    outputs = stack.outputs()
    assert outputs["flows"] == ["A->B"]
    result = check(ledger.snapshot(), clients)
    orders = result.row("billing", "orders")
    assert orders.produced_by_cluster.get("B", 0) >= 100
    assert result.totals.lost == 0, f"lost {result.totals.lost}: {orders.lost_by_cluster} e.g. {orders.lost_sample}"
    assert result.totals.duplicates == 0
