"""Green as containers on one Docker host: what they are, as plain data (no Pulumi import).

- a network and a data volume;
- the broker: one KRaft node in combined mode (broker and controller) from
  `green.docker.image` (the `apache/kafka` image, configured through `KAFKA_*` variables),
  with the local runtime's broker settings (`planning.local_processes.server_properties`) and
  three listeners: HOST (published on the Docker host at `green.docker.brokerPort`, the
  address clients and routing documents use), DOCKER (for containers on the network),
  CONTROLLER;
- while MM2 runs, a Connect worker from the same image with the local runtime's worker
  settings (`planning.local_processes.worker_properties`).

The Connect worker shares the Docker host's network: MM2 reaches both clusters at the
addresses clients use (`127.0.0.1:<brokerPort>` for green, blue's bootstrap servers),
which inside a bridge network would name the container itself. Its REST API listens on the
Docker host's loopback only, `http://127.0.0.1:<mm2.connectRestPort>`, which the
ReplicationFlow components use.

Green's security is PLAINTEXT (every client is User:ANONYMOUS), so ANONYMOUS is a super
user: the ACLs the ACL mirror creates are kept for the day the listener authenticates.
Hence nothing is published beyond the Docker host's loopback (`LOOPBACK`), a remote engine
included: whoever reached green's port or Connect's REST API could read and write every
topic (and through a connector, blue). With a remote engine, clients and this machine reach
them through a tunnel to that host's loopback (`ssh -L 29092:127.0.0.1:29092 -L
8083:127.0.0.1:8083 <host>`). A SASL listener for the Docker runtime, so that green can be
published on a network address, is a later change.
Passwords (blue's SASL password for MM2) never appear here: the Connect worker reads them
from a secrets file the Pulumi layer uploads as a secret (`secret_keys`); the file lives in
the container and goes with it at `mm2-stopped`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from kafka_migration.config.clusters import DockerRuntimeSpec, RuntimeKind
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.grants import CONNECT_WORKER_NAME
from kafka_migration.planning.java_text import properties_text
from kafka_migration.planning.local_processes import ConnectWorker, KafkaNode, server_config, worker_config

DATA_DIR = "/var/lib/kafka/data"
"""The image's data folder (owned by its `appuser`); the data volume is mounted there."""
CONNECT_DIR = "/var/lib/kafka-connect"
CONNECT_SCRIPT = "/opt/kafka/bin/connect-distributed.sh"
HOST_PORT = 9092
"""Container port of the HOST listener, published on the Docker host at `green.docker.brokerPort`."""
DOCKER_PORT = 19092
CONTROLLER_PORT = 9093
LOCAL_HOSTS = ("", "127.0.0.1", "localhost")
LOOPBACK = "127.0.0.1"
"""Host address every published port is bound to (Docker's HostIp), and the REST listener's address."""
DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@dataclass(frozen=True)
class PortSpec:
    """A container port published on the Docker host."""

    internal: int
    external: int
    ip: str = LOOPBACK
    """Host address it is bound to: the Docker host's loopback (see the module docstring)."""


@dataclass(frozen=True)
class ContainerSpec:
    """One container, as the Docker provider needs it."""

    name: str
    image: str
    env: dict[str, str]
    command: tuple[str, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    network: str | None = None
    """User-defined network to join (with the container's name as its DNS name)."""
    network_mode: str | None = None
    volumes: dict[str, str] = field(default_factory=dict)
    """Docker volume -> mount path."""
    uploads: dict[str, str] = field(default_factory=dict)
    """Path in the container -> file content (never a password)."""
    healthcheck: tuple[str, ...] = ()
    """Docker waits for it to pass before the resource counts as created."""


@dataclass(frozen=True)
class DockerGreenSpec:
    """Everything green is on the Docker host at one step."""

    network: str
    data_volume: str
    broker: ContainerSpec
    connect: ContainerSpec | None
    """The Connect worker, present only while MM2 runs (its state lives in green's topics)."""
    bootstrap_servers: str
    connect_url: str
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


def kafka_env_name(key: str) -> str:
    """The `apache/kafka` image's variable for a broker property (`log.dirs` -> `KAFKA_LOG_DIRS`)."""
    return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def _advertised(cfg: MigrationConfig, spec: DockerRuntimeSpec) -> str:
    """`host:port` clients are told to use: green's bootstrap servers (their first entry)."""
    host = docker_host(spec)
    if host not in LOCAL_HOSTS and not cfg.green.bootstrap_servers:
        raise ValueError(
            f"green.docker.host {spec.host!r} is a remote engine, which publishes green on its own loopback only "
            "(PLAINTEXT, every client a super user); set green.bootstrapServers to the address clients reach it "
            f"through, e.g. 127.0.0.1:{spec.broker_port} with `ssh -L {spec.broker_port}:127.0.0.1:{spec.broker_port} "
            f"{host}`"
        )
    return cfg.green.resolved_bootstrap_servers.split(",")[0]


def broker(cfg: MigrationConfig, prefix: str, network: str, volume: str) -> ContainerSpec:
    """The KRaft node: the local runtime's broker settings with the container's listeners and data folder."""
    spec = docker_spec(cfg)
    name = f"{prefix}-broker"
    props = server_config(KafkaNode(cfg.green.alias, Path(DATA_DIR), HOST_PORT, CONTROLLER_PORT))
    props.update(
        {
            "controller.quorum.voters": f"1@localhost:{CONTROLLER_PORT}",
            "listeners": f"HOST://:{HOST_PORT},DOCKER://:{DOCKER_PORT},CONTROLLER://:{CONTROLLER_PORT}",
            "advertised.listeners": f"HOST://{_advertised(cfg, spec)},DOCKER://{name}:{DOCKER_PORT}",
            "listener.security.protocol.map": "HOST:PLAINTEXT,DOCKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "DOCKER",
            "log.dirs": DATA_DIR,
            # Every client is ANONYMOUS on a PLAINTEXT listener, published on loopback only
            # (see the module docstring).
            "super.users": "User:ANONYMOUS",
        }
    )
    env = {kafka_env_name(k): v for k, v in props.items()}
    env["CLUSTER_ID"] = stable_cluster_id(prefix)
    return ContainerSpec(
        name=name,
        image=spec.image,
        env=dict(sorted(env.items())),
        ports=(PortSpec(HOST_PORT, spec.broker_port),),
        network=network,
        volumes={volume: DATA_DIR},
        healthcheck=(
            "CMD-SHELL",
            f"/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:{DOCKER_PORT} >/dev/null 2>&1",
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
        # No basic auth yet: the container has no credentials upload (the real engine is exercised by issue 18).
        rest_basic_auth=False,
    )


def connect(cfg: MigrationConfig, prefix: str, bootstrap: str) -> ContainerSpec:
    """The Connect worker running MM2, on the Docker host's network (see the module docstring).

    Its REST listener is the local worker's, on the Docker host's loopback; the file config
    provider may read the secrets folder only (`allowed.paths`), which the secrets upload creates.
    """
    spec = docker_spec(cfg)
    worker = connect_worker(cfg, bootstrap)
    props = worker_config(worker)
    config_file = f"{CONNECT_DIR}/connect-distributed.properties"
    return ContainerSpec(
        name=f"{prefix}-connect",
        image=spec.image,
        env={"KAFKA_HEAP_OPTS": f"-Xms{worker.heap_mb}m -Xmx{worker.heap_mb}m"},
        command=(CONNECT_SCRIPT, config_file),
        network_mode="host",
        uploads={config_file: properties_text(props)},
        healthcheck=("CMD-SHELL", f"wget -q -O /dev/null http://{LOOPBACK}:{worker.rest_port}/connectors"),
    )


def docker_green_spec(cfg: MigrationConfig, plan: MigrationPlan, prefix: str | None = None) -> DockerGreenSpec:
    """Green on Docker at this step. `prefix` names the containers, network and volume (default `kafkamig-<alias>`)."""
    spec = docker_spec(cfg)
    prefix = prefix or f"kafkamig-{cfg.green.alias.lower()}"
    if not DOCKER_NAME.match(prefix):
        raise ValueError(f"{prefix!r} cannot name Docker containers; use letters, digits, '_', '.' and '-'")
    network, volume = prefix, f"{prefix}-data"
    bootstrap = _advertised(cfg, spec)
    worker = connect_worker(cfg, bootstrap)
    keys = {f"{c.alias}.password": c.alias for c in (cfg.blue, cfg.green) if c.security.mm2_password is not None}
    return DockerGreenSpec(
        network=network,
        data_volume=volume,
        broker=broker(cfg, prefix, network, volume),
        connect=connect(cfg, prefix, bootstrap) if plan.mm2_running else None,
        bootstrap_servers=cfg.green.resolved_bootstrap_servers,
        connect_url=f"http://{LOOPBACK}:{worker.rest_port}",
        secrets_file=worker.secrets_file.as_posix(),
        secret_keys=keys,
    )
