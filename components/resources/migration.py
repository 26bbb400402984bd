"""Migration: the public component; one step of the migration per `pulumi up`, entered only when safe."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.clusters import RuntimeKind
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.evidence.clients import client_config
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import MigrationPlan, selected_topics
from kafka_migration.planning.local_processes import DEFAULT_DATA_DIR
from kafka_migration.planning.mm2 import flow_spec, remote_topic_replication_factor
from kafka_migration.planning.naming import offset_syncs_topic
from kafka_migration.planning.phases import Step, configmap_routing, rendered_routing, routing_kubeconfig_context
from kafka_migration.planning.rollback import ReverseDrain
from kafka_migration.resources.acl_mirror import AclMirror, AclMirrorArgs
from kafka_migration.resources.cleanup import BlueFence, BlueFenceArgs, Mm2Cleanup, Mm2CleanupArgs
from kafka_migration.resources.client_routing import ClientRouting, ClientRoutingArgs, RoutingConfigMaps
from kafka_migration.resources.green_cluster import GreenCluster, GreenClusterArgs
from kafka_migration.resources.kafka_provider import kafka_provider
from kafka_migration.resources.mm2_workers import MirrorMakerWorkers, MirrorMakerWorkersArgs
from kafka_migration.resources.next_step import enter_step, record_step
from kafka_migration.resources.providers.topics_absent import TopicsOfGreen
from kafka_migration.resources.replication_flow import ReplicationFlow, ReplicationFlowArgs
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


@dataclass(frozen=True)
class MirrorMakerAccess:
    """How the connectors reach their worker: its REST API (and credentials file), and where it keeps MM2's secrets."""

    connect_url: pulumi.Input[str]
    secrets_file: str
    rest_credentials_file: str | None


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
    """A Kafka migration, one step per `pulumi up`: everything it manages, as the current step's plan says.

    One per stack: its outputs (`step`, `history`, ...) are the state the next update judges its move from.
    """

    green_bootstrap_servers: pulumi.Output[str | None]
    connect_url: pulumi.Output[str | None]
    metrics_url: pulumi.Output[str | None]

    def __init__(
        self,
        name: str = "migration",
        config: MigrationConfig | Mapping[str, Any] | None = None,
        *,
        data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """The step the stack config asks for, entered only if it is safe, and recorded.

        Args:
            name: the component's name (its children's names start with it).
            config: the migration's config; by default the stack's own (`pulumi.Config()` of
                the running project, whatever it is called). A `MigrationConfig`, or a mapping
                of the same keys (`phase`, `blue`, ...), is taken as is.
            data_dir: where local clusters and Connect workers keep their data.
            opts: resource options of the component.

        Raises:
            pulumi.RunError: the move is refused (transition, gate, config, unreachable
                blue); nothing is registered.
        """
        step = enter_step(config, Path(data_dir))
        args = MigrationArgs(
            step.config,
            step.plan,
            Path(data_dir),
            step.entered_from,
            step.blue,
            step.adopt_topics,
            step.reverse_drain,
        )
        self._build(name, args, opts)
        record_step(step, self)

    @classmethod
    def _from_plan(cls, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None) -> Migration:
        """The resources of a step already decided, without reading, gating or recording (tests only)."""
        migration = cls.__new__(cls)
        migration._build(name, args, opts)
        return migration

    def _build(self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None) -> None:
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
            # The Kubernetes runtime needs the `kubernetes` extra (pulumi-kubernetes): imported only here.
            from kafka_migration.resources.kubernetes.resources import (
                build_kubernetes_green,
                build_kubernetes_routing,
                kubernetes_provider,
            )

            assert cfg.green.kubernetes is not None
            k8s_provider = kubernetes_provider(f"{name}-k8s", cfg.green.kubernetes, child)
        if plan.green_provisioned and runtime is RuntimeKind.KUBERNETES:
            k8s = build_kubernetes_green(name, cfg, plan, self, k8s_provider)
            self.green_bootstrap_servers = k8s.bootstrap_servers
            self.connect_url, self.metrics_url = k8s.connect_url, k8s.metrics_url
            after = k8s.resources
        elif plan.green_provisioned:
            after = self._green_with_kafka_provider(name, cfg, plan, args.data_root, protect)
        blue_provider = None
        if plan.fence or plan.blue_copy_reads:
            blue_provider = kafka_provider(f"{name}-blue-kafka", cfg.blue, cfg.blue.resolved_bootstrap_servers, child)
        if plan.blue_copy_reads:
            assert blue_provider is not None
            # Before routing sends blue's consumers to green's copies (B.orders) on blue.
            copy_reads = AclMirror(
                f"{name}-blue-copy-reads",
                AclMirrorArgs(plan.blue_copy_reads, blue_provider),
                pulumi.ResourceOptions(parent=self, depends_on=after),
            )
            after = [*after, copy_reads]
        if plan.internal_topics_removed:
            Mm2Cleanup(
                f"{name}-mm2-cleanup",
                Mm2CleanupArgs(cfg, plan.internal_topics_removed),
                pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        routing: pulumi.Resource
        if k8s_provider is not None and rendered_routing(cfg):
            # Rendered to files for your tooling: no API server to hand a consumer group over on.
            routing = build_kubernetes_routing(f"{name}-routing", cfg, plan, self, k8s_provider, after)
        else:
            config_maps = None
            if configmap_routing(cfg):
                config_maps = RoutingConfigMaps(routing_kubeconfig_context(cfg))
            routing = ClientRouting(
                f"{name}-routing",
                ClientRoutingArgs(cfg, plan.routing, Path(cfg.routing.directory), args.reverse_drain, config_maps),
                pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        for flow_name, flow_args in self._late_flows:
            # Stopped by a rollback: only after the clients moved and the drain passed.
            ReplicationFlow(flow_name, flow_args, pulumi.ResourceOptions(parent=self, depends_on=[routing]))
        if plan.fence:
            assert blue_provider is not None
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
        workers: list[pulumi.Resource]
        ca_ready: pulumi.Output[Any] | None = None
        rest_credentials_file: str | None = None
        if cfg.green.runtime is RuntimeKind.DOCKER:
            # The Docker runtime needs the `docker` extra (pulumi-docker): imported only here.
            from kafka_migration.resources.docker.resources import build_docker_green

            docker = build_docker_green(name, cfg, plan, self, data_root=data_root)
            self.green_bootstrap_servers = docker.bootstrap_servers
            green_resources = [docker.green]
            ca_ready = docker.ready if cfg.green.security.ca_file else None
        else:
            green = GreenCluster(f"{name}-green", GreenClusterArgs(cfg.green, data_root, protect), child)
            self.green_bootstrap_servers = green.bootstrap_servers
            green_resources = [green]
            ca_ready = green.cluster_id if cfg.green.runtime is RuntimeKind.LOCAL else None
        provider = kafka_provider(
            f"{name}-green-kafka",
            cfg.green,
            cfg.green.resolved_bootstrap_servers,
            pulumi.ResourceOptions(parent=self, depends_on=green_resources),
            ca_ready,
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
        if cfg.green.runtime is RuntimeKind.DOCKER:
            from kafka_migration.resources.docker.resources import build_docker_mm2

            # After MM2's grants on green: the worker creates its storage topics as MM2 when it starts.
            docker_mm2 = build_docker_mm2(name, cfg, docker, self, [topics, acls, syncs])
            connect_url, self.metrics_url, workers = docker_mm2.connect_url, docker_mm2.metrics_url, [docker_mm2]
            secrets_file, rest_credentials_file = docker.secrets_file, docker.rest_credentials_file
        else:
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
            rest_credentials_file = mm2.rest_credentials_file
        self.connect_url = connect_url
        worker = MirrorMakerAccess(connect_url, secrets_file, rest_credentials_file)
        flows = self._flows(name, cfg, plan, worker, [topics, acls, syncs, *workers])
        return [topics, acls, syncs, *workers, *flows]

    def _flows(
        self,
        name: str,
        cfg: MigrationConfig,
        plan: MigrationPlan,
        worker: MirrorMakerAccess,
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
                flow=flow_spec(cfg, source, target, worker.secrets_file),
                connect_url=worker.connect_url,
                enabled=(source.alias, target.alias) in active,
                remote_topic_replication_factor=remote_topic_replication_factor(cfg),
                rest_credentials_file=worker.rest_credentials_file,
            )
            if self._drain is not None and self._drain.flow == f"{source.alias}->{target.alias}":
                self._late_flows.append((flow_name, flow_args))
                continue
            flows.append(
                ReplicationFlow(flow_name, flow_args, pulumi.ResourceOptions(parent=self, depends_on=depends_on))
            )
        return flows
