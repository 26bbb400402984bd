"""`make bench`: how fast and how big the migration's hot paths are, against stated targets.

- offset translation (a consumer handoff translates every partition of every group),
- planning a large estate (runs at every `pulumi preview`),
- the rehearsal checker over a large ledger,
- MM2 on the local runtime: records copied A->B per second, end to end on real clusters.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Result:
    """One measured figure and its target."""

    name: str
    value: float
    unit: str
    target: float
    higher_is_better: bool
    peak_mb: float | None = None

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds and peak traced memory (MiB) of one call."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, out


def bench_translation() -> list[Result]:
    """Handoff translation against a long offset-sync history."""
    from kafka_migration.planning.offsets import OffsetSync, SyncHistory, translate_downstream

    history = SyncHistory([OffsetSync(u, u + 7) for u in range(0, 2_000_000, 2)])
    rng = random.Random(7)  # noqa: S311 - reproducible benchmark input, not security
    queries = [rng.randrange(2_000_000) for _ in range(100_000)]
    seconds, peak, _ = measure(lambda: [translate_downstream(history, q) for q in queries])
    return [Result("offset translations per second (1M syncs)", len(queries) / seconds, "ops/s", 10_000, True, peak)]


def bench_planning() -> list[Result]:
    """Planning every step of a large estate (what each preview does)."""
    from kafka_migration.config.model import MigrationConfig
    from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
    from kafka_migration.planning.desired import plan_migration
    from kafka_migration.planning.phases import config_steps

    topics = {f"t{i:04d}": TopicInfo(f"t{i:04d}", 12, 3, {"retention.ms": "86400000"}, f"id{i}") for i in range(2000)}
    acls = tuple(
        AclEntry("Topic", f"t{i:04d}", "Literal", f"User:app{i % 200}", "*", "Read", "Allow") for i in range(4000)
    )
    clients = [
        {"name": f"c{i}", "role": "consumer" if i % 2 else "producer", "wave": 1 + i % 5, "topics": [f"t{i:04d}"]}
        for i in range(500)
    ]
    cfg = MigrationConfig.model_validate(
        {
            "blue": {"alias": "A", "bootstrapServers": "b:9092", "brokers": 3},
            "green": {"alias": "B", "bootstrapServers": "g:9092", "brokers": 3},
            "topics": {"include": ["t.*"]},
            "clients": clients,
        }
    )
    blue = ClusterInventory("id", 3, topics, acls)
    steps = config_steps(cfg)
    seconds, peak, _ = measure(lambda: [plan_migration(cfg, s, blue, 3) for s in steps])
    return [
        Result("plan every step, 2000 topics / 500 clients (s per step)", seconds / len(steps), "s", 1.0, False, peak)
    ]


def bench_checker() -> list[Result]:
    """The rehearsal checker over a large ledger, time and peak memory."""
    from kafka_migration.config.clients import ClientGroup, ClientRole
    from kafka_migration.rehearsal.checker import ConsumedRecord, LedgerData, ProducedRecord, check

    produced, consumed = [], []
    for i in range(250_000):
        rid = f"{i:x}"
        produced.append(ProducedRecord(rid, "p", "A", "orders", f"k{i % 50}", i // 50, i % 6, i, 0.0, 0.0))
        for group in ("g1", "g2"):
            consumed.append(
                ConsumedRecord(group, "A", "orders", "orders", i % 6, i, rid, "p", f"k{i % 50}", i // 50, 0.0)
            )
    data = LedgerData(tuple(produced), tuple(consumed))
    clients = [ClientGroup(name=g, role=ClientRole.CONSUMER, wave=1, topics=["orders"]) for g in ("g1", "g2")]
    seconds, peak, result = measure(lambda: check(data, clients))
    assert result.totals.lost == 0
    return [
        Result("checker, 250k produced / 500k consumed (s)", seconds, "s", 15.0, False, peak),
        Result("checker peak memory", peak, "MiB", 600.0, False),
    ]


def bench_mm2(records: int) -> list[Result]:
    """Records/s MM2 copies A->B on two local single-node clusters (Connect worker, 2 tasks)."""
    from confluent_kafka import Producer

    from kafka_migration.config.model import Strategy
    from kafka_migration.config.settings import Mm2Settings
    from kafka_migration.evidence.topics import read_offset_syncs
    from kafka_migration.local_runtime import connect, kafka
    from kafka_migration.local_runtime.ports import free_ports
    from kafka_migration.planning.mm2 import Endpoint, FlowSpec, connector_configs
    from kafka_migration.planning.naming import offset_syncs_topic
    from kafka_migration.rehearsal.estate import TopicSeed, create_topics

    work = Path(tempfile.mkdtemp(prefix="kafkamig-bench-"))
    ports = free_ports(6)
    blue = kafka.KafkaNode("A", work / "A", ports[0], ports[1])
    green = kafka.KafkaNode("B", work / "B", ports[2], ports[3])
    worker = connect.ConnectWorker("bench", work / "connect", green.bootstrap_servers, ports[4], ports[5])
    try:
        kafka.start(blue, kafka.new_cluster_id())
        kafka.start(green, kafka.new_cluster_id())
        connect.start(worker)
        create_topics(blue.bootstrap_servers, [TopicSeed("bench", 6)])
        producer = Producer({"bootstrap.servers": blue.bootstrap_servers, "linger.ms": 20, "batch.size": 262144})
        payload = b"x" * 512
        for i in range(records):
            producer.produce("bench", key=str(i % 1000).encode(), value=payload)
            if i % 10_000 == 0:
                producer.poll(0)
        producer.flush(120)
        flow = FlowSpec(
            Endpoint("A", blue.bootstrap_servers),
            Endpoint("B", green.bootstrap_servers),
            Strategy.BIDIRECTIONAL,
            ("bench",),
            (),
            (".*",),
            Mm2Settings(internal_topic_replication_factor=1),
        )
        t0 = time.monotonic()
        rest = connect.rest_client(worker)
        for name, config in connector_configs(flow, 1).items():
            rest.put_config(name, config)
        conf = {"bootstrap.servers": blue.bootstrap_servers}
        deadline = time.monotonic() + 600
        per_partition = None
        while time.monotonic() < deadline:
            syncs = read_offset_syncs(conf, offset_syncs_topic("B"), 60)
            per_partition = {k.partition: h.syncs[-1].upstream for k, h in syncs.items() if k.topic == "bench"}
            if len(per_partition) == 6 and sum(u + 1 for u in per_partition.values()) >= records:
                break
            time.sleep(1)
        seconds = time.monotonic() - t0
        return [Result(f"MM2 A->B copy rate, {records} x 512 B records", records / seconds, "records/s", 2_000, True)]
    finally:
        connect.retire(worker)
        kafka.stop(green)
        kafka.stop(blue)
        shutil.rmtree(work, ignore_errors=True)


PROG = "kafka-migration bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options, added to `parser` (its own, or `kafka-migration bench`)."""
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder of results.json")
    parser.add_argument("--mm2-records", type=int, default=100_000, help="0 skips the real-cluster benchmark")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print a table, write results.json; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    console = Console()
    results: list[Result] = []
    benches: list[Callable[[], list[Result]]] = [bench_translation, bench_planning, bench_checker]
    if args.mm2_records:
        benches.append(lambda: bench_mm2(args.mm2_records))
    with console.status("benchmarking") as status:
        for bench in benches:
            status.update(f"running {getattr(bench, '__name__', 'mm2')}")
            results += bench()
    table = Table(title="Benchmarks")
    for col in ("benchmark", "value", "target", "peak MiB", "met"):
        table.add_column(col)
    for r in results:
        sign = ">=" if r.higher_is_better else "<="
        peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else ""
        met = "[green]yes[/]" if r.met else "[red]no[/]"
        table.add_row(r.name, f"{r.value:,.2f} {r.unit}", f"{sign} {r.target:,} {r.unit}", peak, met)
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "results": [{**asdict(r), "met": r.met} for r in results],
    }
    (args.out / "results.json").write_text(json.dumps(payload, indent=2))
    console.print(f"results: {args.out / 'results.json'}")
    return 0 if all(r.met for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
