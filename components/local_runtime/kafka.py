"""A single-node KRaft Kafka cluster (broker and controller in one JVM) on 127.0.0.1."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from kafka_migration.local_runtime import process

BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


@dataclass(frozen=True)
class KafkaNode:
    """Where one local cluster lives and listens."""

    name: str
    """Short name, used in logs (for example the cluster alias)."""
    data_dir: Path
    """Folder for config, logs, pid file and the log segments."""
    broker_port: int
    """PLAINTEXT listener on 127.0.0.1, the bootstrap server clients use."""
    controller_port: int
    """KRaft controller listener on 127.0.0.1."""
    heap_mb: int = 512

    def __post_init__(self) -> None:
        # The JVM runs inside data_dir: every path it is given must be absolute.
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kraft-logs"


def server_properties(node: KafkaNode) -> str:
    """The broker+controller configuration of a local single-node cluster.

    ACLs are enforced by KRaft's StandardAuthorizer so that the ACL mirror and the
    decommission fence are real. The local clients connect as the PLAINTEXT principal
    User:ANONYMOUS, which `start` grants everything through wildcard ALLOW ACLs (not
    as a super user: super users ignore DENY ACLs, and the fence is a DENY). Topics are
    never auto-created: a migration must not invent topics on green that blue lacks.
    """
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{node.controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "true",
        "log.retention.check.interval.ms": "10000",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


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
