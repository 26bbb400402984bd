"""A local KRaft cluster process as a Pulumi resource."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.local_runtime import kafka
from kafka_migration.operations.engine_watch import bound_to_engine

_REPLACE_KEYS = ("data_dir", "broker_port", "controller_port")


def _node(props: dict[str, Any]) -> kafka.KafkaNode:
    return kafka.KafkaNode(
        props["name"],
        Path(props["data_dir"]),
        int(props["broker_port"]),
        int(props["controller_port"]),
        int(props["heap_mb"]),
    )


@bound_to_engine
class LocalKafkaClusterProvider(ResourceProvider):
    """Starts, observes and stops a single-node KRaft cluster on 127.0.0.1."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        node = _node(props)
        cluster_id = kafka.formatted_cluster_id(node) or kafka.new_cluster_id()
        pid = kafka.start(node, cluster_id)
        return CreateResult(node.data_dir.as_posix(), self._outputs(props, node, pid))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        node = _node(props)
        running = kafka.is_healthy(node)
        return ReadResult(id_, {**props, "running": running, "cluster_id": kafka.formatted_cluster_id(node)})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in _REPLACE_KEYS if olds.get(k) != news.get(k)]
        changes = [k for k in ("name", "heap_mb") if olds.get(k) != news.get(k)]
        # A dead or hung process is drift: `pulumi up` restarts it (same data, same cluster id).
        if not kafka.is_healthy(_node(olds)):
            changes.append("running")
        return DiffResult(changes=bool(replaces or changes), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        node = _node(news)
        if olds.get("heap_mb") != news.get("heap_mb"):
            kafka.stop(node)
        pid = kafka.start(node, kafka.formatted_cluster_id(node) or kafka.new_cluster_id())
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": cluster_name,
            "data_dir": data_dir,
            "broker_port": broker_port,
            "controller_port": controller_port,
            "heap_mb": heap_mb,
            "bootstrap_servers": None,
            "cluster_id": None,
            "pid": None,
            "running": None,
        }
        super().__init__(LocalKafkaClusterProvider(), name, props, opts)
