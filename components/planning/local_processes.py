"""The processes a local green runs, as plain data: a KRaft node and a Connect worker, and their properties files.

`local_runtime` starts them as JVMs on 127.0.0.1; the Docker runtime's containers
(`planning.docker_containers`) take the same settings with their own listeners and folders;
the gates and `status` find MM2's REST API and metrics through `mm2_endpoints` (Strimzi's too). Nothing here
starts, reads or writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kafka_migration.config.clusters import RuntimeKind
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.grants import CONNECT_WORKER_NAME
from kafka_migration.planning.java_text import jaas_escaped, jaas_quoted, properties_text
from kafka_migration.planning.mm2 import endpoint
from kafka_migration.planning.strimzi_names import connect_metrics_urls, strimzi_names

DEFAULT_DATA_DIR = Path(".local-clusters")
"""Where local clusters and workers keep their data, relative to the Pulumi project."""
FILE_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider"
SECRETS_DIR = "secrets"
"""Sub-folder of a worker's folder holding its secrets file and nothing else: all its FileConfigProvider may read."""
SECRETS_FILE = "mm2-secrets.properties"
"""The worker's secrets file (mode 0600 where this package writes it), in `SECRETS_DIR`."""
REST_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
"""Kafka Connect's basic-auth REST extension (connect-basic-auth-extension): every REST call needs a user."""
REST_LOGIN_MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"
REST_USER = "kafkamig"
"""The one user of a local worker's REST API: the stack, the gates, `status` (all on this machine)."""
REST_AUTH_DIR = "rest-auth"
"""Sub-folder of a worker's folder (0700) holding its REST credentials and JAAS file: not in `allowed.paths`,
so no connector config can read the REST password through `${file:...}`."""
CONNECT_CLIENT_OVERRIDE_POLICY = "All"
"""`connector.client.config.override.policy` of every worker running MM2 (local, Docker, Strimzi).

The narrowest policy the connectors allow: each one sets `producer.override.bootstrap.servers`
(and the target's `security.protocol`, `sasl.*`, `ssl.truststore.*`, `batch.size`, `linger.ms`)
because in Connect mode a source connector's records go out through the worker's producer,
which must write to the flow's *target* (see `planning.mm2`). Kafka 4.1 ships `None` (no
override), `Principal` (only `sasl.jaas.config`, `sasl.mechanism`, `security.protocol`) and
`All`; neither of the first two admits `bootstrap.servers`, so `All` stays. What keeps the
override from being abused is that nobody else reaches the REST API (loopback only locally
and on Docker, a NetworkPolicy on Kubernetes).
"""


NODE_CERT_FILE = "node.crt"
"""A secure node's certificate chain (its own certificate, then the CA's), PEM: what clients present."""
NODE_KEY_FILE = "node.key"
"""A secure node's private key, unencrypted PKCS#8 PEM (mode 0600)."""
NODE_KEYSTORE_FILE = "node-keystore.pem"
"""The key followed by the chain in one PEM file (mode 0600): what Kafka's file-based PEM keystore reads."""
NODE_NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
"""Names a secure node may have: its certificate's CN must read back as the same principal (no DN escaping)."""


@dataclass(frozen=True)
class NodeTls:
    """How a secure node proves who it is and whom it trusts: a CA and the node's certificate folder.

    The files themselves are made by `local_runtime.tls` (`ensure_ca`, `issue_node_certificate`);
    this only names them, so the properties can be planned without touching the disk.
    """

    ca_file: Path
    """The CA's certificate (PEM): the truststore of every listener and every client. Its key lives beside it."""
    folder: Path
    """Folder holding the node's certificate chain, key and PEM keystore (`NODE_*_FILE`)."""

    def __post_init__(self) -> None:
        # The JVM runs inside the node's data_dir: every path it is given must be absolute.
        object.__setattr__(self, "ca_file", Path(self.ca_file).resolve())
        object.__setattr__(self, "folder", Path(self.folder).resolve())

    @property
    def cert_file(self) -> Path:
        return self.folder / NODE_CERT_FILE

    @property
    def key_file(self) -> Path:
        return self.folder / NODE_KEY_FILE

    @property
    def keystore_file(self) -> Path:
        return self.folder / NODE_KEYSTORE_FILE


@dataclass(frozen=True)
class KafkaNode:
    """Where one local cluster lives and listens, and (`tls`) whether it runs secured."""

    name: str
    """Short name, used in logs (for example the cluster alias)."""
    data_dir: Path
    """Folder for config, logs, pid file and the log segments."""
    broker_port: int
    """Client listener on 127.0.0.1, the bootstrap server clients use (PLAINTEXT, or SASL_SSL when `tls` is set)."""
    controller_port: int
    """KRaft controller listener on 127.0.0.1 (PLAINTEXT, or SSL with client certificates when `tls` is set)."""
    heap_mb: int = 512
    tls: NodeTls | None = None
    """None: today's PLAINTEXT node (clients are User:ANONYMOUS). Set: SASL_SSL/SCRAM for clients, mTLS inside."""

    def __post_init__(self) -> None:
        # The JVM runs inside data_dir: every path it is given must be absolute.
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())
        if self.tls is not None and not NODE_NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"a secure Kafka node's name must match {NODE_NAME_PATTERN.pattern} (it becomes the CN of the "
                f"node's certificate and its super user principal), got {self.name!r}"
            )

    @property
    def secure(self) -> bool:
        return self.tls is not None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kraft-logs"

    @property
    def common_name(self) -> str:
        """The CN of a secure node's certificate."""
        return f"kafkamig-node-{self.name}"

    @property
    def node_principal(self) -> str:
        """The principal Kafka builds from the node's certificate: its only super user.

        Kafka's default principal builder with the default `ssl.principal.mapping.rules`
        takes the peer certificate's subject as `X500Principal.getName()` (RFC 2253); a
        subject holding only a CN of `NODE_NAME_PATTERN` characters reads back as `CN=<cn>`.
        """
        return f"User:CN={self.common_name}"


SCRAM_MECHANISM = "SCRAM-SHA-512"
"""The only SASL mechanism a secure node's client listener offers."""
_STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def server_config(node: KafkaNode, internal_port: int | None = None) -> dict[str, str]:
    """The broker+controller configuration of a local single-node cluster.

    ACLs are enforced by KRaft's StandardAuthorizer so that the ACL mirror and the
    decommission fence are real. Topics are never auto-created: a migration must not
    invent topics on green that blue lacks.

    A PLAINTEXT node (`node.tls` None): the local clients connect as the PLAINTEXT
    principal User:ANONYMOUS, which `start` grants everything through wildcard ALLOW ACLs
    (not as a super user: super users ignore DENY ACLs, and the fence is a DENY).
    `internal_port` is ignored.

    A secure node (`node.tls` set) has no anonymous access at all (`_secure_listeners`);
    `internal_port` (required) is its INTERNAL listener's port.
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
        "authorizer.class.name": _STANDARD_AUTHORIZER,
        "allow.everyone.if.no.acl.found": "true",
        "log.retention.check.interval.ms": "10000",
    }
    if node.tls is not None:
        if internal_port is None:
            raise ValueError(f"the secure Kafka node {node.name} needs the port of its INTERNAL listener")
        props.update(_secure_listeners(node, node.tls, internal_port))
    return props


def _secure_listeners(node: KafkaNode, tls: NodeTls, internal_port: int) -> dict[str, str]:
    """What a secure node replaces in `server_config`: its listeners, TLS stores, SASL and who is a super user.

    - CLIENT (the bootstrap port): SASL_SSL with SCRAM-SHA-512 only; no client certificate asked.
    - CONTROLLER and INTERNAL (inter-broker): SSL with `ssl.client.auth=required`, so only a
      holder of a certificate from the node's CA gets in, and it gets in as that certificate's
      subject. The node's own certificate is the only super user; every other principal
      (SCRAM users) needs ACLs, and with `allow.everyone.if.no.acl.found=false` a resource
      without ACLs is closed. No listener accepts User:ANONYMOUS.
    - Keystore and truststore are PEM files (no store password): the key is unencrypted
      PKCS#8, which Kafka 4.1 reads without `ssl.key.password`; the key file is 0600.
    """
    client = f"CLIENT://127.0.0.1:{node.broker_port}"
    internal = f"INTERNAL://127.0.0.1:{internal_port}"
    return {
        "listeners": f"{client},{internal},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"{client},{internal}",
        "inter.broker.listener.name": "INTERNAL",
        "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(tls.keystore_file),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca_file),
        "ssl.endpoint.identification.algorithm": "https",
        "listener.name.controller.ssl.client.auth": "required",
        "listener.name.internal.ssl.client.auth": "required",
        "listener.name.client.ssl.client.auth": "none",
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "listener.name.client.sasl.enabled.mechanisms": SCRAM_MECHANISM,
        "listener.name.client.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "super.users": node.node_principal,
        "allow.everyone.if.no.acl.found": "false",
    }


def server_properties(node: KafkaNode, internal_port: int | None = None) -> str:
    """`server_config` as the broker's `server.properties` (escaped for `java.util.Properties`)."""
    return properties_text(server_config(node, internal_port))


LEAN_JVM = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
"""The local runtime's JVMs on a small machine: one GC thread, C1 only (quick start, small footprint)."""

JMX_EXPORTER_CONFIG = """\
lowercaseOutputName: true
includeObjectNames:
  - "kafka.connect.mirror:*"
  - "kafka.connect:type=connector-metrics,*"
  - "kafka.connect:type=connector-task-metrics,*"
  - "kafka.connect:type=task-error-metrics,*"
  - "kafka.connect:type=source-task-metrics,*"
  - "kafka.connect:type=connect-worker-metrics"
"""
"""The Prometheus JMX exporter's rules of every Connect worker: MM2's and Connect's task metrics."""


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
    rest_basic_auth: bool = True
    """Protect the REST API with the basic-auth extension (`REST_AUTH_EXTENSION`): a local worker listens on
    127.0.0.1, which every user of the machine reaches."""
    client_properties: dict[str, str] = field(default_factory=dict)
    """How the worker's own clients reach its cluster (security.protocol, sasl.*, ssl.truststore.*), as MM2's
    identity: its password a `${file:...}` reference to the secrets file, which the worker resolves at start."""
    lean_jvm: bool = True
    """The local runtime's small-machine JVM (`LEAN_JVM`); False: the JVM's own defaults."""
    shared_rest_auth_dir: Path | None = None
    """Another worker's `rest-auth/` folder, when this one joins its group (same `name`): a request
    that reaches a follower is forwarded to the leader with its credentials, so members share them."""

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
    def rest_credentials_file(self) -> Path:
        """`kafkamig=<password>` (mode 0600): what the extension checks and what REST clients send."""
        return (self.shared_rest_auth_dir or self.data_dir / REST_AUTH_DIR) / "rest-credentials.properties"

    @property
    def owns_rest_credentials(self) -> bool:
        """False for a member that shares another worker's credentials (it must not remove them)."""
        return self.shared_rest_auth_dir is None

    @property
    def rest_jaas_file(self) -> Path:
        """The JAAS file naming the credentials file (`-Djava.security.auth.login.config`)."""
        return self.data_dir / REST_AUTH_DIR / "rest-jaas.conf"

    @property
    def storage_topics(self) -> tuple[str, str, str]:
        """The worker's config, offset and status topics (cleaned up at `mm2-stopped`)."""
        return (
            f"mm2-configs.{self.name}.internal",
            f"mm2-offsets.{self.name}.internal",
            f"mm2-status.{self.name}.internal",
        )


def group_member(first: ConnectWorker, index: int) -> ConnectWorker:
    """Worker `index` (1, 2, ...) of `first`'s Connect group.

    Same group and storage topics, its own folder and ports (the next ones after `first`'s),
    `first`'s REST credentials. Connect spreads the connectors' tasks over the members and
    moves a dead member's tasks to the others.
    """
    if index < 1:
        raise ValueError(f"a group member's index starts at 1 (worker 0 is the group's first), got {index}")
    return replace(
        first,
        data_dir=first.data_dir.with_name(f"{first.data_dir.name}-{index + 1}"),
        rest_port=first.rest_port + index,
        metrics_port=first.metrics_port + index,
        shared_rest_auth_dir=first.rest_credentials_file.parent,
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
    if worker.rest_basic_auth:
        props["rest.extension.classes"] = REST_AUTH_EXTENSION
    # The worker's own clients: its group membership and storage topics, and the defaults of
    # the connectors' producers, consumers and admins (which override them per flow).
    for prefix in ("", "producer.", "consumer.", "admin."):
        props.update({f"{prefix}{k}": v for k, v in worker.client_properties.items()})
    return props


def worker_properties(worker: ConnectWorker) -> str:
    """`worker_config` as `connect-distributed.properties` (escaped for `java.util.Properties`)."""
    return properties_text(worker_config(worker))


def rest_jaas_text(worker: ConnectWorker) -> str:
    """The JAAS file of the basic-auth extension: its login context `KafkaConnect` reads the credentials file."""
    credentials = jaas_quoted(worker.rest_credentials_file.as_posix())
    return f"KafkaConnect {{\n  {REST_LOGIN_MODULE} required\n  file={credentials};\n}};\n"


def rest_credentials_text(password: str) -> str:
    """The credentials file: `kafkamig=<password>` (a `java.util.Properties` file, user -> password)."""
    return properties_text({REST_USER: password})


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
    """The local Connect worker of this stack (storage topics on green, where it runs, reached as MM2's identity)."""
    data_dir = (data_root / f"connect-{CONNECT_WORKER_NAME}").resolve()
    secrets_file = data_dir / SECRETS_DIR / SECRETS_FILE
    return ConnectWorker(
        name=CONNECT_WORKER_NAME,
        data_dir=data_dir,
        bootstrap_servers=green_bootstrap,
        rest_port=cfg.mm2.connect_rest_port,
        metrics_port=cfg.mm2.connect_metrics_port,
        storage_replication_factor=min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers),
        client_properties=endpoint(cfg.green, secrets_file.as_posix()).client_properties,
    )


def local_workers(cfg: MigrationConfig, green_bootstrap: str, data_root: Path) -> list[ConnectWorker]:
    """The stack's Connect group on this machine: `local_worker` and its `mm2.workers - 1` members."""
    first = local_worker(cfg, green_bootstrap, data_root)
    return [first, *(group_member(first, index) for index in range(1, cfg.mm2.local_workers))]


@dataclass(frozen=True)
class Mm2Endpoints:
    """Where the gates and `status` read MM2: its Connect REST API (with the local worker's credentials) and metrics.

    Each worker exports the metrics of the tasks it runs, so every worker's endpoint is read.
    """

    connect_url: str
    metrics_urls: tuple[str, ...]
    rest_credentials_file: Path | None = None


def mm2_endpoints(cfg: MigrationConfig, data_root: Path) -> Mm2Endpoints:
    """Connect REST URL (and credentials file) and Prometheus URLs the gates and `status` read MM2 through.

    On Kubernetes the REST API is `mm2.connectUrl`, else Strimzi's `-connect-api` Service, and
    the metrics are `mm2.metricsUrl`, else every Connect pod's exporter
    (`strimzi_names.connect_metrics_urls`): both inside the Kubernetes cluster.
    """
    if cfg.green.runtime is RuntimeKind.KUBERNETES:
        connect_url = cfg.mm2.connect_url or strimzi_names(cfg).connect_url
        return Mm2Endpoints(connect_url, connect_metrics_urls(cfg))
    if cfg.mm2.connect_url:
        return Mm2Endpoints(cfg.mm2.connect_url, (cfg.mm2.metrics_url,) if cfg.mm2.metrics_url else ())
    workers = local_workers(cfg, cfg.green.resolved_bootstrap_servers, data_root)
    metrics = (cfg.mm2.metrics_url,) if cfg.mm2.metrics_url else tuple(w.metrics_url for w in workers)
    # The Docker runtime's worker listens on the same loopback ports; its REST credentials are in the same file here.
    return Mm2Endpoints(workers[0].url, metrics, workers[0].rest_credentials_file)
