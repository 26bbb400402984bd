"""MirrorMaker 2 on green as Strimzi resources: one `KafkaConnect` and one `KafkaConnector` per MM2 connector.

The connectors of both flows always exist, `running` or `stopped` as the plan says, so the
set of resources (and their URNs) never changes with the phase; the Connect workers scale
to zero while MM2 does not run.

Passwords never appear in a manifest. Connectors read them through Strimzi's Kubernetes
secret config provider (`${strimzisecrets:<namespace>/<secret>:<key>}`) from one Secret
whose keys are `<alias>.password`; the Pulumi layer fills it from the stack's secrets.
(No `FileConfigProvider` of ours runs there, so no `allowed.paths` of ours either: Strimzi
appends its own `strimzifile`/`strimzidir` providers, which it uses itself, and sets them up.)

MM2's metrics: the KafkaConnect's `metricsConfig` runs the Prometheus JMX exporter in every
Connect pod with the rules every runtime's worker uses (`local_processes.JMX_EXPORTER_CONFIG`),
read from the ConfigMap `kubernetes_objects.connect_metrics_config_map` describes.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from kafka_migration.config.clusters import ClusterSpec
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.grants import CONNECT_WORKER_NAME
from kafka_migration.planning.local_processes import CONNECT_CLIENT_OVERRIDE_POLICY
from kafka_migration.planning.mm2 import (
    BYTES,
    Endpoint,
    FlowSpec,
    connector_configs,
    endpoint,
    flow_spec,
    remote_topic_replication_factor,
    sasl_jaas_config,
)
from kafka_migration.planning.naming import connect_storage_topics
from kafka_migration.planning.strimzi_kafka import uses_sasl, uses_tls
from kafka_migration.planning.strimzi_names import (
    CLUSTER_LABEL,
    CONFIG_PROVIDER,
    DNS_SUBDOMAIN,
    METRICS_CONFIG_KEY,
    Manifest,
    StrimziNames,
    connect_replicas,
    custom_resource,
    kubernetes_spec,
    object_metadata,
    password_key,
    strimzi_names,
)

USE_CONNECTOR_RESOURCES = "strimzi.io/use-connector-resources"
FLOW_LABEL = "kafkamig.io/flow"
"""On every KafkaConnector: the flow it belongs to (`A-to-B`), for `kubectl get -l`."""
CONFIG_PROVIDER_CLASS = "io.strimzi.kafka.KubernetesSecretConfigProvider"


def _mm2_endpoints(cfg: MigrationConfig, names: StrimziNames, flow: FlowSpec) -> FlowSpec:
    """The flow as MM2 sees it from its pods: green at its Service, passwords as secret-provider placeholders."""

    def on_kubernetes(cluster: ClusterSpec) -> Endpoint:
        ep = endpoint(cluster, secrets_file="")
        props = dict(ep.client_properties)
        if cluster.security.sasl_mechanism:
            props["sasl.jaas.config"] = sasl_jaas_config(cluster, names.secret_reference(password_key(cluster)))
        bootstrap = ep.bootstrap_servers
        if cluster.alias == cfg.green.alias:
            bootstrap = names.bootstrap_servers
            if uses_tls(cluster):
                props["ssl.truststore.type"] = "PEM"
                props["ssl.truststore.certificates"] = (
                    f"${{{CONFIG_PROVIDER}:{names.namespace}/{names.cluster_ca_secret}:ca.crt}}"
                )
        return dataclasses.replace(ep, bootstrap_servers=bootstrap, client_properties=props)

    clusters = {c.alias: c for c in (cfg.blue, cfg.green)}
    return dataclasses.replace(
        flow, source=on_kubernetes(clusters[flow.source.alias]), target=on_kubernetes(clusters[flow.target.alias])
    )


def connector_resource_name(connector: str) -> str:
    """A Kubernetes name for an MM2 connector: `A->B.MirrorSourceConnector` -> `a-to-b.mirror-source-connector`.

    Strimzi names the connector on the Connect cluster after its KafkaConnector, and
    Kubernetes names are lower case without `>`, so the connectors are named this way there.
    """
    flow, _, kind = connector.rpartition(".")
    source, _, target = flow.partition("->")
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()
    name = f"{source}-to-{target}".lower().replace("_", "-") + f".{kebab}"
    if not DNS_SUBDOMAIN.match(name):
        raise ValueError(f"connector {connector!r} gives the invalid Kubernetes name {name!r}; use simpler aliases")
    return name


def kafka_connectors(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """The connectors of A->B (and B->A under the bidirectional strategy), each `running` iff its flow is active."""
    names = strimzi_names(cfg)
    active = {(f.source, f.target) for f in plan.flows}
    pairs = [(cfg.blue, cfg.green)]
    if cfg.strategy is Strategy.BIDIRECTIONAL:
        pairs.append((cfg.green, cfg.blue))
    out = []
    for source, target in pairs:
        flow = _mm2_endpoints(cfg, names, flow_spec(cfg, source, target, secrets_file=""))
        state = "running" if (source.alias, target.alias) in active else "stopped"
        labels = {CLUSTER_LABEL: names.connect, FLOW_LABEL: f"{source.alias}-to-{target.alias}"}
        for connector, config in connector_configs(flow, remote_topic_replication_factor(cfg)).items():
            body = dict(config)
            # Strimzi refuses these two in `config`: they are fields of the KafkaConnector.
            connector_class = body.pop("connector.class")
            tasks_max = int(body.pop("tasks.max"))
            spec = {
                "class": connector_class,
                "tasksMax": tasks_max,
                "autoRestart": {"enabled": True},
                "state": state,
                "config": body,
            }
            meta = object_metadata(connector_resource_name(connector), names.namespace, labels)
            out.append(custom_resource("KafkaConnector", meta, spec))
    return out


def metrics_config(names: StrimziNames) -> dict[str, Any]:
    """The KafkaConnect's `metricsConfig`: the JMX exporter, its rules in `names.connect_metrics_config_map`.

    That ConfigMap is `kubernetes_objects.connect_metrics_config_map`. Each Connect pod then
    serves MM2's metrics on `METRICS_PORT` (`StrimziNames.worker_metrics_url`).
    Always with `valueFrom`, which the CRD's CEL rule requires of `jmxPrometheusExporter`.
    """
    ref = {"name": names.connect_metrics_config_map, "key": METRICS_CONFIG_KEY}
    return {"type": "jmxPrometheusExporter", "valueFrom": {"configMapKeyRef": ref}}


def kafka_connect(cfg: MigrationConfig, plan: MigrationPlan) -> Manifest:
    """The Connect cluster running MM2's connectors: on green, scaled to zero whenever MM2 does not run."""
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    configs, offsets, status = connect_storage_topics(CONNECT_WORKER_NAME)
    rf = str(min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers))
    body: dict[str, Any] = {
        "version": spec.kafka_version,
        "replicas": connect_replicas(cfg) if plan.mm2_running else 0,
        "bootstrapServers": names.bootstrap_servers,
        "groupId": f"mm2-{CONNECT_WORKER_NAME}",
        "configStorageTopic": configs,
        "offsetStorageTopic": offsets,
        "statusStorageTopic": status,
        "config": {
            "config.storage.replication.factor": rf,
            "offset.storage.replication.factor": rf,
            "status.storage.replication.factor": rf,
            "offset.storage.partitions": "5",
            "status.storage.partitions": "1",
            "key.converter": BYTES,
            "value.converter": BYTES,
            "header.converter": BYTES,
            "offset.flush.interval.ms": "1000",
            # Each connector writes to its own target cluster: `All` is the narrowest policy
            # that admits producer.override.bootstrap.servers (CONNECT_CLIENT_OVERRIDE_POLICY).
            "connector.client.config.override.policy": CONNECT_CLIENT_OVERRIDE_POLICY,
            # Connectors reference passwords as ${strimzisecrets:...}; the REST API never shows them.
            "config.providers": CONFIG_PROVIDER,
            f"config.providers.{CONFIG_PROVIDER}.class": CONFIG_PROVIDER_CLASS,
        },
        "metricsConfig": metrics_config(names),
    }
    sec = cfg.green.security
    if uses_sasl(cfg.green):
        body["authentication"] = {
            "type": "scram-sha-512",
            "username": sec.mm2_username,
            "passwordSecret": {"secretName": names.credentials_secret, "password": password_key(cfg.green)},
        }
    if uses_tls(cfg.green):
        body["tls"] = {"trustedCertificates": [{"secretName": names.cluster_ca_secret, "pattern": "*.crt"}]}
    meta = object_metadata(names.connect, names.namespace, annotations={USE_CONNECTOR_RESOURCES: "true"})
    return custom_resource("KafkaConnect", meta, body)
