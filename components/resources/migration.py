"""Migration: the top-level component, and the program that runs one step per `pulumi up`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pulumi

from kafka_migration.config.load import load_from_pulumi
from kafka_migration.config.model import ClientRole, MigrationConfig, RuntimeKind, Strategy
from kafka_migration.errors import ConfigError, GateFailed, MigrationError, PreflightError, TransitionRefused
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.planning.desired import MigrationPlan, plan_migration, selected_topics, selection_refusal
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
from kafka_migration.planning.inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.mm2 import flow_spec, remote_topic_replication_factor
from kafka_migration.planning.naming import offset_syncs_topic
from kafka_migration.planning.phases import (
    Move,
    Step,
    config_steps,
    furthest,
)
from kafka_migration.planning.rollback import ReverseDrain, reverse_drain
from kafka_migration.planning.step_decision import decide_step
from kafka_migration.resources.acl_mirror import AclMirror, AclMirrorArgs
from kafka_migration.resources.cleanup import BlueFence, BlueFenceArgs, Mm2Cleanup, Mm2CleanupArgs
from kafka_migration.resources.client_routing import ClientRouting, ClientRoutingArgs
from kafka_migration.resources.docker.resources import build_docker_green
from kafka_migration.resources.green_cluster import GreenCluster, GreenClusterArgs
from kafka_migration.resources.kafka_provider import kafka_provider
from kafka_migration.resources.kubernetes.resources import (
    build_kubernetes_green,
    build_kubernetes_routing,
    kubernetes_provider,
)
from kafka_migration.resources.mm2_workers import MirrorMakerWorkers, MirrorMakerWorkersArgs, mm2_endpoints
from kafka_migration.resources.providers.applied_step import AppliedStep
from kafka_migration.resources.providers.topics_absent import TopicsOfGreen
from kafka_migration.resources.replication_flow import ReplicationFlow, ReplicationFlowArgs
from kafka_migration.resources.stack_state import AppliedState, read_applied_state
from kafka_migration.resources.topic_mirror import TopicMirror, TopicMirrorArgs

TYPE = "kafkamig:index:Migration"
MIN_ISR = "min.insync.replicas"


@dataclass(frozen=True)
class MigrationArgs:
    """The validated config and the plan of the current step."""

    config: MigrationConfig
    plan: MigrationPlan
    data_root: Path
    """Parent folder of local clusters' and workers' data."""
    previous_step: Step | None
    """The step this one was entered from (stable across no-op updates)."""
    blue: ClusterInventory
    adopt_topics: dict[str, TopicInfo] = field(default_factory=dict)
    """Green topics that exist but this stack does not manage yet (see TopicMirrorArgs.adopt)."""
    reverse_drain: ReverseDrain | None = None
    """A rollback that stops the reverse flow: clients move and the drain passes before the flow stops."""


def summary_props(args: MigrationArgs) -> dict[str, Any]:
    """The migration's shape, recorded as the component's inputs: what the policy pack judges."""
    cfg, plan = args.config, args.plan
    return {
        "strategy": cfg.strategy.value,
        "production": cfg.production,
        "step": plan.step.as_output(),
        "previousStep": args.previous_step.as_output() if args.previous_step else None,
        "producerWavesTotal": cfg.wave_count(ClientRole.PRODUCER),
        "consumerWavesTotal": cfg.wave_count(ClientRole.CONSUMER),
        "blueAlias": cfg.blue.alias,
        "greenAlias": cfg.green.alias,
        "flows": {f"{f.source}->{f.target}": True for f in plan.flows},
        "clientRouting": {g: {"role": d.role.value, "cluster": d.cluster} for g, d in plan.routing.items()},
        "soakSeconds": cfg.gates.soak_seconds,
        "internalTopicReplicationFactor": cfg.mm2.internal_topic_replication_factor,
        "blueTopics": {
            t.name: {"replicationFactor": t.replication_factor, "minInsyncReplicas": t.configs.get(MIN_ISR)}
            for t in selected_topics(cfg, args.blue)
        },
    }


class Migration(pulumi.ComponentResource):
    """Everything one migration manages, as the plan of the current step says."""

    green_bootstrap_servers: pulumi.Output[str | None]
    connect_url: pulumi.Output[str | None]
    metrics_url: pulumi.Output[str | None]

    def __init__(self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, summary_props(args), opts)
        cfg, plan = args.config, args.plan
        self._adopt = args.adopt_topics
        self._drain = args.reverse_drain
        self._late_flows: list[tuple[str, ReplicationFlowArgs]] = []
        child = pulumi.ResourceOptions(parent=self)
        protect = not cfg.allow_destroy
        after: list[pulumi.Resource] = []
        self.green_bootstrap_servers = pulumi.Output.from_input(None)
        self.connect_url = pulumi.Output.from_input(None)
        self.metrics_url = pulumi.Output.from_input(None)

        runtime = cfg.green.runtime
        k8s_provider = None
        if runtime is RuntimeKind.KUBERNETES:
            assert cfg.green.kubernetes is not None
            k8s_provider = kubernetes_provider(f"{name}-k8s", cfg.green.kubernetes, child)
        if plan.green_provisioned and runtime is RuntimeKind.KUBERNETES:
            k8s = build_kubernetes_green(name, cfg, plan, self, k8s_provider)
            self.green_bootstrap_servers = k8s.bootstrap_servers
            self.connect_url, self.metrics_url = k8s.connect_url, k8s.metrics_url
            after = k8s.resources
        elif plan.green_provisioned:
            after = self._green_with_kafka_provider(name, cfg, plan, args.data_root, protect)
        if plan.internal_topics_removed:
            Mm2Cleanup(
                f"{name}-mm2-cleanup",
                Mm2CleanupArgs(cfg, plan.internal_topics_removed),
                pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        routing: pulumi.Resource
        if k8s_provider is not None and cfg.routing.kubernetes_namespace:
            routing = build_kubernetes_routing(f"{name}-routing", cfg, plan, self, k8s_provider, after)
        else:
            routing = ClientRouting(
                f"{name}-routing",
                ClientRoutingArgs(cfg, plan.routing, Path(cfg.routing.directory), args.reverse_drain),
                pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        for flow_name, flow_args in self._late_flows:
            # Stopped by a rollback: only after the clients moved and the drain passed.
            ReplicationFlow(flow_name, flow_args, pulumi.ResourceOptions(parent=self, depends_on=[routing]))
        if plan.fence:
            blue_provider = kafka_provider(f"{name}-blue-kafka", cfg.blue, cfg.blue.resolved_bootstrap_servers, child)
            BlueFence(
                f"{name}-blue-fence",
                BlueFenceArgs(plan.fence, blue_provider),
                pulumi.ResourceOptions(parent=self, depends_on=[routing]),
            )
        self.register_outputs(
            {
                **summary_props(args),
                "greenBootstrapServers": self.green_bootstrap_servers,
                "connectUrl": self.connect_url,
                "metricsUrl": self.metrics_url,
            }
        )

    def _green_with_kafka_provider(
        self, name: str, cfg: MigrationConfig, plan: MigrationPlan, data_root: Path, protect: bool
    ) -> list[pulumi.Resource]:
        """Local, external or Docker green: topics and ACLs through pulumi_kafka, MM2 through Connect's REST API."""
        child = pulumi.ResourceOptions(parent=self)
        green_resources: list[pulumi.Resource]
        if cfg.green.runtime is RuntimeKind.DOCKER:
            docker = build_docker_green(name, cfg, plan, self)
            self.green_bootstrap_servers = docker.bootstrap_servers
            connect_url, self.metrics_url, secrets_file = docker.connect_url, docker.metrics_url, docker.secrets_file
            green_resources, workers = [docker.green], [docker.mm2]
        else:
            green = GreenCluster(f"{name}-green", GreenClusterArgs(cfg.green, data_root, protect), child)
            self.green_bootstrap_servers = green.bootstrap_servers
            green_resources = [green]
        provider = kafka_provider(
            f"{name}-green-kafka",
            cfg.green,
            cfg.green.resolved_bootstrap_servers,
            pulumi.ResourceOptions(parent=self, depends_on=green_resources),
        )
        topics = TopicMirror(f"{name}-topics", TopicMirrorArgs(plan.topics, provider, protect, self._adopt), child)
        acls = AclMirror(f"{name}-acls", AclMirrorArgs(plan.acls, provider), child)
        syncs = TopicsOfGreen(
            f"{name}-blue-offset-syncs",
            cluster=cfg.blue.alias,
            client_config=pulumi.Output.secret(client_config(cfg.blue)),
            topics=[offset_syncs_topic(cfg.green.alias)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topics], additional_secret_outputs=["client_config"]),
        )
        if cfg.green.runtime is not RuntimeKind.DOCKER:
            mm2 = MirrorMakerWorkers(
                f"{name}-mm2",
                MirrorMakerWorkersArgs(cfg, cfg.green.resolved_bootstrap_servers, data_root, plan.mm2_running),
                pulumi.ResourceOptions(parent=self, depends_on=[topics, acls, syncs]),
            )
            connect_url, self.metrics_url, secrets_file, workers = (
                mm2.connect_url,
                mm2.metrics_url,
                mm2.secrets_file,
                [mm2],
            )
        self.connect_url = connect_url
        flows = self._flows(name, cfg, plan, connect_url, secrets_file, [topics, acls, syncs, *workers])
        return [topics, acls, syncs, *workers, *flows]

    def _flows(
        self,
        name: str,
        cfg: MigrationConfig,
        plan: MigrationPlan,
        connect_url: pulumi.Input[str],
        secrets_file: str,
        depends_on: list[pulumi.Resource],
    ) -> list[ReplicationFlow]:
        """A->B, and B->A under the bidirectional strategy; each enabled as the plan says.

        A flow a rollback's drain must outlive is created after the routing instead (`_late_flows`).
        """
        active = {(f.source, f.target) for f in plan.flows}
        pairs = [(cfg.blue, cfg.green)]
        if cfg.strategy is Strategy.BIDIRECTIONAL:
            pairs.append((cfg.green, cfg.blue))
        flows = []
        for source, target in pairs:
            flow_name = f"{name}-flow-{source.alias}-{target.alias}"
            flow_args = ReplicationFlowArgs(
                flow=flow_spec(cfg, source, target, secrets_file),
                connect_url=connect_url,
                enabled=(source.alias, target.alias) in active,
                remote_topic_replication_factor=remote_topic_replication_factor(cfg),
            )
            if self._drain is not None and self._drain.flow == f"{source.alias}->{target.alias}":
                self._late_flows.append((flow_name, flow_args))
                continue
            flows.append(
                ReplicationFlow(flow_name, flow_args, pulumi.ResourceOptions(parent=self, depends_on=depends_on))
            )
        return flows


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
) -> tuple[list[Verdict], dict[str, str]]:
    """Evaluate the gates guarding this forward step; raise GateFailed at `up`, warn at preview."""
    flows = active_flows(cfg, applied.step) if applied.step else []
    connect_url, metrics_url = mm2_endpoints(cfg, DATA_ROOT)
    evidence = Collector(cfg, connect_url, metrics_url).collect(blue, list(gates), flows, known_ids, applied.history)
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


DATA_ROOT = Path(".local-clusters")


def run() -> None:
    """Config in, one step of the migration out. Errors stop the program before any resource is registered."""
    try:
        cfg = load_from_pulumi()
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
        verdicts, forced = [], {}
        if decision.gates:
            verdicts, forced = _run_gates(cfg, applied, target, decision.gates, blue, known_ids)
        plan = plan_migration(cfg, target, blue, cfg.green.brokers)
    except MigrationError as err:
        raise pulumi.RunError(str(err)) from None

    entered_from = _entered_from(applied, move)
    green = _read_green(cfg, plan, applied)
    try:
        _distinct_from_blue(cfg, blue, green)
    except MigrationError as err:
        raise pulumi.RunError(str(err)) from None
    plan = _acls_to_manage(plan, applied, green)
    adopt = _unmanaged_green_topics(plan, applied, green)
    drain = None
    if move is Move.ROLLBACK:
        usable = usable_forces(cfg.force, spent_forces(applied.history, target))
        drain = reverse_drain(cfg, applied.step, target, blue, usable)
    migration = Migration("migration", MigrationArgs(cfg, plan, DATA_ROOT, entered_from, blue, adopt, drain))
    completed = AppliedStep(
        "applied-step",
        step=target.as_output(),
        high_water=furthest(applied.high_water, target, config_steps(cfg)).as_output(),
        history=_history(applied, move, target.as_output(), verdicts, forced),
        opts=pulumi.ResourceOptions(depends_on=[migration]),
    )
    pulumi.export("strategy", cfg.strategy.value)
    pulumi.export("step", completed.step)
    pulumi.export("highWater", completed.high_water)
    pulumi.export("history", completed.history)
    pulumi.export("gates", [v.to_json() for v in verdicts] if verdicts else applied.outputs.get("gates", []))
    # Forced to enter the current step (every earlier force stays in its history entry).
    pulumi.export("forcedGates", forced if move is not Move.NONE else applied.outputs.get("forcedGates", {}))
    pulumi.export("blueClusterId", blue.cluster_id)
    pulumi.export("blueTopicIds", known_ids)
    pulumi.export("routing", {g: d.to_json() for g, d in plan.routing.items()})
    pulumi.export("flows", [f"{f.source}->{f.target}" for f in plan.flows])
    pulumi.export("greenTopics", sorted(t.name for t in plan.topics))
    pulumi.export("greenAcls", sorted(a.key() for a in plan.acls))
    pulumi.export("greenBootstrapServers", migration.green_bootstrap_servers)
    pulumi.export("connectUrl", migration.connect_url)
    pulumi.export("metricsUrl", migration.metrics_url)
