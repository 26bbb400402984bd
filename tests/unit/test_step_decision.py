"""One decision per `pulumi up`: target, move, gates and refusal, from config and the applied step."""

from __future__ import annotations

from kafka_migration.config.model import Phase
from kafka_migration.planning.gates import Gate
from kafka_migration.planning.phases import Move, Step, config_steps, place_step
from kafka_migration.planning.step_decision import decide_step
from tests.unit.builders import make_config


def test_a_forward_move_carries_the_gates_of_its_target() -> None:
    cfg = make_config(phase="replicating")
    decision = decide_step(cfg, "bidirectional", Step(Phase.GREEN_PROVISIONED), Step(Phase.GREEN_PROVISIONED))
    assert decision.refusal is None and decision.move is Move.FORWARD
    assert Gate.DISTINCT_CLUSTERS in decision.gates


def test_a_rollback_runs_no_forward_gate() -> None:
    cfg = make_config(phase="replicating")
    applied = Step(Phase.BIDIRECTIONAL)
    decision = decide_step(cfg, "bidirectional", applied, applied)
    assert decision.move is Move.ROLLBACK and decision.gates == () and decision.refusal is None


def test_waves_that_do_not_fit_the_phase_are_a_refusal_not_an_exception() -> None:
    cfg = make_config(phase="producers-switched", producerWaves=0)
    decision = decide_step(cfg, None, None, None)
    assert decision.target is None and decision.refusal and "producerWaves=0" in decision.refusal


def test_an_applied_phase_the_strategy_does_not_have_is_refused_in_words() -> None:
    cfg = make_config(phase="green-provisioned", strategy="one-way")
    applied = Step(Phase.BIDIRECTIONAL)
    decision = decide_step(cfg, None, applied, applied)
    assert decision.refusal and "not a phase of the one-way strategy" in decision.refusal


def test_handing_consumers_back_and_stopping_the_reverse_flow_at_once_is_refused() -> None:
    cfg = make_config(phase="replicating")
    applied = Step(Phase.CONSUMERS_SWITCHED, 2, 1)
    decision = decide_step(cfg, "bidirectional", applied, applied)
    assert decision.refusal and "consumerWaves=0 first" in decision.refusal


def test_a_step_recorded_before_the_waves_changed_is_placed_by_phase() -> None:
    order = config_steps(make_config())
    assert place_step(order, Step(Phase.PRODUCERS_SWITCHED, 5, 0)) == Step(Phase.PRODUCERS_SWITCHED, 2, 0)
    assert place_step(config_steps(make_config(strategy="one-way")), Step(Phase.BIDIRECTIONAL)) is None


def test_a_force_naming_no_gate_is_refused_with_the_gate_names() -> None:
    cfg = make_config(phase="green-provisioned", force={"replicaton-lag": "typo"})
    decision = decide_step(cfg, None, None, None)
    assert decision.refusal and "['replicaton-lag']" in decision.refusal and "replication-lag" in decision.refusal
