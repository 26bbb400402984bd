"""MirrorMaker 2 connector configurations for a replication flow (Connect mode).

Each flow X->Y is three connectors on the Connect worker:
- `X->Y.MirrorSourceConnector` copies the selected topics from X to Y and writes
  offset-syncs on X;
- `X->Y.MirrorCheckpointConnector` translates blue's consumer-group offsets into
  checkpoints on Y;
- `Y->X.MirrorHeartbeatConnector` emits heartbeats into X, which the source connector
  carries to Y as `X.heartbeats`: their arrival proves the flow is moving. (MM2's own
  driver names heartbeat connectors after the cluster they emit into, hence Y->X.)

In Connect mode the framework writes a source connector's records with the *worker's*
producer, so every connector overrides `producer.override.bootstrap.servers` with the
cluster it writes to; the worker allows it (`connector.client.config.override.policy=All`,
the narrowest Kafka's policies that admits `bootstrap.servers`: see
`planning.local_processes.CONNECT_CLIENT_OVERRIDE_POLICY`).

A `sasl.jaas.config` is built by `planning.java_text.jaas_config`: every option value quoted
and escaped, the password a config-provider placeholder that the worker substitutes
verbatim, which is why the secrets file stores it JAAS-escaped
(`planning.local_processes.secrets_properties`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka_migration.config.clusters import ClusterSpec
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.config.settings import Mm2Settings
from kafka_migration.planning.java_text import jaas_config
from kafka_migration.planning.naming import ConnectorKind, connector_name

IDENTITY_POLICY = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
DEFAULT_POLICY = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"


@dataclass(frozen=True)
class Endpoint:
    """How MM2 reaches one cluster."""

    alias: str
    bootstrap_servers: str
    client_properties: dict[str, str] = field(default_factory=dict)
    """security.protocol, sasl.mechanism, sasl.jaas.config (with a config-provider placeholder, never a password)..."""


@dataclass(frozen=True)
class FlowSpec:
    """One direction of replication."""

    source: Endpoint
    target: Endpoint
    strategy: Strategy
    topics: tuple[str, ...]
    topics_exclude: tuple[str, ...]
    groups: tuple[str, ...]
    mm2: Mm2Settings

    @property
    def name(self) -> str:
        return f"{self.source.alias}->{self.target.alias}"


def _cluster_props(prefix: str, endpoint: Endpoint) -> dict[str, str]:
    props = {f"{prefix}.bootstrap.servers": endpoint.bootstrap_servers}
    props.update({f"{prefix}.{k}": v for k, v in endpoint.client_properties.items()})
    return props


def _producer_override(endpoint: Endpoint) -> dict[str, str]:
    props = {"producer.override.bootstrap.servers": endpoint.bootstrap_servers}
    props.update({f"producer.override.{k}": v for k, v in endpoint.client_properties.items()})
    return props


def _common(flow: FlowSpec, source: Endpoint, target: Endpoint) -> dict[str, str]:
    policy = IDENTITY_POLICY if flow.strategy is Strategy.ONE_WAY else DEFAULT_POLICY
    props = {
        "source.cluster.alias": source.alias,
        "target.cluster.alias": target.alias,
        "replication.policy.class": policy,
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "offset-syncs.topic.replication.factor": str(flow.mm2.internal_topic_replication_factor),
        "checkpoints.topic.replication.factor": str(flow.mm2.internal_topic_replication_factor),
        "heartbeats.topic.replication.factor": str(flow.mm2.internal_topic_replication_factor),
        **_cluster_props("source.cluster", source),
        **_cluster_props("target.cluster", target),
        **_producer_override(target),
    }
    return props


def connector_configs(flow: FlowSpec, replication_factor: int) -> dict[str, dict[str, str]]:
    """The three connectors of a flow, by connector name.

    `replication_factor` is the factor MM2 uses for remote topics it creates itself
    (topics the topic mirror did not pre-create).
    """
    s, t, mm2 = flow.source, flow.target, flow.mm2
    source = {
        "connector.class": f"org.apache.kafka.connect.mirror.{ConnectorKind.SOURCE.value}",
        **_common(flow, s, t),
        "tasks.max": str(mm2.tasks_max),
        "topics": ",".join(flow.topics),
        "topics.exclude": ",".join(flow.topics_exclude),
        "replication.factor": str(replication_factor),
        "offset.lag.max": str(mm2.offset_lag_max),
        "sync.topic.configs.enabled": str(mm2.sync_topic_configs_enabled).lower(),
        "sync.topic.acls.enabled": str(mm2.sync_topic_acls_enabled).lower(),
        "refresh.topics.interval.seconds": str(mm2.refresh_topics_interval_seconds),
        # A migration copies history too: start from the beginning of every topic.
        "source.consumer.auto.offset.reset": "earliest",
        # Committed records only: an aborted transaction's records stay on the source (MM2's
        # producer is not transactional, so whatever it read would land as ordinary records).
        "source.consumer.isolation.level": "read_committed",
    }
    if mm2.consumer_fetch_max_bytes is not None:
        source["source.consumer.fetch.max.bytes"] = str(mm2.consumer_fetch_max_bytes)
    source["producer.override.batch.size"] = str(mm2.producer_batch_size)
    source["producer.override.linger.ms"] = str(mm2.producer_linger_ms)
    checkpoint = {
        "connector.class": f"org.apache.kafka.connect.mirror.{ConnectorKind.CHECKPOINT.value}",
        **_common(flow, s, t),
        "tasks.max": "1",
        "groups": ",".join(flow.groups),
        "groups.exclude": "console-consumer-.*,connect-.*,__.*,mm2-.*",
        "emit.checkpoints.interval.seconds": str(mm2.emit_checkpoints_interval_seconds),
        "sync.group.offsets.enabled": str(mm2.sync_group_offsets_enabled).lower(),
        "sync.group.offsets.interval.seconds": str(mm2.sync_group_offsets_interval_seconds),
        "refresh.groups.interval.seconds": str(mm2.refresh_groups_interval_seconds),
    }
    # Emits into the flow's source so that the flow itself carries the heartbeats.
    heartbeat = {
        "connector.class": f"org.apache.kafka.connect.mirror.{ConnectorKind.HEARTBEAT.value}",
        **_common(flow, t, s),
        "tasks.max": "1",
        "emit.heartbeats.interval.seconds": str(mm2.heartbeats_interval_seconds),
    }
    return {
        connector_name(s.alias, t.alias, ConnectorKind.SOURCE): source,
        connector_name(s.alias, t.alias, ConnectorKind.CHECKPOINT): checkpoint,
        connector_name(t.alias, s.alias, ConnectorKind.HEARTBEAT): heartbeat,
    }


LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def sasl_jaas_config(cluster: ClusterSpec, password_reference: str) -> str:
    """MM2's `sasl.jaas.config` for the cluster (its own identity, `security.mm2`, else the admin one).

    `password_reference` (a config-provider placeholder) stands for the password.
    """
    sec = cluster.security
    if sec.sasl_mechanism is None or sec.mm2_username is None:
        raise ValueError(f"cluster {cluster.alias} has no SASL mechanism and username to build a JAAS config from")
    return jaas_config(
        LOGIN_MODULES[sec.sasl_mechanism], {"username": sec.mm2_username, "password": password_reference}
    )


def mm2_secrets(cfg: MigrationConfig) -> dict[str, str]:
    """The values of MM2's secrets file: `<alias>.password` -> the password MM2 authenticates to that cluster with."""
    out = {}
    for cluster in (cfg.blue, cfg.green):
        password = cluster.security.mm2_password
        if password is not None:
            out[f"{cluster.alias}.password"] = password.get_secret_value()
    return out


def endpoint(cluster: ClusterSpec, secrets_file: str) -> Endpoint:
    """MM2's view of a cluster: its password is a `${file:...}` reference, never the value."""
    props = cluster.security.client_properties()
    if cluster.security.sasl_mechanism:
        props["sasl.jaas.config"] = sasl_jaas_config(cluster, f"${{file:{secrets_file}:{cluster.alias}.password}}")
    return Endpoint(cluster.alias, cluster.resolved_bootstrap_servers, props)


def flow_spec(cfg: MigrationConfig, source: ClusterSpec, target: ClusterSpec, secrets_file: str) -> FlowSpec:
    """The flow source->target of this migration."""
    return FlowSpec(
        source=endpoint(source, secrets_file),
        target=endpoint(target, secrets_file),
        strategy=cfg.strategy,
        topics=tuple(cfg.topics.include),
        topics_exclude=tuple(cfg.topics.exclude),
        groups=tuple(cfg.consumer_groups),
        mm2=cfg.mm2,
    )


def remote_topic_replication_factor(cfg: MigrationConfig) -> int:
    """Replication factor MM2 gives remote topics it creates itself (those the topic mirror did not)."""
    return min(cfg.topics.replication_factor or cfg.green.brokers, cfg.green.brokers)
