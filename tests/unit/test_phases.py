from __future__ import annotations

import itertools

import pytest

from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.planning.phases import (
    Move,
    Step,
    Transition,
    config_steps,
    plan_transition,
    steps,
    strategy_change_refusal,
    target_step,
)
from tests.unit.builders import make_config

BIDI = [
    Step(Phase.BLUE_ONLY),
    Step(Phase.GREEN_PROVISIONED),
    Step(Phase.REPLICATING),
    Step(Phase.BIDIRECTIONAL),
    Step(Phase.PRODUCERS_SWITCHED, 1, 0),
    Step(Phase.PRODUCERS_SWITCHED, 2, 0),
    Step(Phase.CONSUMERS_SWITCHED, 2, 1),
    Step(Phase.CONSUMERS_SWITCHED, 2, 2),
    Step(Phase.REVERSE_DISABLED, 2, 2),
    Step(Phase.VERIFIED, 2, 2),
    Step(Phase.MM2_STOPPED, 2, 2),
    Step(Phase.DECOMMISSIONED, 2, 2),
]

ONE_WAY = [
    Step(Phase.BLUE_ONLY),
    Step(Phase.GREEN_PROVISIONED),
    Step(Phase.REPLICATING),
    Step(Phase.CONSUMERS_SWITCHED, 0, 1),
    Step(Phase.CONSUMERS_SWITCHED, 0, 2),
    Step(Phase.PRODUCERS_SWITCHED, 1, 2),
    Step(Phase.PRODUCERS_SWITCHED, 2, 2),
    Step(Phase.VERIFIED, 2, 2),
    Step(Phase.MM2_STOPPED, 2, 2),
    Step(Phase.DECOMMISSIONED, 2, 2),
]


def test_bidirectional_walks_the_articles_order_one_wave_per_step() -> None:
    assert steps(Strategy.BIDIRECTIONAL, 2, 2) == BIDI


def test_one_way_switches_consumers_before_producers() -> None:
    assert steps(Strategy.ONE_WAY, 2, 2) == ONE_WAY


def test_a_role_without_clients_still_has_its_step() -> None:
    assert Step(Phase.PRODUCERS_SWITCHED, 0, 0) in steps(Strategy.BIDIRECTIONAL, 0, 1)


def test_target_step_refuses_waves_that_do_not_fit_the_phase() -> None:
    cfg = make_config(phase="consumers-switched", producerWaves=1, consumerWaves=1)
    with pytest.raises(
        ValueError, match=r"consumers-switched with producerWaves=1 consumerWaves=1 .* producerWaves=2 consumerWaves=1"
    ):
        target_step(cfg)


@pytest.mark.parametrize(("strategy", "order"), [("bidirectional", BIDI), ("one-way", ONE_WAY)])
def test_every_single_step_forward_is_allowed(strategy: str, order: list[Step]) -> None:
    cfg = make_config(strategy=strategy)
    for before, after in itertools.pairwise(order):
        t = plan_transition(cfg, before, before, target=after)
        assert (t.move, t.refusal) == (Move.FORWARD, None), (before, after)


@pytest.mark.parametrize(("strategy", "order"), [("bidirectional", BIDI), ("one-way", ONE_WAY)])
def test_skipping_a_step_is_refused_naming_the_step_to_take(strategy: str, order: list[Step]) -> None:
    cfg = make_config(strategy=strategy)
    for i in range(len(order) - 2):
        t = plan_transition(cfg, order[i], order[i], target=order[i + 2])
        assert t.refusal is not None
        assert f"skips {order[i + 1].describe()}" in t.refusal


def test_same_step_is_no_move() -> None:
    cfg = make_config()
    assert plan_transition(cfg, BIDI[5], BIDI[5], target=BIDI[5]).move is Move.NONE


def test_new_stack_must_start_at_the_beginning() -> None:
    cfg = make_config()
    assert plan_transition(cfg, None, None, target=BIDI[1]).allowed
    refused = plan_transition(cfg, None, None, target=BIDI[2])
    assert refused.refusal is not None and "start with phase green-provisioned" in refused.refusal


def test_bidirectional_rollbacks_allowed_until_mm2_stops() -> None:
    cfg = make_config()
    stop = BIDI.index(Step(Phase.MM2_STOPPED, 2, 2))
    for i in range(2, stop):
        for j in range(1, i):
            t = plan_transition(cfg, BIDI[i], BIDI[i], target=BIDI[j])
            assert t.move is Move.ROLLBACK and t.allowed, (BIDI[i], BIDI[j], t.refusal)


@pytest.mark.parametrize("leaving", [Step(Phase.MM2_STOPPED, 2, 2), Step(Phase.DECOMMISSIONED, 2, 2)])
def test_no_rollback_once_mm2_is_stopped(leaving: Step) -> None:
    cfg = make_config()
    t = plan_transition(cfg, leaving, leaving, target=Step(Phase.VERIFIED, 2, 2))
    assert t.move is Move.ROLLBACK and t.refusal is not None


def test_rollback_to_blue_only_needs_allow_destroy() -> None:
    refused = plan_transition(make_config(), BIDI[2], BIDI[2], target=BIDI[0])
    assert refused.refusal is not None and "allowDestroy" in refused.refusal
    assert plan_transition(make_config(allowDestroy=True), BIDI[2], BIDI[2], target=BIDI[0]).allowed


def test_one_way_consumers_cannot_return_once_producers_wrote_to_green() -> None:
    cfg = make_config(strategy="one-way")
    back = Step(Phase.CONSUMERS_SWITCHED, 0, 1)
    at = Step(Phase.CONSUMERS_SWITCHED, 0, 2)
    assert plan_transition(cfg, at, at, target=back).allowed
    high_water = Step(Phase.PRODUCERS_SWITCHED, 1, 2)
    refused = plan_transition(cfg, at, high_water, target=back)
    assert refused.refusal is not None and "one-way strategy has no flow back" in refused.refusal
    # Producers themselves can still go back.
    assert plan_transition(cfg, high_water, high_water, target=at).allowed


def test_config_steps_follow_the_clients_waves() -> None:
    cfg = make_config()
    assert config_steps(cfg) == BIDI


def configmap_routing_config(kubernetes: dict[str, str]) -> MigrationConfig:
    return make_config(
        strategy="one-way",
        green={"alias": "B", "runtime": "kubernetes", "kubernetes": {"namespace": "kafka", **kubernetes}},
        routing={"kubernetesNamespace": "apps"},
    )


def consumer_switch(cfg: MigrationConfig) -> tuple[Transition, Transition]:
    """The move onto the first consumer wave, and back."""
    order = config_steps(cfg)
    switch = order.index(next(s for s in order if s.consumer_waves == 1))
    forward = plan_transition(cfg, order[switch - 1], order[switch - 1], target=order[switch])
    return forward, plan_transition(cfg, order[switch], order[switch], target=order[switch - 1])


def test_consumer_waves_move_where_routing_is_published_as_configmaps() -> None:
    """The consumer handoff writes the ConfigMaps through the API server: a wave moves, either way."""
    forward, back = consumer_switch(configmap_routing_config({}))
    assert forward.allowed and forward.refusal is None
    assert back.allowed and back.refusal is None


def test_consumer_waves_are_refused_where_routing_configmaps_are_only_rendered() -> None:
    """Rendered to files, the ConfigMaps have no server for the handoff to publish through."""
    cfg = configmap_routing_config({"renderYamlToDirectory": "/tmp/rendered"})
    forward, back = consumer_switch(cfg)
    assert not forward.allowed and "renderYamlToDirectory" in (forward.refusal or "")
    assert "without committed offsets" in (forward.refusal or "")
    assert not back.allowed
    # Steps that move no consumer are unaffected.
    order = config_steps(cfg)
    assert plan_transition(cfg, order[1], order[1], target=order[2]).allowed


def test_a_strategy_change_after_replication_is_refused_naming_where_to_roll_back() -> None:
    cfg = make_config(strategy="bidirectional")
    replicating = Step(Phase.REPLICATING)
    refusal = strategy_change_refusal(cfg, "one-way", replicating, replicating)
    assert refusal is not None
    assert "from one-way to bidirectional" in refusal and "roll back to phase blue-only" in refusal
    # Before anything was replicated, or back at blue-only, the strategy may change.
    provisioned = Step(Phase.GREEN_PROVISIONED)
    assert strategy_change_refusal(cfg, "one-way", provisioned, provisioned) is None
    assert strategy_change_refusal(cfg, "one-way", Step(Phase.BLUE_ONLY), replicating) is None
    assert strategy_change_refusal(cfg, "bidirectional", replicating, replicating) is None
