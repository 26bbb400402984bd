"""`mm2.workers`: MM2 on a Connect group of the stack's own workers, created, repaired and retired by `pulumi up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_migration.config.load import config_from_mapping
from kafka_migration.evidence.metrics import scrape_workers
from kafka_migration.local_runtime import process
from kafka_migration.local_runtime.ports import free_port_blocks
from kafka_migration.planning.local_processes import mm2_endpoints
from kafka_migration.rehearsal.process_faults import kill9
from tests.helpers import wait_for
from tests.integration.conftest import connect_rest, green_bootstrap
from tests.integration.estate import PARTITIONS, produce, wait_until_copied

pytestmark = pytest.mark.integration


def running_tasks(config: dict, data_root: Path) -> dict[str, int]:
    """Worker (REST address) -> RUNNING tasks of every connector, as the group's REST API reports them."""
    return connect_rest(config, data_root).running_tasks_per_worker()


def test_two_workers_share_mm2_a_killed_one_is_restarted_by_up_and_one_fewer_retires_the_second(walk) -> None:
    rest_port, metrics_port = free_port_blocks(2, 2)
    stack, config = walk.make("one-way")
    config["mm2"] = {**config["mm2"], "workers": 2, "connectRestPort": rest_port, "connectMetricsPort": metrics_port}
    stack.configure({"mm2": config["mm2"]})
    for phase in ("green-provisioned", "replicating"):
        stack.goto(phase)
        stack.up()
    first, second = walk.data_root / "connect-migration", walk.data_root / "connect-migration-2"
    first_pid = process.running_pid(first)
    assert first_pid and process.running_pid(second), "pulumi up started both workers of the group"
    both = {f"127.0.0.1:{rest_port}", f"127.0.0.1:{rest_port + 1}"}

    def spread_over_both() -> dict[str, int]:
        tasks = running_tasks(config, walk.data_root)
        return tasks if set(tasks) == both else {}

    wait_for(spread_over_both, 120, "Connect to run tasks on both workers")
    wait_until_copied(walk.blue.bootstrap_servers, green_bootstrap(config))

    # What the gates and `status` read: every worker's metrics, merged, cover every copied partition.
    endpoints = mm2_endpoints(config_from_mapping(config), walk.data_root)
    assert len(endpoints.metrics_urls) == 2
    metrics, failed = scrape_workers(endpoints.metrics_urls, 15)
    assert metrics is not None and not failed, failed
    copied = {f"{t}:{p}" for t, n in PARTITIONS.items() for p in range(n) if t in ("orders", "payments")}
    assert copied <= set(metrics.flows["A->B"].partitions), metrics.flows["A->B"].partitions.keys()

    # The second worker dies: its tasks move to the first, and records written meanwhile still cross.
    kill9(second)
    wait_for(lambda: set(running_tasks(config, walk.data_root)) == {f"127.0.0.1:{rest_port}"}, 120, "tasks moved")
    for i in range(30):
        produce(walk.blue.bootstrap_servers, "orders", i % PARTITIONS["orders"], f"after-kill-{i}")
    wait_until_copied(walk.blue.bootstrap_servers, green_bootstrap(config))

    # `pulumi up` at the same step sees the dead worker as drift and starts it; the first is left alone.
    stack.up()
    assert process.running_pid(second) and process.running_pid(first) == first_pid
    wait_for(spread_over_both, 120, "the restarted worker to take tasks again")

    # One worker fewer: the second is stopped and its folder removed; the group goes on with the first.
    config["mm2"] = {**config["mm2"], "workers": 1}
    stack.configure({"mm2": config["mm2"]})
    stack.up()
    assert not second.exists() and process.running_pid(first) == first_pid
    produce(walk.blue.bootstrap_servers, "orders", 0, "after-retire")
    wait_until_copied(walk.blue.bootstrap_servers, green_bootstrap(config))
