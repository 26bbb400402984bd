"""The step one `pulumi up` enters: read what is, decide the move, run its gates, plan it; then record it.

`Migration` calls `enter_step` before it registers anything, so a refused move, a failed
gate or an unreadable blue stops the program with nothing changed; `record_step` exports
what the next update judges its move from (the stack's own outputs are the migration's state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pulumi

from kafka_migration.config.clusters import RuntimeKind
from kafka_migration.config.load import resolve_config
from kafka_migration.config.model import MigrationConfig
from kafka_migration.errors import ConfigError, GateFailed, MigrationError, PreflightError, TransitionRefused
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import MigrationPlan, plan_migration, selection_refusal
from kafka_migration.planning.gates import (
    NOT_OVERRIDABLE,
    Gate,
    Verdict,
    active_flows,
    blocking,
    evaluate,
    known_topic_ids,
    spent_forces,
    stale_force_note,
    usable_forces,
)
from kafka_migration.planning.local_processes import mm2_endpoints
from kafka_migration.planning.phases import Move, Step, config_steps, furthest
from kafka_migration.planning.rollback import ReverseDrain, reverse_drain
from kafka_migration.planning.step_decision import decide_step
from kafka_migration.resources.providers.applied_step import AppliedStep
from kafka_migration.resources.stack_config import load_from_pulumi
from kafka_migration.resources.stack_state import AppliedState, read_applied_state


@dataclass(frozen=True)
class EnteredStep:
    """What this update does: the plan of the step it enters, and what recording it needs."""

    config: MigrationConfig
    plan: MigrationPlan
    move: Move
    applied: AppliedState
    blue: ClusterInventory
    entered_from: Step | None
    """The step the current one was entered from (stable across no-op updates)."""
    known_ids: dict[str, str]
    verdicts: list[Verdict] = field(default_factory=list)
    forced: dict[str, str] = field(default_factory=dict)
    adopt_topics: dict[str, TopicInfo] = field(default_factory=dict)
    reverse_drain: ReverseDrain | None = None


def enter_step(config: MigrationConfig | Mapping[str, Any] | None, data_dir: Path) -> EnteredStep:
    """Read, decide, gate and plan; any refusal raises `pulumi.RunError` before a resource is registered."""
    try:
        cfg = load_from_pulumi() if config is None else resolve_config(config, pulumi.get_stack())
        applied = read_applied_state()
        decision = decide_step(cfg, applied.outputs.get("strategy"), applied.step, applied.high_water)
        if decision.refusal or decision.target is None:
            raise TransitionRefused(decision.refusal or "")
        target, move = decision.target, decision.move
        blue = _read_blue(cfg)
        unfit = selection_refusal(cfg, blue)
        if unfit:
            raise ConfigError(unfit)
        known_ids = known_topic_ids(cfg, applied.outputs.get("blueTopicIds"), blue)
        verdicts: list[Verdict] = []
        forced: dict[str, str] = {}
        if decision.gates:
            verdicts, forced = _run_gates(cfg, applied, target, decision.gates, blue, known_ids, data_dir)
        plan = plan_migration(cfg, target, blue, cfg.green.brokers)
        green = _read_green(cfg, plan, applied)
        _distinct_from_blue(cfg, blue, green)
    except MigrationError as err:
        raise pulumi.RunError(str(err)) from None
    plan = _acls_to_manage(plan, applied, green)
    drain = None
    if move is Move.ROLLBACK:
        usable = usable_forces(cfg.force, spent_forces(applied.history, target))
        drain = reverse_drain(cfg, applied.step, target, blue, usable)
    return EnteredStep(
        config=cfg,
        plan=plan,
        move=move,
        applied=applied,
        blue=blue,
        entered_from=_entered_from(applied, move),
        known_ids=known_ids,
        verdicts=verdicts,
        forced=forced,
        adopt_topics=_unmanaged_green_topics(plan, applied, green),
        reverse_drain=drain,
    )


def record_step(step: EnteredStep, migration: pulumi.Resource) -> AppliedStep:
    """The step as completed once every change of `migration` succeeded, and the outputs the next update reads."""
    cfg, plan, applied, move = step.config, step.plan, step.applied, step.move
    target = plan.step
    completed = AppliedStep(
        "applied-step",
        step=target.as_output(),
        high_water=furthest(applied.high_water, target, config_steps(cfg)).as_output(),
        history=_history(applied, move, target.as_output(), step.verdicts, step.forced),
        opts=pulumi.ResourceOptions(depends_on=[migration]),
    )
    pulumi.export("strategy", cfg.strategy.value)
    pulumi.export("step", completed.step)
    pulumi.export("highWater", completed.high_water)
    pulumi.export("history", completed.history)
    pulumi.export("gates", [v.to_json() for v in step.verdicts] if step.verdicts else applied.outputs.get("gates", []))
    # Forced to enter the current step (every earlier force stays in its history entry).
    pulumi.export("forcedGates", step.forced if move is not Move.NONE else applied.outputs.get("forcedGates", {}))
    pulumi.export("blueClusterId", step.blue.cluster_id)
    pulumi.export("blueTopicIds", step.known_ids)
    pulumi.export("routing", {g: d.to_json() for g, d in plan.routing.items()})
    pulumi.export("flows", [f"{f.source}->{f.target}" for f in plan.flows])
    pulumi.export("greenTopics", sorted(t.name for t in plan.topics))
    pulumi.export("greenAcls", sorted(a.key() for a in plan.acls))
    return completed


def _read_blue(cfg: MigrationConfig) -> ClusterInventory:
    try:
        return read_inventory(client_config(cfg.blue), cfg.gates.read_timeout_seconds)
    except Exception as err:
        raise PreflightError(
            f"gate blue-reachable failed: cannot read blue ({cfg.blue.alias}) at "
            f"{cfg.blue.resolved_bootstrap_servers}: {err}; check blue.bootstrapServers and blue.security"
        ) from err


def _history(
    applied: AppliedState, move: Move, step_json: dict[str, Any], verdicts: list[Verdict], forced: dict[str, str]
) -> list[dict[str, Any]]:
    """The applied history, plus this move's step with the gates forced to enter it.

    A passing `source-intact` also records what it checked (`sourceChecked`), so a later
    check judges only what MM2 copied since.
    """
    if move is Move.NONE and applied.history:
        return applied.history
    entry: dict[str, Any] = {**step_json, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    if forced:
        entry["forced"] = forced
    checked = next((v.figures.get("checkedThrough") for v in verdicts if v.gate is Gate.SOURCE_INTACT), None)
    if checked:
        entry["sourceChecked"] = checked
    return [*applied.history, entry]


def _read_green(cfg: MigrationConfig, plan: MigrationPlan, applied: AppliedState) -> ClusterInventory | None:
    """Green as it is, where that matters: an existing (external) green, or one this stack already manages.

    None when green is not there yet (this update creates it) or cannot be read (the
    engine then reports what fails).
    """
    managed = bool(applied.outputs.get("greenTopics"))
    if not plan.green_provisioned or not (cfg.green.runtime is RuntimeKind.EXTERNAL or managed):
        return None
    if cfg.green.runtime is RuntimeKind.KUBERNETES:
        return None
    try:
        return read_inventory(client_config(cfg.green), cfg.gates.read_timeout_seconds)
    except Exception:  # noqa: BLE001 - unreachable green: create as planned, the engine reports any conflict
        return None


def _distinct_from_blue(cfg: MigrationConfig, blue: ClusterInventory, green: ClusterInventory | None) -> None:
    """Refuse, before anything is registered, a green that is blue under another address."""
    if green is not None and green.cluster_id == blue.cluster_id:
        raise PreflightError(
            f"gate distinct-clusters failed: green ({cfg.green.alias}) at {cfg.green.resolved_bootstrap_servers} "
            f"reports cluster id {green.cluster_id}, the same as blue ({cfg.blue.alias}): the migration would "
            "create green's topics and ACLs on blue; point green.bootstrapServers at the new cluster"
        )


def _unmanaged_green_topics(
    plan: MigrationPlan, applied: AppliedState, green: ClusterInventory | None
) -> dict[str, TopicInfo]:
    """Planned green topics that already exist on green but are not in this stack yet (MM2 created them)."""
    managed = set(applied.outputs.get("greenTopics") or [])
    wanted = {t.name for t in plan.topics} - managed
    if green is None or not wanted or not managed:
        return {}  # nothing new, or green is being created by this very update
    return {name: green.topics[name] for name in wanted if name in green.topics}


def _acls_to_manage(plan: MigrationPlan, applied: AppliedState, green: ClusterInventory | None) -> MigrationPlan:
    """The plan without the ACLs green had before this stack: they are left alone, never deleted by it."""
    if "greenAcls" not in applied.outputs and applied.outputs.get("greenTopics"):
        return plan  # recorded before `greenAcls` existed: everything planned is this stack's already
    managed = set(applied.outputs.get("greenAcls") or [])
    existing = set(green.acls) if green is not None else set()
    keep = tuple(a for a in plan.acls if a not in existing or a.key() in managed)
    return replace(plan, acls=keep)


def _entered_from(applied: AppliedState, move: Move) -> Step | None:
    """The step the current one was entered from: the applied step on a move, else the history's previous entry."""
    if move is not Move.NONE:
        return applied.step
    return Step.from_output(applied.history[-2]) if len(applied.history) >= 2 else None


def _run_gates(
    cfg: MigrationConfig,
    applied: AppliedState,
    target: Step,
    gates: tuple[Gate, ...],
    blue: ClusterInventory,
    known_ids: dict[str, str],
    data_dir: Path,
) -> tuple[list[Verdict], dict[str, str]]:
    """Evaluate the gates guarding this forward step; raise GateFailed at `up`, warn at preview."""
    flows = active_flows(cfg, applied.step) if applied.step else []
    evidence = Collector(cfg, mm2_endpoints(cfg, data_dir)).collect(
        blue, list(gates), flows, known_ids, applied.history
    )
    verdicts = evaluate(cfg, applied.step, target, evidence)
    spent = spent_forces(applied.history, target)
    failed, forced = blocking(verdicts, cfg.force, spent)
    for v in verdicts:
        if v.passed:
            pulumi.log.info(f"gate {v.gate.value} passed: {v.summary}")
        elif v.gate.value in forced:
            pulumi.log.warn(f"gate {v.gate.value} FORCED ({forced[v.gate.value]!r}): {v.summary}")
        elif pulumi.runtime.is_dry_run():
            pulumi.log.warn(f"gate {v.gate.value} fails, `pulumi up` will refuse: {v.summary}")
    if failed and not pulumi.runtime.is_dry_run():
        lines = "\n".join(
            f"  {v.gate.value}: {v.summary}{stale_force_note(v.gate.value, cfg.force, spent)}" for v in failed
        )
        forceable = [v.gate.value for v in failed if v.gate not in NOT_OVERRIDABLE]
        override = (
            " or override one named gate with `pulumi config set --path 'force.<gate>' '<reason>'` "
            f"({', '.join(forceable)} can be; recorded in the stack outputs)"
            if forceable
            else f" ({', '.join(v.gate.value for v in failed)} cannot be forced)"
        )
        raise GateFailed(
            [v.gate.value for v in failed],
            f"refused to enter {target.describe()}; nothing was changed. Failed gates:\n{lines}\n"
            f"Fix the cause and run `pulumi up` again,{override}.",
        )
    return verdicts, forced
