"""A second program: the wheel installed in a fresh virtualenv, used by a project of another name, walked with `pulumi up`.

Nothing of this repository is on that program's path: it imports `kafka_migration` from the
wheel, its config lives under its own project's name, and the dynamic providers run in its
virtualenv too. What a team that `pip install`s the package gets, checked end to end; it is
also the suite's one-way walk through every phase (identity topic names, consumers first).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from pulumi import automation as auto

from kafka_migration.config.model import Phase, Strategy
from kafka_migration.local_runtime.kafka import KafkaNode
from kafka_migration.local_runtime.process import stop_all_under
from kafka_migration.local_runtime.project import write_project
from kafka_migration.local_runtime.pulumi_cli import pulumi_env, pulumi_root
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.phases import Step, steps
from tests.integration.conftest import connectors, doc, green_bootstrap, refused
from tests.integration.estate import (
    PARTITIONS,
    committed_offsets,
    produce,
    seed_blue,
    set_topic_config,
    stack_config,
    wait_until_copied,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PROJECT = "payments-platform-migration"
GATE_WAIT_S = 90
MARKERS = 5
"""Records per partition of `orders` written on blue once MM2 replicates, then looked for on green."""


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's wheel, built from a copy of the source, installed in a new virtualenv with its dependencies."""
    tmp = tmp_path_factory.mktemp("second-program")
    # A copy, so that the build's egg-info and build/ never land in the work tree.
    source = tmp / "source"
    shutil.copytree(ROOT / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_bytes((ROOT / name).read_bytes())
    dist = tmp / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, source)
    (wheel,) = dist.glob("kafka_migration-*.whl")

    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", venv)
    # The wheel's dependency ranges, resolved at the versions this repo tests (requirements.txt): the
    # toolchain is pinned to them (a newer pulumi-kafka would ask for a plugin the offline CLI lacks).
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(*pip, "-c", ROOT / "requirements.txt", wheel)
    where = run(venv / "bin" / "python", "-c", "import kafka_migration; print(kafka_migration.__file__)", cwd=tmp)
    assert Path(where.strip()).is_relative_to(venv), where  # the wheel's copy, not this repository's
    assert (venv / "bin" / "kafka-migration").exists()
    return venv


@dataclass
class SecondProgram:
    stack: MigrationStack
    config: dict
    blue: KafkaNode
    routing_dir: Path
    project: Path


@pytest.fixture
def second_program(fresh_venv: Path, kafka_cluster, tmp_path: Path) -> Iterator[SecondProgram]:
    """A seeded blue, and a stack `dev` of the project `payments-platform-migration` whose program runs in the venv."""
    project = write_project(tmp_path / PROJECT, name=PROJECT, virtualenv=fresh_venv)

    blue = kafka_cluster("A")
    seed_blue(blue)
    routing_dir = tmp_path / "routing"
    config = stack_config(blue, routing_dir, Strategy.ONE_WAY.value)
    # pulumi_env's default would run the dynamic providers in this test's virtualenv: they run in the program's.
    env = pulumi_env(tmp_path / "state", base={**os.environ, "PULUMI_RUNTIME_VIRTUALENV": str(fresh_venv)})
    options = auto.LocalWorkspaceOptions(pulumi_command=auto.PulumiCommand(root=str(pulumi_root())), env_vars=env)
    stack = MigrationStack(auto.create_or_select_stack("dev", work_dir=str(project), opts=options))
    try:
        stack.configure(config)
        yield SecondProgram(stack, config, blue, routing_dir, project)
    finally:
        try:
            stack.destroy()
        finally:
            stop_all_under(project / ".local-clusters")


def values_on(bootstrap: str, topic: str, partitions: int) -> set[str]:
    """Every record value of `topic` on that cluster, read from the start."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "second-program-reader"})
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        seen: set[str] = set()
        positions = dict.fromkeys(ends, 0)
        while any(positions[p] < ends[p] for p in ends):
            message = consumer.poll(10)
            assert message is not None, f"{topic} on {bootstrap}: read up to {positions} of {ends}"
            assert message.error() is None, message.error()
            seen.add(message.value().decode())
            positions[message.partition()] = message.offset() + 1
        return seen
    finally:
        consumer.close()


def test_a_project_of_another_name_walks_the_migration_from_the_installed_wheel(second_program) -> None:
    stack, config, blue = second_program.stack, second_program.config, second_program.blue
    green = green_bootstrap(config)
    stored = yaml.safe_load((second_program.project / "Pulumi.dev.yaml").read_text())["config"]
    assert f"{PROJECT}:phase" in stored and not [k for k in stored if k.startswith("kafka-migration:")]

    order = steps(Strategy.ONE_WAY, 2, 2)
    stack.goto("blue-only")
    stack.up()
    assert stack.outputs()["step"] == Step(Phase.BLUE_ONLY).as_output()

    # Skipping a phase is refused with the step to take, and nothing moves.
    stack.goto("producers-switched", 1, 2)
    with pytest.raises(auto.CommandError, match=r"skips green-provisioned; every step is gated on its own"):
        stack.up()
    assert stack.outputs()["step"] == Step(Phase.BLUE_ONLY).as_output()
    with pytest.raises(OSError):  # green was not started
        socket.create_connection(("127.0.0.1", config["green"]["local"]["brokerPort"]), timeout=2).close()

    billing_on_blue = committed_offsets(blue.bootstrap_servers, "billing", "orders", 3)
    for step in order[order.index(Step(Phase.GREEN_PROVISIONED)) :]:
        if step.phase is Phase.REPLICATING:
            # A gate refuses by name while green's copy of a topic differs from blue's; put back, the step passes.
            set_topic_config(green, "orders", "retention.ms", "1000")
            stack.goto(step.phase.value)
            refused(stack, "topic-parity")
            set_topic_config(green, "orders", "retention.ms", "604800000")
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)
        assert stack.outputs()["step"] == step.as_output()
        if step.phase is Phase.REPLICATING:
            assert "B->A.MirrorSourceConnector" not in connectors(config, second_program.project / ".local-clusters")
            names = set(AdminClient({"bootstrap.servers": green}).list_topics(timeout=10).topics)
            assert {"orders", "payments", "audit.events"} <= names
            # Identity names, except heartbeats: MM2's IdentityReplicationPolicy still prefixes those.
            assert not [n for n in names if n.startswith("A.") and not n.endswith(".internal") and n != "A.heartbeats"]
            for p in range(PARTITIONS["orders"]):
                for i in range(MARKERS):
                    produce(blue.bootstrap_servers, "orders", p, f"second-program {p}/{i}")
            wait_until_copied(blue.bootstrap_servers, green)
        if step == Step(Phase.CONSUMERS_SWITCHED, 0, 1):
            assert doc(second_program.routing_dir, "billing")["cluster"] == "B"
            assert doc(second_program.routing_dir, "billing")["topics"] == {"orders": "orders", "payments": "payments"}
            assert doc(second_program.routing_dir, "orders-service")["cluster"] == "A"  # producers still on blue
            # Partitions billing never committed on blue get their log start (autoOffsetReset earliest).
            assert committed_offsets(green, "billing", "orders", 3) == {
                p: max(o, 0) for p, o in billing_on_blue.items()
            }
        if step == Step(Phase.CONSUMERS_SWITCHED, 0, 2):
            assert doc(second_program.routing_dir, "auditor")["cluster"] == "B"
        if step == Step(Phase.PRODUCERS_SWITCHED, 1, 2):
            assert doc(second_program.routing_dir, "orders-service")["cluster"] == "B"
        if step == Step(Phase.PRODUCERS_SWITCHED, 2, 2):
            assert doc(second_program.routing_dir, "payments-service")["cluster"] == "B"
            # What was written on blue (the seeded history and the live markers) is on green.
            markers = {f"second-program {p}/{i}" for p in range(PARTITIONS["orders"]) for i in range(MARKERS)}
            on_blue = values_on(blue.bootstrap_servers, "orders", PARTITIONS["orders"])
            on_green = values_on(green, "orders", PARTITIONS["orders"])
            assert markers <= on_blue
            assert on_blue <= on_green, sorted(on_blue - on_green)[:10]
    assert connectors(config, second_program.project / ".local-clusters") == []  # MM2 stopped: every connector gone
