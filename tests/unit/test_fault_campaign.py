"""The fault campaign's decisions: which scenarios run, where each strikes, and how a run is judged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import Phase, Strategy
from kafka_migration.rehearsal.checker import LedgerData, per_second
from kafka_migration.rehearsal.data_faults import RetentionWhileMm2Down
from kafka_migration.rehearsal.fault_model import Outcome, wave_step
from kafka_migration.rehearsal.faults import FAULTS, RollbackEverywhere, faults_named
from kafka_migration.rehearsal.process_faults import ConnectKilled, UpKilled
from kafka_migration.rehearsal.run import RehearsalOptions, dev_stack_config, walk_plan
from kafka_migration.rehearsal.scenarios import judge, records_per_s
from tests.unit.test_checker import produced


def dev(strategy: Strategy):
    return config_from_mapping({**dev_stack_config(), "strategy": strategy.value}, "rehearsal")


def run_figures(**overrides: Any) -> dict[str, Any]:
    """A run's report entry that survived, with `overrides`."""
    figures = {
        "lost": 0,
        "aborted_read": 0,
        "unacknowledged": 0,
        "phantom": 0,
        "duplicates": 0,
        "order_violations": 0,
        "error": None,
        "refusal": None,
        "faults": [{"fault": "x"}],
        "stray_producer_refused": True,
    }
    return {**figures, **overrides}


def test_all_names_every_scenario_and_an_unknown_name_is_refused_with_the_list() -> None:
    assert [f.name for f in faults_named("all")] == list(FAULTS)
    assert [f.name for f in faults_named("up-kill-consumer-wave, connect-kill-replicating")] == [
        "up-kill-consumer-wave",
        "connect-kill-replicating",
    ]
    with pytest.raises(ValueError, match=r"unknown scenario\(s\) \['conect-kill'\]; choose from: all, connect-kill"):
        faults_named("conect-kill")


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_fault_strikes_at_a_step_of_the_walk(strategy: Strategy) -> None:
    cfg = dev(strategy)
    walk = [step for step, _ in walk_plan(cfg, RehearsalOptions(strategy, Path("unused"), rollback_drill=False))]
    for fault in faults_named("all"):
        assert fault.step(cfg) in walk, fault.name
    assert UpKilled().step(cfg) == wave_step(cfg, Phase.CONSUMERS_SWITCHED, 1)
    assert ConnectKilled().step(cfg).phase is Phase.REPLICATING


def test_rollback_every_step_drills_wherever_the_planner_allows_a_rollback_and_nowhere_else() -> None:
    cfg = dev(Strategy.ONE_WAY)
    opts = RehearsalOptions(Strategy.ONE_WAY, Path("unused"), rollback_drill=False, faults=(RollbackEverywhere(),))
    backs = [step.describe() for step, rollback in walk_plan(cfg, opts) if rollback]
    # One-way moves consumers first; there is no drill out of mm2-stopped or decommissioned.
    assert backs == [
        "blue-only",
        "green-provisioned",
        "replicating",
        "consumers-switched (consumerWaves=1)",
        "consumers-switched (consumerWaves=2)",
        "producers-switched (producerWaves=1, consumerWaves=2)",
        "producers-switched (producerWaves=2, consumerWaves=2)",
    ]


def test_a_survived_scenario_needs_nothing_lost_phantom_unacknowledged_or_aborted_read() -> None:
    fault = ConnectKilled()
    assert judge(fault, run_figures(duplicates=3, order_violations=1), []) == (Outcome.SURVIVED, "")
    for key in ("lost", "aborted_read", "unacknowledged", "phantom"):
        outcome, why = judge(fault, run_figures(**{key: 2}), [])
        assert (outcome, why) == (Outcome.FAILED, f"{key} 2")


def test_a_scenario_fails_when_the_walk_stopped_the_fault_never_struck_or_green_misses_records() -> None:
    fault = ConnectKilled()
    assert judge(fault, run_figures(error="after replicating: boom"), [])[1] == "walk stopped after replicating: boom"
    assert "never injected" in judge(fault, run_figures(faults=[]), [])[1]
    assert judge(fault, run_figures(), ["3 of 300 records missing on green"]) == (
        Outcome.FAILED,
        "3 of 300 records missing on green",
    )
    assert "stray producer" in judge(fault, run_figures(stray_producer_refused=False), [])[1]


def test_a_refusal_scenario_passes_only_when_its_gate_refused() -> None:
    fault = RetentionWhileMm2Down()
    refusal = "source-intact: blue deleted records MM2 never copied: orders:0 [120, 180)"
    assert judge(fault, run_figures(refusal=refusal, lost=0), []) == (Outcome.REFUSED, refusal)
    assert judge(fault, run_figures(), []) == (
        Outcome.FAILED,
        "source-intact did not refuse the step after the fault",
    )


def test_traffic_per_second_is_zero_filled_per_cluster_and_the_rate_spans_first_to_last_ack() -> None:
    series = per_second([("A", 100.2), ("A", 100.9), ("B", 103.5)])
    assert series == {
        "A": [(100.0, 2.0), (101.0, 0.0), (102.0, 0.0), (103.0, 0.0)],
        "B": [(100.0, 0.0), (101.0, 0.0), (102.0, 0.0), (103.0, 1.0)],
    }
    data = LedgerData(produced=[produced(seq) for seq in range(11)])  # acknowledged one per second
    assert records_per_s(data) == pytest.approx(1.1)
