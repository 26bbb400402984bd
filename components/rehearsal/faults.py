"""Named faults the rehearsal injects into a live walk, each followed by what an operator does (README).

A fault belongs to one step of the walk: it runs that step's `pulumi up` itself (some
faults strike during the update) and returns what it did and how the walk recovered.
`kafka-migration rehearsal --faults NAME,...` runs one walk per fault; `scenarios.py` judges them.

The faults themselves are in `process_faults` and `data_faults`, what they share in
`fault_model`; this module names every scenario.
"""

from __future__ import annotations

import time

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.phases import Step, config_steps, plan_transition
from kafka_migration.rehearsal.data_faults import RetentionWhileMm2Down, TopicAndPartitionAdded
from kafka_migration.rehearsal.fault_model import Fault, Injection, Up, WalkHandles
from kafka_migration.rehearsal.process_faults import (
    BlueBrokerRestarted,
    BrokerPaused,
    ConnectKilled,
    ConnectKilledMidHandoff,
    GreenBrokerRestarted,
    UpKilled,
)


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
