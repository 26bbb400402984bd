"""The processes a local green runs, as plain data: a KRaft node and a Connect worker, and their properties files.

`local_runtime` starts them as JVMs on 127.0.0.1; the Docker runtime's containers
(`planning.docker_containers`) take the same settings with their own listeners and folders;
the gates and `status` find MM2's REST API and metrics through `mm2_endpoints`. Nothing here
starts, reads or writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import CONNECT_WORKER_NAME

DEFAULT_DATA_DIR = Path(".local-clusters")
"""Where local clusters and workers keep their data, relative to the Pulumi project."""
SECRETS_FILE = "mm2-secrets.properties"


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


@dataclass(frozen=True)
class ConnectWorker:
    """Where one local Connect worker lives and listens."""

    name: str
    data_dir: Path
    bootstrap_servers: str
    """Kafka cluster holding the worker's own config/offset/status topics (green, near the target)."""
    rest_port: int
    metrics_port: int
    """Prometheus JMX exporter's HTTP port."""
    storage_replication_factor: int = 1
    heap_mb: int = 768
    secrets: dict[str, str] = field(default_factory=dict)
    """Values connectors reference as `${file:<secrets file>:<key>}` (SASL passwords), kept out of connector configs."""

    def __post_init__(self) -> None:
        # The JVM runs inside data_dir: every path it is given must be absolute.
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / SECRETS_FILE

    @property
    def storage_topics(self) -> tuple[str, str, str]:
        """The worker's config, offset and status topics (cleaned up at `mm2-stopped`)."""
        return (
            f"mm2-configs.{self.name}.internal",
            f"mm2-offsets.{self.name}.internal",
            f"mm2-status.{self.name}.internal",
        )


def worker_properties(worker: ConnectWorker) -> str:
    """The distributed worker's configuration (REST on loopback, byte converters, overrides allowed)."""
    configs, offsets, status = worker.storage_topics
    rf = str(worker.storage_replication_factor)
    props = {
        "bootstrap.servers": worker.bootstrap_servers,
        "group.id": f"mm2-{worker.name}",
        "listeners": f"http://127.0.0.1:{worker.rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(worker.rest_port),
        "config.storage.topic": configs,
        "offset.storage.topic": offsets,
        "status.storage.topic": status,
        "config.storage.replication.factor": rf,
        "offset.storage.replication.factor": rf,
        "status.storage.replication.factor": rf,
        "offset.storage.partitions": "5",
        "status.storage.partitions": "1",
        "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "header.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "offset.flush.interval.ms": "1000",
        "connector.client.config.override.policy": "All",
        "scheduled.rebalance.max.delay.ms": "0",
        "plugin.discovery": "service_load",
        # Connectors reference credentials as ${file:...}; the REST API never shows them.
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def local_worker(cfg: MigrationConfig, green_bootstrap: str, data_root: Path) -> ConnectWorker:
    """The local Connect worker of this stack (storage topics on green, where it runs)."""
    return ConnectWorker(
        name=CONNECT_WORKER_NAME,
        data_dir=(data_root / f"connect-{CONNECT_WORKER_NAME}").resolve(),
        bootstrap_servers=green_bootstrap,
        rest_port=cfg.mm2.connect_rest_port,
        metrics_port=cfg.mm2.connect_metrics_port,
        storage_replication_factor=min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers),
    )


def mm2_endpoints(cfg: MigrationConfig, data_root: Path) -> tuple[str, str | None]:
    """Connect REST URL and Prometheus URL the gates and `status` read MM2 through."""
    if cfg.mm2.connect_url:
        return cfg.mm2.connect_url, cfg.mm2.metrics_url
    worker = local_worker(cfg, cfg.green.resolved_bootstrap_servers, data_root)
    return worker.url, cfg.mm2.metrics_url or worker.metrics_url
