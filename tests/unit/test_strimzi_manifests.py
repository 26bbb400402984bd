"""The Kubernetes runtime: Strimzi manifests valid for the operator's CRDs at every step, stable names, phase diffs.

The CRDs are Strimzi 1.2.0's own, carried in the package
(`components/kubernetes/strimzi_crds/1.2.0`) (missing CRDs fail the tests; they never skip). The last section builds the
Pulumi components with mocks and checks parents, URNs and secrets.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pydantic import SecretStr

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.desired import MigrationPlan, plan_migration, reached
from kafka_migration.planning.kubernetes_objects import ROUTING_KEY, TOOLING_LABEL
from kafka_migration.planning.local_processes import JMX_EXPORTER_CONFIG, Mm2Endpoints, mm2_endpoints
from kafka_migration.planning.phases import Step, config_steps
from kafka_migration.planning.strimzi_connect import FLOW_LABEL, connector_resource_name
from kafka_migration.planning.strimzi_manifests import StrimziManifests, strimzi_manifests
from kafka_migration.planning.strimzi_names import (
    CONNECT_REST_PORT,
    DNS_SUBDOMAIN,
    METRICS_CONFIG_KEY,
    METRICS_PORT,
    STRIMZI_API_VERSION,
    hashed_name,
    manifest_key,
)
from kafka_migration.resources.kubernetes.crds import STRIMZI_CRDS, CrdSchemas, cel_rules, metadata_errors
from tests.unit.builders import make_config

BLUE_PASSWORD = "blue-pw-7c1d9e"
GREEN_PASSWORD = "green-pw-41f0aa"

BLUE = ClusterInventory(
    "blue-cluster-id",
    3,
    {
        "orders": TopicInfo("orders", 6, 3, {"retention.ms": "604800000", "min.insync.replicas": "2"}),
        "payments": TopicInfo("payments", 3, 3, {"cleanup.policy": "compact"}),
        "audit.events": TopicInfo("audit.events", 1, 3),
        "scratch": TopicInfo("scratch", 1, 1),
    },
    (
        AclEntry("Topic", "orders", "Literal", "User:orders-writer", "*", "Write", "Allow"),
        AclEntry("Topic", "orders", "Literal", "User:orders-writer", "*", "Describe", "Allow"),
        AclEntry("TransactionalID", "orders-tx", "Literal", "User:orders-writer", "*", "Write", "Allow"),
        AclEntry("Topic", "orders", "Literal", "User:billing", "*", "Read", "Allow"),
        AclEntry("Topic", "payments", "Literal", "User:billing", "*", "Read", "Allow"),
        AclEntry("Group", "billing", "Literal", "User:billing", "*", "Read", "Allow"),
        AclEntry("Topic", "audit.", "Prefixed", "User:auditor", "*", "Read", "Allow"),
        AclEntry("Topic", "orders", "Literal", "User:ANONYMOUS", "*", "All", "Allow"),
    ),
)

SECURITY = {
    "PLAINTEXT": {"protocol": "PLAINTEXT"},
    "SSL": {"protocol": "SSL"},
    "SASL_PLAINTEXT": {
        "protocol": "SASL_PLAINTEXT",
        "saslMechanism": "SCRAM-SHA-512",
        "username": "mm2",
        "password": GREEN_PASSWORD,
    },
    "SASL_SSL": {
        "protocol": "SASL_SSL",
        "saslMechanism": "SCRAM-SHA-512",
        "username": "mm2",
        "password": GREEN_PASSWORD,
    },
}


def k8s_config(
    strategy: str = "bidirectional",
    security: str = "SASL_SSL",
    green_security: dict[str, Any] | None = None,
    **kubernetes: Any,
) -> MigrationConfig:
    """The builders' config with green on Kubernetes (3 nodes) and SASL on blue (`green_security` replaces green's)."""
    return make_config(
        strategy=strategy,
        blue={
            "alias": "A",
            "runtime": "external",
            "bootstrapServers": "blue-1:9092,blue-2:9092",
            "brokers": 3,
            "security": {
                "protocol": "SASL_SSL",
                "saslMechanism": "SCRAM-SHA-512",
                "username": "mm2",
                "password": BLUE_PASSWORD,
            },
        },
        green={
            "alias": "B",
            "runtime": "kubernetes",
            "brokers": 3,
            "kubernetes": {"namespace": "kafka", "storageGi": 50, "storageClass": "fast-ssd", **kubernetes},
            "security": green_security or SECURITY[security],
        },
    )


def plan_at(cfg: MigrationConfig, step: Step) -> MigrationPlan:
    return plan_migration(cfg, step, BLUE, cfg.green.brokers)


def walk(cfg: MigrationConfig) -> list[tuple[Step, StrimziManifests]]:
    return [(step, strimzi_manifests(cfg, plan_at(cfg, step))) for step in config_steps(cfg)]


def by_key(manifests: StrimziManifests) -> dict[str, dict[str, Any]]:
    return {manifest_key(m): m for m in manifests.all()}


def at(cfg: MigrationConfig, phase: Phase, producer_waves: int = 0, consumer_waves: int = 0) -> StrimziManifests:
    return strimzi_manifests(cfg, plan_at(cfg, Step(phase, producer_waves, consumer_waves)))


@pytest.fixture(scope="module")
def crds() -> CrdSchemas:
    return CrdSchemas.load(STRIMZI_CRDS)


# --- Every generated custom resource is valid for the operator, at every step --------------------------------


@pytest.mark.parametrize("security", sorted(SECURITY))
@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_every_custom_resource_is_valid_for_the_strimzi_crds_at_every_step(
    crds: CrdSchemas, strategy: str, security: str
) -> None:
    cfg = k8s_config(strategy, security)
    checked = 0
    for step, manifests in walk(cfg):
        for m in manifests.all():
            if m["apiVersion"] == STRIMZI_API_VERSION:
                assert crds.errors(m) == [], (step.describe(), manifest_key(m))
                checked += 1
            else:
                assert metadata_errors(m["metadata"]) == [], (step.describe(), manifest_key(m))
    # From green-provisioned on: Kafka, pool, 6 topics (3 one-way), 4 users, Connect, 6 connectors (3 one-way).
    # From mm2-stopped on MM2's ACLs are gone; without SASL its KafkaUser (User:mm2) then has nothing left.
    per_step = 2 + 6 + 4 + 1 + 6 if strategy == "bidirectional" else 2 + 3 + 4 + 1 + 3
    after_mm2 = [s for s in config_steps(cfg) if reached(cfg, s, Phase.MM2_STOPPED)]
    users_gone = 0 if cfg.green.security.sasl_mechanism else len(after_mm2)
    assert checked == per_step * (len(config_steps(cfg)) - 1) - users_gone


def test_the_crd_check_is_not_vacuous(crds: CrdSchemas) -> None:
    manifests = at(k8s_config(), Phase.BIDIRECTIONAL)
    kafka = copy.deepcopy(manifests.kafka[0])
    kafka["spec"]["kafka"]["listners"] = kafka["spec"]["kafka"].pop("listeners")
    assert crds.errors(kafka) == [
        "spec.kafka: 'listeners' is a required property",
        "spec.kafka: Additional properties are not allowed ('listners' was unexpected)",
    ]
    connector = copy.deepcopy(manifests.connectors[0])
    connector["spec"]["state"] = "on"
    connector["metadata"]["name"] = "A->B.MirrorSourceConnector"
    assert crds.errors(connector) == [
        "spec.state: 'on' is not one of ['paused', 'stopped', 'running']",
        "metadata.name: 'A->B.MirrorSourceConnector' is not a DNS subdomain name",
    ]


def test_no_config_reaches_a_field_a_cel_rule_governs() -> None:
    """The CRDs' CEL rules (`x-kubernetes-validations`) are the one check `CrdSchemas` cannot make.

    They govern rack awareness, metrics configs and a KafkaUser's certificate validity, which
    the config cannot express: no manifest of any step, strategy or security sets those
    fields but two the plan fills alike whatever the config (a KafkaUser's SCRAM
    authentication, the KafkaConnect's `metricsConfig`), each in the form its rules accept, so
    no config can break a rule (there is nothing for the config model to refuse).
    `test_kubernetes_apiserver` shows a real API server refusing each rule's violation and
    storing our objects; a manifest that starts setting such a field from the config needs a
    config check for that rule first.
    """
    rules = cel_rules(STRIMZI_CRDS)
    governed = {(r.api_version, r.kind, r.path) for r in rules}
    assert ("kafka.strimzi.io/v1", "KafkaUser", ("spec", "authentication")) in governed
    assert len(rules) == 14, [(r.kind, r.path, r.rule) for r in rules]  # a new Strimzi's rules need a look
    reached_fields = set()
    for strategy, security in itertools.product(["bidirectional", "one-way"], sorted(SECURITY)):
        for step, manifests in walk(k8s_config(strategy, security)):
            for m in manifests.all():
                for api_version, kind, path in governed:
                    if (m["apiVersion"], m["kind"]) != (api_version, kind):
                        continue
                    value: Any = m
                    for name in path:
                        value = value.get(name) if isinstance(value, dict) else None
                    if value is None:
                        continue
                    if path[-1] == "authentication":  # set by us: only the type (and a password reference)
                        assert set(value) <= {"type", "password"} and value["type"] != "tls", (step, m)
                        reached_fields.add(path)
                    elif (kind, path) == ("KafkaConnect", ("spec", "metricsConfig")):
                        # Fixed by the plan: the JMX exporter with its ConfigMap (`valueFrom`, which the rule asks).
                        ref = {"name": "b-mm2-metrics", "key": "metrics-config.yml"}
                        assert value == {"type": "jmxPrometheusExporter", "valueFrom": {"configMapKeyRef": ref}}
                        reached_fields.add(path)
                    else:
                        raise AssertionError(f"{kind} {m['metadata']['name']} sets {'.'.join(path)}: {value}")
    assert reached_fields == {("spec", "authentication"), ("spec", "metricsConfig")}


# --- Names never depend on the phase -------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_resource_names_never_depend_on_the_phase(strategy: str) -> None:
    cfg = k8s_config(strategy)
    walked = walk(cfg)
    blue_only, provisioned = walked[0], walked[1:]
    assert blue_only[0].phase is Phase.BLUE_ONLY
    routing = {manifest_key(m) for m in blue_only[1].routing}
    assert {manifest_key(m) for m in blue_only[1].all()} == routing
    assert routing == {
        f"ConfigMap/kafka/kafka-routing-{g}" for g in ("orders-writer", "payments-writer", "billing", "analytics")
    }
    first = set(by_key(provisioned[0][1]))
    for step, manifests in provisioned:
        assert set(by_key(manifests)) == first, step.describe()
    assert routing < first


# --- What each step changes ----------------------------------------------------------------------------------


def changes(cfg: MigrationConfig) -> dict[str, set[str]]:
    """Step -> keys of the objects whose content differs from the previous step (added ones included)."""
    walked = walk(cfg)
    out = {}
    for (_, before), (step, after) in itertools.pairwise(walked):
        old, new = by_key(before), by_key(after)
        assert set(old) <= set(new), f"{step.describe()} removes {set(old) - set(new)}"
        out[step.describe()] = {k for k in new if old.get(k) != new[k]}
    return out


def connectors(flow: str) -> set[str]:
    source, target = flow.lower().split("-to-")
    kinds = [f"{source}-to-{target}.mirror-source-connector", f"{source}-to-{target}.mirror-checkpoint-connector"]
    kinds.append(f"{target}-to-{source}.mirror-heartbeat-connector")
    return {f"KafkaConnector/kafka/{k}" for k in kinds}


CONNECT = {"KafkaConnect/kafka/b-mm2"}
MM2_USER = {"KafkaUser/kafka/mm2"}


def routing(*groups: str) -> set[str]:
    return {f"ConfigMap/kafka/kafka-routing-{g}" for g in groups}


def test_bidirectional_walk_changes_only_what_each_step_moves() -> None:
    got = changes(k8s_config("bidirectional"))
    assert len(got["green-provisioned"]) == 23
    del got["green-provisioned"]
    assert got == {
        "replicating": CONNECT | connectors("A-to-B"),
        # B->A starts; consumers still on blue now also read B.orders (what producers on green write).
        "bidirectional": connectors("B-to-A") | routing("billing", "analytics"),
        "producers-switched (producerWaves=1)": routing("orders-writer"),
        "producers-switched (producerWaves=2)": routing("payments-writer"),
        "consumers-switched (producerWaves=2, consumerWaves=1)": routing("billing"),
        "consumers-switched (producerWaves=2, consumerWaves=2)": routing("analytics"),
        "reverse-disabled (producerWaves=2, consumerWaves=2)": connectors("B-to-A"),
        "verified (producerWaves=2, consumerWaves=2)": set(),
        # MM2's KafkaUser loses its ACLs with the connectors.
        "mm2-stopped (producerWaves=2, consumerWaves=2)": CONNECT | connectors("A-to-B") | MM2_USER,
        "decommissioned (producerWaves=2, consumerWaves=2)": set(),
    }


def test_one_way_walk_changes_only_what_each_step_moves() -> None:
    got = changes(k8s_config("one-way"))
    assert len(got["green-provisioned"]) == 17
    del got["green-provisioned"]
    assert got == {
        "replicating": CONNECT | connectors("A-to-B"),
        "consumers-switched (consumerWaves=1)": routing("billing"),
        "consumers-switched (consumerWaves=2)": routing("analytics"),
        "producers-switched (producerWaves=1, consumerWaves=2)": routing("orders-writer"),
        "producers-switched (producerWaves=2, consumerWaves=2)": routing("payments-writer"),
        "verified (producerWaves=2, consumerWaves=2)": set(),
        # MM2's KafkaUser loses its ACLs with the connectors.
        "mm2-stopped (producerWaves=2, consumerWaves=2)": CONNECT | connectors("A-to-B") | MM2_USER,
        "decommissioned (producerWaves=2, consumerWaves=2)": set(),
    }


def states(manifests: StrimziManifests, flow: str) -> set[str]:
    return {c["spec"]["state"] for c in manifests.connectors if c["metadata"]["labels"][FLOW_LABEL] == flow}


def test_connector_states_follow_the_flows_and_connect_scales_to_zero_when_mm2_stops() -> None:
    walked = walk(k8s_config("bidirectional"))[1:]
    forward = [states(m, "A-to-B") for _, m in walked]
    reverse = [states(m, "B-to-A") for _, m in walked]
    replicas = [m.connect[-1]["spec"]["replicas"] for _, m in walked]
    # green-provisioned, replicating, bidirectional, p1, p2, c1, c2, reverse-disabled, verified, mm2-stopped, decom.
    assert forward == [{"stopped"}] + [{"running"}] * 8 + [{"stopped"}] * 2
    assert reverse == [{"stopped"}] * 2 + [{"running"}] * 5 + [{"stopped"}] * 4
    assert replicas == [0] + [2] * 8 + [0] * 2


def test_mm2_workers_sets_the_connect_replicas_while_mm2_runs() -> None:
    cfg = k8s_config("one-way").model_copy(update={"mm2": make_config(mm2={"workers": 4}).mm2})
    replicas = {step.phase.value: m.connect[-1]["spec"]["replicas"] for step, m in walk(cfg)[1:]}
    assert replicas["replicating"] == 4 and replicas["verified"] == 4
    assert replicas["green-provisioned"] == 0 and replicas["mm2-stopped"] == 0


def test_connect_reads_the_local_workers_exporter_rules_from_a_configmap_that_lives_as_long_as_connect() -> None:
    """The metrics ConfigMap exists at every step the KafkaConnect does, MM2 running or scaled to zero.

    The KafkaConnect references it at every step (Strimzi fails a KafkaConnect whose metrics
    ConfigMap is missing, pods or not), so it is kept at `mm2-stopped` and goes with the
    KafkaConnect only: at a rollback to `blue-only` and at destroy.
    """
    cfg = k8s_config("one-way")
    walked = walk(cfg)
    blue_only, provisioned = walked[0][1], walked[1:]
    assert blue_only.connect == () and "ConfigMap/kafka/b-mm2-metrics" not in by_key(blue_only)
    for step, manifests in provisioned:
        *_, config_map, connect = manifests.connect  # created before the KafkaConnect, deleted after it
        assert manifest_key(config_map) == "ConfigMap/kafka/b-mm2-metrics", step.describe()
        assert config_map["data"] == {METRICS_CONFIG_KEY: JMX_EXPORTER_CONFIG}
        assert config_map["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kafka-migration"}
        assert connect["kind"] == "KafkaConnect"
        assert connect["metadata"]["namespace"] == config_map["metadata"]["namespace"]  # a reference is local
        ref = {"name": config_map["metadata"]["name"], "key": METRICS_CONFIG_KEY}
        assert connect["spec"]["metricsConfig"] == {
            "type": "jmxPrometheusExporter",
            "valueFrom": {"configMapKeyRef": ref},
        }
    stopped = at(cfg, Phase.MM2_STOPPED, 2, 2)
    assert stopped.connect[-1]["spec"]["replicas"] == 0 and stopped.connect[-2] == provisioned[0][1].connect[-2]
    # The rules are the local and Docker workers' own: MM2's and Connect's task metrics, which the gates read.
    rules = yaml.safe_load(JMX_EXPORTER_CONFIG)
    assert rules["lowercaseOutputName"] is True and "kafka.connect.mirror:*" in rules["includeObjectNames"]


def test_the_gates_and_status_read_every_connect_pods_exporter_on_kubernetes(tmp_path: Path) -> None:
    cfg = k8s_config("one-way")
    endpoints = mm2_endpoints(cfg, tmp_path)
    # Each pod by its DNS name under Strimzi's headless Service `b-mm2-connect`: a Service in front of
    # both would answer each scrape from one of them, and each exports only the tasks it runs.
    assert endpoints.metrics_urls == (
        "http://b-mm2-connect-0.b-mm2-connect.kafka.svc:9404/metrics",
        "http://b-mm2-connect-1.b-mm2-connect.kafka.svc:9404/metrics",
    )
    assert endpoints.connect_url == "http://b-mm2-connect-api.kafka.svc:8083"  # Strimzi's REST Service
    assert endpoints.rest_credentials_file is None  # no basic auth of ours on Strimzi's REST API
    four = cfg.model_copy(update={"mm2": make_config(mm2={"workers": 4}).mm2})
    assert [u.split(".")[0] for u in mm2_endpoints(four, tmp_path).metrics_urls] == [
        f"http://b-mm2-connect-{i}" for i in range(4)
    ]
    mine = make_config(mm2={"connectUrl": "http://connect.tools:8083", "metricsUrl": "http://prom:9090/federate"})
    own = cfg.model_copy(update={"mm2": mine.mm2})
    assert mm2_endpoints(own, tmp_path) == Mm2Endpoints("http://connect.tools:8083", ("http://prom:9090/federate",))


def test_routing_config_maps_move_each_group_in_its_wave() -> None:
    cfg = k8s_config("bidirectional")

    def cluster(manifests: StrimziManifests, group: str) -> str:
        [cm] = [m for m in manifests.routing if m["metadata"]["name"] == f"kafka-routing-{group}"]
        return json.loads(cm["data"][ROUTING_KEY])["cluster"]

    walked = walk(cfg)
    assert [cluster(m, "orders-writer") for _, m in walked] == ["A"] * 4 + ["B"] * 8
    assert [cluster(m, "payments-writer") for _, m in walked] == ["A"] * 5 + ["B"] * 7
    assert [cluster(m, "billing") for _, m in walked] == ["A"] * 6 + ["B"] * 6
    assert [cluster(m, "analytics") for _, m in walked] == ["A"] * 7 + ["B"] * 5
    doc = json.loads(at(cfg, Phase.VERIFIED, 2, 2).routing[0]["data"][ROUTING_KEY])
    assert doc["bootstrapServers"] == "b-kafka-bootstrap.kafka.svc:9092"
    assert doc == plan_at(cfg, Step(Phase.VERIFIED, 2, 2)).routing[doc["clientGroup"]].to_json()


def test_routing_namespace_comes_from_the_routing_settings() -> None:
    cfg = k8s_config().model_copy(update={"routing": make_config(routing={"kubernetesNamespace": "apps"}).routing})
    manifests = at(cfg, Phase.BLUE_ONLY)
    assert {m["metadata"]["namespace"] for m in manifests.routing} == {"apps"}


# --- The objects themselves ----------------------------------------------------------------------------------


def test_kafka_is_kraft_on_node_pools_with_a_scram_listener_simple_authorization_and_entity_operators() -> None:
    kafka, pool = at(k8s_config(security="SASL_SSL"), Phase.GREEN_PROVISIONED).kafka
    assert kafka["metadata"]["name"] == "b"
    assert kafka["spec"]["kafka"]["listeners"] == [
        {"name": "scram", "port": 9092, "type": "internal", "tls": True, "authentication": {"type": "scram-sha-512"}}
    ]
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple", "superUsers": ["User:mm2"]}
    assert kafka["spec"]["entityOperator"] == {"topicOperator": {}, "userOperator": {}}
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "b"
    assert pool["spec"]["replicas"] == 3
    assert pool["spec"]["roles"] == ["controller", "broker"]
    assert pool["spec"]["storage"]["volumes"] == [
        {
            "id": 0,
            "type": "persistent-claim",
            "size": "50Gi",
            "deleteClaim": False,
            "kraftMetadata": "shared",
            "class": "fast-ssd",
        }
    ]
    plain = at(k8s_config(security="PLAINTEXT"), Phase.GREEN_PROVISIONED).kafka[0]["spec"]["kafka"]
    assert plain["listeners"] == [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]
    assert plain["authorization"]["superUsers"] == ["User:ANONYMOUS"]


def test_topics_carry_their_real_names_partitions_replicas_and_configs() -> None:
    manifests = at(k8s_config(), Phase.GREEN_PROVISIONED)
    topics = {t["spec"]["topicName"]: t for t in manifests.topics}
    assert sorted(topics) == ["A.audit.events", "A.orders", "A.payments", "audit.events", "orders", "payments"]
    mirror = topics["A.orders"]
    assert mirror["metadata"]["name"] == hashed_name("A.orders") != "a.orders"
    assert mirror["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kafka-migration",
        "strimzi.io/cluster": "b",
        "kafkamig.io/role": "mirror",
    }
    assert mirror["spec"] == {
        "topicName": "A.orders",
        "partitions": 6,
        "replicas": 3,
        "config": {"min.insync.replicas": "2", "retention.ms": "604800000"},
    }
    assert topics["orders"]["metadata"]["name"] == "orders"
    assert topics["orders"]["metadata"]["labels"]["kafkamig.io/role"] == "local"


def test_kafka_users_hold_blues_acls_grouped_by_resource() -> None:
    users = {u["metadata"]["name"]: u["spec"] for u in at(k8s_config(), Phase.GREEN_PROVISIONED).users}
    assert sorted(users) == ["auditor", "billing", "mm2", "orders-writer"]  # User:ANONYMOUS is excluded
    assert users["orders-writer"] == {
        "authentication": {"type": "scram-sha-512"},
        "authorization": {
            "type": "simple",
            "acls": [
                # Read-type operations are granted on the remote copy too (planning.desired.green_acls).
                {
                    "type": "allow",
                    "resource": {"type": "topic", "name": "A.orders", "patternType": "literal"},
                    "host": "*",
                    "operations": ["Describe"],
                },
                {
                    "type": "allow",
                    "resource": {"type": "topic", "name": "orders", "patternType": "literal"},
                    "host": "*",
                    "operations": ["Describe", "Write"],
                },
                {
                    "type": "allow",
                    "resource": {"type": "transactionalId", "name": "orders-tx", "patternType": "literal"},
                    "host": "*",
                    "operations": ["Write"],
                },
            ],
        },
    }
    billing = [(a["resource"]["type"], a["resource"].get("name")) for a in users["billing"]["authorization"]["acls"]]
    assert billing == [
        ("group", "billing"),
        ("topic", "A.orders"),
        ("topic", "A.payments"),
        ("topic", "orders"),
        ("topic", "payments"),
    ]
    assert users["mm2"]["authentication"] == {
        "type": "scram-sha-512",
        "password": {"valueFrom": {"secretKeyRef": {"name": "b-mm2-credentials", "key": "B.password"}}},
    }
    assert {"type": "cluster"} in [a["resource"] for a in users["mm2"]["authorization"]["acls"]]


def test_unauthenticated_green_gets_acl_only_users() -> None:
    users = at(k8s_config(security="PLAINTEXT"), Phase.GREEN_PROVISIONED).users
    assert all("authentication" not in u["spec"] for u in users)
    assert sorted(u["metadata"]["name"] for u in users) == ["auditor", "billing", "mm2", "orders-writer"]


def test_passwords_are_referenced_through_the_secret_provider_never_written() -> None:
    cfg = k8s_config(security="SASL_SSL")
    for _, manifests in walk(cfg):
        text = json.dumps(manifests.all())
        assert BLUE_PASSWORD not in text and GREEN_PASSWORD not in text
    manifests = at(cfg, Phase.BIDIRECTIONAL)
    assert manifests.credential_keys == {
        "A.password": "blue.security.password",
        "B.password": "green.security.password",
    }
    connect = manifests.connect[-1]
    assert connect["metadata"]["annotations"] == {"strimzi.io/use-connector-resources": "true"}
    assert connect["spec"]["config"]["config.providers"] == "strimzisecrets"
    assert connect["spec"]["authentication"]["passwordSecret"] == {
        "secretName": "b-mm2-credentials",
        "password": "B.password",
    }
    source = next(c for c in manifests.connectors if c["metadata"]["name"] == "a-to-b.mirror-source-connector")
    config = source["spec"]["config"]
    assert (
        'password="${strimzisecrets:kafka/b-mm2-credentials:A.password}"' in config["source.cluster.sasl.jaas.config"]
    )
    assert (
        'password="${strimzisecrets:kafka/b-mm2-credentials:B.password}"'
        in config["producer.override.sasl.jaas.config"]
    )
    assert config["target.cluster.bootstrap.servers"] == "b-kafka-bootstrap.kafka.svc:9092"
    assert config["target.cluster.ssl.truststore.certificates"] == "${strimzisecrets:kafka/b-cluster-ca-cert:ca.crt}"
    assert "connector.class" not in config and "tasks.max" not in config
    assert source["spec"]["class"] == "org.apache.kafka.connect.mirror.MirrorSourceConnector"
    assert source["spec"]["tasksMax"] == 2
    role, binding = manifests.connect[:2]
    assert role["rules"][0]["resourceNames"] == ["b-mm2-credentials", "b-cluster-ca-cert"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "b-mm2-connect", "namespace": "kafka"}]


def test_connector_names_are_kubernetes_names_of_mm2s_own() -> None:
    assert connector_resource_name("A->B.MirrorSourceConnector") == "a-to-b.mirror-source-connector"
    assert connector_resource_name("dc_1->B.MirrorHeartbeatConnector") == "dc-1-to-b.mirror-heartbeat-connector"


def test_hashed_names_keep_topics_apart_that_clean_up_alike() -> None:
    names = {hashed_name(t) for t in ("A.orders", "a.orders", "a_orders", "A_orders")}
    assert len(names) == 4
    assert hashed_name("a.orders") == "a.orders"
    assert hashed_name("A.orders") == hashed_name("A.orders")
    odd = ["A..orders", "_x", "a-.b", "-a", "a.-b", "..", "__consumer_offsets", "x" * 300]
    assert all(DNS_SUBDOMAIN.match(hashed_name(t)) for t in odd), [hashed_name(t) for t in odd]


# --- Connect's REST API is closed to all but the operator, Connect itself and the migration's tooling -------------

LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
SELECTOR_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


def selector_errors(selector: Any, where: str) -> list[str]:
    """A metav1.LabelSelector: matchLabels (label key -> value) and matchExpressions, nothing else."""
    if not isinstance(selector, dict):
        return [f"{where}: not an object"]
    found = [f"{where}.{k}: unknown field" for k in selector if k not in ("matchLabels", "matchExpressions")]
    for key, value in (selector.get("matchLabels") or {}).items():
        if not LABEL_KEY.match(key) or len(key.rpartition("/")[0]) > 253:
            found.append(f"{where}.matchLabels: {key!r} is not a label key")
        found += [
            f"{where}.matchLabels.{key}: {e}"
            for e in metadata_errors({"name": "x", "namespace": "x", "labels": {key: value}})
        ]
    for expr in selector.get("matchExpressions") or []:
        if set(expr) - {"key", "operator", "values"} or expr.get("operator") not in SELECTOR_OPERATORS:
            found.append(f"{where}.matchExpressions: {expr!r} is not a label selector requirement")
    return found


def network_policy_errors(policy: dict[str, Any]) -> list[str]:
    """What the API server would refuse (or prune) in a networking.k8s.io/v1 NetworkPolicy: a structural check."""
    found = metadata_errors(policy.get("metadata", {}))
    if (policy.get("apiVersion"), policy.get("kind")) != ("networking.k8s.io/v1", "NetworkPolicy"):
        found.append("not a networking.k8s.io/v1 NetworkPolicy")
    found += [f"{k}: unknown field" for k in policy if k not in ("apiVersion", "kind", "metadata", "spec")]
    spec = policy.get("spec", {})
    found += [f"spec.{k}: unknown field" for k in spec if k not in ("podSelector", "policyTypes", "ingress", "egress")]
    if "podSelector" not in spec:
        found.append("spec.podSelector: required")
    found += selector_errors(spec.get("podSelector", {}), "spec.podSelector")
    if not set(spec.get("policyTypes", [])) <= {"Ingress", "Egress"}:
        found.append(f"spec.policyTypes: {spec.get('policyTypes')!r}")
    for i, rule in enumerate(spec.get("ingress", [])):
        where = f"spec.ingress[{i}]"
        found += [f"{where}.{k}: unknown field" for k in rule if k not in ("from", "ports")]
        for j, port in enumerate(rule.get("ports", [])):
            number = port.get("port")
            if set(port) - {"protocol", "port", "endPort"} or port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                found.append(f"{where}.ports[{j}]: {port!r}")
            if not (isinstance(number, str) or (isinstance(number, int) and 1 <= number <= 65535)):
                found.append(f"{where}.ports[{j}].port: {number!r}")
        for j, peer in enumerate(rule.get("from", [])):
            peer_where = f"{where}.from[{j}]"
            if not peer or set(peer) - {"podSelector", "namespaceSelector", "ipBlock"}:
                found.append(f"{peer_where}: {peer!r} is not a NetworkPolicyPeer")
            if "ipBlock" in peer and len(peer) > 1:
                found.append(f"{peer_where}: ipBlock cannot be combined with selectors")
            for field in ("podSelector", "namespaceSelector"):
                if field in peer:
                    found += selector_errors(peer[field], f"{peer_where}.{field}")
    return found


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """matchLabels semantics (the only part these policies use); `{}` selects everything."""
    assert not selector.get("matchExpressions")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def admits(policy: dict[str, Any], pod: dict[str, str], namespace: str, port: int) -> bool:
    """Whether `policy` lets a pod (labels, namespace) reach `port` of the pods it selects (NetworkPolicy v1 rules)."""
    own = policy["metadata"]["namespace"]
    for rule in policy["spec"]["ingress"]:
        if rule.get("ports") and not any(p["port"] == port for p in rule["ports"]):
            continue
        if not rule.get("from"):  # no `from`: every pod of every namespace (and beyond the cluster)
            return True
        for peer in rule["from"]:
            in_namespace = "namespaceSelector" in peer or namespace == own  # no namespace labels are used here
            if in_namespace and selects(peer.get("podSelector", {}), pod):
                return True
    return False


CONNECT_POD = {"strimzi.io/cluster": "b-mm2", "strimzi.io/name": "b-mm2-connect", "strimzi.io/kind": "KafkaConnect"}


def connect_policy(manifests: StrimziManifests) -> dict[str, Any]:
    [policy] = [m for m in manifests.connect if m["kind"] == "NetworkPolicy"]
    return policy


@pytest.mark.parametrize("security", sorted(SECURITY))
def test_the_connect_network_policy_is_a_valid_network_policy_at_every_step(security: str) -> None:
    for step, manifests in walk(k8s_config(security=security))[1:]:
        policy = connect_policy(manifests)
        assert network_policy_errors(policy) == [], step.describe()
        assert manifests.connect[-1]["kind"] == "KafkaConnect"  # the policy exists before Connect's pods
    assert network_policy_errors({**policy, "spec": {"podSelector": {"matchLabel": {}}}}) == [
        "spec.podSelector.matchLabel: unknown field"
    ]


def test_only_the_operator_connect_and_the_tooling_reach_the_rest_api_and_anyone_the_exporter() -> None:
    policy = connect_policy(at(k8s_config(), Phase.REPLICATING))
    assert policy["metadata"]["name"] == "b-mm2-connect-rest-api"  # not Strimzi's own `b-mm2-connect`
    assert policy["metadata"]["namespace"] == "kafka"
    # Selects the pods Strimzi labels as this KafkaConnect's, and only restricts what reaches them.
    assert policy["spec"]["podSelector"] == {"matchLabels": CONNECT_POD}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    operator = {"strimzi.io/kind": "cluster-operator", "name": "strimzi-cluster-operator"}
    tooling = {TOOLING_LABEL: "true"}
    assert admits(policy, operator, "strimzi", CONNECT_REST_PORT)
    assert admits(policy, operator, "kafka", CONNECT_REST_PORT)
    assert admits(policy, CONNECT_POD, "kafka", CONNECT_REST_PORT)
    assert admits(policy, tooling, "kafka", CONNECT_REST_PORT)
    assert not admits(policy, tooling, "apps", CONNECT_REST_PORT)  # the tooling label counts in green's namespace only
    assert not admits(policy, {TOOLING_LABEL: "yes"}, "kafka", CONNECT_REST_PORT)
    assert not admits(policy, {"app": "orders-service"}, "kafka", CONNECT_REST_PORT)
    assert not admits(policy, {**CONNECT_POD, "strimzi.io/cluster": "other"}, "kafka", CONNECT_REST_PORT)
    assert not admits(policy, CONNECT_POD, "other", CONNECT_REST_PORT)
    # The exporter is open to every peer, as Strimzi's own policy opens it: the tooling, a Prometheus anywhere.
    assert admits(policy, {"app": "prometheus"}, "monitoring", METRICS_PORT)
    assert admits(policy, tooling, "kafka", METRICS_PORT)
    assert not admits(policy, operator, "strimzi", 9999)  # no other port of the Connect pods is opened


def test_connect_allows_the_client_overrides_mm2_uses_and_no_file_provider_of_ours() -> None:
    manifests = at(k8s_config(), Phase.BIDIRECTIONAL)
    config = manifests.connect[-1]["spec"]["config"]
    assert config["connector.client.config.override.policy"] == "All"
    assert not any(".file." in k for k in config) and config["config.providers"] == "strimzisecrets"
    overrides = {
        k.removeprefix("producer.override.")
        for c in manifests.connectors
        for k in c["spec"]["config"]
        if k.startswith(("producer.override.", "consumer.override.", "admin.override."))
    }
    # `Principal` would admit only sasl.jaas.config, sasl.mechanism and security.protocol.
    assert "bootstrap.servers" in overrides and overrides - {"sasl.jaas.config", "sasl.mechanism", "security.protocol"}


@pytest.mark.parametrize("password", ['pa"ss', "pa\\ss"])
@pytest.mark.parametrize("cluster", ["blue", "green"])
def test_a_password_the_secret_provider_cannot_quote_is_refused(cluster: str, password: str) -> None:
    cfg = k8s_config(security="SASL_SSL")
    spec = getattr(cfg, cluster)
    security = spec.security.model_copy(update={"password": SecretStr(password)})
    cfg = cfg.model_copy(update={cluster: spec.model_copy(update={"security": security})})
    with pytest.raises(ValueError, match=rf"{cluster}\.security\.password contains a backslash, a double quote") as err:
        at(cfg, Phase.GREEN_PROVISIONED)
    assert password not in str(err.value)


# --- What Strimzi cannot express is refused with the fix -----------------------------------------------------


def test_sasl_mechanisms_other_than_scram_sha_512_are_refused() -> None:
    cfg = make_config(
        green={
            "alias": "B",
            "runtime": "kubernetes",
            "kubernetes": {},
            "security": {"protocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-256", "username": "u", "password": "p"},
        }
    )
    with pytest.raises(
        ValueError, match=r"saslMechanism is SCRAM-SHA-256.*set green\.security\.saslMechanism: SCRAM-SHA-512"
    ):
        at(cfg, Phase.GREEN_PROVISIONED)


def test_a_wildcard_principal_cannot_become_a_kafka_user() -> None:
    blue = ClusterInventory(
        "id",
        1,
        {"orders": TopicInfo("orders", 1, 1)},
        (AclEntry("Topic", "orders", "Literal", "User:*", "*", "Read", "Allow"),),
    )
    cfg = k8s_config()
    with pytest.raises(ValueError, match=r"principal 'User:\*' cannot be a Strimzi KafkaUser.*acls.excludePrincipals"):
        strimzi_manifests(cfg, plan_migration(cfg, Step(Phase.GREEN_PROVISIONED), blue, 3))


def test_more_brokers_than_nodes_is_refused() -> None:
    with pytest.raises(ValueError, match=r"green\.brokers is 3 but green\.kubernetes\.replicas is 1"):
        at(k8s_config(replicas=1), Phase.GREEN_PROVISIONED)


def test_green_on_kubernetes_needs_its_kubernetes_block() -> None:
    cfg = make_config(green={"alias": "B", "runtime": "kubernetes", "bootstrapServers": "b:9092"})
    with pytest.raises(ValueError, match=r"write `kubernetes: \{\}` for the defaults"):
        at(cfg, Phase.BLUE_ONLY)


# --- The Pulumi components (mocks) ---------------------------------------------------------------------------


class EchoMocks(pulumi.runtime.Mocks):
    """Resources echo their inputs; ids are their names."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def register_kubernetes(cfg: MigrationConfig, step: Step) -> tuple[dict[str, Any], dict[str, Any]]:
    """URN -> inputs of every resource the Kubernetes runtime registers at `step`, and the outputs it returns."""
    from kafka_migration.resources.kubernetes.resources import (
        build_kubernetes_green,
        build_kubernetes_routing,
        kubernetes_provider,
    )

    monitor = pulumi.runtime.mocks.MockMonitor(EchoMocks())
    pulumi.runtime.set_mocks(EchoMocks(), project="kafka-migration", stack="k8s", preview=False, monitor=monitor)
    plan = plan_at(cfg, step)
    outputs: dict[str, Any] = {}

    class Root(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("kafkamig:index:Migration", "migration", {}, None)
            assert cfg.green.kubernetes is not None
            provider = kubernetes_provider("migration-k8s", cfg.green.kubernetes, pulumi.ResourceOptions(parent=self))
            after: list[pulumi.Resource] = []
            if plan.green_provisioned:
                green = build_kubernetes_green("migration", cfg, plan, self, provider)
                after = green.resources
                self.outputs = pulumi.Output.all(
                    bootstrap=green.bootstrap_servers,
                    connectors=green.mm2.connectors,
                    secret=secret_flag(green),
                )
            else:
                self.outputs = pulumi.Output.from_input({})
            build_kubernetes_routing("migration-routing", cfg, plan, self, provider, after)
            self.register_outputs({})

    async def secret_flag(green: Any) -> bool | None:
        return await green.mm2.secret.string_data.is_secret() if green.mm2.secret else None

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return Root().outputs.apply(outputs.update)

    program()
    return {urn: r.state for urn, r in monitor.resources.items()}, outputs


def short(urn: str) -> str:
    """`parentType$type::name` of a mock URN."""
    return urn.split("::", 2)[2]


def test_every_object_is_a_child_of_its_component_with_the_same_urn_at_every_step() -> None:
    cfg = k8s_config()
    urns_at = {}
    for step in config_steps(cfg):
        registered, _ = register_kubernetes(cfg, step)
        urns_at[step] = {short(u) for u in registered}
    blue_only, *provisioned = config_steps(cfg)
    assert all(urns_at[s] == urns_at[provisioned[0]] for s in provisioned)
    assert urns_at[blue_only] == {
        "pulumi:pulumi:Stack$kafkamig:index:Migration::migration",
        "kafkamig:index:Migration$pulumi:providers:kubernetes::migration-k8s",
        "kafkamig:index:Migration$kafkamig:index:StrimziRouting::migration-routing",
        *(
            f"kafkamig:index:StrimziRouting$kubernetes:core/v1:ConfigMap::migration-routing-configmap-kafka-routing-{g}"
            for g in ("analytics", "billing", "orders-writer", "payments-writer")
        ),
    }
    urns = urns_at[provisioned[0]]
    assert "kafkamig:index:StrimziGreen$kubernetes:kafka.strimzi.io/v1:Kafka::migration-green-kafka-b" in urns
    assert (
        "kafkamig:index:StrimziGreen$kubernetes:kafka.strimzi.io/v1:KafkaNodePool::migration-green-kafkanodepool-b-dual-role"
        in urns
    )
    assert (
        "kafkamig:index:StrimziTopics$kubernetes:kafka.strimzi.io/v1:KafkaTopic::migration-topics-kafkatopic-orders"
        in urns
    )
    assert (
        "kafkamig:index:StrimziUsers$kubernetes:kafka.strimzi.io/v1:KafkaUser::migration-acls-kafkauser-billing" in urns
    )
    assert (
        "kafkamig:index:StrimziMirrorMaker2$kubernetes:kafka.strimzi.io/v1:KafkaConnect::migration-mm2-kafkaconnect-b-mm2"
        in urns
    )
    assert (
        "kafkamig:index:StrimziMirrorMaker2$kubernetes:core/v1:Secret::migration-mm2-secret-b-mm2-credentials" in urns
    )
    assert (
        "kafkamig:index:StrimziMirrorMaker2$kubernetes:networking.k8s.io/v1:NetworkPolicy::"
        "migration-mm2-networkpolicy-b-mm2-connect-rest-api" in urns
    )
    assert (
        "kafkamig:index:StrimziMirrorMaker2$kubernetes:core/v1:ConfigMap::migration-mm2-configmap-b-mm2-metrics" in urns
    )
    parents = {u.split("$")[0] for u in urns if "kubernetes:kafka.strimzi.io" in u}
    assert parents == {f"kafkamig:index:Strimzi{c}" for c in ("Green", "Topics", "Users", "MirrorMaker2")}
    assert len([u for u in urns if ":KafkaConnector::" in u]) == 6


def test_components_pass_the_manifests_through_and_keep_the_passwords_secret() -> None:
    cfg = k8s_config(security="SASL_SSL")
    step = Step(Phase.BIDIRECTIONAL)
    registered, outputs = register_kubernetes(cfg, step)
    manifests = by_key(strimzi_manifests(cfg, plan_at(cfg, step)))
    for urn, state in registered.items():
        if "kubernetes:kafka.strimzi.io/v1:" in urn:
            m = manifests[f"{state['kind']}/{state['metadata']['namespace']}/{state['metadata']['name']}"]
            assert (state["apiVersion"], state["metadata"], state["spec"]) == (
                m["apiVersion"],
                m["metadata"],
                m["spec"],
            )
    [secret] = [s for u, s in registered.items() if ":Secret::" in u]
    # Registered as a secret: the value travels wrapped in Pulumi's secret signature.
    assert secret["stringData"] == {
        rpc._special_sig_key: rpc._special_secret_sig,
        "value": {"A.password": BLUE_PASSWORD, "B.password": GREEN_PASSWORD},
    }
    assert outputs["secret"] is True
    assert outputs["bootstrap"] == "b-kafka-bootstrap.kafka.svc:9092"
    assert outputs["connectors"]["b-to-a.mirror-source-connector"] == "running"
    [provider] = [s for u, s in registered.items() if "pulumi:providers:kubernetes" in u]
    assert provider["enableConfigMapMutable"] == "true"


def test_render_mode_leaves_the_credentials_secret_to_the_operator() -> None:
    cfg = k8s_config(security="SASL_SSL", renderYamlToDirectory="rendered")
    registered, outputs = register_kubernetes(cfg, Step(Phase.GREEN_PROVISIONED))
    assert not [u for u in registered if ":Secret::" in u]
    assert outputs["secret"] is None
    [provider] = [s for u, s in registered.items() if "pulumi:providers:kubernetes" in u]
    assert provider["renderYamlToDirectory"] == "rendered"


def test_green_cannot_be_built_before_green_provisioned() -> None:
    from kafka_migration.resources.kubernetes.resources import build_kubernetes_green

    cfg = k8s_config()
    with pytest.raises(ValueError, match="green is not provisioned at blue-only"):
        build_kubernetes_green("migration", cfg, plan_at(cfg, Step(Phase.BLUE_ONLY)), None)  # type: ignore[arg-type]


def test_mm2_with_its_own_identity_on_green_is_a_kafkauser_with_literal_grants_and_no_super_user(
    crds: CrdSchemas,
) -> None:
    security = {**SECURITY["SASL_SSL"], "username": "migration-admin", "mm2": {"username": "mm2", "password": "m-pw"}}
    cfg = k8s_config(green_security=security)
    manifests = at(cfg, Phase.BIDIRECTIONAL)
    assert manifests.credential_keys == {
        "A.password": "blue.security.password",
        "B.password": "green.security.mm2.password",
        "B.admin-password": "green.security.password",
    }
    kafka = manifests.kafka[0]["spec"]["kafka"]
    assert kafka["authorization"]["superUsers"] == ["User:migration-admin"]
    users = {u["metadata"]["name"]: u["spec"] for u in manifests.users}
    assert users["mm2"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]["key"] == "B.password"
    assert users["migration-admin"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]["key"] == (
        "B.admin-password"
    )
    mm2_acls = users["mm2"]["authorization"]["acls"]
    assert mm2_acls and {a["resource"].get("patternType", "literal") for a in mm2_acls} == {"literal"}
    assert manifests.connect[-1]["spec"]["authentication"]["username"] == "mm2"
    stopped = {u["metadata"]["name"]: u["spec"] for u in at(cfg, Phase.MM2_STOPPED, 2, 2).users}
    assert "authorization" not in stopped["mm2"], "MM2's grants outlive MM2"
    for step, each in walk(cfg):
        for m in each.all():
            if m["apiVersion"] == STRIMZI_API_VERSION:
                assert crds.errors(m) == [], (step.describe(), manifest_key(m))
