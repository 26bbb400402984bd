"""What every fault of the rehearsal's campaign is, and what it reports.

A fault belongs to one step of the walk: it runs that step's `pulumi up` itself (some
faults strike during the update) and returns what it did and how the walk recovered
(`Injection`); `scenarios.py` judges how each walk ended (`Outcome`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.local_runtime import kafka, process
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.phases import Step, config_steps

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
    reads_clusters: ClassVar[bool] = False
    """Whether the fault reads or writes blue or green itself (as anyone: PLAINTEXT walks only)."""

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


def first_line(text: str) -> str:
    """The first line of `text`, at most 200 characters (an error's gist in the report)."""
    return text.strip().splitlines()[0][:200] if text.strip() else text
