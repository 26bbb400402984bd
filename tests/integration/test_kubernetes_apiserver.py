"""The Kubernetes runtime against a real kube-apiserver (etcd behind it), with Strimzi 1.2.0's CRDs installed.

`test_kubernetes_render` checks the manifests offline; here the same program applies them to
a real API server (built from its Go module, started on loopback by `running_kube_apiserver`),
which evaluates what no offline check does: CEL rules, pruning of unknown fields, defaulting,
server-side apply, deletes. No kubelet or Strimzi operator runs: objects are stored, never
reconciled, so what is checked is what the server accepts and returns.

One stack per strategy walks every config step, one `pulumi up` each, and at every step:
- the engine only creates, updates and deletes (never replaces), exactly the objects whose
  manifests changed, appeared or went;
- every planned object is on the server with the planned spec/data (the server may add
  defaults, but pruned or changed fields fail), the credentials Secret holds MM2's
  passwords, and no object of ours that the step no longer plans is left;
- MM2's metrics: the ConfigMap of JMX exporter rules exists exactly with the KafkaConnect
  (MM2 running or scaled to zero), whose stored `metricsConfig` references it;
- `pulumi refresh` finds no drift;
- a rollback to the previous step is applied the same way, then the step again.
Destroy then leaves none of our objects on the server.

And for every CEL rule of the CRDs the runtime applies, the server refuses an object that
breaks it (`test_kubernetes_cel_rules`); `tests/unit/test_strimzi_manifests.py` shows that
no config reaches a field such a rule governs.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafka_migration.config.model import MigrationConfig
from kafka_migration.local_runtime.kube_apiserver import KubeApiError, KubeApiServer, KubeClient, running_kube_apiserver
from kafka_migration.planning.desired import MigrationPlan, plan_migration
from kafka_migration.planning.local_processes import JMX_EXPORTER_CONFIG
from kafka_migration.planning.phases import config_steps
from kafka_migration.planning.strimzi_manifests import strimzi_manifests
from kafka_migration.planning.strimzi_names import (
    MANAGED_BY,
    METRICS_CONFIG_KEY,
    STRIMZI_API_VERSION,
    Manifest,
    manifest_key,
    strimzi_names,
)
from kafka_migration.resources.kubernetes.crds import STRIMZI_CRDS
from tests.integration.kubernetes_walk import (
    BLUE,
    COMPONENTS,
    PASSWORDS,
    Applied,
    KubernetesWalk,
    changed_names,
    kubernetes_config,
    planned,
)

pytestmark = pytest.mark.integration

NAMESPACE = "kafka"
CONTEXT = "kafkamig-apiserver-test"
OUR_KINDS = [(STRIMZI_API_VERSION, k) for k in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")]
OUR_KINDS += [(STRIMZI_API_VERSION, "KafkaConnect"), (STRIMZI_API_VERSION, "KafkaConnector"), ("v1", "ConfigMap")]
OUR_KINDS += [("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding")]
OUR_KINDS += [("networking.k8s.io/v1", "NetworkPolicy")]
"""Every kind the runtime applies; each object carries the `managed-by` label (but the credentials Secret)."""


@pytest.fixture(scope="module")
def apiserver(kubernetes_plugin: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeApiServer]:
    """A real API server (and garbage collector) with Strimzi 1.2.0's CRDs served and green's namespace created."""
    crds = [yaml.safe_load(p.read_text()) for p in sorted(STRIMZI_CRDS.glob("*.yaml"))]
    with running_kube_apiserver(tmp_path_factory.mktemp("kube-apiserver"), CONTEXT, crds) as server:
        client = server.client()
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        yield server


def contains(live: Any, want: Any, path: str = "") -> list[str]:
    """Where `live` lacks or differs from `want` (dicts may carry more keys: the server's defaults)."""
    if isinstance(want, dict):
        if not isinstance(live, dict):
            return [f"{path or '<root>'}: {live!r} is not an object"]
        out = []
        for key, value in want.items():
            if key not in live:
                out.append(f"{path}.{key}: missing on the server (pruned?)")
            else:
                out += contains(live[key], value, f"{path}.{key}")
        return out
    if isinstance(want, list):
        if not isinstance(live, list) or len(live) != len(want):
            return [f"{path}: {live!r} != {want!r}"]
        return [d for i, (a, b) in enumerate(zip(live, want, strict=True)) for d in contains(a, b, f"{path}[{i}]")]
    return [] if live == want else [f"{path}: server has {live!r}, planned {want!r}"]


def ours_on_server(client: KubeClient) -> set[str]:
    """Manifest keys of every object of ours the server holds (by the `managed-by` label)."""
    selector = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
    return {
        manifest_key({**obj, "kind": kind})
        for api_version, kind in OUR_KINDS
        for obj in client.list(api_version, kind, NAMESPACE, selector)
    }


def secret_name(cfg: MigrationConfig, plan: MigrationPlan) -> tuple[str, Manifest]:
    """The Pulumi name and a manifest naming the credentials Secret of the step's plan."""
    names = strimzi_manifests(cfg, plan).names
    meta = {"name": names.credentials_secret, "namespace": names.namespace}
    return f"migration-mm2-secret-{names.credentials_secret}", {"apiVersion": "v1", "kind": "Secret", "metadata": meta}


def metrics_objects(client: KubeClient, cfg: MigrationConfig) -> tuple[Manifest | None, Manifest | None]:
    """The metrics ConfigMap and the KafkaConnect as the server holds them (None: not there)."""
    names = strimzi_names(cfg)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap"}
    config_map["metadata"] = {"name": names.connect_metrics_config_map, "namespace": NAMESPACE}
    connect = {"apiVersion": STRIMZI_API_VERSION, "kind": "KafkaConnect"}
    connect["metadata"] = {"name": names.connect, "namespace": NAMESPACE}
    return client.get(config_map), client.get(connect)


def check_metrics(client: KubeClient, cfg: MigrationConfig, plan: MigrationPlan, what: str) -> None:
    """MM2's metrics: the exporter rules' ConfigMap exists exactly with the KafkaConnect, whose stored spec names it."""
    config_map, connect = metrics_objects(client, cfg)
    if not plan.green_provisioned:
        assert config_map is None and connect is None, what
        return
    assert config_map is not None and connect is not None, what
    assert config_map["data"] == {METRICS_CONFIG_KEY: JMX_EXPORTER_CONFIG}, what
    # Stored as planned, not pruned by the CRD's structural schema; the CEL rule (valueFrom) passed.
    ref = {"name": config_map["metadata"]["name"], "key": METRICS_CONFIG_KEY}
    assert connect["spec"]["metricsConfig"] == {"type": "jmxPrometheusExporter", "valueFrom": {"configMapKeyRef": ref}}
    assert connect["spec"]["replicas"] == (2 if plan.mm2_running else 0), what  # kept while scaled to zero


def check_on_server(client: KubeClient, cfg: MigrationConfig, plan: MigrationPlan, what: str) -> None:
    """Every planned object is stored as planned, nothing else of ours is; the Secret exists exactly with green."""
    manifests = planned(cfg, plan)
    for key, manifest in manifests.items():
        live = client.get(manifest)
        assert live is not None, (what, key, "not on the server")
        assert contains(live, manifest) == [], (what, key)
    assert ours_on_server(client) == set(manifests), what
    check_metrics(client, cfg, plan, what)
    _, secret = secret_name(cfg, plan)
    live = client.get(secret)
    if not plan.green_provisioned:
        assert live is None, (what, "the credentials Secret outlived green")
        return
    assert live is not None, (what, "no credentials Secret")
    passwords = {k: base64.b64decode(v).decode() for k, v in live["data"].items()}
    assert passwords == {"A.password": PASSWORDS[0], "B.password": PASSWORDS[1]}, what


def apply(
    walk: KubernetesWalk, client: KubeClient, before: MigrationPlan | None, plan: MigrationPlan, what: str
) -> Applied:
    """`pulumi up` of `plan` after `before`: only the expected creates/updates/deletes, and the server agrees."""
    cfg = walk.cfg
    up = walk.up(plan)
    assert {op for op, _ in up.ops} <= {"same", "update", "create", "delete"}, (what, up.ops)
    changed, gone = changed_names(planned(cfg, before) if before else {}, planned(cfg, plan))
    secret, _ = secret_name(cfg, plan)
    had_green, has_green = before is not None and before.green_provisioned, plan.green_provisioned
    assert up.names("update", "create") == changed | ({secret} if has_green and not had_green else set()), what
    assert up.names("delete") == gone | ({secret} if had_green and not has_green else set()), what
    check_on_server(client, cfg, plan, what)
    return up


def no_drift(walk: KubernetesWalk, what: str) -> None:
    """`pulumi refresh` reads every object back and finds it as the state has it."""
    changes = walk.stack.refresh().summary.resource_changes or {}
    assert set(changes) <= {"same"}, (what, changes)


@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_every_step_applies_to_a_real_api_server(apiserver: KubeApiServer, tmp_path: Path, strategy: str) -> None:
    started = time.monotonic()
    client = apiserver.client()
    cfg = kubernetes_config(strategy, {"namespace": NAMESPACE, "kubeconfigContext": apiserver.context})
    walk = KubernetesWalk(cfg, tmp_path, f"apiserver-{strategy}", {"KUBECONFIG": str(apiserver.kubeconfig)})
    plans = [plan_migration(cfg, step, BLUE, cfg.green.brokers) for step in config_steps(cfg)]
    try:
        previous: MigrationPlan | None = None
        for plan in plans:
            what = f"{strategy} {plan.step.describe()}"
            up = apply(walk, client, previous, plan, what)
            if plan.green_provisioned:
                assert up.result.outputs["bootstrap"].value == "b-kafka-bootstrap.kafka.svc:9092"
            no_drift(walk, what)
            if previous is not None:
                apply(walk, client, plan, previous, f"{what}, rolled back to {previous.step.describe()}")
                apply(walk, client, previous, plan, f"{what}, again after the rollback")
            previous = plan
        for path in (tmp_path / "state").rglob("*"):
            if path.is_file():
                assert not [p for p in PASSWORDS if p in path.read_text(errors="replace")], path
        assert walk.stack.preview(expect_no_changes=True).change_summary == {
            "same": len(planned(cfg, plans[-1])) + COMPONENTS + 1  # + the credentials Secret
        }
        assert not plans[-1].mm2_running and metrics_objects(client, cfg)[0] is not None  # kept past mm2-stopped
        walk.remove()
        assert ours_on_server(client) == set()
        assert metrics_objects(client, cfg) == (None, None)  # the metrics ConfigMap went with the stack
        assert client.get(secret_name(cfg, plans[-1])[1]) is None
    finally:
        print(f"[apiserver walk] {strategy}: {len(plans)} steps in {time.monotonic() - started:.0f}s")


def green_manifests() -> dict[str, Manifest]:
    """The objects of green at `green-provisioned`, by kind (the bases the CEL cases break)."""
    cfg = kubernetes_config("one-way", {"namespace": NAMESPACE})
    step = config_steps(cfg)[1]
    return {m["kind"]: m for m in strimzi_manifests(cfg, plan_migration(cfg, step, BLUE, cfg.green.brokers)).all()}


CEL_CASES = [
    ("Kafka", ("spec", "kafka", "rack"), {"topologyKey": ""}, "topologyKey property is required"),
    ("Kafka", ("spec", "kafka", "rack"), {"type": "environment-variable", "envVarName": ""}, "envVarName property"),
    ("Kafka", ("spec", "kafka", "metricsConfig"), {"type": "jmxPrometheusExporter"}, "valueFrom property is required"),
    (
        "Kafka",
        ("spec", "cruiseControl", "metricsConfig"),
        {"type": "jmxPrometheusExporter"},
        "valueFrom property is required",
    ),
    ("Kafka", ("spec", "cruiseControl", "metricsConfig"), {"type": "strimziMetricsReporter"}, "not supported"),
    ("KafkaConnect", ("spec", "rack"), {"topologyKey": ""}, "topologyKey property is required"),
    ("KafkaConnect", ("spec", "rack"), {"type": "environment-variable", "envVarName": ""}, "envVarName property"),
    ("KafkaConnect", ("spec", "metricsConfig"), {"type": "jmxPrometheusExporter"}, "valueFrom property is required"),
    (
        "KafkaUser",
        ("spec", "authentication"),
        {"type": "scram-sha-512", "validityDays": 30},
        "can be configured only with 'type: tls'",
    ),
    ("KafkaUser", ("spec", "authentication"), {"type": "tls", "validityDays": 30}, "must be set together"),
    (
        "KafkaUser",
        ("spec", "authentication"),
        {"type": "tls", "validityDays": 30, "renewalDays": 30},
        "must be less than 'validityDays'",
    ),
]
"""One object per CEL rule of the kinds the runtime applies (KafkaMirrorMaker2 is not one): the field, the
invalid value, and a part of the rule's message the server answers with."""


@pytest.mark.parametrize(("kind", "path", "value", "message"), CEL_CASES, ids=lambda v: str(v)[:40])
def test_kubernetes_cel_rules(
    apiserver: KubeApiServer, kind: str, path: tuple[str, ...], value: dict[str, Any], message: str
) -> None:
    client = apiserver.client()
    valid = copy.deepcopy(green_manifests()[kind])
    valid["metadata"]["name"] = f"cel-{kind.lower()}"
    invalid = copy.deepcopy(valid)
    parent = invalid
    for name in path[:-1]:
        parent = parent.setdefault(name, {})
    parent[path[-1]] = value
    with pytest.raises(KubeApiError) as refused:
        client.create(invalid)
    assert refused.value.status == 422, refused.value
    assert message in str(refused.value), refused.value
    # The same object without the broken field is accepted: the rule, nothing else, refused it.
    try:
        client.create(valid)
    finally:
        client.delete(valid)
