"""What the Kubernetes runtime's walks share: the config, the program, and the engine's operations per step.

Both walks (`test_kubernetes_render`, manifests rendered to files; `test_kubernetes_apiserver`,
applied to a real API server) run the same inline program: the Kubernetes provider, green's
Strimzi components from `green-provisioned` on, and the routing ConfigMaps at every step,
one `pulumi up` per config step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes
from pulumi import automation as auto

from kafka_migration.config.model import MigrationConfig
from kafka_migration.local_runtime.paths import pulumi_root
from kafka_migration.local_runtime.pulumi_cli import pulumi_env, require_plugin
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.kubernetes_objects import ROUTING_PREFIX
from kafka_migration.planning.strimzi_manifests import strimzi_manifests
from kafka_migration.planning.strimzi_names import Manifest, manifest_key
from kafka_migration.resources.kubernetes.resources import (
    build_kubernetes_green,
    build_kubernetes_routing,
    child_name,
    kubernetes_provider,
)
from tests.unit.builders import make_config

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
COMPONENTS = 8
"""Resources of the program besides the objects: the stack, Migration, the provider and the five Strimzi components."""


def require_kubernetes_plugin() -> None:
    """The kubernetes plugin the Python SDK asks for, built from Go modules (fails loudly when missing)."""
    require_plugin("kubernetes", pulumi_kubernetes._utilities.get_version(), "kubernetes")


def kubernetes_config(strategy: str, kubernetes: dict[str, Any]) -> MigrationConfig:
    """Blue external, green on Kubernetes (`kubernetes` is its block), both SASL_SSL with MM2's passwords."""
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
            "kubernetes": {"namespace": "kafka", **kubernetes},
            "security": {**sasl, "password": PASSWORDS[1]},
        },
    )


def expected_name(manifest: Manifest) -> str:
    """The Pulumi name of a manifest's resource in the walk's program (ConfigMaps: routing's, but MM2's metrics one)."""
    component = COMPONENT_NAMES[manifest["kind"]]
    if manifest["kind"] == "ConfigMap" and not manifest["metadata"]["name"].startswith(ROUTING_PREFIX):
        component = "migration-mm2"
    return child_name(component, manifest)


def planned(cfg: MigrationConfig, plan: MigrationPlan) -> dict[str, Manifest]:
    """Manifest key -> manifest, of every object the step plans."""
    return {manifest_key(m): m for m in strimzi_manifests(cfg, plan).all()}


@dataclass
class Applied:
    """One `pulumi up` of the walk: its result and the engine's operation on each Kubernetes object."""

    result: auto.UpResult
    ops: list[tuple[str, str]] = field(default_factory=list)
    """(operation, resource name) of every object (not the components or the provider)."""

    def names(self, *operations: str) -> set[str]:
        return {name for op, name in self.ops if op in operations}


class KubernetesWalk:
    """A stack of the walk's program: `up(plan)` applies one step."""

    def __init__(self, cfg: MigrationConfig, work_dir: Path, stack_name: str, env: dict[str, str] | None = None):
        self.cfg = cfg
        self._plan: MigrationPlan | None = None
        workspace = auto.LocalWorkspaceOptions(
            pulumi_command=auto.PulumiCommand(root=str(pulumi_root())),
            env_vars={**pulumi_env(work_dir / "state"), **(env or {})},
            work_dir=str(work_dir),
        )
        self.stack = auto.create_or_select_stack(stack_name, "kubernetes-walk", self._program, opts=workspace)

    def _program(self) -> None:
        cfg, plan = self.cfg, self._plan
        assert plan is not None and cfg.green.kubernetes is not None

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

    def up(self, plan: MigrationPlan) -> Applied:
        """`pulumi up` of the step `plan` describes, recording the engine's operation on each object."""
        self._plan = plan
        ops: list[tuple[str, str]] = []

        def record(event: auto.EngineEvent) -> None:
            if event.resource_pre_event:
                meta = event.resource_pre_event.metadata
                _, _, types, name = meta.urn.split("::")
                if types.split("$")[-1].startswith("kubernetes:"):  # objects, not components or the provider
                    ops.append((meta.op.value, name))

        return Applied(self.stack.up(on_event=record), ops)

    def remove(self) -> None:
        """Destroy the stack's resources and remove the stack."""
        self.stack.destroy()
        self.stack.workspace.remove_stack(self.stack.name)


def changed_names(before: dict[str, Manifest], after: dict[str, Manifest]) -> tuple[set[str], set[str]]:
    """(names of the objects `after` creates or changes, names of the objects it no longer has)."""
    changed = {expected_name(m) for k, m in after.items() if before.get(k) != m}
    gone = {expected_name(m) for k, m in before.items() if k not in after}
    return changed, gone
