"""The consumer handoff with routing published as ConfigMaps on a real API server, through `pulumi up`.

Blue and green are local Kafka clusters and MM2 runs on a local Connect worker (green's
`runtime: local`): with `runtime: kubernetes` nothing would run green's brokers or
reconcile MM2's KafkaConnectors here (no kubelet, no Strimzi operator), so the handoff
would have no replication to translate offsets through. Routing alone lives on Kubernetes:
`routing.kubernetesNamespace` with `routing.kubeconfigContext` naming the test API server
(the kubeconfig from `KUBECONFIG`), the same settings a stack uses with green elsewhere.

The rehearsal's clients read their documents from the API server (`ConfigMapRoutes`, a
poll every `REFRESH_S`) while the producer writes numbered records on blue; the consumer
wave moves billing to green by the handoff (pause, drain, translate, commit, verify,
publish) written into the ConfigMap. Asserted: every record produced is read by billing
(on blue or green), the ConfigMap holds green's document, billing's offsets are committed
on green, the routing resource's outputs carry the handoff's report, `pulumi refresh` (which
reads each ConfigMap back) finds no drift, and destroy deletes the ConfigMaps.

`kafka-migration status` reads the same ConfigMaps (`test_status_reads_each_groups_document_from_its_configmap`):
after `pulumi up` at `replicating` it shows every group's document as the server holds it,
a handoff's pause (published only there) included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafka_migration.config.clients import ClientGroup
from kafka_migration.local_runtime.kube_apiserver import KubeApiServer, running_kube_apiserver
from kafka_migration.operations.configmap_document import ConfigMapSink
from kafka_migration.planning.kubernetes_objects import ROUTING_KEY, routing_config_map_name
from kafka_migration.rehearsal.checker import check
from kafka_migration.rehearsal.configmap_routes import ConfigMapRoutes
from kafka_migration.rehearsal.workload import Workload
from tests.helpers import create_topic, wait_for
from tests.integration.conftest import green_bootstrap
from tests.integration.test_handoff import (
    CONSUMERS_SWITCHED,
    ORDERS_ONLY,
    PARTITIONS,
    REPLICATING,
    clients,
    committed,
    last_handoff,
    walk_to,
)
from tests.integration.test_status import run_status
from tests.integration.test_workload import consumed_on

pytestmark = pytest.mark.integration

NAMESPACE = "apps"
CONTEXT = "kafkamig-configmap-handoff"
LAG_RECORDS = 5000


@pytest.fixture
def apiserver(toolchain: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeApiServer]:
    """A real API server with the routing namespace; `KUBECONFIG` names it for Pulumi and the clients."""
    with running_kube_apiserver(tmp_path / "kube-apiserver", CONTEXT) as server:
        server.client().create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        yield server


def config_map_document(server: KubeApiServer, group: str) -> dict | None:
    """The document the server holds for `group`, None when there is no ConfigMap."""
    meta = {"name": routing_config_map_name(group), "namespace": NAMESPACE}
    live = server.client().get({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    return None if live is None else json.loads(live["data"][ROUTING_KEY])


def test_a_consumer_wave_moves_through_configmaps_without_losing_a_record(apiserver, bare_walk) -> None:
    # The API server first: it is stopped after the stack is destroyed (its RoutingDocuments delete the ConfigMaps).
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    routing = {"directory": str(bare_walk.routing_dir), "kubernetesNamespace": NAMESPACE, "kubeconfigContext": CONTEXT}
    stack, config = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients())
    # Producers keep writing while the wave moves: lag is never 0 records, only small.
    stack.configure({"routing": routing, "gates": {**config["gates"], "maxLagRecords": LAG_RECORDS}})
    green = green_bootstrap(config)
    walk_to(stack, REPLICATING)
    assert config_map_document(apiserver, "billing")["cluster"] == "A"
    assert not bare_walk.routing_dir.exists()  # nothing published as files

    groups = [ClientGroup.model_validate(c) for c in clients()]
    with Workload(groups, ConfigMapRoutes(NAMESPACE, CONTEXT), total_rate_per_s=30, drain_s=60) as workload:
        ledger = workload.ledger
        wait_for(lambda: consumed_on(ledger, "A") >= 30, 60, "billing consuming on blue, routed by its ConfigMap")
        walk_to(stack, CONSUMERS_SWITCHED)
        wait_for(lambda: consumed_on(ledger, "B") >= 30, 90, "billing consuming on green after the handoff")
    data = ledger.snapshot()

    row = check(data, groups).row("billing", "orders")
    assert row.produced >= 60 and row.lost == 0 and row.lost_by_cluster == {}, row
    assert {c.cluster for c in data.consumed} == {"A", "B"}
    assert len(data.pauses) == 1  # the handoff paused billing once, through the ConfigMap

    document = config_map_document(apiserver, "billing")
    assert document["cluster"] == "B" and not document["paused"], document
    on_green = committed(green, "billing")
    assert all(offset >= 0 for offset in on_green.values()), on_green
    report = last_handoff(stack, "billing")
    assert report["groupId"] == "billing" and report["from"] == "A" and report["to"] == "B", report
    assert set(report["committed"]) == {f"orders:{p}" for p in range(PARTITIONS)}, report
    print(f"[configmap handoff] {row.produced} produced, {row.consumed} read, lost {row.lost}; handoff {report}")
    # Refresh reads each ConfigMap back (the provider's read): what it holds is what the state says.
    changes = stack.stack.refresh().summary.resource_changes or {}
    assert set(changes) == {"same"}, changes
    stack.destroy()
    assert config_map_document(apiserver, "billing") is None  # the resource's delete removed its ConfigMap


def test_status_reads_each_groups_document_from_its_configmap(apiserver, bare_walk, tmp_path: Path) -> None:
    started = time.monotonic()
    create_topic(bare_walk.blue.bootstrap_servers, "orders", PARTITIONS)
    routing = {"directory": str(bare_walk.routing_dir), "kubernetesNamespace": NAMESPACE, "kubeconfigContext": CONTEXT}
    stack, _ = bare_walk.make("one-way", topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients())
    stack.configure({"routing": routing})
    walk_to(stack, REPLICATING)
    # What a handoff publishes mid-wave, and only in the ConfigMap: billing paused on blue.
    paused = {**config_map_document(apiserver, "billing"), "paused": True}
    ConfigMapSink(NAMESPACE, routing_config_map_name("billing"), CONTEXT).write(paused)

    result = run_status(
        bare_walk, tmp_path / "state", "--json", "--out", str(tmp_path / "report"), stack="walk-one-way"
    )
    print(result.stdout, result.stderr, sep="\n--- stderr:\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    body = json.loads(result.stdout)
    assert body["phase"] == "replicating"
    shown = {name: (c["cluster"], c["paused"], c["source"]) for name, c in body["clients"].items()}
    assert shown == {"orders-service": ("A", False, "document"), "billing": ("A", True, "document")}
    assert config_map_document(apiserver, "orders-service")["cluster"] == "A"
    assert not bare_walk.routing_dir.exists()  # nothing read from (or written to) files
    assert body["errors"] == [], body["errors"]
    print(f"[status from configmaps] {time.monotonic() - started:.0f}s")
