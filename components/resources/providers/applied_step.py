"""The step a stack has completed, recorded only when everything the step changes has succeeded.

The program exports `step`, `highWater` and `history` from this resource's outputs. It
depends on the whole migration, so the engine updates it only after every other change
of the update succeeded; when any of them fails, it is not updated, and the stack keeps
the outputs of the last completed step (the next `pulumi up` then judges its move from
there, not from a step that never completed).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.operations.engine_watch import bound_to_engine

RECORDED = ("step", "high_water", "history")


@bound_to_engine
class AppliedStepProvider(ResourceProvider):
    """Pure state: create and update store the step; read returns it; delete forgets it."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("applied-step", dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, dict(props))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=any(olds.get(k) != news.get(k) for k in RECORDED))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))


class AppliedStep(Resource, module="kafkamig", name="AppliedStep"):
    """The last step this stack completed (see the module docstring)."""

    step: pulumi.Output[dict[str, Any]]
    high_water: pulumi.Output[dict[str, Any]]
    history: pulumi.Output[list[dict[str, Any]]]

    def __init__(
        self,
        name: str,
        step: dict[str, Any],
        high_water: dict[str, Any],
        history: list[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            AppliedStepProvider(), name, {"step": step, "high_water": high_water, "history": history}, opts
        )
