"""The processes a local green runs, as plain data: a KRaft node and a Connect worker, and their properties files.

`local_runtime` starts them as JVMs on 127.0.0.1; the Docker runtime's containers
(`planning.docker_containers`) take the same settings with their own listeners and folders;
the gates and `status` find MM2's REST API and metrics through `mm2_endpoints`. Nothing here
starts, reads or writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import CONNECT_WORKER_NAME
from kafka_migration.planning.java_text import jaas_escaped, properties_text

DEFAULT_DATA_DIR = Path(".local-clusters")
"""Where local clusters and workers keep their data, relative to the Pulumi project."""
FILE_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider"
SECRETS_DIR = "secrets"
"""Sub-folder of a worker's folder holding its secrets file and nothing else: all its FileConfigProvider may read."""
SECRETS_FILE = "mm2-secrets.properties"
"""The worker's secrets file (mode 0600 where this package writes it), in `SECRETS_DIR`."""
CONNECT_CLIENT_OVERRIDE_POLICY = "All"
"""`connector.client.config.override.policy` of every worker running MM2 (local, Docker, Strimzi).

The narrowest policy the connectors allow: each one sets `producer.override.bootstrap.servers`
(and the target's `security.protocol`, `sasl.*`, `ssl.truststore.*`, optionally `batch.size`)
because in Connect mode a source connector's records go out through the worker's producer,
which must write to the flow's *target* (see `planning.mm2`). Kafka 4.1 ships `None` (no
override), `Principal` (only `sasl.jaas.config`, `sasl.mechanism`, `security.protocol`) and
`All`; neither of the first two admits `bootstrap.servers`, so `All` stays. What keeps the
override from being abused is that nobody else reaches the REST API (loopback only locally
and on Docker, a NetworkPolicy on Kubernetes).
"""


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


def server_config(node: KafkaNode) -> dict[str, str]:
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
    return props


def server_properties(node: KafkaNode) -> str:
    """`server_config` as the broker's `server.properties` (escaped for `java.util.Properties`)."""
    return properties_text(server_config(node))


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
    def secrets_dir(self) -> Path:
        """The folder holding the secrets file only: what the worker's `FileConfigProvider` may read (allowed.paths)."""
        return self.data_dir / SECRETS_DIR

    @property
    def secrets_file(self) -> Path:
        return self.secrets_dir / SECRETS_FILE

    @property
    def storage_topics(self) -> tuple[str, str, str]:
        """The worker's config, offset and status topics (cleaned up at `mm2-stopped`)."""
        return (
            f"mm2-configs.{self.name}.internal",
            f"mm2-offsets.{self.name}.internal",
            f"mm2-status.{self.name}.internal",
        )


def worker_config(worker: ConnectWorker) -> dict[str, str]:
    """The distributed worker's configuration: REST on loopback only, byte converters, the secrets folder only.

    Raises ValueError when the worker's folder cannot be an `allowed.paths` entry (a comma
    would split it in two).
    """
    allowed = worker.secrets_dir.as_posix()
    if "," in allowed:
        raise ValueError(
            f"the Connect worker's folder {allowed!r} contains ',', which would split the file config provider's "
            "allowed.paths in two; use a data folder whose path has no comma"
        )
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
        "connector.client.config.override.policy": CONNECT_CLIENT_OVERRIDE_POLICY,
        "scheduled.rebalance.max.delay.ms": "0",
        "plugin.discovery": "service_load",
        # Connectors reference credentials as ${file:...}; the REST API never shows them.
        "config.providers": "file",
        "config.providers.file.class": FILE_CONFIG_PROVIDER,
        # KIP-993 (Kafka 3.8+): a connector config can read files in this folder only, not
        # any file the worker's user can read (the folder must exist when the worker starts).
        "config.providers.file.param.allowed.paths": allowed,
    }
    return props


def worker_properties(worker: ConnectWorker) -> str:
    """`worker_config` as `connect-distributed.properties` (escaped for `java.util.Properties`)."""
    return properties_text(worker_config(worker))


def secrets_properties(secrets: Mapping[str, str]) -> str:
    r"""The secrets file's text: `<alias>.password` -> that password, sorted by key.

    Its values are read only through `${file:<secrets file>:<alias>.password}` placeholders
    that stand *inside the double quotes* of a `sasl.jaas.config` option (`planning.mm2`).
    Connect substitutes a placeholder verbatim before Kafka's `JaasConfig` parses the result,
    so each value is stored JAAS-escaped (a `"` or `\` in a password would otherwise end
    or bend the quoted string), then escaped again for `java.util.Properties`.
    """
    header = "# MM2's passwords, JAAS-escaped (planning.local_processes.secrets_properties)\n"
    return header + properties_text({k: jaas_escaped(v) for k, v in sorted(secrets.items())})


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
