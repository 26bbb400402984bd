"""Faults that kill or freeze a process of a live walk: the Connect worker, a broker, `pulumi up` itself.

Each is followed by what an operator does about it (README): mostly `pulumi up` again at the
same step, which restarts what the stack owns.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import psutil

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.local_runtime import kafka, process
from kafka_migration.local_runtime.stack_harness import (
    GATE_REFUSAL,
    engine_error_summary,
    kill_session,
    pulumi_up_process,
)
from kafka_migration.operations.handoff import FAULT_HOLD_ENV
from kafka_migration.planning.phases import Step
from kafka_migration.rehearsal.fault_model import AfterUpFault, Fault, Injection, Up, WalkHandles, first_line, wave_step


def kill9(workdir: Path) -> int:
    """`kill -9` the JVM of `workdir` and wait until it is gone; returns its pid."""
    pid = process.running_pid(workdir)
    if pid is None:
        raise RuntimeError(f"no running process in {workdir} to kill")
    os.kill(pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(pid)], timeout=30)
    return pid


class ConnectKilled(AfterUpFault):
    """The Connect worker running MM2 killed (kill -9) while it replicates."""

    name = "connect-kill-replicating"
    outage_s: ClassVar[float] = 15.0

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        pid = kill9(h.connect_dir())
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
        pid = kill9(h.connect_dir())
        action = f"kill -9 of the Connect worker (pid {pid}) once a wave-1 group was paused for its handoff"
        h.say(f"fault {self.name}: {action}")
        worker.join()
        first = "the interrupted `pulumi up` completed" if outcome[0] is None else f"`pulumi up` failed: {outcome[0]}"
        up()
        recovery = f"{first_line(first)}; `pulumi up` again restarted the worker and finished the wave"
        return Injection(self.name, step.describe(), injected, time.time(), action, recovery)


def _capture(call: Callable[[], object], into: list[BaseException | None]) -> Callable[[], None]:
    def run() -> None:
        try:
            call()
            into.append(None)
        except Exception as err:  # noqa: BLE001 - handed to the fault's thread
            into.append(err)

    return run


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
        pid = kill9(workdir)
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
    refused_for_at_most_s: ClassVar[float] = 300.0
    """How long gates may refuse the wave before the fault gives up (the walk's own `gate_wait_s`)."""

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.CONSUMERS_SWITCHED, 1)

    def run(self, h: WalkHandles, up: Up) -> Injection:
        step = self.step(h.cfg)
        run = uuid.uuid4().hex[:8]
        marker, log = h.scratch / f"held-{run}", h.scratch / f"up-kill-{run}.log"
        deadline = time.monotonic() + self.refused_for_at_most_s
        while True:  # the update holds after the first pause it publishes (KAFKAMIG_FAULT_HOLD_AFTER)
            update = pulumi_up_process(h.stack, h.project, h.backend, {FAULT_HOLD_ENV: f"pause:{marker}"}, log)
            while update.poll() is None and not marker.exists():
                time.sleep(0.2)
            if marker.exists():
                break
            if update.returncode == 0:
                raise RuntimeError(f"{self.name}: the wave's `pulumi up` finished without a handoff")
            said = log.read_text(errors="replace")
            if GATE_REFUSAL not in said or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: the wave's `pulumi up` failed before any group was paused "
                    f"(all of it in {log}): {engine_error_summary(said)}"
                )
            time.sleep(3)  # a gate refused the step: wait and retry, as the operator would
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
