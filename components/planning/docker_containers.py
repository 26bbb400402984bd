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

Green's security is PLAINTEXT (every client is User:ANONYMOUS), so ANONYMOUS is a super
user: the ACLs the ACL mirror creates are kept for the day the listener authenticates.
Hence nothing listens beyond the Docker host's loopback, a remote engine included: whoever
reached green's port or Connect's REST API could read and write every topic (and through a
connector, blue). With a remote engine, clients and this machine reach them through a
tunnel to that host's loopback (`ssh -L 29092:127.0.0.1:29092 -L 8083:127.0.0.1:8083 <host>`).

The image (`KAFKA_IMAGE`, built by `local_runtime.kafka_image`) is the contract the
commands below rely on: `java` on the PATH, Kafka's jars in `IMAGE_LIBS`, the JMX exporter
agent at `IMAGE_JMX_AGENT`, busybox's `sh` and `wget`, and `DATA_DIR` owned by the user the
image runs as. Configuration files are uploaded into the containers (`uploads`): nothing is
configured through image-specific variables.
Passwords (blue's SASL password for MM2) never appear here: the Connect worker reads them
from a secrets file the Pulumi layer uploads as a secret (`secret_keys`); the file lives in
the container and goes with it at `mm2-stopped`.
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
    JMX_EXPORTER_CONFIG,
    LEAN_JVM,
    ConnectWorker,
    KafkaNode,
    server_config,
    worker_config,
)

KAFKA_IMAGE_REPOSITORY = "kafkamig/kafka"
"""Repository of the image `local_runtime.kafka_image` builds (tagged with the Kafka version it carries)."""
IMAGE_LIBS = "/opt/kafka/libs"
IMAGE_JMX_AGENT = "/opt/kafka/agents/jmx_prometheus_javaagent.jar"
"""Outside `IMAGE_LIBS`, so that it is loaded as an agent and never on the classpath."""
DATA_DIR = "/var/lib/kafka/data"
"""The image's data folder (owned by the user it runs as); the data volume is mounted there."""
BROKER_DIR = "/etc/kafkamig/broker"
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


def docker_spec(cfg: MigrationConfig) -> DockerRuntimeSpec:
    """Green's `docker:` block; raises with the fix when green is not a Docker cluster the runtime can run."""
    green = cfg.green
    if green.runtime is not RuntimeKind.DOCKER or green.docker is None:
        raise ValueError(
            f"green has runtime {green.runtime.value} and {'a' if green.docker else 'no'} docker block; the Docker "
            "runtime needs runtime: docker and a `docker:` block (write `docker: {}` for the defaults)"
        )
    if green.security.protocol != "PLAINTEXT":
        raise ValueError(
            f"green.security.protocol is {green.security.protocol}; the Docker runtime runs a PLAINTEXT single-node "
            "cluster: set green.security.protocol: PLAINTEXT, or use runtime kubernetes (Strimzi) for SASL/TLS"
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
    if host not in LOCAL_HOSTS and not cfg.green.bootstrap_servers:
        raise ValueError(
            f"green.docker.host {spec.host!r} is a remote engine, which runs green on its own loopback only "
            "(PLAINTEXT, every client a super user); set green.bootstrapServers to the address clients reach it "
            f"through, e.g. 127.0.0.1:{spec.broker_port} with `ssh -L {spec.broker_port}:127.0.0.1:{spec.broker_port} "
            f"{host}`"
        )
    return cfg.green.resolved_bootstrap_servers.split(",")[0]


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
    node = KafkaNode(cfg.green.alias, Path(DATA_DIR), spec.broker_port, spec.controller_port)
    props = server_config(node)
    props.update(
        {
            "advertised.listeners": f"PLAINTEXT://{_advertised(cfg, spec)}",
            "log.dirs": DATA_DIR,
            # Every client is ANONYMOUS on a PLAINTEXT listener on loopback (see the module docstring).
            "super.users": "User:ANONYMOUS",
        }
    )
    config, log4j = f"{BROKER_DIR}/server.properties", f"{BROKER_DIR}/log4j2.properties"
    cluster_id = stable_cluster_id(prefix)
    # Formatting is skipped when the volume already holds this cluster's storage (a restart, a new container).
    format_args = ["format", "--ignore-formatted", "-t", cluster_id, "-c", config]
    format_storage = shlex.join(["java", "-Xmx128m", *LEAN_JVM, "-cp", f"{IMAGE_LIBS}/*", STORAGE_TOOL, *format_args])
    return ContainerSpec(
        name=f"{prefix}-broker",
        image=spec.image,
        command=("/bin/sh", "-c", f"{format_storage} && {java_command(BROKER_MAIN, [config], node.heap_mb, log4j)}"),
        volumes={volume: DATA_DIR},
        uploads={config: properties_text(props), log4j: log4j_console()},
        healthcheck=(
            "CMD",
            "java",
            "-Xmx64m",
            *LEAN_JVM,
            "-cp",
            f"{IMAGE_LIBS}/*",
            HEALTH_CHECK_MAIN,
            "--bootstrap-server",
            f"{LOOPBACK}:{spec.broker_port}",
        ),
    )


def connect_worker(cfg: MigrationConfig, bootstrap: str) -> ConnectWorker:
    """The worker as the local runtime describes one, with its folder inside the container."""
    return ConnectWorker(
        name=CONNECT_WORKER_NAME,
        data_dir=Path(CONNECT_DIR),
        bootstrap_servers=bootstrap,
        rest_port=cfg.mm2.connect_rest_port,
        metrics_port=cfg.mm2.connect_metrics_port,
        storage_replication_factor=min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers),
        # No basic auth yet: the REST API listens on the Docker host's loopback (issue 15 protects it).
        rest_basic_auth=False,
    )


def connect(cfg: MigrationConfig, prefix: str, bootstrap: str) -> ContainerSpec:
    """The Connect worker running MM2, on the Docker host's network (see the module docstring).

    Its REST listener is the local worker's, on the Docker host's loopback; the file config
    provider may read the secrets folder only (`allowed.paths`), which the secrets upload creates.
    """
    spec = docker_spec(cfg)
    worker = connect_worker(cfg, bootstrap)
    names = ("connect-distributed.properties", "log4j2.properties", "jmx-exporter.yaml")
    config, log4j, exporter = (f"{CONNECT_DIR}/{name}" for name in names)
    agent = f"-javaagent:{IMAGE_JMX_AGENT}={LOOPBACK}:{worker.metrics_port}:{exporter}"
    return ContainerSpec(
        name=f"{prefix}-connect",
        image=spec.image,
        command=("/bin/sh", "-c", java_command(CONNECT_MAIN, [config], worker.heap_mb, log4j, (agent,))),
        uploads={
            config: properties_text(worker_config(worker)),
            log4j: log4j_console(),
            exporter: JMX_EXPORTER_CONFIG,
        },
        healthcheck=("CMD", "wget", "-q", "-O", "/dev/null", f"http://{LOOPBACK}:{worker.rest_port}/connectors"),
    )


def docker_green_spec(cfg: MigrationConfig, plan: MigrationPlan, prefix: str | None = None) -> DockerGreenSpec:
    """Green on Docker at this step. `prefix` names the containers and the volume (default `kafkamig-<alias>`)."""
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
    )
