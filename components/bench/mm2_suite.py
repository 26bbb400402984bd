"""The real-cluster half of `make bench`: B1, B2, one Connect worker against two, and a worker killed under traffic.

One pair of local clusters serves every measurement, in this order: `repeats` times, Kafka's
own ProducerPerformance into green (the produce side of B1's bound), MM2 copying a seeded
topic with one worker, ConsumerPerformance reading that topic from blue (the consume side);
then B2's latency at half the median repeat's MM2 rate, the same copy with two workers in
one Connect group, and two workers copying live traffic while one of them is killed. Each
B1 repeat measures its two sides minutes apart at most, so a noisy neighbour on a shared
machine moves both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from confluent_kafka import Producer

from kafka_migration.bench import latency, perf_tools
from kafka_migration.bench.ratios import Ratio
from kafka_migration.bench.replication import (
    STRATEGY,
    BenchClusters,
    CopyRun,
    CopySettings,
    KillRun,
    b1_ratio,
    connect_group,
    copy,
    kill_a_worker,
    pid_of,
    records_on,
    start_copy,
    wait_for,
)
from kafka_migration.planning.naming import remote_topic

RAW_TOPIC = "raw"
LATENCY_SECONDS = 30.0
"""How long B2's producer sends (the first `latency.WARM_UP_S` are not counted)."""


@dataclass(frozen=True)
class B1Repeat:
    """One B1 measurement: raw produce into green, MM2 copying with one worker, raw consume of the same records."""

    produce_green: perf_tools.ToolRate
    one_worker: CopyRun
    consume_blue: perf_tools.ToolRate


@dataclass
class Mm2Results:
    """Every real-cluster figure of one run, for the table, results.json and the plot."""

    settings: CopySettings
    b1_repeats: list[B1Repeat]
    b2: latency.LatencyRun
    two_workers: CopyRun
    kill: KillRun

    def _b1(self, repeat: B1Repeat) -> Ratio:
        producer = mm2_producer(self.settings)
        return b1_ratio(repeat.one_worker, repeat.produce_green, repeat.consume_blue, self.settings, producer)

    def _b1_by_value(self) -> list[tuple[Ratio, B1Repeat]]:
        return sorted(((self._b1(r), r) for r in self.b1_repeats), key=lambda pair: pair[0].value)

    @property
    def b1(self) -> Ratio:
        """The median repeat's ratio (a shared machine's runs differ by a third), with every repeat's value."""
        ranked = self._b1_by_value()
        median = ranked[len(ranked) // 2][0]
        return replace(median, raw={**median.raw, "repeats": ", ".join(f"{r.value:.3f}" for r, _ in ranked)})

    @property
    def one_worker(self) -> CopyRun:
        """The one-worker copy of the median B1 repeat."""
        ranked = self._b1_by_value()
        return ranked[len(ranked) // 2][1].one_worker

    @property
    def ratios(self) -> list[Ratio]:
        return [
            self.b1,
            latency.b2_ratio(self.b2, self.settings.mm2.producer_linger_ms),
            self.scale_out,
            self.worker_kill,
        ]

    @property
    def scale_out(self) -> Ratio:
        one, two = self.one_worker, self.two_workers
        return Ratio(
            "S1",
            "MM2 sustained rate with 2 Connect workers / with 1 (one group, same connectors)",
            two.sustained,
            one.sustained,
            None,
            True,
            {
                "one_worker_records_per_s": round(one.sustained),
                "two_workers_records_per_s": round(two.sustained),
                "one_worker_tasks": _spread(one.tasks_per_worker),
                "two_workers_tasks": _spread(two.tasks_per_worker),
                "two_workers_source_tasks": _spread(two.source_tasks_per_worker),
                "one_worker_cpu": one.cpu.describe(),
                "two_workers_cpu": two.cpu.describe(),
            },
            cause=scale_out_cause(one, two),
        )

    @property
    def worker_kill(self) -> Ratio:
        kill = self.kill
        return Ratio(
            "K1",
            "records missing on green after a Connect worker was SIGKILLed under traffic / records produced",
            kill.missing,
            kill.produced,
            0.0,
            False,
            {
                "produced": kill.produced,
                "on_green": kill.on_green,
                "missing": kill.missing,
                "duplicates": kill.duplicates,
                "killed_worker": kill.killed,
                "tasks_before_kill": _spread(kill.tasks_before),
                "tasks_after_kill": _spread(kill.tasks_after),
                "caught_up_after_kill_s": round(kill.caught_up_s, 1),
            },
        )


def mm2_producer(settings: CopySettings) -> dict[str, str]:
    """The batching MM2's producer runs with, so the raw producer of B1's bound batches alike."""
    overrides = {k.removeprefix("producer.override."): v for k, v in settings.source_overrides.items()}
    return {
        "batch.size": str(settings.mm2.producer_batch_size),
        "linger.ms": str(settings.mm2.producer_linger_ms),
        **{k: v for k, v in overrides.items() if k in ("batch.size", "linger.ms", "compression.type")},
    }


def _spread(tasks: dict[str, int]) -> str:
    return ", ".join(f"{worker} {count}" for worker, count in sorted(tasks.items()))


def scale_out_cause(one: CopyRun, two: CopyRun) -> str:
    """What limited the second worker: where Connect put the copying tasks and where the CPU went."""
    notes = []
    if len(two.source_tasks_per_worker) < 2:
        notes.append(
            f"Connect put every copying (source) task on one worker ({_spread(two.source_tasks_per_worker)}; "
            f"all tasks: {_spread(two.tasks_per_worker)}): it balances the count of connectors and tasks, not the work"
        )
    notes.append(("the cores were saturated: " if two.cpu.saturated else "not CPU-bound: ") + two.cpu.describe())
    return "; ".join(notes)


def run(settings: CopySettings, step: Callable[[str], None], repeats: int = 3) -> Mm2Results:
    """Start the clusters, measure everything in order, stop the clusters (also on failure)."""
    clusters = BenchClusters()
    try:
        clusters.create_topic(clusters.green, RAW_TOPIC, settings.partitions)
        b1_repeats = []
        for i in range(1, repeats + 1):
            step(f"B1 {i}/{repeats}: ProducerPerformance, {settings.records:,} records into green")
            produce_green = perf_tools.produce(
                clusters.green.bootstrap_servers,
                RAW_TOPIC,
                settings.records,
                settings.record_bytes,
                mm2_producer(settings),
            )
            step(f"B1 {i}/{repeats}: MM2 copy A->B, 1 Connect worker")
            one, _seeded = copy(clusters, f"one-{i}", 1, settings)
            step(f"B1 {i}/{repeats}: ConsumerPerformance, the same records from blue")
            consume_blue = perf_tools.consume(
                clusters.blue.bootstrap_servers, f"one-{i}", settings.records, f"bench-raw-{i}"
            )
            b1_repeats.append(B1Repeat(produce_green, one, consume_blue))
        b1_rate = _median(r.one_worker.sustained for r in b1_repeats)
        step(f"B2: latency through MM2 at {b1_rate / 2:,.0f} records/s (half B1's MM2 rate)")
        b2 = latency_through_mm2(clusters, settings, round(b1_rate / 2))
        step("MM2 copy A->B, 2 Connect workers in one group")
        two, _seeded = copy(clusters, "two", 2, settings)
        step("2 workers under traffic, one killed")
        kill = kill_a_worker(clusters, settings)
    finally:
        clusters.close()
    return Mm2Results(settings, b1_repeats, b2, two, kill)


def _median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def latency_through_mm2(clusters: BenchClusters, settings: CopySettings, rate: int) -> latency.LatencyRun:
    """B2 on a topic of its own that one Connect worker copies, once its copy on green has records."""
    topic = "latency"
    clusters.create_topic(clusters.blue, topic, settings.partitions)
    copy_name = remote_topic(STRATEGY, "A", topic)
    with connect_group(clusters, "bench-latency", 1, settings) as group:
        start_copy(clusters, group[0], topic, settings)
        warm_up = Producer({"bootstrap.servers": clusters.blue.bootstrap_servers})
        for n in range(100):
            warm_up.produce(topic, value=b"%d" % time.time_ns(), partition=n % settings.partitions)
        warm_up.flush(30)
        wait_for(lambda: records_on(clusters.green.bootstrap_servers, copy_name), 100, 300, time.monotonic())
        return latency.measure(
            clusters.blue.bootstrap_servers,
            clusters.green.bootstrap_servers,
            topic,
            copy_name,
            settings.partitions,
            rate,
            LATENCY_SECONDS,
            clusters.pids() | {"connect": pid_of(group[0].data_dir)},
        )
