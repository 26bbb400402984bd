"""Which rollbacks must drain the reverse flow, and what the drain concludes from a snapshot."""

from __future__ import annotations

from kafka_migration.config.model import Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.gates import Gate
from kafka_migration.planning.phases import Step
from kafka_migration.planning.rollback import (
    DrainSnapshot,
    consumers_move_with_reverse_stop,
    drain_verdicts,
    reverse_drain,
)
from tests.unit.builders import make_config

BLUE = ClusterInventory("blue-id", 3, {"orders": TopicInfo("orders", 3, 3), "payments": TopicInfo("payments", 2, 3)})
CFG = make_config()
PRODUCERS_SWITCHED = Step(Phase.PRODUCERS_SWITCHED, 1, 0)
CONSUMERS_SWITCHED = Step(Phase.CONSUMERS_SWITCHED, 2, 1)
REPLICATING = Step(Phase.REPLICATING)
BIDIRECTIONAL = Step(Phase.BIDIRECTIONAL)
QUIET = DrainSnapshot(green_writes={"orders": 0}, lag={"orders:0": 0}, unread={"billing": {"B.orders:0": 0}})


def test_a_rollback_past_bidirectional_drains_green_to_blue_for_the_groups_reading_the_copies() -> None:
    drain = reverse_drain(CFG, PRODUCERS_SWITCHED, REPLICATING, BLUE, {})
    assert drain is not None
    assert drain.flow == "B->A"
    assert drain.topics == {"orders": 3, "payments": 2}
    assert drain.copies == {"B.orders": "orders", "B.payments": "payments"}
    assert drain.groups == {"analytics": ("B.orders",), "billing": ("B.orders", "B.payments")}
    assert drain.syncs_topic == "mm2-offset-syncs.A.internal"


def test_rollbacks_that_keep_the_reverse_flow_or_never_ran_it_drain_nothing() -> None:
    assert reverse_drain(CFG, PRODUCERS_SWITCHED, BIDIRECTIONAL, BLUE, {}) is None
    assert reverse_drain(CFG, BIDIRECTIONAL, REPLICATING, BLUE, {}) is not None
    assert reverse_drain(CFG, REPLICATING, Step(Phase.GREEN_PROVISIONED), BLUE, {}) is None
    assert (
        reverse_drain(make_config(strategy="one-way"), Step(Phase.PRODUCERS_SWITCHED, 1, 2), REPLICATING, BLUE, {})
        is None
    )


def test_consumer_waves_and_the_reverse_stop_in_one_update_are_refused_naming_the_step_between() -> None:
    refusal = consumers_move_with_reverse_stop(CFG, CONSUMERS_SWITCHED, REPLICATING)
    assert refusal and "producers-switched with producerWaves=2 consumerWaves=0" in refusal
    assert consumers_move_with_reverse_stop(CFG, CONSUMERS_SWITCHED, Step(Phase.PRODUCERS_SWITCHED, 2, 0)) is None
    assert consumers_move_with_reverse_stop(CFG, Step(Phase.PRODUCERS_SWITCHED, 2, 0), REPLICATING) is None


def test_the_drain_passes_only_when_green_is_idle_copied_and_read() -> None:
    drain = reverse_drain(CFG, PRODUCERS_SWITCHED, REPLICATING, BLUE, {})
    assert drain is not None
    assert all(v.passed for v in drain_verdicts(drain, QUIET))
    busy = DrainSnapshot({"orders": 4}, {"orders:0": 2}, {"billing": {"B.orders:0": 7}})
    verdicts = {v.gate: v for v in drain_verdicts(drain, busy)}
    assert not verdicts[Gate.GREEN_IDLE].passed and "'orders': 4" in verdicts[Gate.GREEN_IDLE].summary
    assert not verdicts[Gate.REVERSE_DRAINED].passed and "'orders:0': 2" in verdicts[Gate.REVERSE_DRAINED].summary
    assert not verdicts[Gate.REVERSE_COPIES_READ].passed and "B.orders:0" in verdicts[Gate.REVERSE_COPIES_READ].summary


def test_a_force_waives_one_drain_gate_with_its_reason() -> None:
    drain = reverse_drain(CFG, PRODUCERS_SWITCHED, REPLICATING, BLUE, {"reverse-copies-read": "analytics retired"})
    assert drain is not None
    stalled = DrainSnapshot({"orders": 0}, {"orders:0": 0}, {"analytics": {"B.orders:1": 3}})
    verdicts = {v.gate: v for v in drain_verdicts(drain, stalled)}
    assert (
        verdicts[Gate.REVERSE_COPIES_READ].passed and "analytics retired" in verdicts[Gate.REVERSE_COPIES_READ].summary
    )


def test_the_drain_survives_its_trip_through_resource_properties() -> None:
    drain = reverse_drain(CFG, PRODUCERS_SWITCHED, REPLICATING, BLUE, {})
    assert drain is not None
    assert type(drain).from_json(drain.to_json()) == drain
