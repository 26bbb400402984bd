"""Fixtures of the migration integration tests: a seeded blue cluster and stacks around it."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kafka_migration.config.load import config_from_mapping
from kafka_migration.evidence.connect_rest import ConnectClient, basic_authorization
from kafka_migration.local_runtime.kafka import KafkaNode
from kafka_migration.local_runtime.process import stop_all_under
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.local_processes import mm2_endpoints
from tests.integration.estate import seed_blue, stack_config
from tests.integration.kubernetes_walk import require_kubernetes_plugin


@pytest.fixture(scope="session")
def kubernetes_plugin(toolchain: None) -> None:
    """The kubernetes provider plugin the Kubernetes runtime's walks need (fails loudly when it is not built)."""
    require_kubernetes_plugin()


@dataclass
class Walk:
    """A seeded blue, and a factory of migration stacks around it."""

    blue: KafkaNode
    routing_dir: Path
    make: Callable[..., tuple[MigrationStack, dict]]
    """make(strategy, **config_overrides) -> a stack at blue-only and its config."""
    project_dir: Path

    @property
    def data_root(self) -> Path:
        return self.project_dir / ".local-clusters"


@pytest.fixture
def bare_walk(kafka_cluster, project_copy: Path, tmp_path: Path):
    """An empty blue (the test seeds it), and a factory of migration stacks around it."""
    blue = kafka_cluster("A")
    routing_dir = tmp_path / "routing"
    stacks: list[MigrationStack] = []

    def make(strategy: str, **overrides: Any) -> tuple[MigrationStack, dict]:
        config = {**stack_config(blue, routing_dir, strategy), **overrides}
        stack = MigrationStack.create(project_copy, tmp_path / "state", f"walk-{strategy}", config)
        stacks.append(stack)
        return stack, config

    try:
        yield Walk(blue, routing_dir, make, project_copy)
    finally:
        try:
            for stack in stacks:
                stack.destroy()
        finally:
            # Whatever the destroy did, no process of the stack survives the test.
            stop_all_under(project_copy / ".local-clusters")


@pytest.fixture
def walk(bare_walk: Walk) -> Walk:
    """A seeded blue (topics, an ACL, records, a committed group), and stacks around it."""
    seed_blue(bare_walk.blue)
    return bare_walk


def doc(routing_dir: Path, group: str) -> dict:
    return json.loads((routing_dir / f"{group}.json").read_text())


def connect_rest(config: dict, data_root: Path) -> ConnectClient:
    """The stack's Connect REST API as its gates reach it (the local worker's credentials included)."""
    endpoints = mm2_endpoints(config_from_mapping(config), data_root)
    return ConnectClient(endpoints.connect_url, credentials_file=endpoints.rest_credentials_file)


def connector_action(config: dict, data_root: Path, connector: str, action: str) -> None:
    """PUT /connectors/<connector>/<action> (pause, resume: calls the library never makes), authenticated."""
    rest = connect_rest(config, data_root)
    url = f"{rest.url}/connectors/{urllib.parse.quote(connector, safe='')}/{action}"
    headers = {"Authorization": basic_authorization(rest.credentials_file)} if rest.credentials_file else {}
    urllib.request.urlopen(urllib.request.Request(url, method="PUT", headers=headers), timeout=30).close()


def connectors(config: dict, data_root: Path) -> list[str]:
    try:
        return sorted(connect_rest(config, data_root).list_connectors())
    except OSError:
        return []


def green_bootstrap(config: dict) -> str:
    return f"127.0.0.1:{config['green']['local']['brokerPort']}"


def refused(stack: MigrationStack, *gates: str) -> str:
    """Run `pulumi up`, expect a gate refusal naming `gates`, and check nothing moved."""
    before = stack.outputs()
    with pytest.raises(Exception) as exc:
        stack.up()
    message = str(exc.value)
    assert "nothing was changed" in message, message
    for gate in gates:
        assert f"  {gate}: " in message, (gate, message)
    after = stack.outputs()
    assert after["step"] == before["step"] and after["routing"] == before["routing"]
    return message
