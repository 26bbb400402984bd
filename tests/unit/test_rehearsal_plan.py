"""The rehearsal's walk: where the rollback drills go, and the stray producer's refused `up` at mm2-stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

import kafka_migration
from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import Phase, Strategy
from kafka_migration.local_runtime.stack_harness import DRAIN_WAIT, GATE_REFUSAL, engine_error_summary
from kafka_migration.planning.phases import Step
from kafka_migration.rehearsal import run
from kafka_migration.rehearsal.run import (
    RehearsalOptions,
    StrayCheck,
    dev_stack_config,
    stray_interval,
    up_with_stray_producer,
    walk_plan,
)


def plan(strategy: Strategy, **options) -> list[str]:
    cfg = config_from_mapping({**dev_stack_config(), "strategy": strategy.value}, "rehearsal")
    steps = walk_plan(cfg, RehearsalOptions(strategy, Path("unused"), **options))
    return [("back to " if rollback else "") + step.describe() for step, rollback in steps]


def test_bidirectional_drills_roll_back_to_replicating_and_one_consumer_wave_then_walk_forward_again() -> None:
    walk = plan(Strategy.BIDIRECTIONAL)

    start = walk.index("producers-switched (producerWaves=1)")
    assert walk[start : start + 5] == [
        "producers-switched (producerWaves=1)",
        "back to replicating",
        "bidirectional",
        "producers-switched (producerWaves=1)",
        "producers-switched (producerWaves=2)",
    ]
    start = walk.index("consumers-switched (producerWaves=2, consumerWaves=1)")
    assert walk[start : start + 4] == [
        "consumers-switched (producerWaves=2, consumerWaves=1)",
        "back to producers-switched (producerWaves=2)",
        "consumers-switched (producerWaves=2, consumerWaves=1)",
        "consumers-switched (producerWaves=2, consumerWaves=2)",
    ]
    assert sum(s.startswith("back to") for s in walk) == 2
    assert walk[-2:] == [
        "mm2-stopped (producerWaves=2, consumerWaves=2)",
        "decommissioned (producerWaves=2, consumerWaves=2)",
    ]


def test_one_way_keeps_its_single_drill_and_without_drills_the_walk_is_the_phase_order() -> None:
    walk = plan(Strategy.ONE_WAY)

    assert [s for s in walk if s.startswith("back to")] == ["back to consumers-switched (consumerWaves=2)"]
    assert len(walk) == len(plan(Strategy.ONE_WAY, rollback_drill=False)) + 2
    assert not any(s.startswith("back to") for s in plan(Strategy.BIDIRECTIONAL, rollback_drill=False))


def test_a_walk_stopped_early_has_only_the_drills_it_reaches() -> None:
    walk = plan(Strategy.BIDIRECTIONAL, stop_after=Step(Phase.PRODUCERS_SWITCHED, 2, 0))

    assert walk[-4:] == [
        "back to replicating",
        "bidirectional",
        "producers-switched (producerWaves=1)",
        "producers-switched (producerWaves=2)",
    ]


def test_the_stray_writes_more_often_than_the_blue_idle_window_lasts() -> None:
    window = config_from_mapping(dev_stack_config(), "rehearsal").gates.idle_window_seconds

    assert stray_interval(window) < window
    assert stray_interval(window) == 3.0  # Pulumi.dev.yaml's window is 5 s
    assert stray_interval(3.0) == 1.5


class FakeStray:
    sent = 2

    def __init__(self, bootstrap: str, every_s: float) -> None:
        assert every_s < 5

    def __enter__(self) -> FakeStray:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def wait_first(self) -> None:
        pass


class FakeStack:
    def __init__(self, stderr: str | None) -> None:
        self.stderr = stderr

    def up(self) -> None:
        if self.stderr is not None:
            raise auto.CommandError(CommandResult(stdout="", stderr=self.stderr, code=255))


REFUSAL = "error: refused to enter mm2-stopped; nothing was changed. Failed gates:\n"
BLUE_IDLE = "    blue-idle: blue still used: writes in the last 5s {'orders': 2}, active groups none\n"


def test_up_with_a_stray_producer_is_refused_by_blue_idle_or_reported_as_not_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run, "StrayProducer", FakeStray)
    stack = FakeStack

    refused = up_with_stray_producer(stack(REFUSAL + BLUE_IDLE), "blue:9092", 5.0)  # type: ignore[arg-type]
    other_gate = up_with_stray_producer(stack(REFUSAL + "  replication-drained: x\n"), "b", 5.0)  # type: ignore[arg-type]
    let_in = up_with_stray_producer(stack(None), "blue:9092", 5.0)  # type: ignore[arg-type]

    assert refused == StrayCheck(True, BLUE_IDLE.strip(), 2)
    assert not other_gate.refused and "refused to enter mm2-stopped" in other_gate.line
    assert not let_in.refused and "not refused" in let_in.line
    with pytest.raises(auto.CommandError, match="boom"):
        up_with_stray_producer(stack("error: boom\n"), "blue:9092", 5.0)  # type: ignore[arg-type]


PACKAGE = Path(kafka_migration.__file__).parent


def test_the_harness_retries_on_the_very_words_the_program_refuses_and_the_drain_times_out_with() -> None:
    assert f"{GATE_REFUSAL} {{target.describe()}}" in (PACKAGE / "resources/next_step.py").read_text()
    assert f'f"{DRAIN_WAIT} {{drain.flow}} stops' in (PACKAGE / "operations/reverse_drain.py").read_text()


def test_a_long_engine_error_keeps_each_resources_error_and_drops_the_outputs() -> None:
    progress = "\n".join(f" ~ RoutingDocument migration-routing-g{n} updating" for n in range(200))
    outputs = "\n".join(f"    - g{n}: {{ paused: false }}" for n in range(400))
    text = (
        f" code: 1\n stdout: Updating (dev):\n{progress}\nDiagnostics:\n  RoutingDocument (migration-routing-billing):\n"
        f"    error: gate consumer-handoff failed: gave up after 120s: billing still has members\n"
        f"\nOutputs:\n{outputs}\n\nResources:\n    4 errored\n"
    )
    summary = engine_error_summary(text)
    assert "billing still has members" in summary
    assert " code: 1" in summary and "g399" not in summary
    assert len(summary) < len(text) // 4
    assert engine_error_summary("short") == "short"
