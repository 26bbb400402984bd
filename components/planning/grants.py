"""What each identity of the migration needs on each cluster, as ACLs: the least privilege, literal where known.

Two identities per cluster (`config.clusters.SecuritySpec`):

- MM2's (`security.mm2`, else the admin one). On green the stack grants it (`mm2_grants`
  through the ACL mirror) while MM2 runs, and removes it at `mm2-stopped`; on blue an
  operator grants it once (`blue_grants`, also printed in the README).
- The admin identity (`security.username`): what the stack reads and changes. On blue:
  read the migrated topics and groups, create the fence at `decommissioned`, delete MM2's
  internal topics at `mm2-stopped` (`blue_grants`). On green it owns what the stack
  manages (topics, ACLs, offsets), which a cluster's owner grants.

Consumer groups are `consumerGroups` regexes: a pattern that is a plain name becomes a
literal grant on that group, any other pattern a grant on every group (`*`).
"""

from __future__ import annotations

import re

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.planning.naming import mm2_internal_topics, remote_topic

CONNECT_WORKER_NAME = "migration"
"""Name of the Connect worker (its group and storage topics are derived from it)."""

TARGET_TOPIC_OPERATIONS = ("Create", "Write", "Describe", "DescribeConfigs", "Alter", "AlterConfigs")
"""MM2, on each topic it copies into: create it if missing, add partitions, sync configs, write."""
SOURCE_TOPIC_OPERATIONS = ("Read", "Describe", "DescribeConfigs")
"""MM2, on each topic it copies from."""
INTERNAL_TOPIC_OPERATIONS = ("Create", "Read", "Write", "Describe", "DescribeConfigs")
"""MM2, on its own topics (offset-syncs, checkpoints, heartbeats) and its Connect worker's."""
ADMIN_BLUE_TOPIC_OPERATIONS = ("Read", "Describe", "DescribeConfigs")
"""The admin identity, on blue's migrated topics: inventory, parity and lag reads."""
ADMIN_BLUE_INTERNAL_OPERATIONS = ("Create", "Read", "Delete", "Describe", "DescribeConfigs")
"""The admin identity, on MM2's topics on blue: made ahead of MM2 (offset-syncs), read (the lag gates read the
offset-syncs; the inventory reads the configs of every topic it sees), deleted at mm2-stopped."""
TOOL_GROUP_PREFIX = "kafka-migration-"
"""The groups of the stack's own readers (gates, status): they assign partitions and never commit, but a group
id is what the Kafka clients read with, and finding its coordinator takes Describe on it."""
ADMIN_BLUE_GROUP_OPERATIONS = ("Describe", "Read")
"""The admin identity, on blue's migrated groups: offsets and members (a handoff), offsets back (a rollback)."""
ADMIN_BLUE_CLUSTER_OPERATIONS = ("Describe", "Alter")
"""The admin identity, on blue's cluster: describe it and its ACLs, create the fence (DENY ACLs)."""

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


def group_names(patterns: list[str]) -> list[str]:
    """The groups `consumerGroups` names: each plain-name pattern itself, or `*` once any pattern is a real regex."""
    if all(_PLAIN_NAME.fullmatch(p) for p in patterns):
        return sorted(set(patterns))
    return ["*"]


def handed_over_groups(cfg: MigrationConfig) -> list[str]:
    """The groups the admin identity reads on blue: `consumerGroups` (`group_names`) and every consumer client's.

    The handoff reads a consumer client group's members and offsets on blue whether or not
    `consumerGroups` names it (MM2 checkpoints only those; the handoff translates the rest).
    """
    names = group_names(cfg.consumer_groups)
    if names == ["*"]:
        return names
    return sorted({*names, *(c.consumer_group_id for c in cfg.clients_of(ClientRole.CONSUMER))})


def mm2_principal(cfg: MigrationConfig, alias: str) -> str:
    """The principal MM2 is on the cluster `alias`: its SASL user there, else `acls.mm2Principal`."""
    return cfg.mm2_principal(cfg.blue if alias == cfg.blue.alias else cfg.green)


def mm2_grants(cfg: MigrationConfig, migrated: list[str], alias: str) -> list[AclEntry]:
    """What MM2 needs on the cluster `alias` for the migrated topics `migrated` (blue's names), every ACL literal.

    Per flow X->Y and migrated topic `t`: read `t` on X; create, write and sync its copy on Y
    (`A.t` under the bidirectional strategy, `t` under one-way). Per internal topic of the
    cluster (`naming.mm2_internal_topics`): create, read, write, describe. The Connect
    worker's group (`mm2-<worker>`, on green, where the worker runs): read. Describe on the
    cluster. Groups: describe where a flow's checkpoints read them (its source); read and
    describe where `mm2.syncGroupOffsetsEnabled` makes MM2 commit them (its target).
    Strimzi documents the same operations for MM2, on prefixes and `*`.
    """
    a, b = cfg.blue.alias, cfg.green.alias
    flows = [(a, b)] + ([(b, a)] if cfg.strategy is Strategy.BIDIRECTIONAL else [])
    grants: set[tuple[str, str, str]] = {("Cluster", "kafka-cluster", "Describe")}
    groups = group_names(cfg.consumer_groups)
    for source, target in flows:
        if source == alias:
            grants |= {("Topic", t, op) for t in migrated for op in SOURCE_TOPIC_OPERATIONS}
            grants |= {("Group", g, "Describe") for g in groups}
        if target == alias:
            copies = [remote_topic(cfg.strategy, source, t) for t in migrated]
            grants |= {("Topic", c, op) for c in copies for op in TARGET_TOPIC_OPERATIONS}
            if cfg.mm2.sync_group_offsets_enabled:
                grants |= {("Group", g, op) for g in groups for op in ("Describe", "Read")}
    internal = mm2_internal_topics(a, b, cfg.strategy, CONNECT_WORKER_NAME)[alias]
    grants |= {("Topic", t, op) for t in internal for op in INTERNAL_TOPIC_OPERATIONS}
    if alias == b:
        grants.add(("Group", f"mm2-{CONNECT_WORKER_NAME}", "Read"))
    principal = mm2_principal(cfg, alias)
    return sorted(AclEntry(rt, name, "Literal", principal, "*", op, "Allow") for rt, name, op in grants)


def admin_grants_on_blue(cfg: MigrationConfig, migrated: list[str]) -> list[AclEntry]:
    """What the stack's admin identity needs on blue (`ADMIN_BLUE_*_OPERATIONS`), literal but its readers' groups."""
    user = cfg.blue.security.username
    principal = f"User:{user}" if user is not None else "User:ANONYMOUS"
    internal = mm2_internal_topics(cfg.blue.alias, cfg.green.alias, cfg.strategy, CONNECT_WORKER_NAME)[cfg.blue.alias]
    grants = {("Topic", t, op) for t in migrated for op in ADMIN_BLUE_TOPIC_OPERATIONS}
    grants |= {("Topic", t, op) for t in internal for op in ADMIN_BLUE_INTERNAL_OPERATIONS}
    grants |= {("Group", g, op) for g in handed_over_groups(cfg) for op in ADMIN_BLUE_GROUP_OPERATIONS}
    grants |= {("Cluster", "kafka-cluster", op) for op in ADMIN_BLUE_CLUSTER_OPERATIONS}
    readers = AclEntry("Group", TOOL_GROUP_PREFIX, "Prefixed", principal, "*", "Describe", "Allow")
    return sorted([readers, *(AclEntry(rt, name, "Literal", principal, "*", op, "Allow") for rt, name, op in grants)])


def blue_grants(cfg: MigrationConfig, migrated: list[str]) -> list[AclEntry]:
    """Everything to grant on blue before `green-provisioned`: the admin identity's and MM2's."""
    return sorted({*admin_grants_on_blue(cfg, migrated), *mm2_grants(cfg, migrated, cfg.blue.alias)})


def owner_grants(user: str) -> list[AclEntry]:
    """What the local runtime grants the admin identity on a cluster it runs: everything, as ALLOW ACLs.

    ACLs rather than `super.users`: a super user ignores DENY ACLs, and the decommission
    fence is a set of DENY ACLs (on blue, when blue is a local cluster too).
    """
    resources = (("Topic", "*"), ("Group", "*"), ("TransactionalID", "*"), ("Cluster", "kafka-cluster"))
    return [AclEntry(rt, name, "Literal", f"User:{user}", "*", "All", "Allow") for rt, name in resources]
