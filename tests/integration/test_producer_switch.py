"""One-way: a producer moves to green only once MM2 copied what it wrote on blue, so per-key order holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kafka_migration.config.clients import ClientGroup
from kafka_migration.config.model import Phase, Strategy
from kafka_migration.planning.naming import ConnectorKind, connector_name
from kafka_migration.planning.phases import Step, steps
from kafka_migration.rehearsal.checker import check
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.workload import Workload
from tests.helpers import wait_for
from tests.integration.conftest import connector_action, doc
from tests.integration.estate import CLIENTS

pytestmark = pytest.mark.integration
GATE_WAIT_S = 120
SOURCE = connector_name("A", "B", ConnectorKind.SOURCE)
MM2_BEHIND_S = 5
"""How long MM2's copying stays held once the producer's document changed (inside the `pulumi up`)."""


def resume_after_document_change(routing_dir: Path, config: dict, data_root: Path) -> None:
    """Let MM2 copy again a few seconds after the producer's document changed (paused, or on green)."""
    wait_for(
        lambda: (d := doc(routing_dir, "orders-service"))["paused"] or d["cluster"] == "B",
        300,
        "orders-service's document changed",
        interval_s=0.1,
    )
    time.sleep(MM2_BEHIND_S)
    connector_action(config, data_root, SOURCE, "resume")


def produced(ledger: Ledger, cluster: str, producer: str) -> int:
    return sum(p.cluster == cluster and p.producer == producer for p in ledger.snapshot().produced)


def test_a_one_way_producer_switch_keeps_per_key_order_on_green(walk) -> None:
    stack, config = walk.make("one-way")
    order = steps(Strategy.ONE_WAY, 2, 2)
    for step in order[1 : order.index(Step(Phase.PRODUCERS_SWITCHED, 1, 2))]:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)

    clients = [ClientGroup.model_validate(c) for c in CLIENTS]
    with Workload(clients, walk.routing_dir, total_rate_per_s=150, drain_s=90) as workload:
        ledger = workload.ledger
        wait_for(lambda: produced(ledger, "A", "orders-service") >= 100, 60, "orders written to blue")
        # MM2 falls behind right at the switch (held, then let go while `pulumi up` runs): the
        # producer's last blue records reach green only after that.
        connector_action(config, walk.data_root, SOURCE, "pause")
        resume = threading.Thread(
            target=resume_after_document_change, args=(walk.routing_dir, config, walk.data_root), daemon=True
        )
        reason = "test: MM2 held on purpose during the producer switch"
        stack.configure({"force": {"mm2-healthy": reason, "replication-lag": reason}})
        stack.goto("producers-switched", 1, 2)
        resume.start()
        try:
            stack.up()
        finally:
            resume.join(320)
        wait_for(lambda: produced(ledger, "B", "orders-service") >= 100, 60, "orders written to green")

    result = check(ledger.snapshot(), clients)
    orders = result.row("billing", "orders")
    assert orders.produced_by_cluster.get("B", 0) >= 100
    assert result.totals.lost == 0
    assert orders.order_violations == 0, f"{orders.order_violations} per-key order break(s) on green's orders"
