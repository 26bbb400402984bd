"""A single-node KRaft Kafka cluster (broker and controller in one JVM) on 127.0.0.1."""

from __future__ import annotations

import base64
import time
import uuid

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from kafka_migration.local_runtime import process
from kafka_migration.planning.local_processes import KafkaNode, server_properties

BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def format_storage(node: KafkaNode, cluster_id: str) -> None:
    """Write the config and format the log dir with cluster_id (once; a formatted dir is kept)."""
    node.data_dir.mkdir(parents=True, exist_ok=True)
    node.config_file.write_text(server_properties(node))
    if (node.log_dir / "meta.properties").exists():
        return
    process.run_java(STORAGE_TOOL, ["format", "-t", cluster_id, "-c", str(node.config_file)])


def formatted_cluster_id(node: KafkaNode) -> str | None:
    """The cluster id the node's storage was formatted with, if formatted."""
    meta = node.log_dir / "meta.properties"
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    return None


def start(node: KafkaNode, cluster_id: str, timeout_s: float = 90) -> int:
    """Format (first time only), start and wait until a client can list topics. Returns the pid."""
    format_storage(node, cluster_id)
    if process.running_pid(node.data_dir) is not None:
        wait_ready(node, timeout_s)
        return process.running_pid(node.data_dir) or 0
    pid = process.start_java(node.data_dir, BROKER_MAIN, [str(node.config_file.resolve())], node.heap_mb)
    wait_ready(node, timeout_s)
    grant_local_principal(node)
    return pid


def wait_ready(node: KafkaNode, timeout_s: float) -> None:
    """Block until the cluster answers a metadata request, or raise with the log's tail."""
    deadline = time.monotonic() + timeout_s
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers, "log_level": 0})
    while True:
        if not process.running_pid(node.data_dir) is not None:
            raise RuntimeError(f"Kafka {node.name} exited during start-up\n{process.log_tail(node.data_dir)}")
        try:
            admin.list_topics(timeout=2)
            return
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Kafka {node.name} not ready on {node.bootstrap_servers} after {timeout_s}s\n"
                    f"{process.log_tail(node.data_dir)}"
                ) from None
            time.sleep(0.5)


LOCAL_PRINCIPAL = "User:ANONYMOUS"
_WILDCARD_RESOURCES = (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.BROKER, ResourceType.TRANSACTIONAL_ID)


def grant_local_principal(node: KafkaNode) -> None:
    """Allow User:ANONYMOUS everything, through wildcard ACLs (idempotent)."""
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers, "log_level": 0})
    bindings = [
        AclBinding(
            rtype,
            "kafka-cluster" if rtype is ResourceType.BROKER else "*",
            ResourcePatternType.LITERAL,
            LOCAL_PRINCIPAL,
            "*",
            AclOperation.ALL,
            AclPermissionType.ALLOW,
        )
        for rtype in _WILDCARD_RESOURCES
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)


def is_healthy(node: KafkaNode, timeout_s: float = 5) -> bool:
    """Process alive and answering metadata requests."""
    if not process.running_pid(node.data_dir) is not None:
        return False
    try:
        AdminClient({"bootstrap.servers": node.bootstrap_servers, "log_level": 0}).list_topics(timeout=timeout_s)
        return True
    except Exception:  # noqa: BLE001
        return False


def stop(node: KafkaNode) -> None:
    """Stop the node; its data stays (a later start resumes it)."""
    process.stop(node.data_dir)
