"""The two clusters of a migration: where each runs (runtime blocks) and how clients authenticate to it."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kafka_migration.config.base import ConfigModel, one_line
from kafka_migration.config.values import check_bootstrap_servers, check_jaas_username, check_text

ALIAS_PATTERN = r"^[a-zA-Z0-9._-]{1,100}$"
"""Cluster aliases: the pattern Strimzi enforces for MirrorMaker 2 cluster aliases (a '.' is refused on top)."""


class RuntimeKind(StrEnum):
    """Where a cluster (and MM2) runs and who manages it."""

    LOCAL = "local"
    KUBERNETES = "kubernetes"
    DOCKER = "docker"
    EXTERNAL = "external"


class Credential(ConfigModel):
    """A SASL user name and password (the password set with `pulumi config set --secret`)."""

    username: str
    password: SecretStr

    _username = field_validator("username")(lambda value: _jaas_username(value))
    _password = field_validator("password")(lambda value: _one_line_password(value))


def _jaas_username(value: str | None) -> str | None:
    """A user name that can stand in a JAAS config (`values.check_jaas_username`)."""
    return None if value is None else check_jaas_username(value, "username")


def _one_line_password(value: SecretStr | None) -> SecretStr | None:
    """A password on one line, never shown in the error."""
    if value is not None:
        check_text(value.get_secret_value(), "password", shown=False)
    return value


class SecuritySpec(ConfigModel):
    """How the stack (the admin identity) and MM2 (its own identity, `mm2`) authenticate to a cluster.

    `username`/`password` are the admin identity: what the stack manages (topics, ACLs,
    the fence, offsets at a handoff, cleanup) and what it reads (inventory, lag). `mm2` is
    the identity MirrorMaker 2 replicates with; without it MM2 uses the admin identity (and a
    leaked MM2 password is then an admin one). The grants each identity needs are
    `planning.grants`, listed in the README.
    """

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    """Required with a SASL protocol."""
    username: str | None = None
    password: SecretStr | None = None
    """Set it with `pulumi config set --secret --path <cluster>.security.password`; a plain value is refused."""
    ca_file: str | None = None
    """PEM file of the CA that signed the brokers' certificates (SSL protocols). Default: the system trust store.

    For a cluster of the local runtime, the runtime generates this CA (and its key beside it)
    when the file does not exist yet. A relative path is taken from the project's folder and
    stored absolute, because the Connect worker's JVM runs in its own folder.
    """
    mm2: Credential | None = None
    """MirrorMaker 2's own identity on this cluster (SASL protocols). Default: the admin identity above."""

    _username = field_validator("username")(lambda value: _jaas_username(value))
    _password = field_validator("password")(lambda value: _one_line_password(value))

    @field_validator("ca_file")
    @classmethod
    def _absolute_ca_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_text(value, "caFile")
        return os.path.abspath(os.path.expanduser(value))

    @model_validator(mode="after")
    def _sasl_complete(self) -> SecuritySpec:
        if self.protocol.startswith("SASL"):
            missing = [n for n in ("sasl_mechanism", "username", "password") if getattr(self, n) is None]
            if missing:
                names = ", ".join(to_camel(m) for m in missing)
                raise ValueError(
                    f"protocol {self.protocol} needs {names}; add them under security (password as a secret)"
                )
            if self.mm2 is not None and self.mm2.username == self.username:
                raise ValueError(
                    f"mm2.username is {self.mm2.username!r}, the admin identity's username too; give MM2 its own user "
                    "(or remove the mm2 block to replicate as the admin identity)"
                )
        elif self.mm2 is not None:
            raise ValueError(
                f"mm2 credentials are set but protocol is {self.protocol}, which authenticates nobody; "
                "use protocol SASL_SSL, or remove the mm2 block"
            )
        elif self.sasl_mechanism is not None:
            raise ValueError(
                f"saslMechanism {self.sasl_mechanism} is set but protocol is {self.protocol}; "
                "use protocol SASL_SSL or SASL_PLAINTEXT, or remove saslMechanism"
            )
        return self

    @property
    def mm2_username(self) -> str | None:
        """The user MM2 authenticates as (its own credential, else the admin one); None without SASL."""
        if not self.protocol.startswith("SASL"):
            return None
        return self.mm2.username if self.mm2 is not None else self.username

    @property
    def mm2_password(self) -> SecretStr | None:
        """The password MM2 authenticates with (its own credential's, else the admin one's)."""
        return self.mm2.password if self.mm2 is not None else self.password

    def client_properties(self) -> dict[str, str]:
        """Kafka client properties (Java names) without the password (see `jaas_config`)."""
        props: dict[str, str] = {"security.protocol": self.protocol}
        if self.sasl_mechanism:
            props["sasl.mechanism"] = self.sasl_mechanism
        if self.ca_file:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = self.ca_file
        return props


def distinct_listener_ports(broker_port: int, controller_port: int) -> None:
    """A KRaft node's client and controller listeners need a port each."""
    if broker_port == controller_port:
        raise ValueError(f"brokerPort and controllerPort are both {broker_port}; give the controller its own port")


class LocalRuntimeSpec(ConfigModel):
    """A cluster run by the embedded local runtime (a KRaft JVM on 127.0.0.1)."""

    broker_port: int = Field(ge=1024, le=65535)
    controller_port: int = Field(ge=1024, le=65535)
    data_dir: str | None = None
    """Folder of the cluster's data. Default: `.local-clusters/<alias>` in the project."""
    heap_mb: int = Field(default=512, ge=128, le=8192)

    _data_dir = field_validator("data_dir")(one_line)

    @model_validator(mode="after")
    def _distinct_ports(self) -> LocalRuntimeSpec:
        distinct_listener_ports(self.broker_port, self.controller_port)
        return self


class KubernetesRuntimeSpec(ConfigModel):
    """Green on Kubernetes through the Strimzi operator (Kafka, KafkaNodePool, KafkaMirrorMaker2...)."""

    namespace: str = "kafka"
    kafka_version: str = "4.1.1"
    replicas: int = Field(default=3, ge=1)
    storage_gi: int = Field(default=100, ge=1)
    storage_class: str | None = None
    kubeconfig_context: str | None = None
    render_yaml_to_directory: str | None = None
    """Write manifests to this folder instead of applying them (reviews, GitOps, tests)."""

    _texts = field_validator(
        "namespace", "kafka_version", "storage_class", "kubeconfig_context", "render_yaml_to_directory"
    )(one_line)


class DockerRuntimeSpec(ConfigModel):
    """Green as containers on one Docker host."""

    image: str = "kafkamig/kafka:4.1.2"
    """The image green's broker and MM2's worker run: `kafka-migration docker-image` builds this one into the
    engine (Kafka's jars, a Java runtime and busybox; `planning.docker_containers` says what an image must hold)."""
    host: str | None = None
    """Docker host URL. Default: the local engine socket."""
    broker_port: int = Field(default=9092, ge=1, le=65535)
    """Green's client listener, on the Docker host's loopback (containers share the host's network)."""
    controller_port: int = Field(default=9093, ge=1, le=65535)
    """Green's KRaft controller listener, on the Docker host's loopback."""
    internal_port: int = Field(default=9094, ge=1, le=65535)
    """A SASL_SSL green's INTERNAL listener (SSL, client certificates from green's CA only), on the Docker host's
    loopback: inter-broker traffic, and the stack's own way in with the node's certificate (SCRAM users)."""

    _image = field_validator("image")(one_line)

    @model_validator(mode="after")
    def _distinct_ports(self) -> DockerRuntimeSpec:
        distinct_listener_ports(self.broker_port, self.controller_port)
        ports = {"brokerPort": self.broker_port, "controllerPort": self.controller_port}
        clash = [name for name, port in ports.items() if port == self.internal_port]
        if clash:
            raise ValueError(
                f"internalPort and {clash[0]} are both {self.internal_port}; give the INTERNAL listener its own port"
            )
        return self

    @field_validator("host")
    @classmethod
    def _host_without_password(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_text(value, "host")
        scheme, _, rest = value.partition("://")
        if ":" in rest.split("/", 1)[0].rpartition("@")[0]:
            raise ValueError(
                f"host has a password in it ({scheme}://<redacted>@...); use ssh:// with a key, "
                "or tcp:// with TLS certificates, never a password in the URL"
            )
        return value


class ClusterSpec(ConfigModel):
    """One side of the migration (blue, the old cluster; green, the new one)."""

    alias: str = Field(pattern=ALIAS_PATTERN)
    """MM2 cluster alias; prefixes remote topic names under the bidirectional strategy (`A.orders`)."""
    runtime: RuntimeKind = RuntimeKind.EXTERNAL
    bootstrap_servers: str | None = None
    """Comma-separated host:port list. Required for external clusters; derived for local ones."""
    brokers: int = Field(default=1, ge=1)
    """How many brokers the cluster has (caps topic replication factors)."""
    security: SecuritySpec = SecuritySpec()
    local: LocalRuntimeSpec | None = None
    kubernetes: KubernetesRuntimeSpec | None = None
    docker: DockerRuntimeSpec | None = None

    @field_validator("alias")
    @classmethod
    def _alias_without_dot(cls, alias: str) -> str:
        if "." in alias:
            raise ValueError(
                f"alias {alias!r} has a '.', the separator of MM2's remote topic names ({alias}.orders): MM2 would "
                f"read the remote topic as coming from {alias.split('.')[0]!r}, and under the bidirectional "
                "strategy copy it back (a loop); use letters, digits, '_' and '-'"
            )
        return alias

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str | None) -> str | None:
        return None if value is None else check_bootstrap_servers(value, "bootstrapServers")

    @model_validator(mode="after")
    def _runtime_settings(self) -> ClusterSpec:
        if self.runtime is RuntimeKind.LOCAL and self.local is None:
            raise ValueError("runtime local needs a `local:` block with brokerPort and controllerPort")
        if self.runtime is RuntimeKind.EXTERNAL and not self.bootstrap_servers:
            raise ValueError("runtime external needs bootstrapServers (host:port,host:port)")
        if self.runtime is RuntimeKind.LOCAL and self.brokers != 1:
            raise ValueError(f"the local runtime runs single-node clusters, got brokers={self.brokers}; set brokers: 1")
        if self.runtime in (RuntimeKind.LOCAL, RuntimeKind.DOCKER):
            self._check_runtime_security()
        return self

    def _check_runtime_security(self) -> None:
        """The local and Docker runtimes run PLAINTEXT, or SASL_SSL with SCRAM-SHA-512 and a CA made at caFile."""
        sec, runtime = self.security, self.runtime.value
        if sec.protocol not in ("PLAINTEXT", "SASL_SSL"):
            raise ValueError(
                f"security.protocol is {sec.protocol}, but the {runtime} runtime runs PLAINTEXT or SASL_SSL clusters; "
                "set security.protocol: SASL_SSL (or PLAINTEXT)"
            )
        if sec.protocol == "SASL_SSL" and sec.sasl_mechanism != "SCRAM-SHA-512":
            raise ValueError(
                f"security.saslMechanism is {sec.sasl_mechanism}, but a {runtime} SASL_SSL cluster offers "
                "SCRAM-SHA-512 only; set security.saslMechanism: SCRAM-SHA-512"
            )
        if sec.protocol == "SASL_SSL" and sec.ca_file is None:
            raise ValueError(
                f"a {runtime} SASL_SSL cluster needs security.caFile: the runtime generates its CA there (once) and "
                "every client trusts it; set security.caFile, for example .local-clusters/ca/ca.pem"
            )

    @property
    def resolved_bootstrap_servers(self) -> str:
        """What clients connect to."""
        if self.bootstrap_servers:
            return self.bootstrap_servers
        if self.local is not None:
            return f"127.0.0.1:{self.local.broker_port}"
        if self.kubernetes is not None:
            return f"{self.alias.lower()}-kafka-bootstrap.{self.kubernetes.namespace}.svc:9092"
        if self.docker is not None:
            return f"127.0.0.1:{self.docker.broker_port}"
        raise ValueError(f"cluster {self.alias} has no bootstrapServers")
