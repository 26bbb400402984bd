"""Green as containers on one Docker host: what they are, as plain data (no Pulumi import).

- a data volume;
- the broker: one KRaft node in combined mode (broker and controller), with the local
  runtime's broker settings (`planning.local_processes.server_config`), its listeners on the
  Docker host's loopback (`127.0.0.1:<green.docker.brokerPort>` for clients,
  `127.0.0.1:<green.docker.controllerPort>` for the controller);
- while MM2 runs, a Connect worker with the local runtime's worker settings
  (`planning.local_processes.worker_config`) and its Prometheus JMX exporter.

Both containers share the Docker host's network (`network_mode: host`) and no bridge
network is made: MM2 reaches both clusters at the addresses clients use, and everything
listens on the Docker host's loopback only, Connect's REST API
(`http://127.0.0.1:<mm2.connectRestPort>`, which the ReplicationFlow components use) and its
metrics included.

Green runs in one of two modes (`green.security.protocol`):

- PLAINTEXT: every client is User:ANONYMOUS, so ANONYMOUS is a super user (the ACLs the
  ACL mirror creates are kept for the day the listener authenticates).
- SASL_SSL: the local runtime's secure listeners (`local_processes._secure_listeners`):
  CLIENT on `brokerPort` is SASL_SSL with SCRAM-SHA-512, INTERNAL (`internalPort`) and
  CONTROLLER are SSL with client certificates from green's CA, the node's certificate is
  the only super user and a resource without ACLs is closed. The CA (`green.security.caFile`,
  made on the machine running Pulumi) and the node's key and keystore are files of this
  machine, uploaded into the broker (`secret_uploads`, see `SECRET_READERS`); the
  stack upserts the SCRAM users over INTERNAL with the node's certificate. Every CA file a
  cluster names is uploaded into the Connect worker at the path it has here, so the
  `ssl.truststore.location` MM2 is given reads the same inside the container.

Either way nothing listens beyond the Docker host's loopback, a remote engine included.
With a remote engine, clients and this machine reach them through a tunnel to that host's
loopback (`ssh -L 29092:127.0.0.1:29092 -L 8083:127.0.0.1:8083 <host>`, plus the INTERNAL
port under SASL_SSL). Connect's REST API needs a user (Kafka Connect's basic-auth
extension, as on a local worker): its password is made on this machine, kept in the local
worker's credentials file (`ConnectWorker.rest_credentials_file`), which the stack, the
gates and `status` read, and uploaded into the container as a secret.

The image (`KAFKA_IMAGE`, built by `local_runtime.kafka_image`) is the contract the
commands below rely on: `java` on the PATH, Kafka's jars in `IMAGE_LIBS`, the JMX exporter
agent at `IMAGE_JMX_AGENT`, busybox's `sh` and `wget`, and `DATA_DIR` owned by the user the
image runs as. Configuration files are uploaded into the containers (`uploads`): nothing is
configured through image-specific variables.
Passwords (MM2's SASL passwords, the REST password) and the node's key never appear here:
a container spec names the paths of its secret uploads only (`secret_uploads`), and the
Pulumi layer fills them; those files live in the container and go with it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from kafka_migration.config.clusters import DockerRuntimeSpec, RuntimeKind
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.grants import CONNECT_WORKER_NAME
from kafka_migration.planning.java_text import properties_text
from kafka_migration.planning.local_processes import (
    DEFAULT_DATA_DIR,
    JMX_EXPORTER_CONFIG,
    LEAN_JVM,
    SECRETS_DIR,
    SECRETS_FILE,
    ConnectWorker,
    KafkaNode,
    NodeTls,
    local_worker,
    rest_jaas_text,
    server_config,
    worker_config,
)
from kafka_migration.planning.mm2 import endpoint

KAFKA_IMAGE_REPOSITORY = "kafkamig/kafka"
"""Repository of the image `local_runtime.kafka_image` builds (tagged with the Kafka version it carries)."""
IMAGE_LIBS = "/opt/kafka/libs"
IMAGE_JMX_AGENT = "/opt/kafka/agents/jmx_prometheus_javaagent.jar"
"""Outside `IMAGE_LIBS`, so that it is loaded as an agent and never on the classpath."""
DATA_DIR = "/var/lib/kafka/data"
"""The image's data folder (owned by the user it runs as); the data volume is mounted there."""
BROKER_DIR = "/etc/kafkamig/broker"
BROKER_TLS_DIR = f"{BROKER_DIR}/tls"
"""In the broker: green's CA (`ca.pem`) and the node's PEM keystore (a secret upload)."""
IMAGE_UID = 1000
"""The user the image runs as (`appuser`)."""
PRIVATE_UPLOAD_MODE = "0640"
"""A secret upload's mode: root's file (the Docker provider uploads as root), readable by group 0 besides."""
SECRET_READERS = ("0",)
"""Supplementary groups of a container with secret uploads: the image's user reads them through group 0.

Not uploads owned by the image's user (0600): the provider's `owner`/`group` make Docker
chown to the *container's* user looked up in the Docker host's passwd database, and
Debian's docker.io 20.10 fails there for `1000:1000` ("getent unable to find entry").
Group 0 grants nothing else in the image: its own files are world-readable and none is
group-writable, and a group confers no capability.
"""
CONNECT_DIR = "/var/lib/kafka-connect"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
HEALTH_CHECK_MAIN = "org.apache.kafka.tools.BrokerApiVersionsCommand"
NETWORK_MODE = "host"
LOCAL_HOSTS = ("", "127.0.0.1", "localhost")
LOOPBACK = "127.0.0.1"
"""The address every listener binds to on the Docker host."""
DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
TLS_FOLDER = "tls"
"""Where a SASL_SSL green keeps its node certificate on this machine: `<data folder>/<alias>/tls`."""
NODE_KEYSTORE = "node-keystore"
MM2_SECRETS = "mm2-secrets"
REST_CREDENTIALS = "rest-credentials"
SECRET_NAMES = (NODE_KEYSTORE, MM2_SECRETS, REST_CREDENTIALS)
"""What a secret upload holds (`ContainerSpec.secret_uploads`): the node's key and chain, MM2's passwords, the
REST password. The Pulumi layer holds their values."""
CONNECT_READY_METRICS = '  - "kafka.connect:type=connect-worker-rebalance-metrics"\n'
"""Added to the worker's exporter rules: its health check reads that the worker has joined its group."""


@dataclass(frozen=True)
class ContainerSpec:
    """One container on the Docker host's network, as the Docker provider needs it."""

    name: str
    image: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    """Docker volume -> mount path."""
    uploads: dict[str, str] = field(default_factory=dict)
    """Path in the container -> file content (never a password)."""
    host_files: dict[str, str] = field(default_factory=dict)
    """Path in the container -> a public file of this machine uploaded there (a CA certificate)."""
    secret_uploads: dict[str, str] = field(default_factory=dict)
    """Path in the container -> what it holds (one of `SECRET_NAMES`): uploaded as a secret, root's, mode
    `PRIVATE_UPLOAD_MODE`; the container's process reads it through `SECRET_READERS`."""
    healthcheck: tuple[str, ...] = ()
    """Docker waits for it to pass before the resource counts as created."""


@dataclass(frozen=True)
class DockerGreenSpec:
    """Everything green is on the Docker host at one step."""

    data_volume: str
    broker: ContainerSpec
    connect: ContainerSpec | None
    """The Connect worker, present only while MM2 runs (its state lives in green's topics)."""
    bootstrap_servers: str
    connect_url: str
    metrics_url: str
    """The worker's Prometheus endpoint on the Docker host's loopback (read while MM2 runs)."""
    secrets_file: str
    """Path, in the Connect container, of the properties file connectors read passwords from."""
    secret_keys: dict[str, str]
    """Key of the secrets file -> alias of the cluster whose password it holds."""
    rest_credentials_file: str
    """This machine's copy of the worker's REST credentials (`kafkamig=<password>`), read by the stack, the gates
    and `status`; the worker reads the copy uploaded into its container."""
    tls: DockerGreenTls | None = None
    """A SASL_SSL green's CA and node certificate on this machine (None: PLAINTEXT)."""


@dataclass(frozen=True)
class DockerGreenTls:
    """Where a SASL_SSL green's CA and node certificate are on this machine, and how the stack reaches the node."""

    ca_file: str
    """green.security.caFile: made (once) on this machine, uploaded into both containers, what every client trusts."""
    folder: str
    """The node's certificate chain, key and keystore (`<data folder>/<alias>/tls`)."""
    common_name: str
    """The CN of the node's certificate, whose principal is green's only super user."""
    internal_bootstrap: str
    """green's INTERNAL listener as this machine reaches it (SSL with the node's certificate: the operator's way in)."""


def docker_spec(cfg: MigrationConfig) -> DockerRuntimeSpec:
    """Green's `docker:` block; raises with the fix when green is not a Docker cluster the runtime can run."""
    green = cfg.green
    if green.runtime is not RuntimeKind.DOCKER or green.docker is None:
        raise ValueError(
            f"green has runtime {green.runtime.value} and {'a' if green.docker else 'no'} docker block; the Docker "
            "runtime needs runtime: docker and a `docker:` block (write `docker: {}` for the defaults)"
        )
    if green.security.protocol not in ("PLAINTEXT", "SASL_SSL"):
        raise ValueError(
            f"green.security.protocol is {green.security.protocol}; the Docker runtime runs a PLAINTEXT or a SASL_SSL "
            "(SCRAM-SHA-512) single-node cluster: set green.security.protocol: SASL_SSL (or PLAINTEXT)"
        )
    if green.brokers != 1:
        raise ValueError(f"the Docker runtime runs one broker, got green.brokers={green.brokers}; set brokers: 1")
    return green.docker


def docker_host(spec: DockerRuntimeSpec) -> str:
    """The Docker host's address as seen from this machine (loopback for the local engine's socket)."""
    if not spec.host or spec.host.startswith(("unix:", "npipe:")):
        return "127.0.0.1"
    return urlparse(spec.host).hostname or "127.0.0.1"


def stable_cluster_id(seed: str) -> str:
    """A Kafka cluster id derived from `seed` (16 bytes, URL-safe base64, not starting with '-')."""
    digest = hashlib.sha256(seed.encode()).digest()
    while True:
        cid = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid
        digest = hashlib.sha256(digest).digest()


def _advertised(cfg: MigrationConfig, spec: DockerRuntimeSpec) -> str:
    """`host:port` clients are told to use: green's bootstrap servers (their first entry)."""
    host = docker_host(spec)
    tunnel = f"127.0.0.1:{spec.broker_port} with `ssh -L {spec.broker_port}:127.0.0.1:{spec.broker_port} {host}`"
    if host not in LOCAL_HOSTS and not cfg.green.bootstrap_servers:
        raise ValueError(
            f"green.docker.host {spec.host!r} is a remote engine, which runs green on its own loopback only; "
            f"set green.bootstrapServers to the address clients reach it through, e.g. {tunnel}"
        )
    advertised = cfg.green.resolved_bootstrap_servers.split(",")[0]
    if secure(cfg) and advertised.rpartition(":")[0].strip("[]") not in LOCAL_HOSTS:
        raise ValueError(
            f"green.bootstrapServers is {advertised}, but a SASL_SSL green's certificate names 127.0.0.1 and "
            f"localhost only (clients check it): reach green through a tunnel, e.g. {tunnel}"
        )
    return advertised


def secure(cfg: MigrationConfig) -> bool:
    """Whether green runs SASL_SSL (else PLAINTEXT)."""
    return cfg.green.security.protocol == "SASL_SSL"


def green_tls(cfg: MigrationConfig, data_root: Path) -> DockerGreenTls | None:
    """A SASL_SSL green's CA and node certificate on this machine; None for a PLAINTEXT green."""
    if not secure(cfg):
        return None
    spec = docker_spec(cfg)
    ca_file = cfg.green.security.ca_file
    assert ca_file is not None  # ClusterSpec refuses a SASL_SSL Docker green without caFile
    return DockerGreenTls(
        ca_file=ca_file,
        folder=(data_root / cfg.green.alias / TLS_FOLDER).resolve().as_posix(),
        common_name=_node(cfg, spec).common_name,
        internal_bootstrap=f"{LOOPBACK}:{spec.internal_port}",
    )


def _node(cfg: MigrationConfig, spec: DockerRuntimeSpec) -> KafkaNode:
    """The broker as the local runtime describes a node, with its folders inside the container."""
    tls = NodeTls(Path(f"{BROKER_TLS_DIR}/ca.pem"), Path(BROKER_TLS_DIR)) if secure(cfg) else None
    return KafkaNode(cfg.green.alias, Path(DATA_DIR), spec.broker_port, spec.controller_port, tls=tls)


def log4j_console(level: str = "INFO") -> str:
    """Log4j2's config for a container: `level` and up to standard output (`docker logs`)."""
    return properties_text(
        {
            "rootLogger.level": level,
            "rootLogger.appenderRef.console.ref": "console",
            "appender.console.type": "Console",
            "appender.console.name": "console",
            "appender.console.layout.type": "PatternLayout",
            "appender.console.layout.pattern": "[%d] %p %m (%c)%n",
        }
    )


def java_command(main_class: str, args: list[str], heap_mb: int, log4j: str, jvm_options: tuple[str, ...] = ()) -> str:
    """`exec java ...` for `sh -c`, every argument quoted (the classpath's `*` is expanded by java, not the shell)."""
    words = [
        "java",
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        *LEAN_JVM,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        *jvm_options,
        "-cp",
        f"{IMAGE_LIBS}/*",
        main_class,
        *args,
    ]
    return "exec " + shlex.join(words)


def broker(cfg: MigrationConfig, prefix: str, volume: str) -> ContainerSpec:
    """The KRaft node: the local runtime's broker settings, its data on the volume, formatted on first start."""
    spec = docker_spec(cfg)
    node = _node(cfg, spec)
    config, log4j = f"{BROKER_DIR}/server.properties", f"{BROKER_DIR}/log4j2.properties"
    extra: dict[str, str] = {}
    host_files: dict[str, str] = {}
    secret_uploads: dict[str, str] = {}
    health = ["--bootstrap-server", f"{LOOPBACK}:{spec.broker_port}"]
    if node.tls is None:
        props = server_config(node)
        props.update(
            {
                "advertised.listeners": f"PLAINTEXT://{_advertised(cfg, spec)}",
                "log.dirs": DATA_DIR,
                # Every client is ANONYMOUS on a PLAINTEXT listener on loopback (see the module docstring).
                "super.users": "User:ANONYMOUS",
            }
        )
    else:
        props = server_config(node, spec.internal_port)
        internal = f"INTERNAL://{LOOPBACK}:{spec.internal_port}"
        props.update({"advertised.listeners": f"CLIENT://{_advertised(cfg, spec)},{internal}", "log.dirs": DATA_DIR})
        ca_file = cfg.green.security.ca_file
        assert ca_file is not None
        host_files[node.tls.ca_file.as_posix()] = ca_file
        secret_uploads[node.tls.keystore_file.as_posix()] = NODE_KEYSTORE
        # The health check asks INTERNAL as the node itself: its certificate, no password anywhere.
        operator = f"{BROKER_DIR}/operator.properties"
        extra[operator] = properties_text(operator_client(node.tls))
        health = ["--bootstrap-server", f"{LOOPBACK}:{spec.internal_port}", "--command-config", operator]
    cluster_id = stable_cluster_id(prefix)
    # Formatting is skipped when the volume already holds this cluster's storage (a restart, a new container).
    format_args = ["format", "--ignore-formatted", "-t", cluster_id, "-c", config]
    format_storage = shlex.join(["java", "-Xmx128m", *LEAN_JVM, "-cp", f"{IMAGE_LIBS}/*", STORAGE_TOOL, *format_args])
    return ContainerSpec(
        name=f"{prefix}-broker",
        image=spec.image,
        command=("/bin/sh", "-c", f"{format_storage} && {java_command(BROKER_MAIN, [config], node.heap_mb, log4j)}"),
        volumes={volume: DATA_DIR},
        # In this order: a PLAINTEXT broker's uploads are what they were (a change would replace the container).
        uploads={config: properties_text(props), log4j: log4j_console(), **extra},
        host_files=host_files,
        secret_uploads=secret_uploads,
        healthcheck=("CMD", "java", "-Xmx64m", *LEAN_JVM, "-cp", f"{IMAGE_LIBS}/*", HEALTH_CHECK_MAIN, *health),
    )


def operator_client(tls: NodeTls) -> dict[str, str]:
    """Java client settings of the node itself on INTERNAL: SSL with its own PEM keystore, trusting its CA."""
    return {
        "security.protocol": "SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": tls.keystore_file.as_posix(),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": tls.ca_file.as_posix(),
    }


def connect_worker(cfg: MigrationConfig, bootstrap: str) -> ConnectWorker:
    """The worker as the local runtime describes one (REST basic auth included), with its folder in the container.

    Its own clients reach green as MM2's identity, as a local worker's do.
    """
    secrets_file = Path(CONNECT_DIR) / SECRETS_DIR / SECRETS_FILE
    return ConnectWorker(
        name=CONNECT_WORKER_NAME,
        data_dir=Path(CONNECT_DIR),
        bootstrap_servers=bootstrap,
        rest_port=cfg.mm2.connect_rest_port,
        metrics_port=cfg.mm2.connect_metrics_port,
        storage_replication_factor=min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers),
        client_properties=endpoint(cfg.green, secrets_file.as_posix()).client_properties,
    )


def ca_files(cfg: MigrationConfig) -> dict[str, str]:
    """Every CA file MM2's clients are given (`ssl.truststore.location`), uploaded into the worker at the same path."""
    return {c.security.ca_file: c.security.ca_file for c in (cfg.blue, cfg.green) if c.security.ca_file}


def connect(cfg: MigrationConfig, prefix: str, bootstrap: str) -> ContainerSpec:
    """The Connect worker running MM2, on the Docker host's network (see the module docstring).

    Its REST listener is the local worker's, on the Docker host's loopback, behind the basic-auth
    extension (JAAS file uploaded, credentials a secret upload outside `allowed.paths`); the file
    config provider may read the secrets folder only (`allowed.paths`), which the secrets upload
    creates. The health check needs no password: the REST API answers 401 without one, and the
    exporter shows that the worker has joined its group.
    """
    spec = docker_spec(cfg)
    worker = connect_worker(cfg, bootstrap)
    names = ("connect-distributed.properties", "log4j2.properties", "jmx-exporter.yaml")
    config, log4j, exporter = (f"{CONNECT_DIR}/{name}" for name in names)
    agent = f"-javaagent:{IMAGE_JMX_AGENT}={LOOPBACK}:{worker.metrics_port}:{exporter}"
    jaas = f"-Djava.security.auth.login.config={worker.rest_jaas_file.as_posix()}"
    rest = f"http://{LOOPBACK}:{worker.rest_port}/connectors"
    # The exporter (client_java 1.x) drops a `_total` suffix from the names it exports: matched either way.
    joined = "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances[^ ]* [1-9]"
    health = (
        f"wget -q -O /dev/null {rest} 2>&1 | grep -q ' 401 ' && "
        f"wget -q -O - {worker.metrics_url} | grep -Eq {shlex.quote('^' + joined)}"
    )
    return ContainerSpec(
        name=f"{prefix}-connect",
        image=spec.image,
        command=("/bin/sh", "-c", java_command(CONNECT_MAIN, [config], worker.heap_mb, log4j, (agent, jaas))),
        uploads={
            config: properties_text(worker_config(worker)),
            log4j: log4j_console(),
            exporter: JMX_EXPORTER_CONFIG + CONNECT_READY_METRICS,
            worker.rest_jaas_file.as_posix(): rest_jaas_text(worker),
        },
        host_files=ca_files(cfg),
        secret_uploads={
            worker.secrets_file.as_posix(): MM2_SECRETS,
            worker.rest_credentials_file.as_posix(): REST_CREDENTIALS,
        },
        healthcheck=("CMD", "/bin/sh", "-c", health),
    )


def docker_green_spec(
    cfg: MigrationConfig, plan: MigrationPlan, prefix: str | None = None, data_root: Path = DEFAULT_DATA_DIR
) -> DockerGreenSpec:
    """Green on Docker at this step. `prefix` names the containers and the volume (default `kafkamig-<alias>`).

    `data_root`: this machine's folder of the stack's data (the node certificate, the REST credentials).
    """
    spec = docker_spec(cfg)
    prefix = prefix or f"kafkamig-{cfg.green.alias.lower()}"
    if not DOCKER_NAME.match(prefix):
        raise ValueError(f"{prefix!r} cannot name Docker containers; use letters, digits, '_', '.' and '-'")
    volume = f"{prefix}-data"
    bootstrap = _advertised(cfg, spec)
    worker = connect_worker(cfg, bootstrap)
    keys = {f"{c.alias}.password": c.alias for c in (cfg.blue, cfg.green) if c.security.mm2_password is not None}
    return DockerGreenSpec(
        data_volume=volume,
        broker=broker(cfg, prefix, volume),
        connect=connect(cfg, prefix, bootstrap) if plan.mm2_running else None,
        bootstrap_servers=cfg.green.resolved_bootstrap_servers,
        connect_url=worker.url,
        metrics_url=worker.metrics_url,
        secrets_file=worker.secrets_file.as_posix(),
        secret_keys=keys,
        rest_credentials_file=local_worker(cfg, bootstrap, data_root).rest_credentials_file.as_posix(),
        tls=green_tls(cfg, data_root),
    )
