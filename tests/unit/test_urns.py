"""Every resource's URN at every step (Pulumi mocks): stateful resources keep theirs, so no step replaces them."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.desired import plan_migration
from kafka_migration.planning.phases import config_steps
from tests.unit.builders import make_config

BLUE = ClusterInventory(
    "blue-cluster-id",
    3,
    {
        "orders": TopicInfo("orders", 6, 3, {"retention.ms": "604800000", "min.insync.replicas": "2"}, "id-orders"),
        "payments": TopicInfo("payments", 3, 3, {}, "id-payments"),
        "audit.log": TopicInfo("audit.log", 1, 3, {"cleanup.policy": "compact"}, "id-audit"),
    },
    (AclEntry("Topic", "orders", "Literal", "User:billing", "*", "Read", "Allow"),),
)
STATEFUL = ("kafka:index/topic:Topic", "pulumi-python:dynamic/kafkamig:LocalKafkaCluster")


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append((args.typ, args.name, dict(args.inputs)))
        outputs = {**args.inputs, "url": "http://127.0.0.1:8083", "metrics_url": "http://127.0.0.1:9404/metrics"}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def resources_at(cfg: MigrationConfig, step) -> dict[tuple[str, str], dict]:
    from kafka_migration.resources.migration import Migration, MigrationArgs

    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=False)
    plan = plan_migration(cfg, step, BLUE, cfg.green.brokers)

    @pulumi.runtime.test
    def build():
        migration = Migration._from_plan("migration", MigrationArgs(cfg, plan, Path(".local-clusters"), None, BLUE))
        return migration.green_bootstrap_servers

    build()
    return {(typ, name): inputs for typ, name, inputs in recorder.created}


@pytest.mark.parametrize("strategy", [Strategy.BIDIRECTIONAL, Strategy.ONE_WAY])
def test_stateful_resources_keep_their_urns_at_every_step(strategy: Strategy) -> None:
    cfg = make_config(strategy=strategy.value, topics={"include": ["orders", "payments", "audit.*"]})
    seen: dict[tuple[str, str], dict] = {}
    for step in config_steps(cfg)[1:]:
        now = resources_at(cfg, step)
        stateful = {k: v for k, v in now.items() if k[0] in STATEFUL}
        assert stateful, step
        for key, inputs in stateful.items():
            if key in seen:
                # Same URN and the same identity-defining inputs: an update at most, never a replace.
                for field in ("name", "partitions", "data_dir", "broker_port"):
                    assert inputs.get(field) == seen[key].get(field), (step, key, field)
        missing = [k for k in seen if k[0] in STATEFUL and k not in now]
        assert not missing, (step, missing)
        seen.update(now)


def test_connectors_exist_at_every_step_and_only_their_enabled_flag_changes() -> None:
    cfg = make_config(topics={"include": ["orders", "payments", "audit.*"]})
    names = None
    for step in config_steps(cfg)[1:]:
        now = resources_at(cfg, step)
        connectors = {k[1]: v["enabled"] for k, v in now.items() if k[0].endswith("kafkamig:MirrorConnector")}
        assert len(connectors) == 6
        names = names or set(connectors)
        assert set(connectors) == names


def test_the_local_worker_is_only_started_and_stopped_across_steps() -> None:
    """Same URN and the same restart inputs (`config_digest` included) at every step: a step never restarts it."""
    cfg = make_config(topics={"include": ["orders", "payments", "audit.*"]})
    seen = []
    for step in config_steps(cfg)[1:]:
        [worker] = [v for k, v in resources_at(cfg, step).items() if k[0].endswith("kafkamig:LocalConnectWorker")]
        seen.append(worker)
    assert len({w["config_digest"] for w in seen}) == 1 and len(seen[0]["config_digest"]) == 64
    for field in ("name", "data_dir", "rest_port", "metrics_port", "bootstrap_servers", "heap_mb"):
        assert len({str(w[field]) for w in seen}) == 1, field
    assert {w["running"] for w in seen} == {True, False}


def test_mm2_workers_2_runs_a_second_worker_in_the_first_ones_group_without_moving_the_first() -> None:
    one, two = make_config(), make_config(mm2={"workers": 2})
    step = config_steps(one)[3]
    before = {k: v for k, v in resources_at(one, step).items() if k[0].endswith("kafkamig:LocalConnectWorker")}
    after = {k: v for k, v in resources_at(two, step).items() if k[0].endswith("kafkamig:LocalConnectWorker")}
    assert set(before) < set(after) and len(after) == 2  # the first keeps its name: URN, ports and folder
    first, second = (after[k] for k in sorted(after, key=lambda k: k[1]))
    assert first == next(iter(before.values()))
    assert (second["name"], second["running"]) == (first["name"], first["running"])
    assert (second["rest_port"], second["metrics_port"]) == (first["rest_port"] + 1, first["metrics_port"] + 1)
    assert second["shared_rest_auth_dir"] == Path(first["data_dir"], "rest-auth").as_posix()


@pytest.mark.parametrize("green", ["local", "kubernetes"])
def test_configmap_routing_is_the_routing_documents_path_with_the_same_names_as_files(green: str) -> None:
    """`routing.kubernetesNamespace`: each group's RoutingDocument writes its ConfigMap (no path, no k8s ConfigMap)."""
    files = make_config(strategy="one-way")
    kube = {"alias": "B", "runtime": "kubernetes", "kubernetes": {"namespace": "kafka", "kubeconfigContext": "prod"}}
    routing = {"kubernetesNamespace": "apps"} | ({"kubeconfigContext": "routing-ctx"} if green == "local" else {})
    cfg = make_config(strategy="one-way", routing=routing, **({"green": kube} if green == "kubernetes" else {}))
    step = config_steps(cfg)[0]
    documents = {k: v for k, v in resources_at(cfg, step).items() if k[0].endswith("kafkamig:RoutingDocument")}
    by_file = {k for k in resources_at(files, step) if k[0].endswith("kafkamig:RoutingDocument")}
    assert set(documents) == by_file and documents
    assert not [k for k in resources_at(cfg, step) if k[0] == "kubernetes:core/v1:ConfigMap"]
    context = "routing-ctx" if green == "local" else "prod"
    for (_, name), inputs in documents.items():
        group = name.removeprefix("migration-routing-")
        assert inputs.get("path") is None, name
        target = inputs["config_map"]
        assert (target["namespace"], target["name"], target["context"]) == ("apps", f"kafka-routing-{group}", context)
        assert target["labels"]["kafkamig.io/client-group"] == group
