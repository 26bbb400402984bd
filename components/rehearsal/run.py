"""One rehearsal run: a local blue and green, a live workload, every phase through `pulumi up`, then the check."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.local_runtime import kafka
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.process import stop_all_under
from kafka_migration.local_runtime.project import write_project
from kafka_migration.local_runtime.stack_harness import GATE_REFUSAL, MigrationStack, engine_error_summary
from kafka_migration.planning.gates import active_flows
from kafka_migration.planning.local_processes import NodeTls
from kafka_migration.planning.phases import Step, config_steps
from kafka_migration.rehearsal.checker import CheckResult, check
from kafka_migration.rehearsal.estate import DEFAULT_TOPICS, seed
from kafka_migration.rehearsal.fault_model import Fault, Injection, WalkHandles
from kafka_migration.rehearsal.identities import Connection, Identities, secured_config, with_secrets
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import TransactionalProducerClient
from kafka_migration.rehearsal.secured_estate import SecuredEstate
from kafka_migration.rehearsal.stray import STRAY_EVERY_S, STRAY_TOPIC, StrayProducer
from kafka_migration.rehearsal.workload import ConsumerSpec, ProducerSpec, Workload

Say = Callable[[str], None]

CONSUMER_MIX: dict[str, ConsumerSpec] = {
    "settlement": ConsumerSpec(members=2),
    # And `autoOffsetReset: latest` in Pulumi.dev.yaml. It reads payments' seeded history (24 000 records
    # left, rehearsal/estate.py) at 100/s: part-way through when wave 1 hands it over, done 4-5 minutes in.
    "fraud-check": ConsumerSpec(static=True, history_per_s=100.0),
    "reconciler": ConsumerSpec(assign=True),
}
"""How the rehearsal runs the dev stack's consumer groups beyond one plain subscribing client each."""

PRODUCER_MIX: dict[str, ProducerSpec] = {
    "ledger-writer": ProducerSpec(transactional=True, abort_every=3),
}
"""Producer groups that do not run as one plain idempotent producer each."""


@dataclass(frozen=True)
class RehearsalOptions:
    """What one run does. Rehearsal timings are shortened (soak, lag thresholds) and say so."""

    strategy: Strategy
    work_dir: Path
    total_rate_per_s: float = 400.0
    """Records per second in all, split evenly over every (producer, topic) stream. On a 2-core machine the
    one-way walk ran clean at 800 with MM2's lag bounded, and at 1600 the gates held consumer wave 2 past
    `gate_wait_s`; 400 leaves room for the bidirectional strategy's second flow and for the fault campaign."""
    record_bytes: int = 1024
    """Each record's value padded to about this many bytes."""
    soak_seconds: int = 20
    """The article's 24 h soak window, shortened for the rehearsal."""
    dwell_s: float = 4.0
    """Traffic time in every step before the next one."""
    rollback_drill: bool = True
    stop_after: Step | None = None
    """Stop the walk after this step (tests); None walks to `decommissioned`."""
    consumers_ignore_committed: bool = False
    """Fault injection: consumers ignore handed-over offsets (the checker must report losses)."""
    gate_wait_s: float = 300.0
    """How long a step's `pulumi up` is retried while gates refuse it (a slow group can hold a rollback's drain)."""
    drain_s: float = 90.0
    history_per_s: float = 100.0
    """How fast the slow group of `CONSUMER_MIX` reads blue's seeded history (tests speed it up)."""
    faults: tuple[Fault, ...] = ()
    """Faults injected into this walk, each at its own step (`rehearsal/faults.py`)."""
    stray_drill: bool = True
    """At `mm2-stopped`, first a `pulumi up` with a stray producer writing to blue, which blue-idle must refuse."""
    restart_drill: bool = False
    """After `replicating`'s up, before any handoff, every consumer client restarts once on blue (a plain
    restart: commit, close, join again): the pauses a handoff's are measured against (`make bench`, B3)."""
    secure: bool = False
    """Both clusters SASL_SSL with ACLs enforced, every client logged in as its own identity
    (`rehearsal/identities.py`); PLAINTEXT (anyone may do anything) otherwise."""

    def __post_init__(self) -> None:
        plaintext_only = [f.name for f in self.faults if f.reads_clusters]
        if self.secure and plaintext_only:
            raise ValueError(
                f"secure: the faults {', '.join(plaintext_only)} read blue and green without credentials and run "
                "on PLAINTEXT clusters only; run them without --secure"
            )


@dataclass
class PhaseSpan:
    """One step of the run in time (the phase timeline)."""

    name: str
    start: float
    end: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end, "duration": round(self.end - self.start, 1)}


@dataclass(frozen=True)
class StrayCheck:
    """What `pulumi up` to `mm2-stopped` did while a stray producer still wrote to blue."""

    refused: bool
    """Refused by the blue-idle gate (anything else fails the rehearsal)."""
    line: str
    """The refusal's blue-idle line, or what happened instead."""
    records: int
    """Records the stray wrote."""


@dataclass
class RunResult:
    """What a run measured (the report's `runs[]` entry)."""

    strategy: str
    security: str = "PLAINTEXT"
    """`PLAINTEXT` (anyone may do anything) or `SASL_SSL, ACLs` (`RehearsalOptions.secure`)."""
    phases: list[PhaseSpan] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    lag: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    check: CheckResult | None = None
    ledger: Ledger | None = None
    stray: StrayCheck | None = None
    """None if the run stopped before `mm2-stopped`."""
    transactions: dict[str, dict[str, int]] = field(default_factory=dict)
    """Transactional producer -> transactions committed and aborted on purpose."""
    duration_s: float = 0.0
    injections: list[Injection] = field(default_factory=list)
    refusal: str | None = None
    """The refusal line of the gate a fault expected to refuse the walk (None: not refused)."""
    error: str | None = None
    """Why the walk stopped early (the workload was still stopped and checked)."""
    fault_problems: list[str] = field(default_factory=list)
    """What the faults' own checks found missing after the walk (records not on green)."""

    def to_json(self) -> dict[str, Any]:
        totals = self.check.totals if self.check else None
        return {
            "strategy": self.strategy,
            "security": self.security,
            "phases": [p.to_json() for p in self.phases],
            "produced": totals.produced if totals else 0,
            "consumed": totals.consumed if totals else 0,
            "lost": totals.lost if totals else 0,
            "duplicates": totals.duplicates if totals else 0,
            "order_violations": totals.order_violations if totals else 0,
            "aborted_read": totals.aborted_read if totals else 0,
            "phantom": totals.phantom if totals else 0,
            "unacknowledged": totals.unacknowledged if totals else 0,
            "producers": self.check.to_json()["producers"] if self.check else [],
            "aborted_records": len(self.ledger.snapshot().aborted) if self.ledger else 0,
            "transactions": self.transactions,
            "max_consumer_pause_s": round(totals.max_consumer_pause_s, 2) if totals else 0.0,
            "rollbacks": self.rollbacks,
            "gates": self.gates,
            "stray_producer_refused": self.stray.refused if self.stray else None,
            "stray_producer_gate": self.stray.line if self.stray else None,
            "groups": self.check.to_json()["groups"] if self.check else [],
            "duration_s": round(self.duration_s, 1),
            "faults": [asdict(i) for i in self.injections],
            "refusal": self.refusal,
            "error": self.error,
            "fault_problems": self.fault_problems,
        }


def consumer_mix(opts: RehearsalOptions) -> dict[str, ConsumerSpec]:
    """`CONSUMER_MIX` with the slow group reading history at `opts.history_per_s`."""
    return {
        name: replace(spec, history_per_s=opts.history_per_s) if spec.history_per_s else spec
        for name, spec in CONSUMER_MIX.items()
    }


DEV_STACK = Path(__file__).with_name("dev-stack.yaml")


def dev_stack_config() -> dict[str, Any]:
    """The dev stack's config (the repo's Pulumi.dev.yaml) without the project prefix."""
    return dict(yaml.safe_load(DEV_STACK.read_text()))


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


def rollback_drills(cfg: MigrationConfig) -> dict[Step, int]:
    """Step -> how many steps the drill there rolls back under traffic before walking forward again.

    Bidirectional: from the first producer wave back to `replicating` (the rollback that
    stops green->blue and waits for its drain), and from the first consumer wave back one.
    One-way: from the first producer wave back one.
    """
    producers, consumers = cfg.wave_count(ClientRole.PRODUCER), cfg.wave_count(ClientRole.CONSUMER)
    if cfg.strategy is Strategy.BIDIRECTIONAL:
        return {Step(Phase.PRODUCERS_SWITCHED, 1, 0): 2, Step(Phase.CONSUMERS_SWITCHED, producers, 1): 1}
    return {Step(Phase.PRODUCERS_SWITCHED, 1, consumers): 1}


def walk_plan(cfg: MigrationConfig, opts: RehearsalOptions) -> list[tuple[Step, bool]]:
    """Steps in order, with the rollback drills inserted: (step, is_rollback)."""
    order = config_steps(cfg)
    if opts.stop_after is not None:
        order = order[: order.index(opts.stop_after) + 1]
    drills = rollback_drills(cfg) if opts.rollback_drill else {}
    for fault in opts.faults:
        drills.update(fault.rollback_drills(cfg) or {})
    plan: list[tuple[Step, bool]] = []
    for i, step in enumerate(order):
        plan.append((step, False))
        back = drills.get(step)
        if back:
            plan.append((order[i - back], True))
            plan.extend((s, False) for s in order[i - back + 1 : i + 1])
    return plan


def stray_interval(idle_window_s: float) -> float:
    """The stray's interval: `STRAY_EVERY_S` if shorter than the blue-idle window (so every window holds a write)."""
    return STRAY_EVERY_S if idle_window_s > STRAY_EVERY_S else idle_window_s / 2


def up_with_stray_producer(stack: MigrationStack, blue: Connection, idle_window_s: float) -> StrayCheck:
    """`pulumi up` once while a stray producer writes to blue; it must be refused by the blue-idle gate.

    Raises:
        auto.CommandError: The `up` failed for another reason than a gate refusal.
    """
    with StrayProducer(blue, stray_interval(idle_window_s)) as stray:
        stray.wait_first()
        try:
            stack.up()
        except auto.CommandError as err:
            message = str(err)
            if GATE_REFUSAL not in message:
                raise
            line = next((x.strip() for x in message.splitlines() if "blue-idle:" in x), "")
            refusal = next(x.strip() for x in message.splitlines() if GATE_REFUSAL in x)
            return StrayCheck(bool(line), line or f"refused without blue-idle: {refusal}", stray.sent)
    return StrayCheck(False, "pulumi up was not refused: MM2 stopped while blue was still written", stray.sent)


class LagSampler(threading.Thread):
    """Samples each running flow's total lag every few seconds, for the lag plot."""

    def __init__(self, cfg: MigrationConfig, every_s: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.cfg, self.every_s = cfg, every_s
        self.collector = Collector(cfg, None)
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


def up_expecting_refusal(stack: MigrationStack, gate: str, timeout_s: float) -> str | None:
    """`pulumi up` until `gate` refuses it (other refusals are waited out); its refusal line, or None if it went in.

    Raises:
        auto.CommandError: The `up` failed for another reason, or other gates still refused at timeout.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stack.up()
            return None
        except auto.CommandError as err:
            message = str(err)
            line = next((x.strip() for x in message.splitlines() if x.strip().startswith(f"{gate}:")), None)
            if GATE_REFUSAL in message and line:
                return line
            if GATE_REFUSAL not in message or time.monotonic() > deadline:
                raise
            time.sleep(3)


def _walk(
    opts: RehearsalOptions,
    h: WalkHandles,
    workload: Workload,
    sampler: LagSampler,
    result: RunResult,
    secured: SecuredEstate | None,
) -> None:
    """Every step of the plan under traffic, the faults injected at theirs; stops early at an expected refusal."""
    stack, say = h.stack, h.say
    plan = walk_plan(h.cfg, opts)
    faults = {f.step(h.cfg): f for f in opts.faults}
    if len(faults) < len(opts.faults):
        raise ValueError(f"two faults strike at the same step: {[f.name for f in opts.faults]}; run them apart")
    expect_refusal: str | None = None
    consumer_groups = {c.name for c in h.cfg.clients_of(ClientRole.CONSUMER)}
    for n, (step, rollback) in enumerate(plan, 1):
        span = PhaseSpan(("rollback to " if rollback else "") + step.describe(), time.time())
        sampler.step = None  # no sample while flows are being switched (their syncs may be deleted)
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        if expect_refusal and not rollback:
            result.refusal = up_expecting_refusal(stack, expect_refusal, opts.gate_wait_s)
            verdict = result.refusal or f"NOT refused by {expect_refusal}"
            say(f"[{n}/{len(plan)}] {step.describe()}: {verdict}")
            result.phases[-1].end = time.time()
            return
        if step.phase is Phase.MM2_STOPPED and not rollback and opts.stray_drill:
            stray: Connection = (
                secured.writer_of(STRAY_TOPIC, h.blue.bootstrap_servers) if secured else h.blue.bootstrap_servers
            )
            result.stray = up_with_stray_producer(stack, stray, h.cfg.gates.idle_window_seconds)
            verdict = "refused" if result.stray.refused else "NOT REFUSED (the rehearsal fails)"
            say(f"{step.describe()} with a stray producer on blue: {verdict}: {result.stray.line}")
        t0 = time.monotonic()
        fault = None if rollback else faults.pop(step, None)
        if fault is not None:

            def up() -> None:
                stack.up_when_gates_pass(opts.gate_wait_s)

            result.injections.append(fault.run(h, up))
            expect_refusal = fault.refusal_gate
        else:
            stack.up_when_gates_pass(opts.gate_wait_s)
        if secured:
            secured.after_up(step)
        took = time.monotonic() - t0
        gates = stack.outputs().get("gates") or []
        passed = sum(1 for g in gates if g.get("passed"))
        detail = f", gates {passed}/{len(gates)} passed" if gates and not rollback else ""
        say(f"[{n}/{len(plan)}] {span.name}: up {took:.1f}s{detail}")
        if rollback:
            result.rollbacks.append(
                {"from": result.phases[-1].name, "to": step.describe(), "at": span.start, "duration": round(took, 1)}
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
        elif opts.restart_drill and (step, rollback) == (Step(Phase.REPLICATING), False):
            workload.restart_consumers()
            say(f"every consumer client restarted on blue ({len(workload.consumers)}): the baseline of a handoff")
        time.sleep(opts.dwell_s)


def _fault_problems(faults: tuple[Fault, ...], h: WalkHandles) -> list[str]:
    problems = []
    for fault in faults:
        try:
            problem = fault.verify(h)
        except Exception as err:  # noqa: BLE001 - a check that cannot run is a problem to report
            problem = f"{fault.name}: its check failed: {err}"
        if problem:
            problems.append(problem)
    return problems


def rehearse(opts: RehearsalOptions, say: Say) -> RunResult:
    """Run one strategy end to end; every process started here is stopped before returning."""
    started = time.time()
    result = RunResult(opts.strategy.value, "SASL_SSL, ACLs" if opts.secure else "PLAINTEXT")
    work = (opts.work_dir / opts.strategy.value).resolve()
    shutil.rmtree(work, ignore_errors=True)
    project = work / "project"
    write_project(project)
    broker, controller = free_ports(2)
    blue_bootstrap = f"127.0.0.1:{broker}"
    raw = rehearsal_config(opts, blue_bootstrap, work / "routing")
    identities = (
        Identities.generate(work / "ca.pem", config_from_mapping(raw, "rehearsal").clients) if opts.secure else None
    )
    secrets = identities.secret_config() if identities else {}
    if identities:
        raw = secured_config(raw, identities)
    cfg = config_from_mapping(with_secrets(raw, secrets), "rehearsal")
    tls = NodeTls(identities.ca_file, work / "blue" / "tls") if identities else None
    blue = kafka.KafkaNode("A", work / "blue", broker, controller, heap_mb=512, tls=tls)
    secured = SecuredEstate(identities, cfg) if identities else None
    # Every cleanup runs, in reverse order, even when an earlier one fails.
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(kafka.stop, blue)
        cleanup.callback(stop_all_under, project / ".local-clusters")
        say(f"starting blue (A) on {blue.bootstrap_servers}{' (SASL_SSL, ACLs enforced)' if tls else ''}, seeding it")
        blue_cluster_id = kafka.new_cluster_id()
        kafka.start(blue, blue_cluster_id, users=identities.passwords if identities else None)
        seed(kafka.operator_config(blue), cfg.clients)
        if secured:
            secured.grant_blue(blue, [t.name for t in DEFAULT_TOPICS if cfg.topics.selects(t.name)])
        stack = MigrationStack.create(project, work / "state", f"rehearsal-{opts.strategy.value}", raw, secrets)
        cleanup.callback(_destroy, stack, say)
        sampler = LagSampler(cfg)
        sampler.start()
        cleanup.callback(sampler.stop)
        workload = Workload(
            cfg.clients,
            work / "routing",
            total_rate_per_s=opts.total_rate_per_s,
            record_bytes=opts.record_bytes,
            consumers_ignore_committed=opts.consumers_ignore_committed,
            consumer_specs=consumer_mix(opts),  # a group missing from Pulumi.dev.yaml fails here, loudly
            producer_specs=PRODUCER_MIX,
            credentials=secured.credentials if secured else None,
        )
        cleanup.callback(_stop_quietly, workload, say)
        handles = WalkHandles(cfg, stack, project, work / "state", blue, blue_cluster_id, work / "routing", work, say)
        try:
            _walk(opts, handles, workload, sampler, result, secured)
            if result.phases and not result.phases[-1].end:
                result.phases[-1].end = time.time()  # the walk is done: the workload's drain is no step's time
        except Exception as err:  # noqa: BLE001 - the run is still checked; the report says where it stopped
            step = result.phases[-1].name if result.phases else "the first step"
            saved = work / "walk-error.txt"
            saved.write_text(str(err))
            summary = engine_error_summary(str(err))
            result.error = f"after {step}: {type(err).__name__} (all of it in {saved}): {summary}"
            say(f"walk stopped: {result.error}")
        say("stopping producers, letting consumers drain")
        try:
            workload.stop(opts.drain_s)
        except (RuntimeError, TimeoutError) as err:  # the check below still shows what the clients recorded
            result.error = "; ".join(filter(None, [result.error, f"stopping the workload: {err}"]))
            say(f"workload: {err}")
        result.transactions = {
            p.name: {"committed": p.committed, "aborted": p.aborted}
            for p in workload.producers
            if isinstance(p, TransactionalProducerClient)
        }
        if result.phases and not result.phases[-1].end:  # the walk stopped in this step
            result.phases[-1].end = time.time()
        result.ledger = workload.ledger
        result.check = check(workload.ledger.snapshot(), cfg.clients)
        result.lag = sampler.series
        result.fault_problems = _fault_problems(opts.faults, handles)
    result.duration_s = time.time() - started
    return result
