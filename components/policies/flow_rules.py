"""The rules on MirrorMaker 2's flows: no identity loop, and no flow back to blue once clients left it.

An identity-named flow both ways copies records back and forth forever; a green->blue flow left
running after reverse-disabled keeps copying green's new records to a blue nobody reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ReportViolation, StackValidationArgs

from kafka_migration.config.model import Phase
from kafka_migration.config.patterns import PatternError, full_match
from kafka_migration.planning.naming import ConnectorKind
from kafka_migration.planning.phases import Step
from kafka_migration.policies.connectors import Connector, connectors
from kafka_migration.policies.inputs import MISSING, as_bool, as_int, get
from kafka_migration.policies.scope import (
    MigrationScope,
    at_or_after,
    migration_scopes,
    no_summary,
    parse_step,
    require,
    with_runbook,
)

MM2_DEFAULT_TOPICS = ".*"
MM2_DEFAULT_TOPICS_EXCLUDE = r".*[\-\.]internal, .*\.replica, __.*"


# --- no-identity-loop -----------------------------------------------------------------------------

_NAME_LIKE = re.compile(r"[A-Za-z0-9._-]+")


def _patterns(value: Any, default: str) -> list[str] | None:
    if value is MISSING:
        value = default
    if not isinstance(value, str):
        return None
    return [p.strip() for p in value.split(",") if p.strip()]


def _selects(include: list[str], exclude: list[str], topic: str) -> bool:
    """MM2's selection (`patterns.full_match`); a pattern outside the shared subset selects only its own text.

    Such a pattern is not name-like, so `topics_overlap` still counts its selection as one that may overlap.
    """

    def matches(patterns: list[str]) -> bool:
        for p in patterns:
            try:
                if full_match(p, topic):
                    return True
            except PatternError:
                if p == topic:
                    return True
        return False

    return matches(include) and not matches(exclude)


def topics_overlap(a: tuple[list[str], list[str]], b: tuple[list[str], list[str]]) -> tuple[bool, str]:
    """Whether two (include, exclude) topic selections may share a topic, and the evidence.

    A topic named in one selection and selected by the other proves an overlap. Selections
    made only of plain names and no such topic are disjoint; any other pair of regexes may
    overlap, and counts as overlapping (MM2's selections cannot be compared exactly).
    """
    candidates = [p for p in (*a[0], *b[0]) if _NAME_LIKE.fullmatch(p)]
    for topic in dict.fromkeys(candidates):
        if _selects(*a, topic) and _selects(*b, topic):
            return True, f"topic {topic}"
    if not a[0] or not b[0]:
        return False, ""
    if all(_NAME_LIKE.fullmatch(p) for p in (*a[0], *b[0])):
        return False, ""
    return True, f"topic patterns {','.join(a[0])} and {','.join(b[0])} may overlap"


def _selection(c: Connector) -> tuple[list[str], list[str]] | None:
    include = _patterns(get(c.config, "topics"), MM2_DEFAULT_TOPICS)
    exclude = _patterns(get(c.config, "topics.exclude"), MM2_DEFAULT_TOPICS_EXCLUDE)
    return None if include is None or exclude is None else (include, exclude)


def _identity_source(c: Connector) -> bool:
    if c.kind != ConnectorKind.SOURCE.value or c.enabled is not True or c.flow is None:
        return False
    policy = get(c.config, "replication.policy.class")
    return isinstance(policy, str) and policy.endswith("IdentityReplicationPolicy")


def validate_no_identity_loop(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Enabled source connectors in both directions with identity names over shared topics loop forever."""
    sources = [c for c in connectors(args.resources) if _identity_source(c)]
    for i, x in enumerate(sources):
        for y in sources[i + 1 :]:
            if x.flow is None or y.flow is None or x.flow != (y.flow[1], y.flow[0]):
                continue
            ours, theirs = _selection(x), _selection(y)
            if ours is None or theirs is None:
                continue  # topics unknown until the update
            overlap, evidence = topics_overlap(ours, theirs)
            if overlap:
                report_violation(
                    with_runbook(
                        f"{x.name} and {y.name} are both enabled with IdentityReplicationPolicy over the same topics "
                        f"({evidence}): identity names cannot tell a replicated record from a local one, so records "
                        "would loop: copied back and forth between the clusters forever. Replicate one way only "
                        "(strategy: one-way: blue->green keeping topic names), or use strategy: bidirectional, whose "
                        "DefaultReplicationPolicy prefixes remote topics with the source alias (orders -> "
                        "<blue alias>.orders) and so stops cycles."
                    ),
                    y.resource.urn,
                )


# --- reverse-flow-disabled-promptly (and its advisory) --------------------------------------------


@dataclass(frozen=True)
class _FlowView:
    step: Step
    blue: str
    green: str
    reverse_in_flows: bool
    running_reverse: list[Connector]


def _flow_view(scope: MigrationScope, rule: str, report: ReportViolation) -> _FlowView | None:
    urn = scope.migration.urn
    step_value = require(scope.summary, "step", rule, urn, report)
    blue = require(scope.summary, "blueAlias", rule, urn, report)
    green = require(scope.summary, "greenAlias", rule, urn, report)
    step = parse_step(step_value)
    if not isinstance(step, Step) or not isinstance(blue, str) or not isinstance(green, str):
        return None
    flows = get(scope.summary, "flows")
    reverse_in_flows = as_bool(get(flows, f"{green}->{blue}")) is True
    running = [
        c
        for c in connectors(scope.members)
        if c.enabled is True and c.flow is not None and c.flow[0] == green and c.kind is not None
    ]
    return _FlowView(step, blue, green, reverse_in_flows, running)


def validate_reverse_flow_disabled(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """From reverse-disabled on, nothing replicates from green back to blue."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        no_summary(args)
    for scope in scopes:
        view = _flow_view(scope, "reverse-flow-disabled-promptly", report_violation)
        if view is None or not at_or_after(view.step.phase, Phase.REVERSE_DISABLED):
            continue
        reverse = f"{view.green}->{view.blue}"
        fix = (
            f"From reverse-disabled on, every client group reads green and nothing may flow back: {reverse} would "
            "keep copying green's new records to blue. The migration program switches the flow off at phase "
            "reverse-disabled, so an enabled one comes from a changed plan or a hand-made connector: remove it, or "
            "re-run `pulumi up` with the unmodified program at phase reverse-disabled; if clients still need blue, "
            "roll back to phase consumers-switched instead."
        )
        if view.reverse_in_flows:
            report_violation(
                with_runbook(f"The Migration still enables {reverse} at {view.step.describe()}. {fix}"),
                scope.migration.urn,
            )
        for c in view.running_reverse:
            report_violation(
                with_runbook(f"Connector {c.name} (flow {reverse}) is enabled at {view.step.describe()}. {fix}"),
                c.resource.urn,
            )


def validate_reverse_flow_disable_next(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Advisory: once every consumer wave is on green, the next step should switch B->A off."""
    for scope in migration_scopes(args.resources):
        view = _flow_view(scope, "reverse-flow-disable-next", lambda *_: None)
        if view is None or view.step.phase is not Phase.CONSUMERS_SWITCHED:
            continue
        total = as_int(get(scope.summary, "consumerWavesTotal"))
        if total is None or view.step.consumer_waves < total:
            continue
        if view.reverse_in_flows or view.running_reverse:
            reverse = f"{view.green}->{view.blue}"
            report_violation(
                with_runbook(
                    f"Every consumer wave is switched (consumerWaves={view.step.consumer_waves} of {total}) and "
                    f"{reverse} still runs, copying green's new records back to blue; disable it promptly: next "
                    "step reverse-disabled (set phase: reverse-disabled)."
                ),
                scope.migration.urn,
            )
