"""MM2 on a Connect group of two workers: a worker killed under traffic hands its tasks to the other, and green
ends up with every record written to blue (a few copied twice: MM2 copies at least once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kafka_migration.bench.replication import BenchClusters, CopySettings, kill_a_worker

pytestmark = pytest.mark.integration


@pytest.fixture
def clusters(toolchain: None) -> Iterator[BenchClusters]:
    started = BenchClusters()
    try:
        yield started
    finally:
        started.close()


@pytest.mark.long  # 1 minute; `make bench` (K1) runs it at twice the rate, test_mm2_workers.py through `pulumi up`
def test_a_killed_worker_s_tasks_move_to_the_other_and_no_record_is_lost(clusters: BenchClusters) -> None:
    run = kill_a_worker(clusters, CopySettings(lean_jvm=True, heap_mb=512), rate=2000, seconds=20)
    assert len(run.tasks_before) == 2, f"the group spread its tasks over both workers: {run.tasks_before}"
    assert run.killed not in run.tasks_after and sum(run.tasks_after.values()) == sum(run.tasks_before.values())
    assert run.produced > 30_000
    assert run.missing == 0, f"{run.missing} of {run.produced} records written to blue never reached green"
    assert run.on_green == run.produced + run.duplicates
