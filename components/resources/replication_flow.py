"""ReplicationFlow: one direction of MM2 replication (source, checkpoint and heartbeat connectors)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from kafka_migration.planning.mm2 import FlowSpec, connector_configs
from kafka_migration.resources.providers.connector import MirrorConnector

TYPE = "kafkamig:index:ReplicationFlow"


@dataclass(frozen=True)
class ReplicationFlowArgs:
    """The flow's spec, the worker's URL and whether the flow runs at this step."""

    flow: FlowSpec
    connect_url: pulumi.Input[str]
    enabled: bool
    remote_topic_replication_factor: int
    rest_credentials_file: str | None = None
    """The local worker's REST credentials file (None: a worker without basic auth)."""


class ReplicationFlow(pulumi.ComponentResource):
    """The connectors of flow X->Y; `enabled` switches them on or off without changing their URNs."""

    connectors: pulumi.Output[list[str]]
    """Connector names on the worker."""

    def __init__(self, name: str, args: ReplicationFlowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        configs = connector_configs(args.flow, args.remote_topic_replication_factor)
        self.resources = [
            MirrorConnector(
                f"{name}-{connector.split('.')[-1]}",
                connect_url=args.connect_url,
                connector_name=connector,
                config=config,
                enabled=args.enabled,
                rest_credentials_file=args.rest_credentials_file,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for connector, config in configs.items()
        ]
        self.connectors = pulumi.Output.from_input(sorted(configs))
        self.register_outputs({"connectors": self.connectors, "enabled": args.enabled})
