"""Pulumi components of the Docker runtime: `planning.docker_containers` as `pulumi_docker` resources.

`DockerGreen` (image, data volume, broker container; for a SASL_SSL green also its node
certificate and SCRAM users, `providers.node_security`) exists from `green-provisioned` on
with the same inputs at every step. `DockerMirrorMaker2` holds the Connect container and
its REST credentials (`providers.rest_credentials`) only while MM2 runs: the worker keeps
its state in green's topics, so the container is created at `replicating` and removed at
`mm2-stopped` (after the flows have stopped their connectors), and nothing stateful ever
changes URN.

Secret uploads (the node's keystore, MM2's secrets file, the REST credentials) are root's
with mode 0640, read by the container's process through group 0 (`SECRET_READERS`), and
make the container's `uploads` a secret in Pulumi's state;
Docker keeps them in the container's filesystem only (not in `docker inspect`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_docker as docker

from kafka_migration.config.clusters import DockerRuntimeSpec
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.docker_containers import (
    MM2_SECRETS,
    NETWORK_MODE,
    NODE_KEYSTORE,
    PRIVATE_UPLOAD_MODE,
    REST_CREDENTIALS,
    SECRET_READERS,
    ContainerSpec,
    DockerGreenSpec,
    docker_green_spec,
    docker_spec,
)
from kafka_migration.planning.local_processes import (
    DEFAULT_DATA_DIR,
    NodeTls,
    rest_credentials_text,
    secrets_properties,
)
from kafka_migration.resources.green_cluster import cluster_users
from kafka_migration.resources.providers.node_security import NodeCertificate, ScramUsers
from kafka_migration.resources.providers.rest_credentials import RestCredentials

GREEN_TYPE = "kafkamig:index:DockerGreen"
MM2_TYPE = "kafkamig:index:DockerMirrorMaker2"


def docker_provider(name: str, spec: DockerRuntimeSpec, opts: pulumi.ResourceOptions | None = None) -> docker.Provider:
    """The Docker engine green runs on (`green.docker.host`; default: the local engine's socket)."""
    return docker.Provider(name, host=spec.host, opts=opts)


def container(
    name: str,
    spec: ContainerSpec,
    image: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    contents: Mapping[str, pulumi.Input[str]] | None = None,
) -> docker.Container:
    """A container on the Docker host's network, waiting for its health check before it counts as created.

    `contents`: the text of each of the spec's `host_files` (by path on this machine) and
    `secret_uploads` (by name). Secret uploads are root's, `PRIVATE_UPLOAD_MODE`, read by the
    container's process through `SECRET_READERS`, and make `uploads` a secret.
    """
    contents = contents or {}
    uploads = [docker.ContainerUploadArgs(file=path, content=text) for path, text in spec.uploads.items()]
    uploads += [docker.ContainerUploadArgs(file=path, content=contents[host]) for path, host in spec.host_files.items()]
    uploads += [
        docker.ContainerUploadArgs(
            file=path,
            content=pulumi.Output.secret(contents[secret]),
            permissions=PRIVATE_UPLOAD_MODE,
        )
        for path, secret in spec.secret_uploads.items()
    ]
    if spec.secret_uploads:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["uploads"]))
    return docker.Container(
        name,
        name=spec.name,
        image=image,
        envs=[f"{k}={v}" for k, v in spec.env.items()] or None,
        command=list(spec.command),
        group_adds=list(SECRET_READERS) if spec.secret_uploads else None,
        network_mode=NETWORK_MODE,
        volumes=[docker.ContainerVolumeArgs(volume_name=v, container_path=p) for v, p in spec.volumes.items()],
        uploads=uploads or None,
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=list(spec.healthcheck), interval="10s", timeout="20s", retries=30, start_period="10s"
        )
        if spec.healthcheck
        else None,
        restart="unless-stopped",
        wait=bool(spec.healthcheck),
        wait_timeout=300,
        opts=opts,
    )


@dataclass(frozen=True)
class DockerGreenArgs:
    """Green's containers and where they run."""

    spec: DockerGreenSpec
    image: str
    provider: docker.Provider
    protect: bool
    """The broker and its data volume are protected unless the stack allows destroying green."""
    users: Mapping[str, str] | None = None
    """A SASL_SSL green's SCRAM users (name -> password): the admin identity and MM2's."""
    admin_user: str | None = None
    """The admin identity, granted what a cluster's owner has (`planning.grants.owner_grants`)."""


class DockerGreen(pulumi.ComponentResource):
    """Green on one Docker host: a single KRaft node with its data on a named volume."""

    bootstrap_servers: pulumi.Output[str]
    """What clients and MM2 connect to (green.bootstrapServers, default `127.0.0.1:<brokerPort>`)."""
    image_id: pulumi.Output[str]
    """The pulled image, which the Connect container runs too."""
    ca_pem: pulumi.Output[str] | None
    """A SASL_SSL green's CA certificate (None: PLAINTEXT), known once the CA file exists."""
    ready: pulumi.Output[Any]
    """Known once green answers its clients (for SASL_SSL: once its SCRAM users are set)."""

    def __init__(self, name: str, args: DockerGreenArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(GREEN_TYPE, name, {}, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        kept = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect))
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=child)
        volume = docker.Volume(f"{name}-data", name=spec.data_volume, opts=kept)
        contents: dict[str, pulumi.Input[str]] = {}
        self.ca_pem = None
        if spec.tls is not None:
            cert = NodeCertificate(
                f"{name}-certificate",
                spec.tls.ca_file,
                spec.tls.folder,
                spec.tls.common_name,
                pulumi.ResourceOptions(parent=self),
            )
            self.ca_pem = cert.ca_pem
            contents = {spec.tls.ca_file: cert.ca_pem, NODE_KEYSTORE: cert.keystore_pem}
        self.broker = container(
            f"{name}-broker",
            spec.broker,
            image.image_id,
            pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[volume])),
            contents,
        )
        self.image_id = image.image_id
        self.ready = self.broker.id
        if spec.tls is not None:
            users = ScramUsers(
                f"{name}-scram-users",
                cluster=spec.broker.name,
                bootstrap=spec.tls.internal_bootstrap,
                node_tls=NodeTls(Path(spec.tls.ca_file), Path(spec.tls.folder)),
                users=dict(args.users or {}),
                admin_user=args.admin_user,
                chain_sha256=cert.chain_sha256,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.broker]),
            )
            self.ready = users.present
        self.bootstrap_servers = pulumi.Output.all(self.broker.id, self.ready).apply(lambda _: spec.bootstrap_servers)
        self.register_outputs({"bootstrapServers": self.bootstrap_servers})


@dataclass(frozen=True)
class DockerMirrorMaker2Args:
    """The Connect worker of this step (None while MM2 does not run) and the passwords it reads."""

    spec: DockerGreenSpec
    image_id: pulumi.Input[str]
    provider: docker.Provider
    secrets: pulumi.Input[str]
    """Content of the worker's secrets file (`<alias>.password=...` lines), a Pulumi secret."""
    ca_files: Mapping[str, pulumi.Input[str]]
    """Text of every CA file the worker's spec uploads (`host_files`), by its path on this machine."""


class DockerMirrorMaker2(pulumi.ComponentResource):
    """The Connect worker running MM2's connectors (managed by the ReplicationFlow components over REST)."""

    connect_url: pulumi.Output[str]
    """Connect's REST API, on the Docker host's loopback."""
    metrics_url: pulumi.Output[str | None]
    """The worker's Prometheus endpoint (its JMX exporter, on the Docker host's loopback)."""
    secrets_file: str
    """Path, in the container, of the properties file connectors read passwords from."""

    def __init__(self, name: str, args: DockerMirrorMaker2Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MM2_TYPE, name, {}, opts)
        spec = args.spec
        self.secrets_file = spec.secrets_file
        self.worker: docker.Container | None = None
        if spec.connect is not None:
            rest = RestCredentials(
                f"{name}-rest-credentials", spec.rest_credentials_file, pulumi.ResourceOptions(parent=self)
            )
            self.worker = container(
                f"{name}-connect",
                spec.connect,
                args.image_id,
                pulumi.ResourceOptions(parent=self, provider=args.provider),
                {
                    **args.ca_files,
                    MM2_SECRETS: args.secrets,
                    REST_CREDENTIALS: rest.password.apply(rest_credentials_text),
                },
            )
            self.connect_url = self.worker.id.apply(lambda _: spec.connect_url)
        else:
            self.connect_url = pulumi.Output.from_input(spec.connect_url)
        self.metrics_url = pulumi.Output.from_input(spec.metrics_url)
        self.register_outputs({"connectUrl": self.connect_url, "running": spec.connect is not None})


@dataclass
class DockerRuntime:
    """What `build_docker_green` made, and what the rest of the migration needs from it."""

    spec: DockerGreenSpec
    provider: docker.Provider
    green: DockerGreen
    bootstrap_servers: pulumi.Output[str]
    secrets_file: str
    """For `flow_spec(cfg, source, target, secrets_file)`: where the worker reads passwords."""
    rest_credentials_file: str
    """This machine's copy of the worker's REST credentials (what the connectors' REST client sends)."""
    ready: pulumi.Output[Any]
    """Known once green answers its clients (a SASL_SSL green's CA file then exists)."""


def _secrets_file(cfg: MigrationConfig, spec: DockerGreenSpec) -> str:
    """The secrets file's text (`planning.local_processes.secrets_properties`: escaped, never empty)."""
    clusters = {c.alias: c for c in (cfg.blue, cfg.green)}
    secrets = {}
    for key, alias in spec.secret_keys.items():
        password = clusters[alias].security.mm2_password
        assert password is not None  # secret_keys lists only clusters with a password
        secrets[key] = password.get_secret_value()
    return secrets_properties(secrets)


def _ca_files(spec: DockerGreenSpec, green_ca: pulumi.Output[str] | None) -> dict[str, pulumi.Input[str]]:
    """The worker's CA uploads: green's from its certificate resource (made on the way), any other read now."""
    assert spec.connect is not None
    return {
        host: green_ca
        if spec.tls is not None and green_ca is not None and host == spec.tls.ca_file
        else Path(host).read_text()
        for host in spec.connect.host_files.values()
    }


def build_docker_green(
    name: str,
    cfg: MigrationConfig,
    plan: MigrationPlan,
    parent: pulumi.Resource,
    provider: docker.Provider | None = None,
    data_root: Path = DEFAULT_DATA_DIR,
) -> DockerRuntime:
    """Green and the MM2 worker as containers, children of `parent` (from `green-provisioned` on).

    Children: `<name>-docker` (the provider, unless one is given) and `<name>-green`
    (DockerGreen); `build_docker_mm2` adds `<name>-mm2` (DockerMirrorMaker2). Container and
    volume names start with `kafkamig-<stack>-<alias>`, so stacks sharing a Docker host do not collide.
    """
    if not plan.green_provisioned:
        raise ValueError(f"green is not provisioned at {plan.step.describe()}; build it from green-provisioned on")
    docker_cfg = docker_spec(cfg)
    prefix = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"kafkamig-{pulumi.get_stack()}-{cfg.green.alias}").lower()
    spec = docker_green_spec(cfg, plan, prefix, data_root)
    provider = provider or docker_provider(f"{name}-docker", docker_cfg, pulumi.ResourceOptions(parent=parent))
    green = DockerGreen(
        f"{name}-green",
        DockerGreenArgs(
            spec,
            docker_cfg.image,
            provider,
            protect=not cfg.allow_destroy,
            users=cluster_users(cfg.green.security),
            admin_user=cfg.green.security.username if spec.tls is not None else None,
        ),
        pulumi.ResourceOptions(parent=parent),
    )
    return DockerRuntime(
        spec=spec,
        provider=provider,
        green=green,
        bootstrap_servers=green.bootstrap_servers,
        secrets_file=spec.secrets_file,
        rest_credentials_file=spec.rest_credentials_file,
        ready=green.ready,
    )


def build_docker_mm2(
    name: str,
    cfg: MigrationConfig,
    runtime: DockerRuntime,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> DockerMirrorMaker2:
    """`<name>-mm2` (DockerMirrorMaker2), after green and `depends_on`.

    `depends_on`: MM2's grants on green, since the worker creates its storage topics as MM2 when it starts.
    """
    spec = runtime.spec
    secrets = pulumi.Output.secret(_secrets_file(cfg, spec))
    ca_files = _ca_files(spec, runtime.green.ca_pem) if spec.connect is not None else {}
    return DockerMirrorMaker2(
        f"{name}-mm2",
        DockerMirrorMaker2Args(spec, runtime.green.image_id, runtime.provider, secrets, ca_files),
        pulumi.ResourceOptions(parent=parent, depends_on=[runtime.green, *depends_on]),
    )
