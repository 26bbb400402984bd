"""One rehearsal run: a local blue and green, a live workload, every phase through `pulumi up`, then the check."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.load import config_from_mapping
from config.model import ClientRole, MigrationConfig, Phase, Strategy
from evidence.clients import client_config
from evidence.collect import Collector
from evidence.inventory import read_inventory
from local_runtime import kafka
from local_runtime.paths import PROJECT_ROOT
from local_runtime.ports import free_ports
from local_runtime.process import stop_all_under
from local_runtime.stack_harness import MigrationStack
from planning.gates import active_flows
from planning.phases import Step, config_steps
from rehearsal.checker import CheckResult, check
from rehearsal.estate import seed
from rehearsal.workload import ConsumerSpec, Ledger, Workload

Say = Callable[[str], None]

CONSUMER_MIX: dict[str, ConsumerSpec] = {
    "settlement": ConsumerSpec(members=2),
    "fraud-check": ConsumerSpec(static=True),  # and `autoOffsetReset: latest` in Pulumi.dev.yaml
    "reconciler": ConsumerSpec(assign=True),
}
"""How the rehearsal runs the dev stack's consumer groups beyond one plain subscribing client each."""


@dataclass(frozen=True)
class RehearsalOptions:
    """What one run does. Rehearsal timings are shortened (soak, lag thresholds) and say so."""

    strategy: Strategy
    work_dir: Path
    rate_per_s: float = 8.0
    """Records per second per producer and topic."""
    soak_seconds: int = 20
    """The article's 24 h soak window, shortened for the rehearsal."""
    dwell_s: float = 4.0
    """Traffic time in every step before the next one."""
    rollback_drill: bool = True
    stop_after: Step | None = None
    """Stop the walk after this step (tests); None walks to `decommissioned`."""
    consumers_ignore_committed: bool = False
    """Fault injection: consumers ignore handed-over offsets (the checker must report losses)."""
    gate_wait_s: float = 180.0
    drain_s: float = 90.0


@dataclass
class PhaseSpan:
    """One step of the run in time (the phase timeline)."""

    name: str
    start: float
    end: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end, "duration": round(self.end - self.start, 1)}


@dataclass
class RunResult:
    """What a run measured (the report's `runs[]` entry)."""

    strategy: str
    phases: list[PhaseSpan] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    lag: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    check: CheckResult | None = None
    ledger: Ledger | None = None
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        totals = self.check.totals if self.check else None
        return {
            "strategy": self.strategy,
            "phases": [p.to_json() for p in self.phases],
            "produced": totals.produced if totals else 0,
            "consumed": totals.consumed if totals else 0,
            "lost": totals.lost if totals else 0,
            "duplicates": totals.duplicates if totals else 0,
            "order_violations": totals.order_violations if totals else 0,
            "max_consumer_pause_s": round(totals.max_consumer_pause_s, 2) if totals else 0.0,
            "rollbacks": self.rollbacks,
            "gates": self.gates,
            "groups": self.check.to_json()["groups"] if self.check else [],
            "duration_s": round(self.duration_s, 1),
        }


def dev_stack_config() -> dict[str, Any]:
    """The dev stack's config (Pulumi.dev.yaml) without the project prefix."""
    raw = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in raw.items()}


def rehearsal_config(opts: RehearsalOptions, blue_bootstrap: str, routing_dir: Path) -> dict[str, Any]:
    """Pulumi.dev.yaml with this run's strategy, ports and rehearsal timings."""
    cfg = dev_stack_config()
    broker, controller, rest, metrics = free_ports(4)
    cfg.update(
        strategy=opts.strategy.value,
        phase="blue-only",
        producerWaves=0,
        consumerWaves=0,
        blue={**cfg["blue"], "bootstrapServers": blue_bootstrap},
        green={**cfg["green"], "local": {**cfg["green"]["local"], "brokerPort": broker, "controllerPort": controller}},
        mm2={**cfg["mm2"], "connectRestPort": rest, "connectMetricsPort": metrics},
        # Live traffic: a few hundred records in flight is normal; the final gates still demand zero.
        gates={**cfg["gates"], "soakSeconds": opts.soak_seconds, "maxLagRecords": 500, "maxLagSeconds": 20},
        routing={"directory": str(routing_dir)},
        allowDestroy=True,
    )
    return cfg


def walk_plan(cfg: MigrationConfig, opts: RehearsalOptions) -> list[tuple[Step, bool]]:
    """Steps in order, with the rollback drill inserted: (step, is_rollback)."""
    order = config_steps(cfg)
    if opts.stop_after is not None:
        order = order[: order.index(opts.stop_after) + 1]
    plan = [(s, False) for s in order]
    if not opts.rollback_drill:
        return plan
    if cfg.strategy is Strategy.BIDIRECTIONAL:
        drill_at, back_to = Step(Phase.CONSUMERS_SWITCHED, cfg.wave_count(ClientRole.PRODUCER), 1), 1
    else:
        drill_at, back_to = Step(Phase.PRODUCERS_SWITCHED, 1, cfg.wave_count(ClientRole.CONSUMER)), 1
    steps_only = [s for s, _ in plan]
    if drill_at not in steps_only:
        return plan
    i = steps_only.index(drill_at)
    drill = [(steps_only[i - back_to], True), (drill_at, False)]
    return plan[: i + 1] + drill + plan[i + 1 :]


class LagSampler(threading.Thread):
    """Samples each running flow's total lag every few seconds, for the lag plot."""

    def __init__(self, cfg: MigrationConfig, blue_bootstrap: str, every_s: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.cfg, self.every_s = cfg, every_s
        self.collector = Collector(cfg, None, None)
        self.blue_conf = client_config(cfg.blue)
        self.step: Step | None = None
        self.series: dict[str, list[tuple[float, float]]] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every_s):
            step = self.step
            if step is None:
                continue
            try:
                blue = read_inventory(self.blue_conf, 10)
                for flow in active_flows(self.cfg, step):
                    lags = self.collector.lag_snapshot(flow, blue)
                    self.series.setdefault(flow, []).append((time.time(), float(sum(p.lag_records for p in lags))))
            except Exception:  # noqa: BLE001, S112 - a sample missed during a phase change is fine
                continue

    def stop(self) -> None:
        self._halt.set()
        self.join(30)


def _destroy(stack: MigrationStack, say: Say) -> None:
    try:
        stack.destroy()
    except Exception as err:  # noqa: BLE001 - the processes are stopped by the next cleanup regardless
        say(f"destroy failed: {err}")


def _stop_quietly(workload: Workload, say: Say) -> None:
    try:
        workload.stop(0)
    except RuntimeError as err:
        say(f"workload: {err}")


def rehearse(opts: RehearsalOptions, say: Say) -> RunResult:
    """Run one strategy end to end; every process started here is stopped before returning."""
    started = time.time()
    result = RunResult(opts.strategy.value)
    work = (opts.work_dir / opts.strategy.value).resolve()
    shutil.rmtree(work, ignore_errors=True)
    project = work / "project"
    shutil.copytree(
        PROJECT_ROOT,
        project,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".local-clusters", ".pulumi-state", "*-report", "__pycache__", ".*_cache"
        ),
    )
    (project / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    broker, controller = free_ports(2)
    blue = kafka.KafkaNode("A", work / "blue", broker, controller, heap_mb=512)
    # Every cleanup runs, in reverse order, even when an earlier one fails.
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(kafka.stop, blue)
        cleanup.callback(stop_all_under, project / ".local-clusters")
        say(f"starting blue (A) on {blue.bootstrap_servers} and seeding it")
        kafka.start(blue, kafka.new_cluster_id())
        raw = rehearsal_config(opts, blue.bootstrap_servers, work / "routing")
        cfg = config_from_mapping(raw, "rehearsal")
        seed(blue.bootstrap_servers, cfg.clients)
        stack = MigrationStack.create(project, work / "state", f"rehearsal-{opts.strategy.value}", raw)
        cleanup.callback(_destroy, stack, say)
        sampler = LagSampler(cfg, blue.bootstrap_servers)
        sampler.start()
        cleanup.callback(sampler.stop)
        consumer_groups = {c.name for c in cfg.clients_of(ClientRole.CONSUMER)}
        workload = Workload(
            cfg.clients,
            work / "routing",
            rate_per_s=opts.rate_per_s,
            consumers_ignore_committed=opts.consumers_ignore_committed,
            consumer_specs=CONSUMER_MIX,  # a group missing from Pulumi.dev.yaml fails here, loudly
        )
        cleanup.callback(_stop_quietly, workload, say)
        plan = walk_plan(cfg, opts)
        for n, (step, rollback) in enumerate(plan, 1):
            span = PhaseSpan(("rollback to " if rollback else "") + step.describe(), time.time())
            t0 = time.monotonic()
            sampler.step = None  # no sample while flows are being switched (their syncs may be deleted)
            stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
            stack.up_when_gates_pass(opts.gate_wait_s)
            took = time.monotonic() - t0
            gates = stack.outputs().get("gates") or []
            passed = sum(1 for g in gates if g.get("passed"))
            detail = f", gates {passed}/{len(gates)} passed" if gates and not rollback else ""
            say(f"[{n}/{len(plan)}] {span.name}: up {took:.1f}s{detail}")
            if rollback:
                result.rollbacks.append(
                    {
                        "from": result.phases[-1].name,
                        "to": step.describe(),
                        "at": span.start,
                        "duration": round(took, 1),
                    }
                )
            else:
                result.gates.append({"step": step.describe(), "gates": gates})
            if result.phases:
                result.phases[-1].end = span.start
            result.phases.append(span)
            sampler.step = step
            if n == 1:
                workload.start()  # routing documents exist from the first step on
                say(
                    f"workload started: {len(workload.producers)} producer(s), {len(workload.consumers)} consumer "
                    f"client(s) in {len(consumer_groups)} group(s)"
                )
            time.sleep(opts.dwell_s)
        say("stopping producers, letting consumers drain")
        workload.stop(opts.drain_s)
        result.phases[-1].end = time.time()
        result.ledger = workload.ledger
        result.check = check(workload.ledger.snapshot(), cfg.clients)
        result.lag = sampler.series
    result.duration_s = time.time() - started
    return result
