"""ClientRouting: one routing document per client group; consumer groups are handed over on a switch.

Documents are files in `directory`, or, with `config_maps`, ConfigMaps `kafka-routing-<client-group>`
written through the Kubernetes API (`routing.kubernetesNamespace`): the same resource and handoff either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import client_config
from kafka_migration.planning.handoff_offsets import offset_moves
from kafka_migration.planning.kubernetes_objects import routing_config_map_metadata
from kafka_migration.planning.producer_switch_plan import producer_switch
from kafka_migration.planning.rollback import ReverseDrain
from kafka_migration.planning.routing import RoutingDocument as RoutingPlan
from kafka_migration.resources.providers.reverse_flow_drain import ReverseFlowDrain
from kafka_migration.resources.providers.routing_document import RoutingDocument

TYPE = "kafkamig:index:ClientRouting"


@dataclass(frozen=True)
class ClientRoutingArgs:
    """The documents of this step and where to publish them."""

    config: MigrationConfig
    routing: dict[str, RoutingPlan]
    directory: Path
    drain: ReverseDrain | None = None
    """A rollback that stops the reverse flow: producers' documents first, then this drain, then consumers'."""
    config_maps: RoutingConfigMaps | None = None
    """Publish ConfigMaps through the Kubernetes API instead of files in `directory`."""


@dataclass(frozen=True)
class RoutingConfigMaps:
    """Routing as ConfigMaps (`planning.kubernetes_objects.routing_config_map_metadata` names them)."""

    context: str | None
    """The kubeconfig context (`green.kubernetes.kubeconfigContext`); None: the current one, or the pod's identity."""

    def target(self, cfg: MigrationConfig, group: str) -> dict[str, Any]:
        """The `config_map` input of `group`'s routing resource."""
        meta = routing_config_map_metadata(cfg, group)
        target = {"namespace": meta["namespace"], "name": meta["name"], "labels": meta["labels"]}
        return {**target, "context": self.context} if self.context else target


def handoff_spec(cfg: MigrationConfig, client_name: str) -> dict[str, Any]:
    """What a consumer group's routing resource needs to hand the group over, either way."""
    client = next(c for c in cfg.clients if c.name == client_name)
    return {
        "groupId": client.consumer_group_id,
        "greenAlias": cfg.green.alias,
        "toGreen": [m.to_json() for m in offset_moves(cfg, client, to_green=True)],
        "toBlue": [m.to_json() for m in offset_moves(cfg, client, to_green=False)],
        "clientConfigs": {c.alias: client_config(c) for c in (cfg.blue, cfg.green)},
        "timeoutSeconds": cfg.gates.handoff_timeout_seconds,
        "autoOffsetReset": client.auto_offset_reset.value,
    }


class ClientRouting(pulumi.ComponentResource):
    """Publishes `<directory>/<client-group>.json` (or its ConfigMap) for every client group."""

    documents: pulumi.Output[dict[str, Any]]
    """Client group -> the document it follows."""

    def __init__(self, name: str, args: ClientRoutingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        cfg = args.config
        self.resources: dict[str, RoutingDocument] = {}
        self.drain: ReverseFlowDrain | None = None
        producers = {g: p for g, p in args.routing.items() if p.role is ClientRole.PRODUCER}
        consumers = {g: p for g, p in args.routing.items() if p.role is ClientRole.CONSUMER}
        for group, plan in sorted(producers.items()):
            switch = producer_switch(cfg, next(c for c in cfg.clients if c.name == group))
            spec = (
                pulumi.Output.secret({"producerSwitch": switch.to_json(), "blueConfig": client_config(cfg.blue)})
                if switch is not None
                else None
            )
            self.resources[group] = self._document(name, args, group, plan, spec, [])
        consumers_after: list[pulumi.Resource] = []
        if args.drain is not None:
            pulumi.log.info(args.drain.describe(), self)
            configs = {"green": client_config(cfg.green), "blue": client_config(cfg.blue)}
            self.drain = ReverseFlowDrain(
                f"{name}-reverse-drain",
                args.drain,
                pulumi.Output.secret(configs),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(self.resources.values()),
                    additional_secret_outputs=["client_configs"],
                ),
            )
            consumers_after = [self.drain]
        for group, plan in sorted(consumers.items()):
            handoff = pulumi.Output.secret(handoff_spec(cfg, group))
            self.resources[group] = self._document(name, args, group, plan, handoff, consumers_after)
        self.documents = pulumi.Output.from_input({g: p.to_json() for g, p in args.routing.items()})
        self.register_outputs({"documents": self.documents})

    def _document(
        self,
        name: str,
        args: ClientRoutingArgs,
        group: str,
        plan: RoutingPlan,
        handoff: pulumi.Input[dict[str, Any]] | None,
        after: list[pulumi.Resource],
    ) -> RoutingDocument:
        kube = args.config_maps
        return RoutingDocument(
            f"{name}-{group}",
            path=None if kube else (args.directory / f"{group}.json").resolve().as_posix(),
            document=plan.to_json(),
            handoff=handoff,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after, additional_secret_outputs=["handoff"]),
            config_map=kube.target(args.config, group) if kube else None,
        )
