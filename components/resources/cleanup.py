"""After MM2: its internal topics deleted (`mm2-stopped`) and blue fenced against writes (`decommissioned`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kafka

from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import client_config
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.resources.acl_mirror import acl_resource, acl_resource_name
from kafka_migration.resources.providers.topics_absent import TopicsAbsent

CLEANUP_TYPE = "kafkamig:index:Mm2Cleanup"
FENCE_TYPE = "kafkamig:index:BlueFence"


@dataclass(frozen=True)
class Mm2CleanupArgs:
    """Which internal topics to delete where."""

    config: MigrationConfig
    topics: dict[str, list[str]]
    """Cluster alias -> MM2 internal topics to delete there."""


class Mm2Cleanup(pulumi.ComponentResource):
    """MM2's heartbeats, checkpoints, offset-syncs and Connect storage topics, gone from both clusters."""

    def __init__(self, name: str, args: Mm2CleanupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CLEANUP_TYPE, name, {}, opts)
        clusters = {c.alias: c for c in (args.config.blue, args.config.green)}
        self.resources = [
            TopicsAbsent(
                f"{name}-{alias}",
                cluster=alias,
                client_config=pulumi.Output.secret(client_config(clusters[alias])),
                topics=topics,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["client_config"]),
            )
            for alias, topics in sorted(args.topics.items())
        ]
        self.register_outputs({"deleted": args.topics})


@dataclass(frozen=True)
class BlueFenceArgs:
    """The DENY ACLs and blue's provider."""

    acls: tuple[AclEntry, ...]
    provider: pulumi_kafka.Provider


class BlueFence(pulumi.ComponentResource):
    """DENY WRITE ACLs on blue's migrated topics: a client left behind fails loudly instead of writing into the void."""

    def __init__(self, name: str, args: BlueFenceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FENCE_TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.acls = [acl_resource(acl_resource_name(name, acl), acl, child) for acl in args.acls]
        self.register_outputs({"fencedTopics": [a.resource_name for a in args.acls]})
