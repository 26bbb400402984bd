"""What the stack applied before: read from its own last outputs, so transitions can be judged."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import invoke

from kafka_migration.planning.phases import Step


@dataclass(frozen=True)
class AppliedState:
    """The stack's last successful update, as recorded in its outputs."""

    step: Step | None
    high_water: Step | None
    history: list[dict[str, Any]] = field(default_factory=list)
    """Every step entered, with its time (the phase timeline, and the soak window's start)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """All of the last outputs (gates, forced gates, blue topic ids...)."""


def _read_own_outputs(attempts: int = 20) -> dict[str, Any]:
    """The stack's last outputs.

    The file backend rewrites the checkpoint while the update starts, and a read that
    lands in the middle sees a truncated file ("failed to load checkpoint: EOF"); such
    reads are retried. Any other error is raised.
    """
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    for attempt in range(attempts):
        try:
            result = invoke("pulumi:pulumi:readStackOutputs", {"name": name})
            return dict((result.value or {}).get("outputs") or {})
        except Exception as err:
            if "failed to load checkpoint" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.25)
    return {}


def read_applied_state() -> AppliedState:
    """The stack's previous outputs (empty for a new stack), through the engine's built-in invoke."""
    outputs = _read_own_outputs()
    return AppliedState(
        step=Step.from_output(outputs.get("step")),
        high_water=Step.from_output(outputs.get("highWater")),
        history=list(outputs.get("history") or []),
        outputs=outputs,
    )
