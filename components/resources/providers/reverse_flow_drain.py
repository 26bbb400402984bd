"""ReverseFlowDrain: a rollback's wait for green's records to be copied to blue and read there.

Created by the rollback that stops the green->blue flow, between producers' documents
and consumers' documents (see planning/rollback.py). Create waits, through
`operations.reverse_drain`, until its gates pass and records their verdicts; a timeout
fails the update before consumers' documents or the flow change, and the next `pulumi
up` creates it again (a failed create leaves nothing in the state). Read returns what
was recorded: the drain is an event of one update, not a thing on the clusters. The
next update, which no longer declares it, deletes that record.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from kafka_migration.operations.engine_watch import bound_to_engine
from kafka_migration.operations.reverse_drain import DrainClients, drain_reverse_flow
from kafka_migration.planning.rollback import ReverseDrain


@bound_to_engine
class ReverseFlowDrainProvider(ResourceProvider):
    """Create waits for the drain; any change of what to drain is a new drain (replace)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        drain = ReverseDrain.from_json(props["drain"])
        clients = DrainClients(green=props["client_configs"]["green"], blue=props["client_configs"]["blue"])
        verdicts = drain_reverse_flow(drain, clients)
        return CreateResult(drain.flow, {**props, "verdicts": [v.to_json() for v in verdicts]})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, dict(props))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("drain") != news.get("drain")
        return DiffResult(changes=changed, replaces=["drain"] if changed else [], delete_before_replace=True)


class ReverseFlowDrain(Resource, module="kafkamig", name="ReverseFlowDrain"):
    """The wait of one rollback (see the module docstring); `verdicts` holds its gates' last verdicts."""

    verdicts: pulumi.Output[list[dict[str, Any]]]

    def __init__(
        self,
        name: str,
        drain: ReverseDrain,
        client_configs: pulumi.Input[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ReverseFlowDrainProvider(),
            name,
            {"drain": drain.to_json(), "client_configs": client_configs, "verdicts": None},
            opts,
        )
