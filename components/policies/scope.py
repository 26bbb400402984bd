"""What the rules know of a Migration: its summary, the resources it owns, its step.

A resource policy sees a resource's *inputs*; a stack policy sees every resource's *outputs*. A
component's outputs are what it passed to `register_outputs`, so the stack view of
`kafkamig:index:Migration` does not hold the summary it was registered with (`summary_props`).
The resource policies therefore record each Migration's inputs as the engine analyzes it
(`record_migration`), and the stack policies read the summary from there. The engine analyzes
a component before any of its children can register, and runs the stack policies after every
resource has been analyzed, in the same policy-pack process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from kafka_migration.config.model import Phase
from kafka_migration.planning.phases import Step
from kafka_migration.policies.inputs import MISSING, UNKNOWN, as_int, get, is_any

RUNBOOK = "README.md#rolling-back-and-refused-gates"

MIGRATION = "kafkamig:index:Migration"
BLUE_FENCE = "kafkamig:index:BlueFence"
MIRROR_CONNECTOR = "pulumi-python:dynamic/kafkamig:MirrorConnector"
CONNECT_WORKER = "pulumi-python:dynamic/kafkamig:LocalConnectWorker"
ROUTING_DOCUMENT = "pulumi-python:dynamic/kafkamig:RoutingDocument"
TOPICS_ABSENT = "pulumi-python:dynamic/kafkamig:TopicsAbsent"
KAFKA_TOPIC = "kafka:index/topic:Topic"
KAFKA_ACL = "kafka:index/acl:Acl"
KAFKA_PROVIDER = "pulumi:providers:kafka"


def with_runbook(text: str) -> str:
    """A violation message: what is wrong and how to fix it, then the runbook section."""
    return f"{text} Runbook: {RUNBOOK}"


RECORDED_MIGRATIONS: dict[str, Mapping[str, Any]] = {}
"""URN -> inputs of each Migration the engine analyzed in this process (what `summary_props` recorded)."""


def record_migration(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Remember a Migration's inputs for the stack policies (first validation of every resource policy)."""
    if args.resource_type == MIGRATION:
        RECORDED_MIGRATIONS[args.urn] = args.props


@dataclass
class MigrationScope:
    """A Migration's summary and the resources that belong to it."""

    migration: PolicyResource
    summary: Mapping[str, Any]
    members: list[PolicyResource] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[PolicyResource]:
        return [r for r in self.members if r.resource_type == resource_type]


def ancestor(resource: PolicyResource, resource_type: str) -> PolicyResource | None:
    """The nearest ancestor of `resource` of type `resource_type`, if any."""
    parent = resource.parent
    while parent is not None:
        if parent.resource_type == resource_type:
            return parent
        parent = parent.parent
    return None


def _summary(migration: PolicyResource) -> Mapping[str, Any] | None:
    if get(migration.props, "step") is not MISSING:
        return migration.props  # the summary is also among the component's outputs
    return RECORDED_MIGRATIONS.get(migration.urn)


def migration_scopes(resources: Sequence[PolicyResource]) -> list[MigrationScope]:
    """Each Migration with a known summary and its descendants (all resources when it is the only one)."""
    migrations = [r for r in resources if r.resource_type == MIGRATION]
    scopes: dict[str, MigrationScope] = {}
    for m in migrations:
        summary = _summary(m)
        if summary is not None:
            scopes[m.urn] = MigrationScope(m, summary)
    for r in resources:
        owner = ancestor(r, MIGRATION) or (migrations[0] if len(migrations) == 1 else None)
        if owner is not None and owner.urn in scopes and r is not owner:
            scopes[owner.urn].members.append(r)
    return list(scopes.values())


def no_summary(args: StackValidationArgs) -> None:
    """Mark a stack rule not applicable: no Migration summary to judge by."""
    args.not_applicable(
        f"no {MIGRATION} with its recorded summary in this stack (run with the migration program; "
        "with --target, include the Migration)"
    )


def require(summary: Mapping[str, Any], key: str, rule: str, urn: str, report: ReportViolation) -> Any:
    """A summary value the rule cannot do without; reports a violation (fail closed) when it is missing."""
    value = get(summary, key)
    if value is MISSING:
        report(
            with_runbook(
                f"The Migration input `{key}` is missing, so {rule} cannot be checked. The Migration component "
                "records it (components/migration.py summary_props): deploy the program and this policy pack "
                "from the same revision."
            ),
            urn,
        )
    return value


# --- Phases and steps -----------------------------------------------------------------------------

_GLOBAL_PHASE_ORDER = list(Phase)


def at_or_after(phase: Phase, reference: Phase) -> bool:
    """Whether `phase` comes at or after `reference` in the migration (both strategies keep this order)."""
    return _GLOBAL_PHASE_ORDER.index(phase) >= _GLOBAL_PHASE_ORDER.index(reference)


def parse_step(value: Any) -> Step | None:
    """A `{phase, producerWaves, consumerWaves}` input as a Step; UNKNOWN if part of it is; None if it is not one."""
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, Mapping):
        return None
    phase = get(value, "phase")
    producer = get(value, "producerWaves")
    consumer = get(value, "consumerWaves")
    if is_any(UNKNOWN, phase, producer, consumer):
        return UNKNOWN
    if not isinstance(phase, str):
        return None
    if phase not in {p.value for p in Phase}:
        return None
    p = 0 if producer is MISSING else as_int(producer)
    c = 0 if consumer is MISSING else as_int(consumer)
    if p is None or c is None:
        return None
    return Step(Phase(phase), p, c)
