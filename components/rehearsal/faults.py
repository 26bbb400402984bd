"""Named faults the rehearsal injects into a live walk, each followed by what an operator does (README).

A fault belongs to one step of the walk: it runs that step's `pulumi up` itself (some
faults strike during the update) and returns what it did and how the walk recovered.
`python -m rehearsal --faults NAME,...` runs one walk per fault; `scenarios.py` judges them.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

import psutil
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from pulumi import automation as auto

from kafka_migration.config.model import ClientRole, MigrationConfig, Phase
from kafka_migration.evidence.groups import committed_offsets
from kafka_migration.local_runtime import kafka, process
from kafka_migration.local_runtime.stack_harness import GATE_REFUSAL, MigrationStack, kill_session, pulumi_up_process
from kafka_migration.operations.handoff import FAULT_HOLD_ENV
from kafka_migration.planning.naming import remote_topic
from kafka_migration.planning.phases import Step, config_steps, plan_transition

Say = Callable[[str], None]
Up = Callable[[], None]
"""The step's `pulumi up`, retried while a gate refuses (as an operator waits and retries)."""


class Outcome(StrEnum):
    """How a scenario ended: what the campaign requires is its `expected` outcome."""

    SURVIVED = "survived"
    REFUSED = "refused as expected"
    FAILED = "failed"


@dataclass(frozen=True)
class WalkHandles:
    """What a fault can reach of a running walk: the stack, its processes, its clusters."""

    cfg: MigrationConfig
    stack: MigrationStack
    project: Path
    backend: Path
    blue: kafka.KafkaNode
    blue_cluster_id: str
    routing_dir: Path
    scratch: Path
    say: Say

    def local_process_dirs(self) -> list[Path]:
        root = self.project / ".local-clusters"
        return sorted(p.parent for p in root.rglob(process.PID_FILE)) if root.exists() else []

    def connect_dir(self) -> Path:
        return next(d for d in self.local_process_dirs() if d.name.startswith("connect-"))

    def green_dir(self) -> Path:
        return next(d for d in self.local_process_dirs() if not d.name.startswith("connect-"))


@dataclass(frozen=True)
class Injection:
    """What one fault did to the walk, in the report's words."""

    fault: str
    step: str
    injected_at: float
    recovered_at: float
    action: str
    recovery: str


def _kill9(workdir: Path) -> int:
    """`kill -9` the JVM of `workdir` and wait until it is gone; returns its pid."""
    pid = process.running_pid(workdir)
    if pid is None:
        raise RuntimeError(f"no running process in {workdir} to kill")
    os.kill(pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(pid)], timeout=30)
    return pid


def wave_step(cfg: MigrationConfig, phase: Phase, wave: int = 1) -> Step:
    """The step that enters `phase` with `wave` waves of its kind moved (the phase's first step for wave 0)."""
    for step in config_steps(cfg):
        waves = step.consumer_waves if phase is Phase.CONSUMERS_SWITCHED else step.producer_waves
        if step.phase is phase and (wave == 0 or waves == wave):
            return step
    raise ValueError(f"the {cfg.strategy.value} walk has no {phase.value} step with wave {wave}")


class Fault(ABC):
    """One named scenario: the step it strikes at, what it does, what the operator does after it."""

    name: ClassVar[str]
    expected: ClassVar[Outcome] = Outcome.SURVIVED
    refusal_gate: ClassVar[str | None] = None
    """The gate that must refuse the step after this fault (expected REFUSED)."""

    @abstractmethod
    def step(self, cfg: MigrationConfig) -> Step:
        """The step whose `pulumi up` the fault takes over."""

    @abstractmethod
    def run(self, h: WalkHandles, up: Up) -> Injection:
        """Run the step's `pulumi up` with the fault injected, then recover as the README says."""

    def rollback_drills(self, cfg: MigrationConfig) -> dict[Step, int] | None:
        """Step -> steps rolled back there; None: no drills in this fault's walk."""
        return None

    @classmethod
    def summary(cls) -> str:
        """What the scenario does, in one line (the class docstring's)."""
        return (cls.__doc__ or cls.name).strip().splitlines()[0]

    def verify(self, h: WalkHandles) -> str | None:
        """After the walk: a problem the checker cannot see (a record missing from green), or None."""
        return None


class AfterUpFault(Fault):
    """A fault that strikes while traffic runs after the step's `pulumi up`, then the operator's recovery."""

    settle_s: ClassVar[float] = 5.0

    def run(self, h: WalkHandles, up: Up) -> Injection:
        up()
        time.sleep(self.settle_s)
        step = self.step(h.cfg)
        injected = time.time()
        action = self.inject(h)
        h.say(f"fault {self.name}: {action}")
        recovery = self.recover(h, up)
        h.say(f"fault {self.name}: recovered: {recovery}")
        return Injection(self.name, step.describe(), injected, time.time(), action, recovery)

    @abstractmethod
    def inject(self, h: WalkHandles) -> str: ...

    @abstractmethod
    def recover(self, h: WalkHandles, up: Up) -> str: ...


class ConnectKilled(AfterUpFault):
    """The Connect worker running MM2 killed (kill -9) while it replicates."""

    name = "connect-kill-replicating"
    outage_s: ClassVar[float] = 15.0

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        pid = _kill9(h.connect_dir())
        time.sleep(self.outage_s)
        return f"kill -9 of the Connect worker (pid {pid}); traffic ran {self.outage_s:.0f}s without MM2"

    def recover(self, h: WalkHandles, up: Up) -> str:
        up()
        return f"`pulumi up` at the same step restarted the worker (pid {process.running_pid(h.connect_dir())})"


class ConnectKilledMidHandoff(Fault):
    """The Connect worker killed (kill -9) while a consumer wave's handoff runs."""

    name = "connect-kill-handoff"

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.CONSUMERS_SWITCHED, 1)

    def run(self, h: WalkHandles, up: Up) -> Injection:
        step = self.step(h.cfg)
        groups = [c.name for c in h.cfg.clients_of(ClientRole.CONSUMER) if c.wave == 1]
        outcome: list[BaseException | None] = []
        while True:
            outcome.clear()
            worker = threading.Thread(target=_capture(h.stack.up, outcome), daemon=True)
            worker.start()
            while worker.is_alive() and not any(_paused(h.routing_dir, g) for g in groups):
                time.sleep(0.1)
            if worker.is_alive():
                break
            worker.join()
            if outcome and outcome[0] is None:
                raise RuntimeError(f"{self.name}: the wave's `pulumi up` finished before any group was paused")
            if GATE_REFUSAL not in str(outcome[0]):
                raise RuntimeError(f"{self.name}: `pulumi up` failed before the handoff: {outcome[0]}")
            time.sleep(3)  # a gate refused the step: wait and retry, as the operator would
        injected = time.time()
        pid = _kill9(h.connect_dir())
        action = f"kill -9 of the Connect worker (pid {pid}) once a wave-1 group was paused for its handoff"
        h.say(f"fault {self.name}: {action}")
        worker.join()
        first = "the interrupted `pulumi up` completed" if outcome[0] is None else f"`pulumi up` failed: {outcome[0]}"
        up()
        recovery = f"{_first_line(first)}; `pulumi up` again restarted the worker and finished the wave"
        return Injection(self.name, step.describe(), injected, time.time(), action, recovery)


def _capture(call: Callable[[], object], into: list[BaseException | None]) -> Callable[[], None]:
    def run() -> None:
        try:
            call()
            into.append(None)
        except Exception as err:  # noqa: BLE001 - handed to the fault's thread
            into.append(err)

    return run


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else text


def _paused(routing_dir: Path, group: str) -> bool:
    try:
        return bool(json.loads((routing_dir / f"{group}.json").read_text()).get("paused"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False


class BrokerRestarted(AfterUpFault):
    """A broker killed with kill -9 and started again; blue by its operator, green by `pulumi up`."""

    cluster: ClassVar[str]
    down_s: ClassVar[float] = 5.0

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.PRODUCERS_SWITCHED, 1)

    def inject(self, h: WalkHandles) -> str:
        workdir = h.blue.data_dir if self.cluster == "blue" else h.green_dir()
        pid = _kill9(workdir)
        time.sleep(self.down_s)
        return f"kill -9 of {self.cluster}'s broker (pid {pid}), down {self.down_s:.0f}s"

    def recover(self, h: WalkHandles, up: Up) -> str:
        if self.cluster == "blue":
            kafka.start(h.blue, h.blue_cluster_id)
            up()
            return "blue's broker started again by its operator (same data); `pulumi up` at the same step"
        up()
        return "`pulumi up` at the same step restarted green's broker (same data, same cluster id)"


class BlueBrokerRestarted(BrokerRestarted):
    """Blue's broker killed (kill -9) and started again, with producers on both clusters."""

    name = "blue-broker-restart"
    cluster = "blue"


class GreenBrokerRestarted(BrokerRestarted):
    """Green's broker killed (kill -9) and started again, with producers on both clusters."""

    name = "green-broker-restart"
    cluster = "green"


class BrokerPaused(AfterUpFault):
    """Blue's broker frozen (SIGSTOP) past the client and MM2 timeouts, then resumed: a partition."""

    name = "blue-broker-pause"
    paused_s: ClassVar[float] = 45.0
    """Longer than the producers' 30 s delivery timeout and the static member's 10 s session."""

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        pid = process.running_pid(h.blue.data_dir)
        if pid is None:
            raise RuntimeError("blue's broker is not running")
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(self.paused_s)
        finally:
            os.kill(pid, signal.SIGCONT)
        return f"SIGSTOP of blue's broker (pid {pid}) for {self.paused_s:.0f}s, then SIGCONT"

    def recover(self, h: WalkHandles, up: Up) -> str:
        up()
        return "none needed by hand: clients and MM2 reconnected; `pulumi up` at the same step found nothing to repair"


class UpKilled(Fault):
    """`pulumi up` killed (kill -9) in the middle of a consumer wave's handoff."""

    name = "up-kill-consumer-wave"

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.CONSUMERS_SWITCHED, 1)

    def run(self, h: WalkHandles, up: Up) -> Injection:
        step = self.step(h.cfg)
        marker = h.scratch / f"held-{uuid.uuid4().hex[:8]}"
        while True:  # the update holds after the first pause it publishes (KAFKAMIG_FAULT_HOLD_AFTER)
            update = pulumi_up_process(h.stack, h.project, h.backend, {FAULT_HOLD_ENV: f"pause:{marker}"})
            while update.poll() is None and not marker.exists():
                time.sleep(0.2)
            if marker.exists():
                break
            if update.returncode == 0:
                raise RuntimeError(f"{self.name}: the wave's `pulumi up` finished without a handoff")
            time.sleep(3)  # refused by a gate (or failed): retry as the operator would
        injected = time.time()
        os.kill(update.pid, signal.SIGKILL)
        update.wait(30)
        kill_session(update.pid)
        action = "kill -9 of `pulumi up` (and its plugins) right after it published a group's `paused: true`"
        h.say(f"fault {self.name}: {action}")
        h.stack.stack.cancel()
        up()
        recovery = "`pulumi cancel --yes` (the killed update's lock), then `pulumi up`: the handoff resumed"
        return Injection(self.name, step.describe(), injected, time.time(), action, recovery)


class RetentionWhileMm2Down(AfterUpFault):
    """Blue deletes records MM2 has not copied while MM2 is down; the next step must be refused."""

    name = "retention-while-mm2-down"
    expected = Outcome.REFUSED
    refusal_gate = "source-intact"
    topic: ClassVar[str] = "orders"

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        pid = _kill9(h.connect_dir())
        time.sleep(10)
        deleted = delete_read_records(h, self.topic)
        return (
            f"kill -9 of the Connect worker (pid {pid}); 10s later blue deleted {deleted} record(s) of "
            f"{self.topic} that every group had read and MM2 had not copied (deleteRecords: what retention does)"
        )

    def recover(self, h: WalkHandles, up: Up) -> str:
        up()
        return "`pulumi up` at the same step restarted MM2; the next step's `pulumi up` must be refused"


def delete_read_records(h: WalkHandles, topic: str) -> int:
    """Advance blue's log start of `topic` to the lowest offset any consumer group committed; returns how many."""
    conf = {"bootstrap.servers": h.blue.bootstrap_servers}
    admin = AdminClient(conf)
    readers = [c.name for c in h.cfg.clients_of(ClientRole.CONSUMER) if topic in c.topics]
    committed = [committed_offsets(admin, g, [topic], 30) for g in readers]
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
    targets, deleted = [], 0
    probe = Consumer({**conf, "group.id": f"fault-probe-{uuid.uuid4().hex[:6]}"})
    try:
        for p in partitions:
            low, _high = probe.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            upto = min((c.get((topic, p), 0) for c in committed), default=0)
            if upto > low:
                targets.append(TopicPartition(topic, p, upto))
                deleted += upto - low
    finally:
        probe.close()
    if targets:
        for future in admin.delete_records(targets, request_timeout=30).values():
            future.result(timeout=30)
    return deleted


class TopicAndPartitionAdded(AfterUpFault):
    """A topic created and a partition added on blue mid-migration."""

    name = "blue-topic-and-partition-added"
    new_topic: ClassVar[str] = "audit.late-arrivals"
    """Matches the dev stack's `audit\\..*` include, so the migration must carry it."""
    grown_topic: ClassVar[str] = "orders"
    records: ClassVar[int] = 300

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        admin = AdminClient({"bootstrap.servers": h.blue.bootstrap_servers})
        for future in admin.create_topics([NewTopic(self.new_topic, 2, 1)]).values():
            future.result(timeout=30)
        count = len(admin.list_topics(self.grown_topic, timeout=30).topics[self.grown_topic].partitions)
        for future in admin.create_partitions([NewPartitions(self.grown_topic, count + 1)]).values():
            future.result(timeout=30)
        producer = Producer({"bootstrap.servers": h.blue.bootstrap_servers, "enable.idempotence": True})
        for i in range(self.records):
            producer.produce(self.new_topic, key=f"k{i % 7}", value=f"late-{i}")
        if producer.flush(60):
            raise RuntimeError(f"{self.name}: records to {self.new_topic} not acknowledged")
        return (
            f"created {self.new_topic} (2 partitions) with {self.records} records and grew "
            f"{self.grown_topic} from {count} to {count + 1} partitions on blue"
        )

    def recover(self, h: WalkHandles, up: Up) -> str:
        try:
            up()
        except auto.CommandError as err:
            # MM2 may create the topic or the partition on green before pulumi-kafka does (README).
            cause = next((x.strip() for x in str(err).splitlines() if "kafka server:" in x), _first_line(str(err)))
            h.say(f"fault {self.name}: `pulumi up` failed: {cause}; `pulumi refresh`, then `pulumi up`")
            h.stack.stack.refresh()
            up()
            return (
                f"`pulumi up` at the same step failed ({cause}): MM2 had grown or created the topic on green "
                "first; `pulumi refresh --yes`, then `pulumi up` adopted them"
            )
        return "`pulumi up` at the same step: the new topic and partition are in the plan (the preview lists them)"

    def verify(self, h: WalkHandles) -> str | None:
        green = remote_topic(h.cfg.strategy, h.cfg.blue.alias, self.new_topic)
        found = read_all_values(green_bootstrap(h), green)
        missing = {f"late-{i}" for i in range(self.records)} - found
        return (
            f"{len(missing)} of {self.records} records of {self.new_topic} missing on green ({green})"
            if missing
            else None
        )


def green_bootstrap(h: WalkHandles) -> str:
    """Green's bootstrap servers, from the stack's outputs."""
    return h.stack.outputs()["greenBootstrapServers"]


def read_all_values(bootstrap: str, topic: str, idle_s: float = 10.0) -> set[str]:
    """Every value of `topic`, read from the beginning until nothing new arrives for `idle_s`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"fault-verify-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
        }
    )
    values: set[str] = set()
    try:
        consumer.subscribe([topic])
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and msg.value() is not None:
                values.add(msg.value().decode())
                last = time.monotonic()
    finally:
        consumer.close()
    return values


class RollbackEverywhere(Fault):
    """A rollback of one step under traffic at every step the planner allows one, then forward again."""

    name = "rollback-every-step"

    def rollback_drills(self, cfg: MigrationConfig) -> dict[Step, int]:
        order = config_steps(cfg)
        return {
            order[i]: 1 for i in range(1, len(order)) if plan_transition(cfg, order[i], order[i], order[i - 1]).allowed
        }

    def step(self, cfg: MigrationConfig) -> Step:
        """The first step with a drill (the drills themselves are in the walk's plan)."""
        return next(iter(self.rollback_drills(cfg)))

    def run(self, h: WalkHandles, up: Up) -> Injection:
        drills = self.rollback_drills(h.cfg)
        started = time.time()
        up()
        action = f"one step rolled back under traffic at each of {len(drills)} steps: " + ", ".join(
            s.describe() for s in drills
        )
        recovery = "the walk forward again after each rollback (the report's `rollbacks` lists them)"
        return Injection(self.name, self.step(h.cfg).describe(), started, time.time(), action, recovery)


FAULTS: dict[str, type[Fault]] = {
    f.name: f
    for f in (
        ConnectKilled,
        ConnectKilledMidHandoff,
        BlueBrokerRestarted,
        GreenBrokerRestarted,
        BrokerPaused,
        UpKilled,
        RetentionWhileMm2Down,
        TopicAndPartitionAdded,
        RollbackEverywhere,
    )
}
"""Every named scenario, in the order `--faults all` runs them."""


def faults_named(spec: str) -> list[Fault]:
    """`all` or a comma-separated list of names.

    Raises:
        ValueError: A name that is no scenario, with the list of names.
    """
    names = list(FAULTS) if spec.strip() == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown or not names:
        raise ValueError(f"--faults {spec!r}: unknown scenario(s) {unknown}; choose from: all, {', '.join(FAULTS)}")
    return [FAULTS[n]() for n in names]
