"""The toolchain end to end: the built Pulumi CLI, our language host, the kafka plugin, real Kafka."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pulumi
import pulumi_kafka
import pytest
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)
from pulumi import automation as auto

from kafka_migration.local_runtime.kafka import LOCAL_PRINCIPAL
from kafka_migration.local_runtime.paths import pinned_versions, pulumi_root
from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env

pytestmark = pytest.mark.integration


def run_pulumi(args: list[str], tmp_path: Path, offline: bool) -> str:
    env = pulumi_env(tmp_path / "state")
    command = [str(pulumi_bin() / "pulumi"), *args]
    if offline:
        # A fresh network namespace has no interfaces but a down loopback: any attempt
        # to reach a registry or the update service would fail the command.
        command = ["unshare", "--net", *command]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.usefixtures("toolchain")
def test_cli_and_kafka_plugin_work_without_network(tmp_path: Path) -> None:
    offline = shutil.which("unshare") is not None
    version = run_pulumi(["version"], tmp_path, offline).strip()
    assert version == pinned_versions()["PULUMI_CLI_VERSION"]
    plugins = run_pulumi(["plugin", "ls"], tmp_path, offline)
    assert any(line.split()[:3] == ["kafka", "resource", "3.13.3"] for line in plugins.splitlines()), plugins


def test_pulumi_up_creates_topic_and_acl_then_destroy_removes_them(kafka_cluster, tmp_path: Path) -> None:
    blue = kafka_cluster("A")

    def program() -> None:
        provider = pulumi_kafka.Provider("local", bootstrap_servers=[blue.bootstrap_servers], tls_enabled=False)
        opts = pulumi.ResourceOptions(provider=provider)
        topic = pulumi_kafka.Topic(
            "orders",
            name="orders",
            partitions=3,
            replication_factor=1,
            config={"cleanup.policy": "compact", "retention.ms": "3600000"},
            opts=opts,
        )
        pulumi_kafka.Acl(
            "orders-read",
            acl_resource_name="orders",
            acl_resource_type="Topic",
            acl_principal="User:orders-app",
            acl_host="*",
            acl_operation="Read",
            acl_permission_type="Allow",
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[topic]),
        )

    workspace = auto.LocalWorkspaceOptions(
        pulumi_command=auto.PulumiCommand(root=str(pulumi_root())),
        env_vars=pulumi_env(tmp_path / "state"),
        work_dir=str(tmp_path),
    )
    stack = auto.create_or_select_stack("toolchain", "toolchain-check", program, opts=workspace)
    up = stack.up()
    assert up.summary.resource_changes == {"create": 4}

    admin = _admin(blue.bootstrap_servers)
    assert len(admin.list_topics(timeout=10).topics["orders"].partitions) == 3
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "orders")])
    configs = next(iter(described.values())).result()
    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].value == "3600000"
    acls = [a for a in admin.describe_acls(_any_acl()).result() if a.principal != LOCAL_PRINCIPAL]
    assert [(a.name, a.principal, a.operation, a.permission_type) for a in acls] == [
        ("orders", "User:orders-app", AclOperation.READ, AclPermissionType.ALLOW)
    ]

    again = stack.preview()
    assert again.change_summary == {"same": 4}

    stack.destroy()
    assert "orders" not in admin.list_topics(timeout=10).topics
    assert [a for a in admin.describe_acls(_any_acl()).result() if a.principal != LOCAL_PRINCIPAL] == []


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def _any_acl() -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.TOPIC, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
