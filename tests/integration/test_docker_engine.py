"""The Docker runtime on a real Docker engine: green's broker and MM2's worker as containers, through `pulumi up`.

A private `dockerd` (Debian's docker.io, `local_runtime.docker_engine`) runs for this module
on a socket of its own, without a bridge network; the Kafka image is built into it from
this machine's JDK, busybox and Kafka's jars (`local_runtime.kafka_image`), since no
registry is reachable. The docker provider plugin is the one setup builds from Go modules.
Blue is a local cluster; `green.runtime: docker` puts green and MM2 in containers on the
engine's host network, listening on 127.0.0.1.

Each strategy is walked through every step with `pulumi up`. At each step the engine holds
exactly the containers the plan says (the broker from green-provisioned on, the Connect
worker while MM2 runs); records written on blue reach green; a producer and billing run
from before the first client wave to after the last one, billing's wave handed over
(pause, drain, translate, commit, verify, publish) with no record lost; `pulumi refresh`
reads every container back without drift; destroy leaves no container, volume or network.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pulumi_docker
import pytest
from confluent_kafka import Consumer, TopicPartition

from kafka_migration.config.clients import ClientGroup
from kafka_migration.config.model import Phase, Strategy
from kafka_migration.local_runtime.docker_engine import DockerEngine, running_docker_engine
from kafka_migration.local_runtime.kafka_image import build_kafka_image
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.pulumi_cli import require_plugin
from kafka_migration.planning.phases import Step, steps
from kafka_migration.rehearsal.checker import check
from kafka_migration.rehearsal.workload import Workload
from tests.helpers import create_topic, wait_for
from tests.integration.conftest import connectors, doc
from tests.integration.test_handoff import ORDERS_ONLY, PARTITIONS, clients, committed, last_handoff, produce
from tests.integration.test_workload import consumed_on

pytestmark = pytest.mark.integration

GATE_WAIT_S = 120
LAG_RECORDS = 5000
"""Producers keep writing while the waves move: lag is never 0 records, only small."""


def require_docker_plugin() -> None:
    """The docker plugin the Python SDK asks for, built from Go modules (fails loudly when missing)."""
    require_plugin("docker", pulumi_docker._utilities.get_version(), "docker")


@pytest.fixture(scope="module")
def docker_engine(toolchain: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    """A private engine holding the Kafka image; stopped, with everything it made, after the module."""
    require_docker_plugin()
    with running_docker_engine(tmp_path_factory.mktemp("dockerd")) as engine:
        build_kafka_image(engine)
        yield engine


def docker_green(engine: DockerEngine) -> dict:
    broker, controller = free_ports(2)
    return {
        "alias": "B",
        "runtime": "docker",
        "docker": {"host": engine.host, "brokerPort": broker, "controllerPort": controller},
    }


MM2_METRIC = "kafka_connect_mirror_mirrorsourceconnector_record_count"


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "docker-walk-probe"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        consumer.close()


def containers_at(engine: DockerEngine, step: Step, prefix: str) -> None:
    """The engine holds the broker from green-provisioned on, and the Connect worker exactly while MM2 runs."""
    expected = set()
    if step.phase is not Phase.BLUE_ONLY:
        expected.add(f"{prefix}-broker")
    if step.phase not in (Phase.BLUE_ONLY, Phase.GREEN_PROVISIONED, Phase.MM2_STOPPED, Phase.DECOMMISSIONED):
        expected.add(f"{prefix}-connect")
    running = {name for name in engine.names("container") if engine.inspect(name)["State"]["Running"]}
    assert set(engine.names("container")) == running == expected, (step.describe(), engine.names("container"))


@pytest.mark.parametrize("strategy", [Strategy.ONE_WAY, Strategy.BIDIRECTIONAL], ids=lambda s: s.value)
def test_green_and_mm2_run_as_containers_through_every_step(docker_engine, bare_walk, strategy: Strategy) -> None:
    engine = docker_engine
    blue = bare_walk.blue.bootstrap_servers
    create_topic(blue, "orders", PARTITIONS)
    produce(blue, {p: 20 for p in range(PARTITIONS)}, "history")
    green_spec = docker_green(engine)
    stack, config = bare_walk.make(
        strategy.value, topics=ORDERS_ONLY, consumerGroups=["billing"], clients=clients(), green=green_spec
    )
    stack.configure({"gates": {**config["gates"], "maxLagRecords": LAG_RECORDS}})
    green = f"127.0.0.1:{green_spec['docker']['brokerPort']}"
    prefix = f"kafkamig-{stack.stack.name}-b"
    copy = "orders" if strategy is Strategy.ONE_WAY else "A.orders"
    groups = [ClientGroup.model_validate(c) for c in clients()]
    order = steps(strategy, 1, 1)
    # Both waves have moved: one-way moves consumers first, bidirectional producers first.
    last_wave = Phase.PRODUCERS_SWITCHED if strategy is Strategy.ONE_WAY else Phase.CONSUMERS_SWITCHED
    waves_done = order.index(Step(last_wave, 1, 1))

    def up(step: Step) -> None:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)
        assert stack.outputs()["step"] == step.as_output()
        containers_at(engine, step, prefix)

    for step in order[: order.index(Step(Phase.REPLICATING)) + 1]:
        up(step)
    assert "A->B.MirrorSourceConnector" in connectors(config, bare_walk.data_root)
    history = end_offsets(blue, "orders")
    wait_for(lambda: end_offsets(green, copy) == history, 90, f"blue's orders copied into green's {copy}")
    # The worker's JMX exporter serves MM2's metrics on the Docker host's loopback, where the gates read them.
    metrics = f"http://127.0.0.1:{config['mm2']['connectMetricsPort']}/metrics"
    wait_for(lambda: MM2_METRIC in scrape(metrics), 60, f"MM2's replication metrics at {metrics}")

    with Workload(groups, bare_walk.routing_dir, total_rate_per_s=30, drain_s=60) as workload:
        ledger = workload.ledger
        wait_for(lambda: consumed_on(ledger, "A") >= 30, 60, "billing consuming on blue")
        for step in order[order.index(Step(Phase.REPLICATING)) + 1 : waves_done + 1]:
            up(step)
        wait_for(lambda: consumed_on(ledger, "B") >= 30, 90, "billing consuming on green after the handoff")
    data = ledger.snapshot()
    row = check(data, groups).row("billing", "orders")
    assert row.produced >= 60 and row.lost == 0 and row.lost_by_cluster == {}, row
    assert {c.cluster for c in data.consumed} == {"A", "B"}
    # Billing stops once per change of its document: the handoff, and under bidirectional before it the
    # `bidirectional` step, which adds green's B.orders to what it reads.
    assert [p.cause for p in data.pauses] == ["move"] * (1 if strategy is Strategy.ONE_WAY else 2), data.pauses
    assert doc(bare_walk.routing_dir, "billing")["cluster"] == "B"
    assert all(offset >= 0 for offset in committed(green, "billing").values())
    report = last_handoff(stack, "billing")
    assert (report["from"], report["to"]) == ("A", "B"), report
    print(f"[docker walk {strategy.value}] {row.produced} produced, {row.consumed} read, lost {row.lost}")

    # Refresh reads every container, volume and image back from the engine: nothing drifted.
    changes = stack.stack.refresh().summary.resource_changes or {}
    assert set(changes) == {"same"}, changes
    for step in order[waves_done + 1 :]:
        up(step)
    stack.destroy()
    assert engine.leftovers() == {"containers": [], "volumes": [], "networks": []}
