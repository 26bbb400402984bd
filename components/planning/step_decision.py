"""The decision of one `pulumi up`: where the config asks to go, whether that move is allowed, what guards it.

The program, `status` and the policy pack ask the same questions; they answer them here
(or with the functions this one is built of), never with copies of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.gates import Gate, gates_for
from kafka_migration.planning.phases import (
    Move,
    Step,
    Transition,
    plan_transition,
    strategy_change_refusal,
    target_step,
)
from kafka_migration.planning.rollback import consumers_move_with_reverse_stop


@dataclass(frozen=True)
class StepDecision:
    """What the config asks of a stack at its applied step."""

    target: Step | None
    """The configured step; None when the config's waves do not fit its phase (see `refusal`)."""
    move: Move
    gates: tuple[Gate, ...]
    """Gates guarding a forward move (none for a rollback or no move)."""
    refusal: str | None
    """Why the move may not happen and what to do instead; None when it may."""


def decide_step(
    cfg: MigrationConfig, applied_strategy: str | None, applied: Step | None, high_water: Step | None
) -> StepDecision:
    """Target, move, gates and refusal for this config at the applied step (all pure)."""
    unknown = sorted(set(cfg.force) - {g.value for g in Gate})
    if unknown:
        names = ", ".join(g.value for g in Gate)
        return StepDecision(
            None,
            Move.NONE,
            (),
            f"force names {unknown}, which are not gates; a force key is one of: {names} "
            "(remove it with `pulumi config rm --path 'force.<name>'`)",
        )
    try:
        target = target_step(cfg)
    except ValueError as err:
        return StepDecision(None, Move.NONE, (), str(err))
    changed = strategy_change_refusal(cfg, applied_strategy, applied, high_water)
    if changed:
        return StepDecision(target, Move.NONE, (), changed)
    transition: Transition = plan_transition(cfg, applied, high_water, target)
    if not transition.allowed:
        return StepDecision(target, transition.move, (), transition.refusal)
    if transition.move is Move.ROLLBACK and applied is not None:
        both = consumers_move_with_reverse_stop(cfg, applied, target)
        if both:
            return StepDecision(target, transition.move, (), f"cannot roll back to {target.describe()}: {both}")
    gates = tuple(gates_for(cfg, applied, target)) if transition.move is Move.FORWARD else ()
    return StepDecision(target, transition.move, gates, None)
