"""AclMirror: ACLs one cluster must have: blue's application ACLs and MM2's on green, or blue's on its copies."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_kafka

from kafka_migration.planning.cluster_inventory import AclEntry

TYPE = "kafkamig:index:AclMirror"


def acl_resource_name(prefix: str, acl: AclEntry) -> str:
    """A readable, stable, URN-safe name for one ACL."""
    readable = re.sub(r"[^a-z0-9.-]+", "_", acl.key())[:80]
    digest = hashlib.sha256(acl.key().encode()).hexdigest()[:8]
    return f"{prefix}-{readable}-{digest}"


def acl_resource(name: str, acl: AclEntry, opts: pulumi.ResourceOptions) -> pulumi_kafka.Acl:
    """A pulumi_kafka ACL from our ACL entry."""
    return pulumi_kafka.Acl(
        name,
        acl_resource_type=acl.resource_type,
        acl_resource_name=acl.resource_name,
        resource_pattern_type_filter=acl.pattern_type,
        acl_principal=acl.principal,
        acl_host=acl.host,
        acl_operation=acl.operation,
        acl_permission_type=acl.permission,
        opts=opts,
    )


@dataclass(frozen=True)
class AclMirrorArgs:
    """ACLs a cluster must have, and the provider that talks to it."""

    acls: tuple[AclEntry, ...]
    provider: pulumi_kafka.Provider


class AclMirror(pulumi.ComponentResource):
    """One `kafka.Acl` per ACL a cluster must have (green's mirror of blue, or blue's grants on green's copies)."""

    count: pulumi.Output[int]

    def __init__(self, name: str, args: AclMirrorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.acls = [acl_resource(acl_resource_name(name, acl), acl, child) for acl in args.acls]
        self.count = pulumi.Output.from_input(len(self.acls))
        self.register_outputs({"count": self.count})
