"""MM2's metrics read from every Connect worker of its group: each exports only the tasks it runs."""

from __future__ import annotations

import socket

from kafka_migration.evidence.metrics import parse, scrape_workers

SOURCE = "kafka_connect_mirror_mirrorsourceconnector_"


def worker_text(partition: int, age_ms: float, count: float, failures: float) -> str:
    labels = f'source="A",target="B",topic="orders",partition="{partition}"'
    return (
        f"# TYPE {SOURCE}record_age_ms gauge\n{SOURCE}record_age_ms{{{labels}}} {age_ms}\n"
        f"# TYPE {SOURCE}record_count gauge\n{SOURCE}record_count{{{labels}}} {count}\n"
        "# TYPE kafka_connect_task_error_metrics_total_record_failures gauge\n"
        f'kafka_connect_task_error_metrics_total_record_failures{{connector="mm2-A-B",task="{partition}"}} {failures}\n'
    )


def test_two_workers_metrics_add_up_to_the_flows_partitions_with_the_worst_age() -> None:
    merged = parse(worker_text(0, 40.0, 100.0, 0.0), worker_text(1, 250.0, 50.0, 2.0))
    flow = merged.flows["A->B"]
    assert set(flow.partitions) == {"orders:0", "orders:1"}
    assert (flow.record_age_ms, flow.record_count) == (250.0, 150.0)
    assert merged.record_failures == {"mm2-A-B": 2.0}


def test_a_worker_that_does_not_answer_is_named_and_none_answering_gives_no_metrics() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/metrics"  # bound, not listening: refused
        metrics, failed = scrape_workers([closed], timeout_s=2.0)
    assert metrics is None and len(failed) == 1 and failed[0].startswith(closed)
