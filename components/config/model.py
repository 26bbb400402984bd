"""Pydantic models of a migration stack's configuration.

Field names are snake_case in Python and camelCase in `Pulumi.<stack>.yaml` (the
stack's own vocabulary), for example `producerWaves`, `offsetLagMax`. Every model is
frozen and forbids unknown keys, so a typo fails `pulumi preview` before any resource
is touched, with the field, the value and the fix in the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kafka_migration.config.patterns import any_full_match, check_patterns
from kafka_migration.config.values import (
    check_bootstrap_servers,
    check_http_url,
    check_jaas_username,
    check_principal,
    check_text,
    check_topic_name,
)

ALIAS_PATTERN = r"^[a-zA-Z0-9._-]{1,100}$"
"""Cluster aliases: the pattern Strimzi enforces for MirrorMaker 2 cluster aliases (a '.' is refused on top)."""


class _Model(BaseModel):
    # hide_input_in_errors: a ValidationError printed as is (a program validating the model itself) shows no
    # input value, so no password; `load.format_errors` shows the values that are safe to show.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )


def _one_line(value: str | None, info: ValidationInfo) -> str | None:
    """A free-text value that reaches a file, a command line or a manifest: no control characters."""
    return None if value is None else check_text(value, to_camel(info.field_name or "value"))


class Phase(StrEnum):
    """The migration's phases, named as in the stack config (`phase: producers-switched`)."""

    BLUE_ONLY = "blue-only"
    GREEN_PROVISIONED = "green-provisioned"
    REPLICATING = "replicating"
    BIDIRECTIONAL = "bidirectional"
    PRODUCERS_SWITCHED = "producers-switched"
    CONSUMERS_SWITCHED = "consumers-switched"
    REVERSE_DISABLED = "reverse-disabled"
    VERIFIED = "verified"
    MM2_STOPPED = "mm2-stopped"
    DECOMMISSIONED = "decommissioned"


class Strategy(StrEnum):
    """How records cross over.

    `bidirectional`: the article's plan. A->B and B->A with MM2's default replication
    policy (remote topics are prefixed: `orders` on blue is `A.orders` on green);
    producers move first, consumers read both the local and the remote topic.
    `one-way`: A->B only, with identity topic names (`orders` stays `orders`);
    consumers move first, then producers. No prefixed names, no loop risk.
    """

    BIDIRECTIONAL = "bidirectional"
    ONE_WAY = "one-way"


class RuntimeKind(StrEnum):
    """Where a cluster (and MM2) runs and who manages it."""

    LOCAL = "local"
    KUBERNETES = "kubernetes"
    DOCKER = "docker"
    EXTERNAL = "external"


class ClientRole(StrEnum):
    """What a client group does: producers move in producer waves, consumers in consumer waves."""

    PRODUCER = "producer"
    CONSUMER = "consumer"


class SecuritySpec(_Model):
    """How clients (and MM2) authenticate to a cluster."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    """Required with a SASL protocol."""
    username: str | None = None
    password: SecretStr | None = None
    """Set it with `pulumi config set --secret --path <cluster>.security.password`; a plain value is refused."""
    ca_file: str | None = None
    """PEM file of the CA that signed the brokers' certificates (SSL protocols). Default: the system trust store."""

    @field_validator("username")
    @classmethod
    def _jaas_username(cls, value: str | None) -> str | None:
        return None if value is None else check_jaas_username(value, "username")

    @field_validator("password")
    @classmethod
    def _one_line_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_text(value.get_secret_value(), "password", shown=False)
        return value

    _ca_file = field_validator("ca_file")(_one_line)

    @model_validator(mode="after")
    def _sasl_complete(self) -> SecuritySpec:
        if self.protocol.startswith("SASL"):
            missing = [n for n in ("sasl_mechanism", "username", "password") if getattr(self, n) is None]
            if missing:
                names = ", ".join(to_camel(m) for m in missing)
                raise ValueError(
                    f"protocol {self.protocol} needs {names}; add them under security (password as a secret)"
                )
        elif self.sasl_mechanism is not None:
            raise ValueError(
                f"saslMechanism {self.sasl_mechanism} is set but protocol is {self.protocol}; "
                "use protocol SASL_SSL or SASL_PLAINTEXT, or remove saslMechanism"
            )
        return self

    def client_properties(self) -> dict[str, str]:
        """Kafka client properties (Java names) without the password (see `jaas_config`)."""
        props: dict[str, str] = {"security.protocol": self.protocol}
        if self.sasl_mechanism:
            props["sasl.mechanism"] = self.sasl_mechanism
        if self.ca_file:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = self.ca_file
        return props


class LocalRuntimeSpec(_Model):
    """A cluster run by the embedded local runtime (a KRaft JVM on 127.0.0.1)."""

    broker_port: int = Field(ge=1024, le=65535)
    controller_port: int = Field(ge=1024, le=65535)
    data_dir: str | None = None
    """Folder of the cluster's data. Default: `.local-clusters/<alias>` in the project."""
    heap_mb: int = Field(default=512, ge=128, le=8192)

    _data_dir = field_validator("data_dir")(_one_line)

    @model_validator(mode="after")
    def _distinct_ports(self) -> LocalRuntimeSpec:
        if self.broker_port == self.controller_port:
            raise ValueError(
                f"brokerPort and controllerPort are both {self.broker_port}; give the controller its own port"
            )
        return self


class KubernetesRuntimeSpec(_Model):
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
    )(_one_line)


class DockerRuntimeSpec(_Model):
    """Green as containers on one Docker host."""

    image: str = "apache/kafka:4.1.1"
    host: str | None = None
    """Docker host URL. Default: the local engine socket."""
    broker_port: int = Field(default=9092, ge=1, le=65535)

    _image = field_validator("image")(_one_line)

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


def _addresses(bootstrap_servers: str) -> set[str]:
    """The `host:port` entries of a bootstrap list, lower-cased."""
    return {a.strip().lower() for a in bootstrap_servers.split(",") if a.strip()}


class ClusterSpec(_Model):
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
        return self

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


DEFAULT_TOPIC_EXCLUDES = (
    r"__.*",
    r".*[-.]internal",
    r"heartbeats",
    r".*\.heartbeats",
    r"mm2-.*",
    r"_schemas",
    r"connect-.*",
)
"""Never migrated: Kafka's and MM2's internal topics."""


class TopicOverride(_Model):
    """Explicit settings for one topic on green (default: partitions and configs read from blue)."""

    partitions: int | None = Field(default=None, ge=1)
    replication_factor: int | None = Field(default=None, ge=1)
    config: dict[str, str] = {}

    @field_validator("config")
    @classmethod
    def _one_line_configs(cls, config: dict[str, str]) -> dict[str, str]:
        for key, value in config.items():
            check_text(key, "config key")
            check_text(value, f"config.{key}")
        return config


class TopicSelection(_Model):
    """Which of blue's topics migrate: MM2's include/exclude regexes (the subset of `patterns.py`), plus overrides."""

    include: list[str] = [".*"]
    exclude: list[str] = list(DEFAULT_TOPIC_EXCLUDES)
    overrides: dict[str, TopicOverride] = {}
    replication_factor: int | None = Field(default=None, ge=1)
    """Replication factor of topics on green. Default: blue's, capped by green's broker count."""

    @field_validator("include", "exclude")
    @classmethod
    def _mm2_patterns(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        """Patterns in the subset Java (MM2) and Python read alike (`patterns.py`)."""
        return check_patterns(patterns, f"topics.{info.field_name}")

    @field_validator("overrides")
    @classmethod
    def _override_topic_names(cls, overrides: dict[str, TopicOverride]) -> dict[str, TopicOverride]:
        for name in overrides:
            check_topic_name(name, "topics.overrides key")
        return overrides

    def selects(self, topic: str) -> bool:
        """Whether blue's topic migrates: MM2's topic filter (whole-name matches, `patterns.compiled`)."""
        return any_full_match(self.include, topic) and not any_full_match(self.exclude, topic)


class AclMirrorSpec(_Model):
    """ACLs on green: blue's ACLs for the selected topics and groups, plus MM2's own."""

    enabled: bool = True
    mm2_principal: str = "User:mm2"
    """Principal MirrorMaker 2 authenticates as on both clusters."""
    exclude_principals: list[str] = ["User:ANONYMOUS"]
    """ACLs of these principals are not mirrored (the local runtime's own access grants)."""

    @field_validator("mm2_principal")
    @classmethod
    def _principal(cls, value: str) -> str:
        return check_principal(value, "mm2Principal")

    @field_validator("exclude_principals")
    @classmethod
    def _principals(cls, values: list[str]) -> list[str]:
        for i, value in enumerate(values):
            check_principal(value, f"excludePrincipals[{i}]")
        return values


class OffsetReset(StrEnum):
    """A consumer's `auto.offset.reset`: where it starts on a partition with no committed offset."""

    EARLIEST = "earliest"
    LATEST = "latest"


class ClientGroup(_Model):
    """A group of clients that moves together (one deployment, one routing document)."""

    name: str = Field(pattern=r"^[a-zA-Z0-9._-]{1,120}$")
    role: ClientRole
    wave: int = Field(ge=1)
    """Producer groups move in producer waves, consumer groups in consumer waves, 1 first."""
    topics: list[str] = Field(min_length=1)
    """Blue topic names the clients use (routing translates them per cluster and phase)."""
    group_id: str | None = None
    """Kafka consumer group id (consumers). Default: the client group's name."""
    principal: str | None = None
    """Principal the clients authenticate as (for ACL checks). Default: none."""
    auto_offset_reset: OffsetReset = OffsetReset.EARLIEST
    """The consumers' `auto.offset.reset` (consumers). The handoff gives every partition the
    group reads an explicit committed position before moving it; on a partition where the
    group has none, it commits blue's log start (`earliest`, the default: nothing is ever
    skipped) or blue's end offset when the group stopped (`latest`: what the clients would
    have done; records written after they stopped are still read)."""

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: list[str]) -> list[str]:
        for i, topic in enumerate(topics):
            check_topic_name(topic, f"topics[{i}]")
        return topics

    @field_validator("group_id")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("groupId is empty; remove it (the client group's name is used) or give the group id")
        return None if value is None else check_text(value, "groupId")

    @field_validator("principal")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        return None if value is None else check_principal(value, "principal")

    @property
    def consumer_group_id(self) -> str:
        return self.group_id or self.name


class Mm2Settings(_Model):
    """MirrorMaker 2 settings, tuned for a migration rather than MM2's defaults.

    The article's mm2.properties keys map as: `offset.lag.max` -> offsetLagMax,
    `sync.topic.configs.enabled` -> syncTopicConfigsEnabled, `sync.topic.acls.enabled`
    -> syncTopicAclsEnabled, `*.topic.replication.factor` -> internalTopicReplicationFactor.
    """

    offset_lag_max: int = Field(default=0, ge=0)
    """0 writes an offset-sync for every record, so a drained group is handed over exactly.

    MM2's default, 100, lets a handoff re-read up to 100 records per partition.
    """
    internal_topic_replication_factor: int = Field(default=3, ge=1)
    """checkpoints, offset-syncs, heartbeats and Connect's own topics."""
    sync_topic_configs_enabled: bool = True
    sync_topic_acls_enabled: bool = False
    """Off by default: MM2 copies only LITERAL topic ACLs, drops WRITE and turns ALL into READ.

    The ACL mirror creates the application ACLs on green instead.
    """
    emit_checkpoints_interval_seconds: int = Field(default=5, ge=1)
    sync_group_offsets_enabled: bool = False
    """Off: the consumer handoff commits translated offsets itself, verifiably, during `consumers-switched` waves."""
    sync_group_offsets_interval_seconds: int = Field(default=10, ge=1)
    refresh_topics_interval_seconds: int = Field(default=30, ge=1)
    refresh_groups_interval_seconds: int = Field(default=30, ge=1)
    heartbeats_interval_seconds: int = Field(default=1, ge=1)
    tasks_max: int = Field(default=2, ge=1)
    consumer_fetch_max_bytes: int | None = Field(default=None, ge=1024)
    producer_batch_size: int | None = Field(default=None, ge=0)
    connect_rest_port: int = Field(default=8083, ge=1024, le=65535)
    """Local runtime: the Connect worker's REST port on 127.0.0.1."""
    connect_metrics_port: int = Field(default=9404, ge=1024, le=65535)
    """Local runtime: the Prometheus JMX exporter port on 127.0.0.1."""
    connect_url: str | None = None
    """External MM2 (a Connect cluster you run): its REST URL. Default: the local worker."""
    metrics_url: str | None = None
    """External MM2: Prometheus endpoint of the Connect workers."""

    @field_validator("connect_url", "metrics_url")
    @classmethod
    def _http_urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        """http(s) URLs without credentials; the Connect URL is a base URL (no query), the metrics one may have one."""
        if value is None:
            return None
        return check_http_url(value, to_camel(info.field_name or "url"), query=info.field_name == "metrics_url")


class GateSettings(_Model):
    """Thresholds the safety gates compare against."""

    max_lag_records: int = Field(default=1000, ge=0)
    """Per flow, the most records MM2 may still have to copy for a lag gate to pass."""
    max_lag_seconds: float = Field(default=30.0, ge=0)
    data_parity_sample: int = Field(default=20, ge=0)
    """Records compared per partition of every running flow (key, value, headers, timestamp; 0 disables).

    Shared between the partition's oldest, middle and newest copied records; each run is
    compared in order from an offset-sync, so records between syncs are compared too.
    """
    idle_window_seconds: float = Field(default=10.0, gt=0)
    """How long blue must show no produced bytes and no active group before a gate calls it idle."""
    soak_seconds: int = Field(default=24 * 3600, ge=0)
    """Soak window between `consumers-switched` and `verified` (the article's 24 h)."""
    handoff_timeout_seconds: float = Field(default=120.0, gt=0)
    """How long a consumer handoff waits for the group to leave blue and its offsets to be final."""
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    """Bound on every read a gate makes from the clusters during preview/up."""
    producer_flush_seconds: float = Field(default=5.0, ge=0)
    """One-way producer switch: how long paused producers get to flush and stop before blue's end is read."""


class RoutingSettings(_Model):
    """Where routing documents are published."""

    directory: str = ".local-clusters/routing"
    """Local runtime: folder of the `<client-group>.json` documents (relative to the project)."""
    kubernetes_namespace: str | None = None
    """Green on Kubernetes: publish ConfigMaps `kafka-routing-<client-group>` in this namespace instead
    of files. Default: files. ConfigMap routing does not run the consumer offset handoff yet."""

    _texts = field_validator("directory", "kubernetes_namespace")(_one_line)


PHASES_BIDIRECTIONAL_ONLY = (Phase.BIDIRECTIONAL, Phase.REVERSE_DISABLED)


class MigrationConfig(_Model):
    """The whole migration, as one stack describes it."""

    phase: Phase = Phase.BLUE_ONLY
    producer_waves: int = Field(default=0, ge=0)
    """How many producer waves are switched (meaningful from `producers-switched` on)."""
    consumer_waves: int = Field(default=0, ge=0)
    strategy: Strategy = Strategy.BIDIRECTIONAL
    blue: ClusterSpec
    green: ClusterSpec
    topics: TopicSelection = TopicSelection()
    consumer_groups: list[str] = [".*"]
    """Regexes of blue's consumer groups whose offsets MM2 checkpoints (MM2's `groups`; see `patterns.py`)."""
    acls: AclMirrorSpec = AclMirrorSpec()
    clients: list[ClientGroup] = []
    mm2: Mm2Settings = Mm2Settings()
    gates: GateSettings = GateSettings()
    routing: RoutingSettings = RoutingSettings()
    force: dict[str, str] = {}
    """Gate name -> the operator's reason, to override that one gate for this step (recorded in outputs)."""
    allow_destroy: bool = False
    """Protect green's cluster and topics unless this is true (rollback to blue-only, teardown of a rehearsal)."""
    production: bool = False
    """A production stack: the policy pack applies its stricter rules (replication factors, soak >= 24 h)."""

    @field_validator("consumer_groups")
    @classmethod
    def _group_patterns(cls, patterns: list[str]) -> list[str]:
        """Patterns in the subset Java (MM2's `groups`) and Python read alike (`patterns.py`)."""
        return check_patterns(patterns, "consumerGroups")

    @model_validator(mode="after")
    def _consistent(self) -> MigrationConfig:
        if self.blue.alias == self.green.alias:
            raise ValueError(
                f"blue.alias and green.alias are both {self.blue.alias!r}; give green its own alias (e.g. B)"
            )
        shared = _addresses(self.blue.resolved_bootstrap_servers) & _addresses(self.green.resolved_bootstrap_servers)
        if shared:
            raise ValueError(
                f"green.bootstrapServers {self.green.resolved_bootstrap_servers!r} names blue's broker(s) "
                f"{', '.join(sorted(shared))}: green must be another cluster, or the migration would copy blue "
                "into itself; point green.bootstrapServers at the new cluster"
            )
        if self.strategy is Strategy.ONE_WAY and self.phase in PHASES_BIDIRECTIONAL_ONLY:
            raise ValueError(
                f"phase {self.phase.value} does not exist in the one-way strategy; "
                "its order is blue-only, green-provisioned, replicating, consumers-switched, producers-switched, "
                "verified, mm2-stopped, decommissioned"
            )
        self._check_clients()
        self._check_waves()
        return self

    def _check_clients(self) -> None:
        names = [c.name for c in self.clients]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"clients has duplicate names {duplicates}; every client group needs its own name")
        for client in self.clients:
            unselected = [t for t in client.topics if not self.topics.selects(t)]
            if unselected:
                raise ValueError(
                    f"clients[{client.name}].topics uses {unselected}, which topics.include/exclude do not migrate; "
                    "add them to topics.include or remove them from the client"
                )

    def _check_waves(self) -> None:
        for role, done in ((ClientRole.PRODUCER, self.producer_waves), (ClientRole.CONSUMER, self.consumer_waves)):
            waves = sorted({c.wave for c in self.clients if c.role is role})
            if waves and waves != list(range(1, len(waves) + 1)):
                raise ValueError(f"{role.value} waves are {waves}; number them 1..N without gaps")
            if done > len(waves):
                field = "producerWaves" if role is ClientRole.PRODUCER else "consumerWaves"
                raise ValueError(
                    f"{field} is {done} but the clients define {len(waves)} {role.value} wave(s); lower {field}"
                )

    def wave_count(self, role: ClientRole) -> int:
        return len({c.wave for c in self.clients if c.role is role})

    def clients_of(self, role: ClientRole) -> list[ClientGroup]:
        return [c for c in self.clients if c.role is role]
