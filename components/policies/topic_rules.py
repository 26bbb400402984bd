"""The rules that protect topics' data: green as durable as blue, blue kept while clients use it.

production-replication-factors keeps MM2's, Connect's and green's topics replicated on a production
stack; no-blue-deletion-while-routed keeps blue's topics while any client group still routes there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from kafka_migration.config.patterns import any_full_match
from kafka_migration.config.selection import DEFAULT_TOPIC_EXCLUDES
from kafka_migration.policies.connectors import connectors
from kafka_migration.policies.inputs import UNKNOWN, as_bool, as_int, get, items, keys
from kafka_migration.policies.scope import (
    BLUE_FENCE,
    CONNECT_WORKER,
    KAFKA_ACL,
    KAFKA_TOPIC,
    TOPICS_ABSENT,
    ancestor,
    migration_scopes,
    no_summary,
    require,
    with_runbook,
)

MIN_PRODUCTION_REPLICATION_FACTOR = 2
MIN_ISR = "min.insync.replicas"


# --- production-replication-factors ---------------------------------------------------------------


def _blue_topic(name: str, blue_topics: Any, blue_alias: Any) -> str | None:
    """The blue topic a green topic copies: `orders` and `A.orders` both come from blue's `orders`."""
    if name in keys(blue_topics):
        return name
    if isinstance(blue_alias, str) and name.startswith(f"{blue_alias}."):
        base = name[len(blue_alias) + 1 :]
        if base in keys(blue_topics):
            return base
    return None


def _check_topic(topic: PolicyResource, summary: Mapping[str, Any], report: ReportViolation) -> None:
    name = get(topic.props, "name")
    if not isinstance(name, str):
        return
    blue_name = _blue_topic(name, get(summary, "blueTopics"), get(summary, "blueAlias"))
    if blue_name is None:
        return
    blue = get(summary, "blueTopics", blue_name)
    blue_rf = as_int(get(blue, "replicationFactor"))
    green_rf = as_int(get(topic.props, "replicationFactor"))
    if blue_rf is not None and green_rf is not None and green_rf < blue_rf:
        report(
            with_runbook(
                f"Green topic {name} has replicationFactor {green_rf}, lower than blue's {blue_name} "
                f"({blue_rf}): green would lose data that blue survives. Give green at least {blue_rf} brokers "
                f"(green.brokers caps the factor) and set topics.replicationFactor (or "
                f"topics.overrides.{blue_name}.replicationFactor) to at least {blue_rf}."
            ),
            topic.urn,
        )
    blue_isr = as_int(get(blue, "minInsyncReplicas"))
    green_isr_value = get(topic.props, "config", MIN_ISR)
    if blue_isr is None or green_isr_value is UNKNOWN or get(topic.props, "config") is UNKNOWN:
        return
    green_isr = as_int(green_isr_value)
    if green_isr is None or green_isr < blue_isr:
        shown = "is not set (the broker default applies)" if green_isr is None else f"is {green_isr}"
        report(
            with_runbook(
                f"Green topic {name}: {MIN_ISR} {shown}, lower than blue's {blue_name} ({blue_isr}), so green "
                f"acknowledges writes with fewer copies. Set topics.overrides.{blue_name}.config."
                f'"{MIN_ISR}": "{blue_isr}" (it is capped by the replication factor, so raise that too).'
            ),
            topic.urn,
        )


def _low(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number < MIN_PRODUCTION_REPLICATION_FACTOR else None


def validate_production_replication_factors(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A production stack keeps MM2's internal topics on >= 2 brokers and green's topics as durable as blue's."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        no_summary(args)
    minimum = MIN_PRODUCTION_REPLICATION_FACTOR
    fix_internal = (
        f"set mm2.internalTopicReplicationFactor: 3 (at least {minimum}) and run green with at least that many "
        "brokers (green.brokers)."
    )
    for scope in scopes:
        if as_bool(get(scope.summary, "production")) is not True:
            continue
        low = _low(get(scope.summary, "internalTopicReplicationFactor"))
        if low is not None:
            report_violation(
                with_runbook(
                    f"mm2.internalTopicReplicationFactor is {low} on a production stack: MM2's checkpoints, "
                    f"offset-syncs and heartbeats would live on a single broker; {fix_internal}"
                ),
                scope.migration.urn,
            )
        for c in connectors(scope.members):
            for key, value in items(c.config):
                low = _low(value) if key.endswith(".topic.replication.factor") else None
                if low is not None:
                    report_violation(
                        with_runbook(
                            f'Connector {c.name}: config["{key}"] is {low} on a production stack; {fix_internal}'
                        ),
                        c.resource.urn,
                    )
        for worker in scope.of_type(CONNECT_WORKER):
            low = _low(get(worker.props, "storage_replication_factor"))
            if low is not None:
                report_violation(
                    with_runbook(
                        f"The Connect worker's storage topics (configs, offsets, status) have replication factor "
                        f"{low} on a production stack (mm2.internalTopicReplicationFactor capped by green.brokers); "
                        f"{fix_internal}"
                    ),
                    worker.urn,
                )
        for topic in scope.of_type(KAFKA_TOPIC):
            _check_topic(topic, scope.summary, report_violation)


# --- no-blue-deletion-while-routed ----------------------------------------------------------------


def is_internal_topic(topic: str) -> bool:
    """Kafka's, Connect's and MM2's own topics (never migrated; MM2's are removed at mm2-stopped)."""
    return any_full_match(DEFAULT_TOPIC_EXCLUDES, topic)


def _under_blue_fence(resource: PolicyResource) -> bool:
    return ancestor(resource, BLUE_FENCE) is not None or f"{BLUE_FENCE}$" in resource.urn


def _blue_fence_acl(resource: PolicyResource) -> bool:
    permission, operation = get(resource.props, "aclPermissionType"), get(resource.props, "aclOperation")
    return (
        isinstance(permission, str)
        and isinstance(operation, str)
        and permission.lower() == "deny"
        and operation.lower() in ("write", "all")
        and _under_blue_fence(resource)
    )


def validate_no_blue_deletion_while_routed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Blue's topics are neither deleted nor fenced while a client group still routes to blue."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        no_summary(args)
    rule = "no-blue-deletion-while-routed"
    for scope in scopes:
        known_blue = get(scope.summary, "blueAlias")
        deletions = []
        for r in scope.of_type(TOPICS_ABSENT):
            cluster, topics = get(r.props, "cluster"), get(r.props, "topics")
            if isinstance(topics, str) or not isinstance(topics, Sequence) or cluster is UNKNOWN:
                continue
            if isinstance(known_blue, str) and cluster != known_blue:
                continue
            names = [t for i in range(len(topics)) if isinstance(t := get(topics, i), str)]
            application = sorted(t for t in names if not is_internal_topic(t))
            if application:
                deletions.append((r, application))
        fences = [r for r in scope.of_type(KAFKA_ACL) if _blue_fence_acl(r)]
        if not deletions and not fences:
            continue
        blue = require(scope.summary, "blueAlias", rule, scope.migration.urn, report_violation)
        routing = require(scope.summary, "clientRouting", rule, scope.migration.urn, report_violation)
        if not isinstance(blue, str) or not isinstance(routing, Mapping):
            continue
        on_blue = sorted(g for g, entry in items(routing) if get(entry, "cluster") == blue)
        if not on_blue:
            continue
        groups = ", ".join(on_blue)
        fix = (
            "Move every client group to green first (producerWaves and consumerWaves up to their last wave); blue is "
            "fenced only at phase decommissioned, and only MM2's internal topics (mm2-*, *.internal, heartbeats) are "
            "deleted before."
        )
        for r, application in deletions:
            report_violation(
                with_runbook(
                    f"{r.name} would delete topics {', '.join(application)} from blue ({blue}) while client "
                    f"groups {groups} still route to blue. {fix}"
                ),
                r.urn,
            )
        for acl in fences:
            topic = get(acl.props, "aclResourceName")
            report_violation(
                with_runbook(
                    f"BlueFence ACL {acl.name} denies writes to {topic if isinstance(topic, str) else 'a topic'} on "
                    f"blue ({blue}) while client groups {groups} still route to blue, whose writes would fail. {fix}"
                ),
                acl.urn,
            )
