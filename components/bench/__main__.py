"""`make bench`: how fast and how big the migration's hot paths are, against stated targets.

- offset translation (a consumer handoff translates every partition of every group),
- planning a large estate (runs at every `pulumi preview`),
- the rehearsal checker over a large ledger,
- on real local clusters, ratios against a baseline run on the same machine in the same run
  (`bench.mm2_suite`): MM2's copy rate against raw produce and consume (B1), the latency
  MM2's hop adds (B2), one Connect worker against two, and a worker killed under traffic;
  `pulumi preview` of the migration against a program of the same kafka Topic resources
  alone (B5, `bench.preview_suite`); every gate over 1,000 and 10,000 partitions against the
  raw calls reading the same data (B4, `bench.gate_suite`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kafka_migration.bench import gate_suite, migration_suite, mm2_suite
from kafka_migration.bench.preview_suite import b5
from kafka_migration.bench.ratios import Ratio
from kafka_migration.bench.replication import CopySettings, throughput_series
from kafka_migration.charts import plot_copy_rates, plot_pause_distribution


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


PROG = "kafka-migration bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options, added to `parser` (its own, or `kafka-migration bench`)."""
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder of results.json and plots")
    parser.add_argument(
        "--mm2-records",
        type=int,
        default=CopySettings.records,
        help="records per MM2 copy on the real clusters (0 skips the real-cluster ratios)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="B1 measurements; the median one is reported")
    parser.add_argument(
        "--migration",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="B3 and B6: a one-way rehearsal walk to decommissioned (about 10 minutes; needs the real-cluster ratios)",
    )
    parser.add_argument(
        "--preview-topics",
        type=int,
        default=200,
        help="topics of B5's previews (0 skips B5; one preview of each). At 1,000 the migration's preview did not "
        "finish within 20 minutes on a 2-core machine (README)",
    )
    parser.add_argument(
        "--b4-partitions",
        type=int,
        nargs="*",
        default=list(gate_suite.SIZES),
        help="B4's sizes in partitions, smallest first (none skips B4); the ratio is read at the largest",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the tables, write results.json and the plot; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    console = Console()
    results: list[Result] = []
    mm2: mm2_suite.Mm2Results | None = None
    settings = CopySettings(records=args.mm2_records or CopySettings.records)
    with console.status("benchmarking") as status:
        for bench in (bench_translation, bench_planning, bench_checker):
            status.update(f"running {bench.__name__}")
            results += bench()
        if args.mm2_records:
            mm2 = mm2_suite.run(settings, lambda step: status.update(f"real clusters: {step}"), args.repeats)
        walk = None
        if mm2 and args.migration:
            walk = migration_suite.run(args.out / "walk", lambda line: status.update(f"B3/B6 walk: {line}"))
        previews = [b5(args.preview_topics, 1, status.update)] if args.preview_topics else []
        gates = (
            gate_suite.b4_ratios(gate_suite.run(status.update, tuple(args.b4_partitions))) if args.b4_partitions else []
        )
    walk_ratios = (
        [migration_suite.b3_ratio(walk), migration_suite.b6_ratio(walk, mm2.b1.measured)] if mm2 and walk else []
    )
    ratios = [*(mm2.ratios if mm2 else []), *walk_ratios, *gates, *previews]
    console.print(hot_path_table(results))
    console.print(ratio_table(ratios))
    args.out.mkdir(parents=True, exist_ok=True)
    if mm2:
        plot_copy_rates(
            {f"MM2, {run.workers} worker(s)": throughput_series(run) for run in (mm2.one_worker, mm2.two_workers)},
            {"bound (raw produce into green + raw consume from blue)": ratios[0].baseline},
            args.out / "b1-copy-rate.png",
        )
    if walk:
        plot_pause_distribution(walk.pause_samples(), args.out / "b3-pauses.png")
    payload = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": settings_json(settings) if mm2 else None,
        "ratios": [ratio_json(r) for r in ratios],
        "hot_paths": [{**asdict(r), "met": r.met} for r in results],
    }
    (args.out / "results.json").write_text(json.dumps(payload, indent=2))
    plots = [args.out / name for name, made in (("b1-copy-rate.png", mm2), ("b3-pauses.png", walk)) if made]
    console.print(f"results: {args.out / 'results.json'}" + "".join(f", plot: {p}" for p in plots))
    return 0 if all(r.met for r in results) and all(r.met is not False for r in ratios) else 1


def hot_path_table(results: list[Result]) -> Table:
    """The in-process figures, each against its fixed target."""
    table = Table(title="Hot paths (absolute figures on this machine)")
    for col in ("benchmark", "value", "target", "peak MiB", "met"):
        table.add_column(col)
    for r in results:
        sign = ">=" if r.higher_is_better else "<="
        peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else ""
        met = "[green]yes[/]" if r.met else "[red]no[/]"
        table.add_row(r.name, f"{r.value:,.2f} {r.unit}", f"{sign} {r.target:,} {r.unit}", peak, met)
    return table


def ratio_table(ratios: list[Ratio]) -> Table:
    """Every ratio with both sides, its target and pass or miss, and the cause of a miss."""
    table = Table(title="Ratios, each side measured on this machine in this run")
    for col in ("#", "ratio", "measured / baseline", "value", "target", "result", "cause or note"):
        table.add_column(col, overflow="fold")
    for r in ratios:
        target = "-" if r.target is None else f"{'>=' if r.higher_is_better else '<='} {r.target:g}"
        result = {True: "[green]pass[/]", False: "[red]miss[/]", None: "info"}[r.met]
        sides = f"{r.measured:,.1f} - {r.baseline:,.1f}" if r.difference else f"{r.measured:,.0f} / {r.baseline:,.0f}"
        table.add_row(r.id, r.name, sides, f"{r.value:.3f}", target, result, r.cause)
    return table


def ratio_json(ratio: Ratio) -> dict[str, Any]:
    """A ratio as results.json holds it: both sides, the raw figures, the value and whether it met its target."""
    return {**asdict(ratio), "value": round(ratio.value, 4), "met": ratio.met}


def settings_json(settings: CopySettings) -> dict[str, Any]:
    """The real-cluster settings, MM2's under the stack config's own names."""
    return {**asdict(settings), "mm2": settings.mm2.model_dump(by_alias=True, exclude_none=True)}


def machine() -> dict[str, Any]:
    """What the figures ran on: cores, memory, Python and Java."""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kb / 2**20, 1),
        "python": platform.python_version(),
        "java": java[0] if java else "unknown",
        "kernel": platform.release(),
    }


if __name__ == "__main__":
    sys.exit(main())
