"""B5: `pulumi preview` of the migration at N topics against a program of the same N kafka Topic resources alone.

Both are previews of a first step, on the same machine, in the same run: the migration
entering `green-provisioned` (green, its topics, the ACL mirror, MM2's worker and
connectors, routing documents, and the gates, which read blue) and a bare program with one
`pulumi_kafka.Topic` per blue topic and a provider for green. Both providers point at the
same green address, which no broker serves during a preview.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from pulumi import automation as auto

from kafka_migration.bench.ratios import Ratio
from kafka_migration.local_runtime import kafka
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.project import write_project
from kafka_migration.local_runtime.stack_harness import MigrationStack

TOPIC_PREFIX = "bench.t"
BARE_PROGRAM = '''"""N kafka Topic resources and their provider, nothing else: B5's baseline."""

import pulumi
import pulumi_kafka

config = pulumi.Config()
provider = pulumi_kafka.Provider("green", bootstrap_servers=[config.require("bootstrap")], tls_enabled=False)
for name in config.require_object("topics"):
    pulumi_kafka.Topic(
        name, name=name, partitions=1, replication_factor=1, opts=pulumi.ResourceOptions(provider=provider)
    )
'''
Progress = Callable[[str], None]


def b5(topics: int = 1000, repeats: int = 2, progress: Progress = lambda _s: None) -> Ratio:
    """The median of `repeats` previews of each program, interleaved; blue holds `topics` one-partition topics."""
    work = Path(tempfile.mkdtemp(prefix="kafkamig-bench-b5-"))
    blue_broker, blue_controller, *ports = free_ports(6)
    blue = kafka.KafkaNode("A", work / "A", blue_broker, blue_controller, heap_mb=1024)
    try:
        kafka.start(blue, kafka.new_cluster_id())
        names = [f"{TOPIC_PREFIX}{i:05d}" for i in range(topics)]
        progress(f"B5: creating {topics} topics on blue")
        _create_topics(blue.bootstrap_servers, names)
        green = f"127.0.0.1:{ports[0]}"
        migration = MigrationStack.create(
            write_project(work / "migration"), work / "state", "b5-migration", _migration_config(blue, ports, work)
        )
        bare = MigrationStack.create(
            _bare_project(work / "bare"), work / "state", "b5-bare", {"bootstrap": green, "topics": names}
        )
        timings: dict[str, list[float]] = {"migration": [], "bare": []}
        creates: dict[str, int] = {}
        for run in range(repeats):
            for name, stack in (("migration", migration), ("bare", bare)):
                progress(f"B5: pulumi preview of the {name} program ({run + 1}/{repeats})")
                started = time.perf_counter()
                result = stack.preview()
                timings[name].append(time.perf_counter() - started)
                creates[name] = result.change_summary.get(auto.OpType.CREATE, 0)
                if creates[name] < topics:
                    raise RuntimeError(f"B5: the {name} preview planned {result.change_summary}, not {topics} creates")
        measured, baseline = statistics.median(timings["migration"]), statistics.median(timings["bare"])
        raw: dict[str, float | int | str] = {
            "topics": topics,
            "migration_preview_s": round(measured, 2),
            "bare_preview_s": round(baseline, 2),
            "migration_runs_s": ", ".join(f"{t:.1f}" for t in timings["migration"]),
            "bare_runs_s": ", ".join(f"{t:.1f}" for t in timings["bare"]),
            "migration_resources": creates["migration"],
            "bare_resources": creates["bare"],
        }
        name = f"pulumi preview of the migration / of {topics} bare Topic resources ({topics} topics)"
        ratio = Ratio("B5", name, measured, baseline, 1.2, False, raw)
        return replace(ratio, cause=b5_cause(ratio, creates)) if ratio.met is False else ratio
    finally:
        kafka.stop(blue)
        shutil.rmtree(work, ignore_errors=True)


def b5_cause(ratio: Ratio, creates: dict[str, int]) -> str:
    """What the previews showed: how many resources each registers, and the time per resource."""
    per_resource = (ratio.measured / creates["migration"]) / (ratio.baseline / creates["bare"])
    return (
        f"the migration registers {creates['migration']:,} resources against {creates['bare']:,}: besides the "
        "topics, MM2's literal ACLs on green (one per operation and topic: least privilege) and its machinery; "
        f"per resource its preview takes {per_resource:.2f}x the bare program's"
    )


def _create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for start in range(0, len(names), 200):
        batch = [NewTopic(n, 1, 1) for n in names[start : start + 200]]
        for future in admin.create_topics(batch, operation_timeout=60).values():
            future.result(timeout=120)


def _migration_config(blue: kafka.KafkaNode, ports: list[int], work: Path) -> dict[str, Any]:
    green_broker, green_controller, rest, metrics = ports
    reader = {"name": "bench-reader", "role": "consumer", "wave": 1, "topics": [f"{TOPIC_PREFIX}00000"]}
    writer = {"name": "bench-writer", "role": "producer", "wave": 1, "topics": [f"{TOPIC_PREFIX}00000"]}
    return {
        "phase": "green-provisioned",
        "producerWaves": "0",
        "consumerWaves": "0",
        "strategy": "one-way",
        "blue": {"alias": "A", "runtime": "external", "bootstrapServers": blue.bootstrap_servers},
        "green": {
            "alias": "B",
            "runtime": "local",
            "local": {"brokerPort": green_broker, "controllerPort": green_controller},
        },
        "topics": {"include": [TOPIC_PREFIX.replace(".", "\\.") + ".*"]},
        "clients": [writer, reader],
        "mm2": {"internalTopicReplicationFactor": 1, "connectRestPort": rest, "connectMetricsPort": metrics},
        "routing": {"directory": str(work / "routing")},
        "allowDestroy": True,
    }


def _bare_project(dest: Path) -> Path:
    write_project(dest, "kafka-topics-only")
    (dest / "__main__.py").write_text(BARE_PROGRAM)
    return dest
