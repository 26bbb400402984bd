"""MM2 on real local clusters, side by side with its baseline: B1, one against two Connect workers, a worker killed.

Every measurement runs on one pair of single-node clusters (blue `A`, green `B`), started
for the benchmark and stopped after it. Each MM2 run copies its own topic with a Connect
group of its own (`bench-<topic>`: its own storage topics, connectors and source offsets),
with the migration's connector configs (`planning.mm2.connector_configs`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_migration.bench import perf_tools
from kafka_migration.bench.cpu import CpuTicks, CpuUse, cpu_use, read_ticks
from kafka_migration.bench.ratios import Ratio, crossing_time, harmonic_bound, interval_rates, sustained_rate
from kafka_migration.config.model import Strategy
from kafka_migration.config.settings import Mm2Settings
from kafka_migration.evidence.topics import partition_watermarks
from kafka_migration.local_runtime import connect, kafka, process
from kafka_migration.local_runtime.ports import free_port_blocks, free_ports
from kafka_migration.planning.local_processes import ConnectWorker, group_member
from kafka_migration.planning.mm2 import Endpoint, FlowSpec, connector_configs
from kafka_migration.planning.naming import remote_topic

SOURCE_CONNECTOR = "MirrorSourceConnector"
STRATEGY = Strategy.BIDIRECTIONAL
"""Remote copies named `A.<topic>` on green, as the bidirectional strategy has them."""


@dataclass(frozen=True)
class CopySettings:
    """What one MM2 copy measurement runs with."""

    records: int = 1_500_000
    record_bytes: int = 512
    partitions: int = 6
    mm2: Mm2Settings = field(default_factory=lambda: Mm2Settings(internal_topic_replication_factor=1))
    source_overrides: Mapping[str, str] = field(default_factory=dict)
    """Extra source-connector settings (`producer.override.*`, `source.consumer.*`) under test."""
    lean_jvm: bool = False
    """The Connect workers on the local runtime's small-machine JVM instead of the JVM's defaults."""
    heap_mb: int = 1024


@dataclass
class CopyRun:
    """One MM2 copy: its progress on green over time and where its tasks ran."""

    topic: str
    workers: int
    records: int
    progress: list[tuple[float, int]]
    """(seconds since the connectors were created, records on green)."""
    tasks_per_worker: dict[str, int]
    source_tasks_per_worker: dict[str, int]
    """The copying tasks (MirrorSourceConnector's) alone."""
    cpu: CpuUse
    """Where the CPU went while the copy ran at its steady rate (between 10 % and 90 % of the records)."""

    @property
    def sustained(self) -> float:
        return sustained_rate(self.progress, self.records)

    @property
    def first_record_s(self) -> float:
        return next((t for t, c in self.progress if c > 0), float("nan"))

    @property
    def total_s(self) -> float:
        return self.progress[-1][0]


@dataclass
class KillRun:
    """Two workers, traffic on blue, one worker killed (SIGKILL) halfway: what green holds afterwards."""

    produced: int
    on_green: int
    missing: int
    duplicates: int
    tasks_before: dict[str, int]
    tasks_after: dict[str, int]
    killed: str
    caught_up_s: float
    """From the kill until green held every record produced."""


class BenchClusters:
    """Blue and green, single-node, on loopback; `close` stops both and removes their folder."""

    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="kafkamig-bench-"))
        ports = free_ports(4)
        self.blue = kafka.KafkaNode("A", self.work / "A", ports[0], ports[1], heap_mb=1024)
        self.green = kafka.KafkaNode("B", self.work / "B", ports[2], ports[3], heap_mb=1024)
        kafka.start(self.blue, kafka.new_cluster_id())
        kafka.start(self.green, kafka.new_cluster_id())

    def close(self) -> None:
        kafka.stop(self.green)
        kafka.stop(self.blue)
        shutil.rmtree(self.work, ignore_errors=True)

    def pids(self) -> dict[str, int]:
        return {"blue broker": pid_of(self.blue.data_dir), "green broker": pid_of(self.green.data_dir)}

    def create_topic(self, node: kafka.KafkaNode, topic: str, partitions: int) -> None:
        admin = AdminClient({"bootstrap.servers": node.bootstrap_servers})
        for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
            future.result(timeout=30)

    def flow(self, topic: str, settings: CopySettings) -> FlowSpec:
        return FlowSpec(
            Endpoint("A", self.blue.bootstrap_servers),
            Endpoint("B", self.green.bootstrap_servers),
            STRATEGY,
            (topic,),
            (),
            ("bench-none",),
            settings.mm2,
        )


@contextlib.contextmanager
def connect_group(
    clusters: BenchClusters, name: str, size: int, settings: CopySettings
) -> Iterator[list[ConnectWorker]]:
    """`size` Connect workers in one group (storage topics on green), started in order, retired at exit."""
    rest_port, metrics_port = free_port_blocks(2, size)  # members take the ports after the first's
    first = ConnectWorker(
        name,
        clusters.work / f"connect-{name}",
        clusters.green.bootstrap_servers,
        rest_port,
        metrics_port,
        heap_mb=settings.heap_mb,
        lean_jvm=settings.lean_jvm,
    )
    members = [first, *(group_member(first, i) for i in range(1, size))]
    try:
        for worker in members:
            connect.start(worker)
        yield members
    finally:
        for worker in reversed(members):
            connect.retire(worker)


def start_copy(clusters: BenchClusters, worker: ConnectWorker, topic: str, settings: CopySettings) -> None:
    """Create the flow's connectors (source, checkpoint, heartbeat) through the group."""
    rest = connect.rest_client(worker)
    for name, config in connector_configs(clusters.flow(topic, settings), 1).items():
        if SOURCE_CONNECTOR in name:
            config = {**config, **settings.source_overrides}
        rest.put_config(name, config)


def tasks_per_worker(worker: ConnectWorker, connector_kind: str = "") -> dict[str, int]:
    """RUNNING tasks per worker of the group, asked through `worker` (`ConnectClient.running_tasks_per_worker`)."""
    return connect.rest_client(worker).running_tasks_per_worker(connector_kind)


def records_on(bootstrap: str, topic: str) -> int:
    """The sum of the topic's end offsets (0 for a topic not created yet)."""
    watermarks = partition_watermarks({"bootstrap.servers": bootstrap}, {topic}, timeout_s=5)
    return sum(w.high for w in watermarks.values())


def wait_for(
    count: Callable[[], int], total: int, timeout_s: float, started: float, interval_s: float = 0.5
) -> list[tuple[float, int]]:
    """Sample `count()` until it reaches `total`: the (seconds since `started`, count) samples."""
    progress = [(0.0, 0)]
    deadline = time.monotonic() + timeout_s
    while progress[-1][1] < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"MM2 copied {progress[-1][1]:,} of {total:,} records in {timeout_s:.0f}s")
        time.sleep(interval_s)
        progress.append((time.monotonic() - started, count()))
    return progress


def copy(
    clusters: BenchClusters, topic: str, workers: int, settings: CopySettings
) -> tuple[CopyRun, perf_tools.ToolRate]:
    """Seed `topic` on blue with ProducerPerformance, then time MM2 copying it with a group of `workers`."""
    clusters.create_topic(clusters.blue, topic, settings.partitions)
    seeded = perf_tools.produce(clusters.blue.bootstrap_servers, topic, settings.records, settings.record_bytes)
    target = remote_topic(STRATEGY, "A", topic)
    with connect_group(clusters, f"bench-{topic}", workers, settings) as group:
        pids = clusters.pids() | {f"connect-{i + 1}": pid_of(w.data_dir) for i, w in enumerate(group)}
        readings: list[tuple[float, CpuTicks]] = []
        started = time.monotonic()

        def count() -> int:
            readings.append((time.monotonic() - started, read_ticks(pids)))
            return records_on(clusters.green.bootstrap_servers, target)

        start_copy(clusters, group[0], topic, settings)
        progress = wait_for(count, settings.records, timeout_s=max(600, settings.records / 500), started=started)
        spread = tasks_per_worker(group[0])
        source_spread = tasks_per_worker(group[0], SOURCE_CONNECTOR)
    window = [crossing_time(progress, level * settings.records) for level in (0.1, 0.9)]
    before, after = (min(readings, key=lambda r: abs(r[0] - t))[1] for t in window)
    return CopyRun(topic, workers, settings.records, progress, spread, source_spread, cpu_use(before, after)), seeded


def pid_of(data_dir: Path) -> int:
    """The pid of the local process whose folder is `data_dir` (a broker, a Connect worker); it must be running."""
    pid = process.running_pid(data_dir)
    if pid is None:
        raise RuntimeError(f"the process of {data_dir} is not running")
    return pid


def b1_ratio(
    one_worker: CopyRun,
    produce_green: perf_tools.ToolRate,
    consume_blue: perf_tools.ToolRate,
    settings: CopySettings,
    raw_producer: Mapping[str, str],
) -> Ratio:
    """B1: MM2's sustained copy rate over the harmonic bound of raw produce into green and raw consume from blue."""
    bound = harmonic_bound(produce_green.records_per_s, consume_blue.records_per_s)
    mm2 = one_worker.sustained
    record_bytes = settings.record_bytes
    ratio = Ratio(
        "B1",
        "MM2 A->B sustained rate / bound of raw produce into green and raw consume from blue",
        mm2,
        bound,
        0.8,
        True,
        {
            "mm2_records_per_s": round(mm2),
            "mm2_bytes_per_s": round(mm2 * record_bytes),
            "bound_records_per_s": round(bound),
            "bound_bytes_per_s": round(bound * record_bytes),
            "raw_produce_green_records_per_s": round(produce_green.records_per_s),
            "raw_consume_blue_records_per_s": round(consume_blue.records_per_s),
            "raw_producer_settings": ", ".join(f"{k}={v}" for k, v in sorted(raw_producer.items())),
            "records": settings.records,
            "record_bytes": record_bytes,
            "partitions": settings.partitions,
            "tasks_max": settings.mm2.tasks_max,
            "mm2_producer_batch_size": settings.mm2.producer_batch_size,
            "mm2_producer_linger_ms": settings.mm2.producer_linger_ms,
            "mm2_first_record_s": round(one_worker.first_record_s, 1),
            "mm2_total_s": round(one_worker.total_s, 1),
            "mm2_cpu": one_worker.cpu.describe(),
            "connect_jvm": "lean (SerialGC, C1)" if settings.lean_jvm else "JVM defaults",
            "source_overrides": ", ".join(f"{k}={v}" for k, v in sorted(settings.source_overrides.items())) or "none",
        },
    )
    return replace(ratio, cause="" if ratio.met else b1_cause(one_worker))


def b1_cause(run: CopyRun) -> str:
    """Why the copy ran below its bound, from where the CPU went while it ran."""
    if run.cpu.saturated:
        return (
            f"CPU-bound: {run.cpu.describe()} while MM2 copied; the bound's tools each had the machine to "
            "themselves, MM2's worker does Connect's per-record work on top of consuming and producing"
        )
    return f"not CPU-bound ({run.cpu.describe()}): MM2 waited on its fetches or its producer's requests"


def kill_a_worker(clusters: BenchClusters, settings: CopySettings, rate: int = 4000, seconds: float = 40) -> KillRun:
    """Two workers copy `kill` while a producer writes numbered records to blue; one is SIGKILLed halfway.

    The one killed runs the most source tasks (the copying); the worker config's
    `scheduled.rebalance.max.delay.ms=0` gives its tasks to the survivor at once.

    Afterwards green's copy is read back in full: every record produced must be there
    (`missing`), and records there twice are counted (`duplicates`: MM2 copies at least once,
    so a task that dies between writing and committing its source offsets re-copies a few).
    """
    topic = "kill"
    clusters.create_topic(clusters.blue, topic, settings.partitions)
    target = remote_topic(STRATEGY, "A", topic)
    with connect_group(clusters, "bench-kill", 2, settings) as group:
        start_copy(clusters, group[0], topic, settings)
        wait_for(lambda: len(tasks_per_worker(group[0])), 2, 120, time.monotonic(), 1)
        produced = _Writer(clusters.blue.bootstrap_servers, topic, rate, seconds)
        produced.start()
        time.sleep(seconds / 2)
        before = tasks_per_worker(group[0])
        copying = tasks_per_worker(group[0], SOURCE_CONNECTOR)
        victim = max(group, key=lambda w: copying.get(f"127.0.0.1:{w.rest_port}", 0))  # one that copies
        survivor = next(w for w in group if w is not victim)
        os.kill(pid_of(victim.data_dir), signal.SIGKILL)
        killed_at = time.monotonic()
        produced.join()
        if produced.error:
            raise RuntimeError(f"the benchmark's producer failed: {produced.error}")
        progress = wait_for(
            lambda: records_on(clusters.green.bootstrap_servers, target),
            produced.count,
            timeout_s=600,
            started=killed_at,
        )
        after = tasks_per_worker(survivor)
    seen = Counter(read_all(clusters.green.bootstrap_servers, target, settings.partitions))
    expected = set(range(produced.count))
    return KillRun(
        produced.count,
        sum(seen.values()),
        len(expected - seen.keys()),
        sum(n - 1 for n in seen.values() if n > 1),
        before,
        after,
        f"127.0.0.1:{victim.rest_port}",
        progress[-1][0],
    )


class _Writer(threading.Thread):
    """Writes records numbered 0, 1, ... (the number is the value) at about `rate` per second for `seconds`."""

    def __init__(self, bootstrap: str, topic: str, rate: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
        self.topic, self.rate, self.seconds = topic, rate, seconds
        self.count = 0
        self.error: str | None = None

    def run(self) -> None:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < self.seconds:
            due = int(elapsed * self.rate)
            while self.count < due:
                self.producer.produce(self.topic, key=str(self.count % 97).encode(), value=str(self.count).encode())
                self.count += 1
            self.producer.poll(0)
            time.sleep(0.01)
        if self.producer.flush(60) != 0:
            self.error = "records still unacknowledged 60 s after the last send"


def read_all(bootstrap: str, topic: str, partitions: int) -> list[int]:
    """Every record's number, from the start of each partition to its end offset."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "kafkamig-bench-check", "enable.auto.commit": False}
    )
    numbers: list[int] = []
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        done = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 300
        while len(done) < partitions:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"read {len(numbers):,} records of {topic} in 300 s, partitions done: {sorted(done)}"
                )
            for msg in consumer.consume(1000, timeout=1):
                value, offset, partition = msg.value(), msg.offset(), msg.partition()
                if msg.error() or value is None or offset is None or partition is None:
                    continue  # a record without a number counts as missing
                numbers.append(int(value))
                if offset + 1 >= ends[partition]:
                    done.add(partition)
        return numbers
    finally:
        consumer.close()


def throughput_series(run: CopyRun) -> list[tuple[float, float]]:
    """MM2's records/s per sampling interval, for the B1 plot."""
    return interval_rates(run.progress)
