"""Shared fixtures. Every process a test starts is stopped by the fixture, also on failure."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kafka_migration.local_runtime import connect, kafka
from kafka_migration.local_runtime.paths import kafka_libs
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.process import RUN_ID_ENV, stop_run
from kafka_migration.local_runtime.project import write_project
from kafka_migration.local_runtime.pulumi_cli import require_toolchain


def pytest_configure(config: pytest.Config) -> None:
    """Mark every JVM this session starts (directly or through Pulumi) with a run id of its own.

    An xdist worker marks its JVMs `<run id>-<worker>`: its safety net below then stops its
    own JVMs only, never those of a worker still running, while the run's (`.ci/run`'s, or
    the controller's) stops them all (`stop_run` matches the run id and its `-` suffixes).
    """
    os.environ.setdefault(RUN_ID_ENV, f"pytest-{os.getpid()}-{int(time.time())}")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and not os.environ[RUN_ID_ENV].endswith(f"-{worker}"):
        os.environ[RUN_ID_ENV] = f"{os.environ[RUN_ID_ENV]}-{worker}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Safety net: no JVM or API server process of this session outlives it (fixtures stop theirs; this the rest)."""
    left = stop_run(os.environ[RUN_ID_ENV])
    if left:
        print(f"\n[tests] stopped {len(left)} process(es) of this session that no fixture stopped: {left}")


@pytest.fixture(scope="session")
def toolchain() -> None:
    """Integration tests need the built toolchain; a missing piece fails loudly (never skips)."""
    require_toolchain()
    if not any(kafka_libs().glob("kafka_2.13-*.jar")):
        raise FileNotFoundError(f"Kafka jars missing in {kafka_libs()}; run `make toolchain`")


KafkaFactory = Callable[[str], kafka.KafkaNode]


@pytest.fixture
def kafka_cluster(toolchain: None, tmp_path: Path) -> Iterator[KafkaFactory]:
    """Factory starting single-node KRaft clusters, each on its own ports and folder."""
    started: list[kafka.KafkaNode] = []

    def start(name: str) -> kafka.KafkaNode:
        broker, controller = free_ports(2)
        node = kafka.KafkaNode(name, tmp_path / f"kafka-{name}", broker, controller, heap_mb=384)
        started.append(node)
        kafka.start(node, kafka.new_cluster_id())
        return node

    yield start
    for node in reversed(started):
        kafka.stop(node)


WorkerFactory = Callable[[str, kafka.KafkaNode], connect.ConnectWorker]


@pytest.fixture
def connect_worker(toolchain: None, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Factory starting Kafka Connect workers whose storage topics live on the given cluster."""
    started: list[connect.ConnectWorker] = []

    def start(name: str, home: kafka.KafkaNode) -> connect.ConnectWorker:
        rest, metrics = free_ports(2)
        worker = connect.ConnectWorker(name, tmp_path / f"connect-{name}", home.bootstrap_servers, rest, metrics)
        started.append(worker)
        connect.start(worker)
        return worker

    yield start
    for worker in reversed(started):
        connect.stop(worker)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A Pulumi project of its own using kafka_migration (the program any user writes), without a stack."""
    return write_project(tmp_path / "project")
