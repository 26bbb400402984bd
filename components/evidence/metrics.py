"""MM2's metrics as production scrapes them: the Prometheus JMX exporter on the Connect workers."""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

SOURCE_METRIC = "kafka_connect_mirror_mirrorsourceconnector_"
TASK_ERRORS = "kafka_connect_task_error_metrics_total_record_failures"


@dataclass
class FlowMetrics:
    """One flow's figures, aggregated over its partitions and tasks."""

    record_age_ms: float | None = None
    replication_latency_ms: float | None = None
    record_count: float = 0.0
    byte_rate: float = 0.0
    partitions: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Mm2Metrics:
    """What one scrape says about every flow and connector."""

    flows: dict[str, FlowMetrics] = field(default_factory=dict)
    """`A->B` -> figures."""
    record_failures: dict[str, float] = field(default_factory=dict)
    """Connector name -> failed records (task-error-metrics total-record-failures)."""


def scrape(url: str, timeout_s: float) -> str:
    """The exporter's text output."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - the configured metrics URL
        return response.read().decode()


def scrape_workers(urls: Sequence[str], timeout_s: float) -> tuple[Mm2Metrics | None, list[str]]:
    """Every worker's metrics, merged (each worker exports only the tasks it runs), and the URLs that failed.

    None when no worker answered: a dead worker's tasks move to the others, so the rest still tell.
    """
    texts, failed = [], []
    for url in urls:
        try:
            texts.append(scrape(url, timeout_s))
        except (OSError, http.client.HTTPException) as err:
            failed.append(f"{url}: {err}")
    return (parse(*texts) if texts else None), failed


def parse(*texts: str) -> Mm2Metrics:
    """Aggregate the exporters' text format per flow (max age and latency, summed counts and rates)."""
    out = Mm2Metrics()
    families = (family for text in texts for family in text_string_to_metric_families(text))
    for family in families:
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name.startswith(TASK_ERRORS):
                connector = labels.get("connector", "?")
                out.record_failures[connector] = out.record_failures.get(connector, 0.0) + value
                continue
            if not name.startswith(SOURCE_METRIC):
                continue
            key = name[len(SOURCE_METRIC) :]
            flow = out.flows.setdefault(f"{labels.get('source')}->{labels.get('target')}", FlowMetrics())
            partition = flow.partitions.setdefault(f"{labels.get('topic')}:{labels.get('partition')}", {})
            partition[key] = value
            if key == "record_age_ms":
                flow.record_age_ms = max(flow.record_age_ms or 0.0, value)
            elif key == "replication_latency_ms":
                flow.replication_latency_ms = max(flow.replication_latency_ms or 0.0, value)
            elif key == "record_count":
                flow.record_count += value
            elif key == "byte_rate":
                flow.byte_rate += value
    return out
