"""Every Kubernetes object of one step of a green cluster on Kubernetes, as plain dicts (`strimzi_manifests`).

Pure functions of the config and the step's plan, with no Pulumi import: the same dicts
are validated against the operator's CRD schemas in the unit tests, turned into Pulumi
resources by `resources.kubernetes.resources`, and rendered to YAML for reviews.

What a step becomes:
- green (`strimzi_kafka`): one `Kafka` (KRaft, `authorization: simple`, topic and user
  operators) and one `KafkaNodePool` of combined broker+controller nodes on persistent volumes;
- topics and ACLs (`strimzi_kafka`): one `KafkaTopic` per green topic and one `KafkaUser`
  per principal;
- MirrorMaker 2 (`strimzi_connect`): one `KafkaConnect` (connector resources enabled) and
  one `KafkaConnector` per MM2 connector of both flows, `running` or `stopped` as the plan
  says, so the set of resources (and their URNs) never changes with the phase; the Connect
  workers scale to zero while MM2 does not run; next to it (`kubernetes_objects`) the Role
  and RoleBinding that let Connect read the credentials Secret, the `NetworkPolicy`
  guarding its REST API, and the ConfigMap of JMX exporter rules its `metricsConfig`
  references (kept while Connect is scaled to zero: the KafkaConnect still references it);
- routing (`kubernetes_objects`): one `ConfigMap kafka-routing-<client-group>` per client group.

Names, labels and metadata come from `strimzi_names`. Passwords never appear in a
manifest: connectors read them through Strimzi's secret config provider (`strimzi_connect`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.java_text import jaas_escaped
from kafka_migration.planning.kubernetes_objects import (
    connect_metrics_config_map,
    connect_network_policy,
    connect_secret_access,
    routing_config_maps,
)
from kafka_migration.planning.strimzi_connect import kafka_connect, kafka_connectors
from kafka_migration.planning.strimzi_kafka import kafka, kafka_topics, kafka_users, node_pool
from kafka_migration.planning.strimzi_names import (
    Manifest,
    StrimziNames,
    credential_keys,
    manifest_key,
    strimzi_names,
)


@dataclass(frozen=True)
class StrimziManifests:
    """The Kubernetes objects of one step, grouped by the component that owns them."""

    names: StrimziNames
    kafka: tuple[Manifest, ...]
    """The `Kafka` and its `KafkaNodePool` (empty before `green-provisioned`)."""
    topics: tuple[Manifest, ...]
    users: tuple[Manifest, ...]
    connect: tuple[Manifest, ...]
    """The `Role` and `RoleBinding` that let Connect read the credentials Secret, the `NetworkPolicy` guarding its
    REST API, the metrics `ConfigMap`, then the `KafkaConnect` (always last: created after them, deleted before)."""
    connectors: tuple[Manifest, ...]
    routing: tuple[Manifest, ...]
    credential_keys: dict[str, str]
    """Key of the credentials Secret -> config path of the password it holds."""

    def all(self) -> list[Manifest]:
        """Every object, in dependency order."""
        return [*self.kafka, *self.topics, *self.users, *self.connect, *self.connectors, *self.routing]


def _check_security(cfg: MigrationConfig) -> None:
    sec = cfg.green.security
    if sec.sasl_mechanism not in (None, "SCRAM-SHA-512"):
        raise ValueError(
            f"green.security.saslMechanism is {sec.sasl_mechanism}; Strimzi's SASL listener and KafkaUsers use "
            "SCRAM-SHA-512 only: set green.security.saslMechanism: SCRAM-SHA-512"
        )
    if sec.ca_file:
        raise ValueError(
            "green.security.caFile is set, but on Kubernetes Strimzi's cluster CA signs green's certificates "
            "and MM2 trusts it from its Secret; remove green.security.caFile"
        )
    if cfg.blue.security.ca_file:
        raise ValueError(
            f"blue.security.caFile {cfg.blue.security.ca_file!r} is a file on this machine, which the MirrorMaker 2 "
            "pods cannot read; remove it (blue's certificates must then chain to the pods' default trust store)"
        )
    for name, cluster in (("blue", cfg.blue), ("green", cfg.green)):
        field = f"{name}.security.mm2.password" if cluster.security.mm2 else f"{name}.security.password"
        password = cluster.security.mm2_password
        if password is not None and jaas_escaped(password.get_secret_value()) != password.get_secret_value():
            # The Secret holds the raw password (the User Operator sets green's SCRAM password from
            # it) and Strimzi's provider substitutes it verbatim inside MM2's quoted JAAS option.
            raise ValueError(
                f"{field} contains a backslash, a double quote or a line break, which Strimzi's "
                "secret provider would put unescaped inside MM2's sasl.jaas.config; on Kubernetes choose a password "
                "without them (and set it with `pulumi config set --secret`)"
            )


def strimzi_manifests(cfg: MigrationConfig, plan: MigrationPlan) -> StrimziManifests:
    """Every object of the step. Raises ValueError (naming the config field to fix) on what Strimzi cannot express."""
    _check_security(cfg)
    names = strimzi_names(cfg)
    green = plan.green_provisioned
    manifests = StrimziManifests(
        names=names,
        kafka=(kafka(cfg), node_pool(cfg)) if green else (),
        topics=tuple(kafka_topics(cfg, plan)) if green else (),
        users=tuple(kafka_users(cfg, plan)) if green else (),
        connect=(
            (
                *connect_secret_access(cfg),
                connect_network_policy(cfg),
                connect_metrics_config_map(cfg),
                kafka_connect(cfg, plan),
            )
            if green
            else ()
        ),
        connectors=tuple(kafka_connectors(cfg, plan)) if green else (),
        routing=tuple(routing_config_maps(cfg, plan)),
        credential_keys=credential_keys(cfg),
    )
    keys = [manifest_key(m) for m in manifests.all()]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"two objects would share the names {duplicates}; make the aliases or names distinct")
    return manifests
