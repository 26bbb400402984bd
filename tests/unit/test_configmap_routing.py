"""Routing documents in ConfigMaps: the sink's atomic writes, the provider's one path, the clients' and status's reader.

The Kubernetes API is a fake here (`FakeCoreApi`: resourceVersion checked like the server
does); `tests/integration/test_kubernetes_configmap_handoff.py` runs the same code against a
real API server with the consumer handoff.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.operations import configmap_document
from kafka_migration.operations.configmap_document import ConfigMapSink
from kafka_migration.planning.kubernetes_objects import ROUTING_KEY, routing_config_map_metadata
from kafka_migration.planning.routing import published_form
from kafka_migration.rehearsal.configmap_routes import ConfigMapRoutes
from kafka_migration.rehearsal.routed_client import RouteUnavailable
from kafka_migration.resources.providers.routing_document import RoutingDocumentProvider
from kafka_migration.status.decisions import client_statuses
from kafka_migration.status.live_reader import LiveReader, read_report
from tests.unit.builders import make_config

NS = "apps"


def document(cluster: str, paused: bool = False) -> dict[str, Any]:
    body = {
        "version": 1,
        "clientGroup": "billing",
        "role": "consumer",
        "cluster": cluster,
        "bootstrapServers": f"{cluster.lower()}:9092",
        "securityProtocol": "PLAINTEXT",
        "topics": {"orders": "orders"},
        "groupId": "billing",
        "paused": paused,
    }
    return published_form(body)


class FakeCoreApi:
    """ConfigMaps in memory, with the server's optimistic concurrency: a stale resourceVersion is a 409."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], SimpleNamespace] = {}
        self.version = 0
        self.before_replace: list[Any] = []
        """Callables run before the next replace (a concurrent writer)."""
        self.down = False

    def _stored(self, body: dict[str, Any]) -> SimpleNamespace:
        self.version += 1
        meta = body["metadata"]
        return SimpleNamespace(
            data=dict(body.get("data") or {}),
            metadata=SimpleNamespace(
                name=meta["name"],
                labels=dict(meta.get("labels") or {}),
                annotations=meta.get("annotations"),
                resource_version=str(self.version),
            ),
        )

    def read_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> SimpleNamespace:
        if self.down:
            raise ApiException(status=503, reason="Service Unavailable")
        if (namespace, name) not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return self.objects[(namespace, name)]

    def create_namespaced_config_map(self, namespace: str, body: dict[str, Any], **_: Any) -> None:
        key = (namespace, body["metadata"]["name"])
        if key in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        self.objects[key] = self._stored(body)

    def replace_namespaced_config_map(self, name: str, namespace: str, body: dict[str, Any], **_: Any) -> None:
        while self.before_replace:
            self.before_replace.pop(0)()
        live = self.objects.get((namespace, name))
        if live is None:
            raise ApiException(status=404, reason="Not Found")
        if body["metadata"].get("resourceVersion") != live.metadata.resource_version:
            raise ApiException(status=409, reason="Conflict")
        self.objects[(namespace, name)] = self._stored(body)

    def delete_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> None:
        if self.objects.pop((namespace, name), None) is None:
            raise ApiException(status=404, reason="Not Found")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeCoreApi:
    fake = FakeCoreApi()
    monkeypatch.setattr(configmap_document, "core_api", lambda _context: fake)
    return fake


def stored(api: FakeCoreApi, name: str = "kafka-routing-billing") -> dict[str, Any]:
    return json.loads(api.objects[(NS, name)].data[ROUTING_KEY])


def test_the_sink_creates_then_replaces_the_configmap_with_the_published_form(api: FakeCoreApi) -> None:
    sink = ConfigMapSink(NS, "kafka-routing-billing", labels={"kafkamig.io/client-group": "billing"})
    assert sink.read() is None
    sink.write(document("A"))
    assert stored(api) == document("A") and sink.read() == document("A")
    api.objects[(NS, "kafka-routing-billing")].data["other"] = "kept"
    sink.write(document("B"))
    live = api.objects[(NS, "kafka-routing-billing")]
    assert stored(api) == document("B") and live.data["other"] == "kept"
    assert live.metadata.labels == {"kafkamig.io/client-group": "billing"}
    assert set(live.data) == {ROUTING_KEY, "other"}


def test_a_concurrent_write_is_read_again_never_overwritten_blindly(api: FakeCoreApi) -> None:
    sink = ConfigMapSink(NS, "kafka-routing-billing")
    sink.write(document("A"))
    other = ConfigMapSink(NS, "kafka-routing-billing")
    api.before_replace.append(lambda: other.write(document("A", paused=True)))
    sink.write(document("B"))
    # The other writer's change was stored first; ours was retried on top of it, with its resourceVersion.
    assert stored(api) == document("B")
    assert api.version == 3


def test_a_configmap_created_by_someone_else_in_between_is_replaced_not_refused(api: FakeCoreApi) -> None:
    sink = ConfigMapSink(NS, "kafka-routing-billing")
    original = api.create_namespaced_config_map

    def racing_create(namespace: str, body: dict[str, Any], **kw: Any) -> None:
        api.create_namespaced_config_map = original  # type: ignore[method-assign]
        original(namespace, {**body, "data": {ROUTING_KEY: json.dumps(document("A"))}})
        original(namespace, body, **kw)  # AlreadyExists, as the server answers the second creator

    api.create_namespaced_config_map = racing_create  # type: ignore[method-assign]
    sink.write(document("B"))
    assert stored(api) == document("B")


def test_the_provider_creates_reads_diffs_updates_and_deletes_the_configmap(api: FakeCoreApi) -> None:
    cfg = make_config(routing={"kubernetesNamespace": NS})
    meta = routing_config_map_metadata(cfg, "billing")
    target = {"namespace": meta["namespace"], "name": meta["name"], "labels": meta["labels"]}
    props = {"document": document("A"), "config_map": target}
    provider = RoutingDocumentProvider()
    created = provider.create(props)
    assert created.id == "configmap/apps/kafka-routing-billing"
    assert stored(api) == document("A")
    assert api.objects[(NS, "kafka-routing-billing")].metadata.labels == meta["labels"]
    # Read sees the ConfigMap's reality: what is stored there now, or nothing.
    ConfigMapSink(NS, "kafka-routing-billing").write(document("A", paused=True))
    assert provider.read(created.id, created.outs).outs["document"] == document("A", paused=True)
    assert provider.read(created.id, {}).outs["document"] == document("A", paused=True)  # an import: by id
    # Diff compares with what the clients read: a document left paused is a change to make.
    assert provider.diff(created.id, created.outs, props).changes
    updated = provider.update(created.id, created.outs, {**props, "document": document("A")})
    assert stored(api) == document("A") and updated.outs["last_handoff"] is None
    assert not provider.diff(created.id, updated.outs, props).changes
    moved = provider.diff(created.id, updated.outs, {**props, "config_map": {**target, "name": "other"}})
    assert moved.replaces == ["config_map"]
    provider.delete(created.id, updated.outs)
    assert api.objects == {}
    assert provider.read(created.id, updated.outs).id is None


def test_no_secret_reaches_the_configmap_whatever_the_handoff_input_holds(api: FakeCoreApi) -> None:
    password = "s3cret-of-blue"
    handoff = {"clientConfigs": {"A": {"sasl.password": password}}}
    props = {"document": document("A"), "config_map": {"namespace": NS, "name": "kafka-routing-billing"}}
    RoutingDocumentProvider().create({**props, "handoff": handoff})
    assert password not in json.dumps(api.objects[(NS, "kafka-routing-billing")].data)


def test_clients_read_their_route_from_the_configmap_and_wait_out_an_unreachable_server(api: FakeCoreApi) -> None:
    routes = ConfigMapRoutes(NS, api=api)
    assert routes.read("billing") is None
    ConfigMapSink(NS, "kafka-routing-billing").write(document("B"))
    route = routes.read("billing")
    assert route is not None and route.doc.cluster == "B" and route.revision == document("B")["revision"]
    api.down = True
    with pytest.raises(RouteUnavailable):
        routes.read("billing")


# --- `kafka-migration status` reads the documents from the ConfigMaps -------------------------------------------


def configmap_reader(tmp_path: Path, **routing: Any) -> LiveReader:
    cfg = make_config(routing={"kubernetesNamespace": NS, **routing}, gates={"readTimeoutSeconds": 2})
    return LiveReader(cfg, tmp_path)


def test_status_shows_each_groups_document_as_its_configmap_holds_it(api: FakeCoreApi, tmp_path: Path) -> None:
    reader = configmap_reader(tmp_path)
    ConfigMapSink(NS, "kafka-routing-billing").write(document("A", paused=True))  # mid-handoff: only the ConfigMap
    ConfigMapSink(NS, "kafka-routing-orders-writer").write({**document("B"), "clientGroup": "orders-writer"})
    documents, error = reader.documents()
    assert error is None and set(documents) == {"billing", "orders-writer"}  # the others have no ConfigMap yet
    outputs = {g: {"cluster": "A", "paused": False} for g in ("billing", "orders-writer", "analytics")}
    clients = client_statuses(reader.cfg, outputs, documents)
    assert (clients["billing"].source, clients["billing"].paused) == ("document", True)
    assert (clients["orders-writer"].source, clients["orders-writer"].cluster) == ("document", "B")
    assert clients["analytics"].source == "outputs"


@pytest.mark.parametrize(
    ("status", "reason"), [(503, "Service Unavailable"), (403, "Forbidden")], ids=["unavailable", "forbidden"]
)
def test_status_reports_configmaps_the_server_does_not_give_and_goes_on(
    api: FakeCoreApi, tmp_path: Path, status: int, reason: str
) -> None:
    def refuse(name: str, namespace: str, **_: Any) -> None:
        raise ApiException(status=status, reason=reason, http_resp=None)

    api.read_namespaced_config_map = refuse  # type: ignore[method-assign]
    documents, error = configmap_reader(tmp_path, kubeconfigContext="prod").documents()
    assert documents == {}
    assert error == (
        f"routing ConfigMaps in namespace apps (kubeconfig context prod) cannot be read: "
        f"the API server answered {status} {reason}"
    )


def test_status_reports_an_unreachable_api_server_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real kubeconfig and client, a port nobody listens on: the report says so, nothing raises."""
    token = "kubeconfig-token-6f1e9a"
    [port] = free_ports(1)
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "down", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "down", "context": {"cluster": "down", "user": "admin"}}],
        "current-context": "down",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    documents, error = configmap_reader(tmp_path, kubeconfigContext="down").documents()
    assert documents == {} and error is not None
    assert error.startswith("routing ConfigMaps in namespace apps (kubeconfig context down) cannot be read: ")
    assert f"127.0.0.1', port={port}" in error and "Connection refused" in error, error
    assert token not in error and "\n" not in error
    # A kubeconfig without that context is reported the same way.
    documents, error = configmap_reader(tmp_path, kubeconfigContext="missing").documents()
    assert documents == {} and error is not None and "cannot be read" in error and token not in error


def test_the_status_report_lists_the_unread_configmaps_among_its_problems(tmp_path: Path) -> None:
    reader = configmap_reader(tmp_path)
    reason = "routing ConfigMaps in namespace apps cannot be read: the API server answered 503 Service Unavailable"
    reader.documents = lambda: ({}, reason)  # type: ignore[method-assign]
    reader.all_end_offsets = lambda applied, blue_read: ({}, [])  # type: ignore[method-assign]
    report, _ = read_report(reader, "dev", {"routing": {"billing": {"cluster": "A"}}}, None, "blue cannot be read")
    assert report.errors == ("blue cannot be read", reason)
    assert report.clients["billing"].source == "outputs"
