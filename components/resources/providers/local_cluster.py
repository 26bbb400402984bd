"""A local KRaft cluster process as a Pulumi resource."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.local_runtime import kafka
from kafka_migration.operations.engine_watch import bound_to_engine
from kafka_migration.planning.grants import owner_grants
from kafka_migration.planning.local_processes import NodeTls

_REPLACE_KEYS = ("data_dir", "broker_port", "controller_port")
_UPDATE_KEYS = ("name", "heap_mb", "ca_file", "users", "admin_user")
TLS_FOLDER = "tls"
"""In a secure cluster's folder: the node's certificate, key and keystore."""


def _node(props: dict[str, Any]) -> kafka.KafkaNode:
    data_dir = Path(props["data_dir"])
    ca_file = props.get("ca_file")
    return kafka.KafkaNode(
        props["name"],
        data_dir,
        int(props["broker_port"]),
        int(props["controller_port"]),
        int(props["heap_mb"]),
        tls=NodeTls(Path(ca_file), data_dir / TLS_FOLDER) if ca_file else None,
    )


def _start(props: dict[str, Any]) -> tuple[kafka.KafkaNode, int]:
    """Start the node (its SCRAM users set), then grant the admin identity what a cluster's owner has."""
    node = _node(props)
    pid = kafka.start(
        node, kafka.formatted_cluster_id(node) or kafka.new_cluster_id(), users=props.get("users") or None
    )
    if node.secure and props.get("admin_user"):
        kafka.grant(node, owner_grants(props["admin_user"]))
    return node, pid


@bound_to_engine
class LocalKafkaClusterProvider(ResourceProvider):
    """Starts, observes and stops a single-node KRaft cluster on 127.0.0.1."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        node, pid = _start(props)
        return CreateResult(node.data_dir.as_posix(), self._outputs(props, node, pid))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        node = _node(props)
        running = kafka.is_healthy(node)
        return ReadResult(id_, {**props, "running": running, "cluster_id": kafka.formatted_cluster_id(node)})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in _REPLACE_KEYS if olds.get(k) != news.get(k)]
        changes = [k for k in _UPDATE_KEYS if olds.get(k) != news.get(k)]
        # A dead or hung process is drift: `pulumi up` restarts it (same data, same cluster id).
        if not kafka.is_healthy(_node(olds)):
            changes.append("running")
        return DiffResult(changes=bool(replaces or changes), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if olds.get("heap_mb") != news.get("heap_mb") or olds.get("ca_file") != news.get("ca_file"):
            kafka.stop(_node(olds))  # a new heap, or listeners of another kind: a new process
        node, pid = _start(news)
        return UpdateResult(self._outputs(news, node, pid))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        node = _node(props)
        kafka.stop(node)
        shutil.rmtree(node.data_dir, ignore_errors=True)

    @staticmethod
    def _outputs(props: dict[str, Any], node: kafka.KafkaNode, pid: int) -> dict[str, Any]:
        return {
            **props,
            "bootstrap_servers": node.bootstrap_servers,
            "cluster_id": kafka.formatted_cluster_id(node),
            "pid": pid,
            "running": True,
        }


class LocalKafkaCluster(Resource, module="kafkamig", name="LocalKafkaCluster"):
    """A KRaft broker+controller JVM; its process outlives `pulumi up`, `pulumi destroy` stops it."""

    bootstrap_servers: pulumi.Output[str]
    """host:port clients connect to."""
    cluster_id: pulumi.Output[str]
    """The Kafka cluster id the storage was formatted with."""
    running: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        cluster_name: str,
        data_dir: str,
        broker_port: int,
        controller_port: int,
        heap_mb: int,
        ca_file: str | None = None,
        users: pulumi.Input[dict[str, str]] | None = None,
        admin_user: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """A PLAINTEXT cluster, or with `ca_file` a SASL_SSL one.

        The runtime makes the CA at `ca_file` if missing, sets the SCRAM `users` (name ->
        password, kept secret) and grants `admin_user` everything through ACLs.
        """
        props = {
            "name": cluster_name,
            "data_dir": data_dir,
            "broker_port": broker_port,
            "controller_port": controller_port,
            "heap_mb": heap_mb,
            "ca_file": ca_file,
            "users": pulumi.Output.secret(users) if users is not None else None,
            "admin_user": admin_user,
            "bootstrap_servers": None,
            "cluster_id": None,
            "pid": None,
            "running": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["users"]))
        super().__init__(LocalKafkaClusterProvider(), name, props, opts)
