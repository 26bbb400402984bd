"""The Kubernetes runtime through a real `pulumi up`: the kubernetes provider renders YAML (no cluster needed).

One stack walks every step of a strategy, one `pulumi up` per step, with the provider's
`renderYamlToDirectory`. At every step:
- the engine updates exactly the objects whose manifests changed, and never replaces
  or deletes one (URNs stable across phases);
- every rendered custom resource is valid for Strimzi 1.2.0's CRDs and equals its manifest;
- no password reaches the rendered files or the state.
Then a preview shows no change, and destroy removes the rendered files.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes
import pytest
import yaml
from pulumi import automation as auto

from kafka_migration.config.model import MigrationConfig
from kafka_migration.local_runtime.paths import pulumi_root
from kafka_migration.local_runtime.pulumi_cli import pulumi_env
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.desired import MigrationPlan, plan_migration
from kafka_migration.planning.phases import config_steps
from kafka_migration.planning.strimzi_manifests import strimzi_manifests
from kafka_migration.planning.strimzi_names import STRIMZI_API_VERSION, manifest_key
from kafka_migration.resources.kubernetes.crds import STRIMZI_CRDS, CrdSchemas
from kafka_migration.resources.kubernetes.resources import (
    build_kubernetes_green,
    build_kubernetes_routing,
    child_name,
    kubernetes_provider,
)
from tests.unit.builders import make_config

pytestmark = pytest.mark.integration

PASSWORDS = ("blue-secret-5e2b", "green-secret-c07d")
BLUE = ClusterInventory(
    "blue-id",
    3,
    {"orders": TopicInfo("orders", 6, 3, {"min.insync.replicas": "2"}), "payments": TopicInfo("payments", 3, 3)},
    (
        AclEntry("Topic", "orders", "Literal", "User:billing", "*", "Read", "Allow"),
        AclEntry("Group", "billing", "Literal", "User:billing", "*", "Read", "Allow"),
    ),
)
COMPONENT_NAMES = {"Kafka": "migration-green", "KafkaNodePool": "migration-green", "KafkaTopic": "migration-topics"}
COMPONENT_NAMES |= {"KafkaUser": "migration-acls", "KafkaConnect": "migration-mm2", "KafkaConnector": "migration-mm2"}
COMPONENT_NAMES |= {"Role": "migration-mm2", "RoleBinding": "migration-mm2", "ConfigMap": "migration-routing"}
COMPONENT_NAMES |= {"NetworkPolicy": "migration-mm2"}


@pytest.fixture(scope="module")
def kubernetes_plugin(toolchain: None) -> None:
    """The kubernetes plugin the Python SDK asks for, built from Go modules (fails loudly when missing)."""
    version = pulumi_kubernetes._utilities.get_version()
    plugin = Path(pulumi_env()["PULUMI_HOME"]) / "plugins" / f"resource-kubernetes-v{version}"
    if not (plugin / "pulumi-resource-kubernetes").exists():
        raise FileNotFoundError(f"{plugin} is missing; run toolchain/build-kubernetes-provider.sh")


def config(strategy: str, render_dir: Path) -> MigrationConfig:
    sasl = {"protocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512", "username": "mm2"}
    return make_config(
        strategy=strategy,
        allowDestroy=True,
        blue={
            "alias": "A",
            "runtime": "external",
            "bootstrapServers": "blue-1:9092",
            "brokers": 3,
            "security": {**sasl, "password": PASSWORDS[0]},
        },
        green={
            "alias": "B",
            "runtime": "kubernetes",
            "brokers": 3,
            "kubernetes": {"namespace": "kafka", "renderYamlToDirectory": str(render_dir)},
            "security": {**sasl, "password": PASSWORDS[1]},
        },
    )


def expected_name(manifest: dict[str, Any]) -> str:
    return child_name(COMPONENT_NAMES[manifest["kind"]], manifest)


def rendered(render_dir: Path) -> dict[str, dict[str, Any]]:
    """Manifest key -> object, of every file the provider rendered."""
    out = {}
    for path in sorted((render_dir / "1-manifest").glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        out[manifest_key(obj)] = obj
    return out


@pytest.mark.usefixtures("kubernetes_plugin")
@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_every_step_renders_valid_strimzi_resources_with_updates_only(tmp_path: Path, strategy: str) -> None:
    render_dir = tmp_path / "rendered"
    cfg = config(strategy, render_dir)
    crds = CrdSchemas.load(STRIMZI_CRDS)
    current: dict[str, MigrationPlan] = {}

    def program() -> None:
        plan = current["plan"]

        class Migration(pulumi.ComponentResource):
            def __init__(self) -> None:
                super().__init__("kafkamig:index:Migration", "migration", {}, None)
                assert cfg.green.kubernetes is not None
                provider = kubernetes_provider(
                    "migration-k8s", cfg.green.kubernetes, pulumi.ResourceOptions(parent=self)
                )
                after: list[pulumi.Resource] = []
                if plan.green_provisioned:
                    green = build_kubernetes_green("migration", cfg, plan, self, provider)
                    after = green.resources
                    pulumi.export("bootstrap", green.bootstrap_servers)
                build_kubernetes_routing("migration-routing", cfg, plan, self, provider, after)
                self.register_outputs({})

        Migration()

    workspace = auto.LocalWorkspaceOptions(
        pulumi_command=auto.PulumiCommand(root=str(pulumi_root())),
        env_vars=pulumi_env(tmp_path / "state"),
        work_dir=str(tmp_path),
    )
    stack = auto.create_or_select_stack(f"render-{strategy}", "kubernetes-render", program, opts=workspace)
    previous: dict[str, dict[str, Any]] = {}
    for i, step in enumerate(config_steps(cfg)):
        plan = plan_migration(cfg, step, BLUE, cfg.green.brokers)
        current["plan"] = plan
        manifests = {manifest_key(m): m for m in strimzi_manifests(cfg, plan).all()}
        ops: list[tuple[str, str]] = []

        def record(event: auto.EngineEvent, ops: list[tuple[str, str]] = ops) -> None:
            if event.resource_pre_event:
                meta = event.resource_pre_event.metadata
                _, _, types, name = meta.urn.split("::")
                if types.split("$")[-1].startswith("kubernetes:"):  # objects, not components or the provider
                    ops.append((meta.op.value, name))

        up = stack.up(on_event=record)
        what = f"{strategy} {step.describe()}"
        assert {op for op, _ in ops} <= {"same", "update", "create"}, (what, ops)
        assert i < 2 or not [name for op, name in ops if op == "create"], (what, ops)
        changed = {k for k, m in manifests.items() if previous.get(k) != m}
        assert {name for op, name in ops if op in ("update", "create")} == {
            expected_name(manifests[k]) for k in changed
        }, what
        previous = manifests

        files = rendered(render_dir)
        assert set(files) == set(manifests), what
        for key, obj in files.items():
            assert obj == manifests[key], (what, key)
            if obj["apiVersion"] == STRIMZI_API_VERSION:
                assert crds.errors(obj) == [], (what, key)
        if plan.green_provisioned:
            assert up.outputs["bootstrap"].value == "b-kafka-bootstrap.kafka.svc:9092"
        if i == 1:
            assert "b-mm2-credentials" in up.stdout and "is not rendered" in up.stdout

    for path in itertools.chain(render_dir.rglob("*"), (tmp_path / "state").rglob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not [p for p in PASSWORDS if p in text], path

    # The objects, plus the stack, Migration, the provider and the five Strimzi components.
    assert stack.preview().change_summary == {"same": len(previous) + 8}
    stack.destroy()
    assert list((render_dir / "1-manifest").glob("*.yaml")) == []
    stack.workspace.remove_stack(stack.name)
