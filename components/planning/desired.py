"""The desired state a step implies: green's topics and ACLs, MM2 flows, routing, cleanup, fence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.config.patterns import any_full_match, full_match
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.grants import CONNECT_WORKER_NAME, mm2_grants
from kafka_migration.planning.naming import mm2_internal_topics, remote_topic
from kafka_migration.planning.phases import Step, forward_flow_active, phase_order, reverse_flow_active
from kafka_migration.planning.routing import RoutingDocument, routing_table

READ_ONLY_OPERATIONS = ("Read", "Describe", "DescribeConfigs")


@dataclass(frozen=True)
class GreenTopic:
    """A topic the migration creates on green."""

    name: str
    source_topic: str
    """Blue's topic it corresponds to."""
    partitions: int
    replication_factor: int
    config: dict[str, str]
    role: str
    """`mirror` (MM2 writes blue's records here) or `local` (producers on green write here)."""


@dataclass(frozen=True)
class Flow:
    """A replication direction, by cluster alias."""

    source: str
    target: str


@dataclass(frozen=True)
class MigrationPlan:
    """Everything the resources of one step must be."""

    step: Step
    green_provisioned: bool
    topics: tuple[GreenTopic, ...]
    acls: tuple[AclEntry, ...]
    mm2_running: bool
    flows: tuple[Flow, ...]
    routing: dict[str, RoutingDocument]
    internal_topics_removed: dict[str, list[str]]
    """Cluster alias -> MM2 internal topics that must be gone (from `mm2-stopped` on)."""
    fence: tuple[AclEntry, ...]
    """DENY ACLs on blue (at `decommissioned`)."""
    blue_copy_reads: tuple[AclEntry, ...] = ()
    """Read grants on blue's copies of green's topics (`B.orders`) while green->blue runs."""


def reached(cfg: MigrationConfig, step: Step, phase: Phase) -> bool:
    """Whether `step` is at or past `phase` in this strategy's order."""
    order = phase_order(cfg.strategy)
    return phase in order and order.index(step.phase) >= order.index(phase)


def selected_topics(cfg: MigrationConfig, blue: ClusterInventory) -> list[TopicInfo]:
    """Blue's topics that migrate, by name."""
    return [t for name, t in sorted(blue.topics.items()) if cfg.topics.selects(name)]


def selection_refusal(cfg: MigrationConfig, blue: ClusterInventory) -> str | None:
    """Why the topic selection or a client's topics do not fit blue, or None when they do.

    An include pattern that selects nothing is almost always a typo; a client topic blue
    does not have would get a routing document for a topic that exists on neither side.
    """
    names = sorted(n for n in blue.topics if not any_full_match(cfg.topics.exclude, n))
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    for pattern in cfg.topics.include:
        if not any(full_match(pattern, n) and cfg.topics.selects(n) for n in names):
            return (
                f"topics.include pattern {pattern!r} selects none of blue's topics ({shown or 'blue has none'}); "
                "fix the pattern under topics.include (patterns match whole names) or remove it"
            )
    for client in cfg.clients:
        missing = [t for t in client.topics if t not in blue.topics]
        if missing:
            return (
                f"clients[{client.name!r}].topics names {', '.join(repr(t) for t in missing)}, which blue does not "
                f"have (blue's topics: {shown}); fix the client's topics"
            )
    return None


def green_topics(cfg: MigrationConfig, blue: ClusterInventory, green_brokers: int) -> list[GreenTopic]:
    """Green's copies of blue's selected topics: partitions and configs as on blue unless overridden."""
    out: list[GreenTopic] = []
    for topic in selected_topics(cfg, blue):
        override = cfg.topics.overrides.get(topic.name)
        rf = (override and override.replication_factor) or cfg.topics.replication_factor or topic.replication_factor
        rf = min(rf, green_brokers)
        config = {**topic.configs, **(override.config if override else {})}
        if "min.insync.replicas" in config:
            config["min.insync.replicas"] = str(min(int(config["min.insync.replicas"]), rf))
        partitions = (override and override.partitions) or topic.partitions
        mirror = remote_topic(cfg.strategy, cfg.blue.alias, topic.name)
        out.append(GreenTopic(mirror, topic.name, partitions, rf, config, "mirror"))
        if cfg.strategy is Strategy.BIDIRECTIONAL:
            out.append(GreenTopic(topic.name, topic.name, partitions, rf, config, "local"))
    return out


def green_acls(cfg: MigrationConfig, blue: ClusterInventory) -> list[AclEntry]:
    """Every ACL green gets while MM2 runs: the applications' (`application_acls`) and MM2's (`mm2_acls`)."""
    if not cfg.acls.enabled:
        return []
    return sorted({*application_acls(cfg, blue), *mm2_acls(cfg, blue)})


def application_acls(cfg: MigrationConfig, blue: ClusterInventory) -> list[AclEntry]:
    """Blue's application ACLs for the migrated topics and groups, as green gets them.

    - Literal topic ACLs follow the selection; under the bidirectional strategy the
      read-type ones are granted on the remote copy (`A.orders`) too.
    - A wildcard or prefixed topic ACL keeps its pattern for read-type operations, but any
      other operation (Write, Create, Delete, Alter...) is granted literally on each
      migrated topic it covers: on green the same pattern would also cover MM2's remote
      copies and internal topics, which only MM2 may write.
    - Cluster ACLs are not mirrored: a cluster-wide grant on blue (Alter, Create...) is a
      decision to take again for green, by hand.
    - Principals in `acls.excludePrincipals` and blue's own fence are skipped.
    """
    if not cfg.acls.enabled:
        return []
    selected = [t.name for t in selected_topics(cfg, blue)]
    fence = set(fence_acls(cfg, blue))
    acls: set[AclEntry] = set()
    for acl in blue.acls:
        if acl.principal in cfg.acls.exclude_principals or acl in fence or acl.resource_type == "Cluster":
            continue
        if acl.resource_type == "Topic":
            acls.update(_topic_acls_on_green(cfg, acl, selected))
        else:
            acls.add(acl)
    return sorted(acls)


def _topic_acls_on_green(cfg: MigrationConfig, acl: AclEntry, selected: list[str]) -> list[AclEntry]:
    read_only = acl.operation in READ_ONLY_OPERATIONS
    if acl.pattern_type == "Literal" and acl.resource_name != "*":
        if acl.resource_name not in selected:
            return []
        names = [acl.resource_name]
    elif read_only:
        return [acl]
    else:
        names = [n for n in selected if _covers(acl, n)]
    out = [dataclasses.replace(acl, resource_name=n, pattern_type="Literal") for n in names]
    if cfg.strategy is Strategy.BIDIRECTIONAL and read_only:
        out += [
            dataclasses.replace(
                acl, resource_name=remote_topic(cfg.strategy, cfg.blue.alias, n), pattern_type="Literal"
            )
            for n in names
        ]
    return out


def _covers(acl: AclEntry, topic: str) -> bool:
    if acl.pattern_type == "Prefixed":
        return topic.startswith(acl.resource_name)
    return acl.resource_name in ("*", topic)


def mm2_acls(cfg: MigrationConfig, blue: ClusterInventory) -> list[AclEntry]:
    """What MirrorMaker 2's principal needs on green while it runs (`grants.mm2_grants`); dropped at `mm2-stopped`."""
    if not cfg.acls.enabled:
        return []
    return mm2_grants(cfg, [t.name for t in selected_topics(cfg, blue)], cfg.green.alias)


def remote_copy_reads_on_blue(cfg: MigrationConfig, blue: ClusterInventory) -> list[AclEntry]:
    """Blue's read-type grants on a migrated topic, granted again on its copy from green on blue (`B.orders`).

    While green->blue runs (bidirectional), consumers still on blue read `orders` and
    `B.orders` (`planning.routing.routing_document`), and `B.orders` is a topic MM2 made:
    on a cluster that enforces ACLs a literal grant on `orders` does not reach it. Wildcard
    and prefixed grants are left alone (whatever they cover, they already do).
    """
    if not cfg.acls.enabled or cfg.strategy is not Strategy.BIDIRECTIONAL:
        return []
    selected = {t.name for t in selected_topics(cfg, blue)}
    return sorted(
        {
            dataclasses.replace(acl, resource_name=remote_topic(cfg.strategy, cfg.green.alias, acl.resource_name))
            for acl in blue.acls
            if acl.resource_type == "Topic"
            and acl.pattern_type == "Literal"
            and acl.resource_name in selected
            and acl.operation in READ_ONLY_OPERATIONS
            and acl.principal not in cfg.acls.exclude_principals
        }
    )


def fence_acls(cfg: MigrationConfig, blue: ClusterInventory) -> list[AclEntry]:
    """DENY WRITE on every migrated topic of blue, for every principal: nobody writes to blue again."""
    return [AclEntry("Topic", t.name, "Literal", "User:*", "*", "Write", "Deny") for t in selected_topics(cfg, blue)]


def _planned_acls(
    cfg: MigrationConfig, blue: ClusterInventory, provisioned: bool, mm2_stopped: bool
) -> tuple[AclEntry, ...]:
    """Green's ACLs: from `green-provisioned` on, MM2's until `mm2-stopped` (after that MM2 has nothing to do there)."""
    if not provisioned:
        return ()
    return tuple(application_acls(cfg, blue) if mm2_stopped else green_acls(cfg, blue))


def plan_migration(cfg: MigrationConfig, step: Step, blue: ClusterInventory, green_brokers: int) -> MigrationPlan:
    """The desired state of every managed thing at `step`."""
    provisioned = reached(cfg, step, Phase.GREEN_PROVISIONED)
    flows = []
    if forward_flow_active(cfg, step):
        flows.append(Flow(cfg.blue.alias, cfg.green.alias))
    if reverse_flow_active(cfg, step):
        flows.append(Flow(cfg.green.alias, cfg.blue.alias))
    mm2_stopped = reached(cfg, step, Phase.MM2_STOPPED)
    removed = (
        mm2_internal_topics(cfg.blue.alias, cfg.green.alias, cfg.strategy, CONNECT_WORKER_NAME) if mm2_stopped else {}
    )
    return MigrationPlan(
        step=step,
        green_provisioned=provisioned,
        topics=tuple(green_topics(cfg, blue, green_brokers)) if provisioned else (),
        acls=_planned_acls(cfg, blue, provisioned, mm2_stopped),
        mm2_running=reached(cfg, step, Phase.REPLICATING) and not mm2_stopped,
        flows=tuple(flows),
        routing=routing_table(cfg, step),
        internal_topics_removed=removed,
        fence=tuple(fence_acls(cfg, blue)) if reached(cfg, step, Phase.DECOMMISSIONED) else (),
        blue_copy_reads=tuple(remote_copy_reads_on_blue(cfg, blue)) if reverse_flow_active(cfg, step) else (),
    )
