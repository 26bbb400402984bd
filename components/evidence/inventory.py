"""Reading a cluster's topics, configs and ACLs into a ClusterInventory (bounded by a timeout)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import TopicCollection
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ConfigSource,
    ResourcePatternType,
    ResourceType,
)

from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo

RESOURCE_TYPES = {
    ResourceType.TOPIC: "Topic",
    ResourceType.GROUP: "Group",
    ResourceType.BROKER: "Cluster",
    ResourceType.TRANSACTIONAL_ID: "TransactionalID",
}
PATTERN_TYPES = {ResourcePatternType.LITERAL: "Literal", ResourcePatternType.PREFIXED: "Prefixed"}
OPERATIONS = {
    AclOperation.ALL: "All",
    AclOperation.READ: "Read",
    AclOperation.WRITE: "Write",
    AclOperation.CREATE: "Create",
    AclOperation.DELETE: "Delete",
    AclOperation.ALTER: "Alter",
    AclOperation.DESCRIBE: "Describe",
    AclOperation.CLUSTER_ACTION: "ClusterAction",
    AclOperation.DESCRIBE_CONFIGS: "DescribeConfigs",
    AclOperation.ALTER_CONFIGS: "AlterConfigs",
    AclOperation.IDEMPOTENT_WRITE: "IdempotentWrite",
}
PERMISSIONS = {AclPermissionType.ALLOW: "Allow", AclPermissionType.DENY: "Deny"}


def acl_binding(entry: AclEntry) -> AclBinding:
    """`entry` as the admin client's binding (the inverse of how ACLs are read here)."""

    def member(table: dict[Any, str], name: str) -> Any:
        return next(k for k, v in table.items() if v == name)

    return AclBinding(
        member(RESOURCE_TYPES, entry.resource_type),
        entry.resource_name,
        member(PATTERN_TYPES, entry.pattern_type),
        entry.principal,
        entry.host,
        member(OPERATIONS, entry.operation),
        member(PERMISSIONS, entry.permission),
    )


def _acls(admin: AdminClient, timeout_s: float) -> tuple[AclEntry, ...]:
    # None matches any name, principal and host (as documented; the stubs type them `str`).
    any_acl = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        bindings = admin.describe_acls(any_acl, request_timeout=timeout_s).result(timeout=timeout_s)
    except Exception as err:
        if "SECURITY_DISABLED" in str(err) or "No Authorizer" in str(err):
            return ()
        raise
    entries = []
    for b in bindings:
        if b.restype not in RESOURCE_TYPES or b.resource_pattern_type not in PATTERN_TYPES:
            continue
        entries.append(
            AclEntry(
                RESOURCE_TYPES[b.restype],
                b.name,
                PATTERN_TYPES[b.resource_pattern_type],
                b.principal,
                b.host,
                OPERATIONS.get(b.operation, str(b.operation)),
                PERMISSIONS.get(b.permission_type, str(b.permission_type)),
            )
        )
    return tuple(sorted(entries))


def read_inventory(conf: dict[str, Any], timeout_s: float, internal: bool = False) -> ClusterInventory:
    """Topics (partitions, replication factor, topic-level configs, ids), ACLs and brokers of a cluster."""
    admin = AdminClient(conf)
    metadata = admin.list_topics(timeout=timeout_s)
    names = sorted(n for n in metadata.topics if internal or not n.startswith("__"))
    configs: dict[str, dict[str, str]] = {n: {} for n in names}
    ids: dict[str, str] = {}
    if names:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
        for resource, future in admin.describe_configs(resources, request_timeout=timeout_s).items():
            entries = future.result(timeout=timeout_s)
            configs[resource.name] = {
                k: e.value
                for k, e in entries.items()
                if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value and e.value is not None
            }
        described = admin.describe_topics(TopicCollection(names), request_timeout=timeout_s)
        for name, future in described.items():
            ids[name] = str(future.result(timeout=timeout_s).topic_id)
    topics = {
        n: TopicInfo(
            n,
            len(metadata.topics[n].partitions),
            max((len(p.replicas) for p in metadata.topics[n].partitions.values()), default=0),
            configs[n],
            ids.get(n),
        )
        for n in names
    }
    cluster = admin.describe_cluster(request_timeout=timeout_s).result(timeout=timeout_s)
    return ClusterInventory(cluster.cluster_id, len(cluster.nodes), topics, _acls(admin, timeout_s))
