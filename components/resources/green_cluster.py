"""GreenCluster: the new cluster, created by the stack (local runtime) or connected to (external)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from kafka_migration.config.clusters import ClusterSpec, RuntimeKind, SecuritySpec
from kafka_migration.resources.providers.local_cluster import LocalKafkaCluster

TYPE = "kafkamig:index:GreenCluster"


@dataclass(frozen=True)
class GreenClusterArgs:
    """Green's spec and where a local green keeps its data."""

    cluster: ClusterSpec
    data_root: Path
    """Default parent of local clusters' data folders."""
    protect: bool


class GreenCluster(pulumi.ComponentResource):
    """The green cluster. Local: a KRaft process owned by the stack. External: only its address."""

    bootstrap_servers: pulumi.Output[str]
    """What clients and MM2 connect to."""
    cluster_id: pulumi.Output[str | None]
    """Kafka cluster id (local runtime; None for external clusters, read at gate time instead)."""

    def __init__(self, name: str, args: GreenClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        spec = args.cluster
        if spec.runtime is RuntimeKind.LOCAL:
            assert spec.local is not None
            data_dir = Path(spec.local.data_dir) if spec.local.data_dir else args.data_root / spec.alias
            process = LocalKafkaCluster(
                f"{name}-kraft",
                cluster_name=spec.alias,
                data_dir=data_dir.resolve().as_posix(),
                broker_port=spec.local.broker_port,
                controller_port=spec.local.controller_port,
                heap_mb=spec.local.heap_mb,
                **_local_security(spec),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            self.bootstrap_servers = process.bootstrap_servers
            self.cluster_id = process.cluster_id
            self.resource: pulumi.Resource | None = process
        elif spec.runtime is RuntimeKind.EXTERNAL:
            self.bootstrap_servers = pulumi.Output.from_input(spec.resolved_bootstrap_servers)
            self.cluster_id = pulumi.Output.from_input(None)
            self.resource = None
        else:
            raise NotImplementedError(f"green runtime {spec.runtime.value} is built by its own component")
        self.register_outputs({"bootstrapServers": self.bootstrap_servers, "clusterId": self.cluster_id})


def _local_security(spec: ClusterSpec) -> dict[str, Any]:
    """A SASL_SSL local cluster's CA file, its SCRAM users (the admin identity and MM2's) and the admin's name."""
    sec = spec.security
    if sec.protocol == "PLAINTEXT":
        return {}
    return {"ca_file": sec.ca_file, "users": cluster_users(sec), "admin_user": sec.username}


def cluster_users(sec: SecuritySpec) -> dict[str, str]:
    """The SCRAM users a cluster the stack runs gets (name -> password): the admin identity and MM2's, if set."""
    if sec.protocol == "PLAINTEXT":
        return {}
    users = {}
    for credential in (sec, sec.mm2):
        if credential is not None and credential.username is not None and credential.password is not None:
            users[credential.username] = credential.password.get_secret_value()
    return users
