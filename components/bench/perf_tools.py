"""Kafka's own ProducerPerformance and ConsumerPerformance: the baseline a new user would measure first.

They run from the same jars as the brokers and Connect, with the JVM's default flags and
the 512 MiB heap of Kafka's `kafka-*-perf-test.sh` scripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kafka_migration.local_runtime import process

PRODUCER_PERFORMANCE = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERFORMANCE = "org.apache.kafka.tools.ConsumerPerformance"
TOOL_HEAP_MB = 512
_SENT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


@dataclass(frozen=True)
class ToolRate:
    """What one tool run reported: records, records/s and MB/s (MiB, as Kafka's tools count)."""

    records: int
    records_per_s: float
    mb_per_s: float


def produce(
    bootstrap: str,
    topic: str,
    records: int,
    record_bytes: int,
    producer_props: Mapping[str, str] | None = None,
    timeout_s: float = 900,
) -> ToolRate:
    """ProducerPerformance at full speed (`--throughput -1`): the producer's defaults, or `producer_props` over them."""
    props = [f"{k}={v}" for k, v in sorted((producer_props or {}).items())]
    out = process.run_java(
        PRODUCER_PERFORMANCE,
        [
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(record_bytes),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            *props,
        ],
        timeout_s,
        TOOL_HEAP_MB,
        lean=False,
    )
    return parse_producer_output(out)


def consume(bootstrap: str, topic: str, records: int, group: str, timeout_s: float = 900) -> ToolRate:
    """ConsumerPerformance of `records` records from the start of `topic`, as a new group."""
    out = process.run_java(
        CONSUMER_PERFORMANCE,
        ["--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(records), "--group", group],
        timeout_s,
        TOOL_HEAP_MB,
        lean=False,
    )
    return parse_consumer_output(out)


def parse_producer_output(out: str) -> ToolRate:
    """The summary line (the last `... records sent, ... records/sec (... MB/sec)`)."""
    found = _SENT.findall(out)
    if not found:
        raise ValueError(f"ProducerPerformance printed no summary line:\n{out[-2000:]}")
    records, rate, mb = found[-1]
    return ToolRate(int(records), float(rate), float(mb))


def parse_consumer_output(out: str) -> ToolRate:
    """The header and values lines; the fetch rate (`fetch.nMsg.sec`), which leaves out the group's join."""
    lines = [line for line in out.splitlines() if line.count(",") >= 9]
    header = next((i for i, line in enumerate(lines) if "fetch.nMsg.sec" in line), None)
    if header is None or header + 1 >= len(lines):
        raise ValueError(f"ConsumerPerformance printed no statistics:\n{out[-2000:]}")
    row = dict(
        zip(
            (c.strip() for c in lines[header].split(",")),
            (v.strip() for v in lines[header + 1].split(",")),
            strict=False,
        )
    )
    return ToolRate(int(float(row["data.consumed.in.nMsg"])), float(row["fetch.nMsg.sec"]), float(row["fetch.MB.sec"]))
