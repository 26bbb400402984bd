"""The phase model: ordered steps per strategy, and which moves between them are safe.

A *step* is a phase plus how many producer and consumer waves are switched. Every
`pulumi up` moves the stack by at most one step forward (so every step is previewed
and gated on its own) or back by any number of steps that can each be undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.clusters import RuntimeKind
from kafka_migration.config.model import MigrationConfig, Phase, Strategy


@dataclass(frozen=True, order=True)
class Step:
    """A position in the migration: phase and switched waves."""

    phase: Phase
    producer_waves: int = 0
    consumer_waves: int = 0

    def describe(self) -> str:
        waves = []
        if self.producer_waves:
            waves.append(f"producerWaves={self.producer_waves}")
        if self.consumer_waves:
            waves.append(f"consumerWaves={self.consumer_waves}")
        return self.phase.value + (f" ({', '.join(waves)})" if waves else "")

    def as_output(self) -> dict[str, object]:
        return {"phase": self.phase.value, "producerWaves": self.producer_waves, "consumerWaves": self.consumer_waves}

    @staticmethod
    def from_output(value: object) -> Step | None:
        if not isinstance(value, dict) or "phase" not in value:
            return None
        return Step(Phase(value["phase"]), int(value.get("producerWaves", 0)), int(value.get("consumerWaves", 0)))


def phase_order(strategy: Strategy) -> tuple[Phase, ...]:
    """The phases in the order the strategy walks them."""
    if strategy is Strategy.BIDIRECTIONAL:
        return tuple(Phase)
    return (
        Phase.BLUE_ONLY,
        Phase.GREEN_PROVISIONED,
        Phase.REPLICATING,
        Phase.CONSUMERS_SWITCHED,
        Phase.PRODUCERS_SWITCHED,
        Phase.VERIFIED,
        Phase.MM2_STOPPED,
        Phase.DECOMMISSIONED,
    )


def steps(strategy: Strategy, producer_wave_count: int, consumer_wave_count: int) -> list[Step]:
    """Every step of the migration in order, one per phase and one per wave."""
    p, c = 0, 0
    out: list[Step] = []
    for phase in phase_order(strategy):
        if phase is Phase.PRODUCERS_SWITCHED:
            for p in range(1, producer_wave_count + 1):
                out.append(Step(phase, p, c))
            p = producer_wave_count
            if producer_wave_count == 0:
                out.append(Step(phase, 0, c))
        elif phase is Phase.CONSUMERS_SWITCHED:
            for c in range(1, consumer_wave_count + 1):
                out.append(Step(phase, p, c))
            c = consumer_wave_count
            if consumer_wave_count == 0:
                out.append(Step(phase, p, 0))
        else:
            out.append(Step(phase, p, c))
    return out


def config_steps(cfg: MigrationConfig) -> list[Step]:
    """The steps of this stack's migration (its strategy and its clients' waves)."""
    return steps(cfg.strategy, cfg.wave_count(ClientRole.PRODUCER), cfg.wave_count(ClientRole.CONSUMER))


def target_step(cfg: MigrationConfig) -> Step:
    """The step the config asks for; raises ValueError naming the fields when the waves do not fit the phase."""
    wanted = Step(cfg.phase, cfg.producer_waves, cfg.consumer_waves)
    all_steps = config_steps(cfg)
    if wanted in all_steps:
        return wanted
    candidates = [s for s in all_steps if s.phase is cfg.phase]
    allowed = ", ".join(f"producerWaves={s.producer_waves} consumerWaves={s.consumer_waves}" for s in candidates)
    raise ValueError(
        f"phase {cfg.phase.value} with producerWaves={cfg.producer_waves} consumerWaves={cfg.consumer_waves} "
        f"is not a step of the {cfg.strategy.value} strategy; with this phase use one of: {allowed}"
    )


def _reached(strategy: Strategy, current: Phase, phase: Phase) -> bool:
    order = phase_order(strategy)
    return phase in order and order.index(current) >= order.index(phase)


def reverse_flow_active(cfg: MigrationConfig, step: Step) -> bool:
    """B->A runs from `bidirectional` until `reverse-disabled` (bidirectional strategy only)."""
    return cfg.strategy is Strategy.BIDIRECTIONAL and (
        _reached(cfg.strategy, step.phase, Phase.BIDIRECTIONAL)
        and not _reached(cfg.strategy, step.phase, Phase.REVERSE_DISABLED)
    )


def forward_flow_active(cfg: MigrationConfig, step: Step) -> bool:
    """A->B runs from `replicating` until `mm2-stopped`."""
    return _reached(cfg.strategy, step.phase, Phase.REPLICATING) and not _reached(
        cfg.strategy, step.phase, Phase.MM2_STOPPED
    )


class Move(StrEnum):
    """Direction of a transition."""

    NONE = "none"
    FORWARD = "forward"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class Transition:
    """What moving from the applied step to the target step means, and whether it is allowed."""

    previous: Step | None
    target: Step
    move: Move
    refusal: str | None = None
    """Why the move is refused and what to do instead; None when allowed."""

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def plan_transition(
    cfg: MigrationConfig, previous: Step | None, high_water: Step | None, target: Step | None = None
) -> Transition:
    """Decide whether the stack may move from `previous` (what is applied) to the configured step.

    `high_water` is the furthest step ever applied: some rollbacks are safe only if
    a later step never happened (one-way: once producers wrote to green, consumers
    cannot go back to blue).
    """
    target = target or target_step(cfg)
    order = config_steps(cfg)
    if previous is None:
        if order.index(target) > 1:
            first = order[1].describe()
            return Transition(
                None,
                target,
                Move.FORWARD,
                f"this stack has not applied any phase yet, so it cannot start at {target.describe()}; "
                f"start with phase {first} and move one step per `pulumi up`",
            )
        return Transition(None, target, Move.FORWARD)
    placed = place_step(order, previous)
    if placed is None:
        return Transition(
            previous,
            target,
            Move.NONE,
            f"the applied phase {previous.phase.value} is not a phase of the {cfg.strategy.value} strategy; "
            "set strategy back to the one this stack was applied with",
        )
    previous = placed
    i, j = order.index(previous), order.index(target)
    if previous.consumer_waves != target.consumer_waves and rendered_routing(cfg):
        return Transition(previous, target, Move.FORWARD if j > i else Move.ROLLBACK, RENDERED_ROUTING_HANDOFF)
    if i == j:
        return Transition(previous, target, Move.NONE)
    if j == i + 1:
        return Transition(previous, target, Move.FORWARD)
    if j > i + 1:
        return Transition(
            previous,
            target,
            Move.FORWARD,
            f"{target.describe()} skips {order[i + 1].describe()}; every step is gated on its own: "
            f"set phase {order[i + 1].phase.value} with producerWaves={order[i + 1].producer_waves} "
            f"consumerWaves={order[i + 1].consumer_waves} first",
        )
    for k in range(i, j, -1):
        reason = _reversal_refusal(cfg, order[k], order[k - 1], high_water)
        if reason:
            return Transition(previous, target, Move.ROLLBACK, f"cannot roll back to {target.describe()}: {reason}")
    return Transition(previous, target, Move.ROLLBACK)


RENDERED_ROUTING_HANDOFF = (
    "routing.kubernetesNamespace with green.kubernetes.renderYamlToDirectory renders the routing ConfigMaps to "
    "files for your tooling to apply: no API server is there for the consumer handoff (pause, drain, translate "
    "and commit offsets, verify) to publish through, so moving a consumer wave would leave the group without "
    "committed offsets on the other cluster. Apply to the cluster (remove renderYamlToDirectory; the handoff "
    "writes the ConfigMaps through the API server), publish routing as files (remove routing.kubernetesNamespace), "
    "or keep the consumer waves where they are"
)


def configmap_routing(cfg: MigrationConfig) -> bool:
    """Whether routing documents are published as Kubernetes ConfigMaps (`routing.kubernetesNamespace`)."""
    return bool(cfg.routing.kubernetes_namespace)


def rendered_routing(cfg: MigrationConfig) -> bool:
    """Whether green's Kubernetes runtime renders the routing ConfigMaps to files: no handoff there."""
    spec = cfg.green.kubernetes
    kubernetes = cfg.green.runtime is RuntimeKind.KUBERNETES and spec is not None
    return configmap_routing(cfg) and kubernetes and bool(spec and spec.render_yaml_to_directory)


def routing_kubeconfig_context(cfg: MigrationConfig) -> str | None:
    """The kubeconfig context routing ConfigMaps are written with: `routing.kubeconfigContext`, else green's."""
    if cfg.routing.kubeconfig_context:
        return cfg.routing.kubeconfig_context
    spec = cfg.green.kubernetes
    return spec.kubeconfig_context if cfg.green.runtime is RuntimeKind.KUBERNETES and spec is not None else None


def place_step(order: list[Step], step: Step) -> Step | None:
    """`step` in `order`, or the nearest step of its phase when the config's waves changed since it applied.

    None when the phase is not one of this order (the strategy changed).
    """
    if step in order:
        return step
    same_phase = [s for s in order if s.phase is step.phase]
    if not same_phase:
        return None
    return min(
        same_phase,
        key=lambda s: abs(s.producer_waves - step.producer_waves) + abs(s.consumer_waves - step.consumer_waves),
    )


def _reversal_refusal(cfg: MigrationConfig, leaving: Step, to: Step, high_water: Step | None) -> str | None:
    """Why undoing `leaving` (going back to `to`) is unsafe, or None when it is safe."""
    if leaving.phase is Phase.DECOMMISSIONED:
        return "blue has been fenced against writes and handed over for removal; a migration back needs a new stack"
    if leaving.phase is Phase.MM2_STOPPED:
        return (
            "MirrorMaker 2 was stopped and its offsets and internal topics deleted; starting it again would copy "
            "every topic from the beginning (duplicates on green) and the offset-syncs a hand-back needs are gone"
        )
    if leaving.phase is Phase.GREEN_PROVISIONED and to.phase is Phase.BLUE_ONLY and not cfg.allow_destroy:
        return "it would delete green's topics, which are protected; set allowDestroy: true if green is disposable"
    if (
        cfg.strategy is Strategy.ONE_WAY
        and leaving.phase is Phase.CONSUMERS_SWITCHED
        and high_water is not None
        and high_water.producer_waves > 0
    ):
        return (
            "producers have written to green, and the one-way strategy has no flow back to blue, so consumers "
            "returned to blue would miss those records; keep consumers on green (roll producers back instead)"
        )
    return None


def furthest(a: Step | None, b: Step, order: list[Step]) -> Step:
    """The later of two steps in the migration order (for the high-water mark)."""
    if a is None or a not in order:
        return b
    return a if order.index(a) >= order.index(b) else b


def strategy_change_refusal(
    cfg: MigrationConfig, applied_strategy: str | None, applied: Step | None, high_water: Step | None
) -> str | None:
    """Why the configured strategy may not replace the applied one, or None when it may.

    The two strategies name green's copies differently (one-way: `orders`; bidirectional:
    `<blue alias>.orders`, and blue's `<green alias>.orders`). Once MirrorMaker 2 has copied
    records under one scheme, the other would copy the same records again under other
    names (and bidirectional would send one-way's copies back to blue). Changing is safe
    only while nothing was replicated, or after a rollback to blue-only deleted green's copies.
    """
    if applied_strategy is None or applied is None or applied_strategy == cfg.strategy.value:
        return None
    previous = Strategy(applied_strategy)
    order = phase_order(previous)
    replicated = high_water is not None and order.index(high_water.phase) >= order.index(Phase.REPLICATING)
    if applied.phase is Phase.BLUE_ONLY or not replicated:
        return None
    return (
        f"strategy changed from {previous.value} to {cfg.strategy.value} after MirrorMaker 2 replicated under "
        f"{previous.value}'s topic names (this stack reached {high_water.describe() if high_water else '?'}): "
        f"green's topics hold those copies, and {cfg.strategy.value} would copy the same records again under "
        f"other names. Set strategy back to {previous.value}, or roll back to phase blue-only first (with "
        "allowDestroy: true, which deletes green's copies) and change the strategy there"
    )
