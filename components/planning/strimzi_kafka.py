"""Green's Kafka cluster as Strimzi resources: the `Kafka`, its `KafkaNodePool`, its `KafkaTopic`s and `KafkaUser`s.

KRaft, one client listener as green.security says, `authorization: simple`, the topic and
user operators; combined broker+controller nodes on persistent volumes; one `KafkaTopic`
per green topic and one `KafkaUser` per principal of green's ACLs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kafka_migration.config.clusters import ClusterSpec
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.strimzi_names import (
    CLIENT_PORT,
    CLUSTER_LABEL,
    DNS_SUBDOMAIN,
    Manifest,
    admin_password_key,
    custom_resource,
    hashed_name,
    kubernetes_spec,
    object_metadata,
    password_key,
    strimzi_names,
)

ROLE_LABEL = "kafkamig.io/role"
"""On every KafkaTopic: `mirror` (MM2 writes it) or `local` (producers on green write it)."""

ACL_RESOURCE_TYPES = {"Topic": "topic", "Group": "group", "Cluster": "cluster", "TransactionalID": "transactionalId"}
ACL_PATTERN_TYPES = {"Literal": "literal", "Prefixed": "prefix"}
ACL_OPERATIONS = frozenset(
    (
        "Read",
        "Write",
        "Create",
        "Delete",
        "Alter",
        "Describe",
        "ClusterAction",
        "AlterConfigs",
        "DescribeConfigs",
        "IdempotentWrite",
        "All",
    )
)
"""The operations a KafkaUser's simple authorization accepts (its CRD's enum)."""


def uses_sasl(cluster: ClusterSpec) -> bool:
    """Whether the cluster's clients authenticate with SASL (on green: the SCRAM listener of `kafka`)."""
    return cluster.security.sasl_mechanism is not None


def uses_tls(cluster: ClusterSpec) -> bool:
    """Whether the cluster's clients connect over TLS (on green: a listener with `tls: true`)."""
    return cluster.security.protocol in ("SSL", "SASL_SSL")


def _replication(replicas: int) -> tuple[int, int]:
    """Replication factor and min ISR of the cluster's internal topics for `replicas` nodes."""
    rf = min(3, replicas)
    return rf, 2 if rf >= 3 else 1


def kafka(cfg: MigrationConfig) -> Manifest:
    """Green's `Kafka`: KRaft, one listener as green.security says, simple authorization, entity operators.

    With a SASL listener the migration's own user (green.security.username) is a super user:
    the consumer handoff commits offsets for every group, and the handoff must never be the
    thing an ACL forgets. Without authentication every client is User:ANONYMOUS, which is then
    the super user: the ACLs of the KafkaUsers apply as soon as the listener authenticates.
    """
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    if cfg.green.brokers > spec.replicas:
        raise ValueError(
            f"green.brokers is {cfg.green.brokers} but green.kubernetes.replicas is {spec.replicas}: topics would ask "
            "for more replicas than there are brokers; set green.brokers to at most green.kubernetes.replicas"
        )
    sec = cfg.green.security
    listener: dict[str, Any] = {"name": "plain", "port": CLIENT_PORT, "type": "internal", "tls": uses_tls(cfg.green)}
    if uses_sasl(cfg.green):
        listener["name"] = "scram"
        listener["authentication"] = {"type": "scram-sha-512"}
    elif uses_tls(cfg.green):
        listener["name"] = "tls"
    super_user = f"User:{sec.username}" if uses_sasl(cfg.green) else "User:ANONYMOUS"
    rf, min_isr = _replication(spec.replicas)
    body = {
        "kafka": {
            "version": spec.kafka_version,
            "listeners": [listener],
            "authorization": {"type": "simple", "superUsers": [super_user]},
            "config": {
                "auto.create.topics.enable": False,
                "default.replication.factor": rf,
                "min.insync.replicas": min_isr,
                "offsets.topic.replication.factor": rf,
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": min_isr,
            },
        },
        "entityOperator": {"topicOperator": {}, "userOperator": {}},
    }
    return custom_resource("Kafka", object_metadata(names.cluster, names.namespace), body)


def node_pool(cfg: MigrationConfig) -> Manifest:
    """Green's nodes: `replicas` combined broker+controller nodes, one persistent volume each.

    The volume also holds the KRaft metadata log (`kraftMetadata: shared`); the claims are
    deleted with the cluster only when the stack allows destroying green (allowDestroy).
    """
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    volume: dict[str, Any] = {
        "id": 0,
        "type": "persistent-claim",
        "size": f"{spec.storage_gi}Gi",
        "deleteClaim": cfg.allow_destroy,
        "kraftMetadata": "shared",
    }
    if spec.storage_class:
        volume["class"] = spec.storage_class
    body = {
        "replicas": spec.replicas,
        "roles": ["controller", "broker"],
        "storage": {"type": "jbod", "volumes": [volume]},
    }
    return custom_resource(
        "KafkaNodePool", object_metadata(names.node_pool, names.namespace, {CLUSTER_LABEL: names.cluster}), body
    )


def kafka_topics(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `KafkaTopic` per green topic; `spec.topicName` carries the real name (`A.orders`)."""
    names = strimzi_names(cfg)
    return [
        custom_resource(
            "KafkaTopic",
            object_metadata(hashed_name(t.name), names.namespace, {CLUSTER_LABEL: names.cluster, ROLE_LABEL: t.role}),
            {
                "topicName": t.name,
                "partitions": t.partitions,
                "replicas": t.replication_factor,
                "config": dict(sorted(t.config.items())),
            },
        )
        for t in sorted(plan.topics, key=lambda t: t.name)
    ]


def user_name(principal: str) -> str:
    """The KafkaUser name of a principal (`User:orders-service` -> `orders-service`)."""
    kind, _, name = principal.partition(":")
    if kind != "User" or not DNS_SUBDOMAIN.match(name):
        raise ValueError(
            f"principal {principal!r} cannot be a Strimzi KafkaUser, whose name is the user name and must be "
            "a lower-case DNS name (a-z, 0-9, '-', '.'); add it to acls.excludePrincipals and grant its ACLs "
            "on green yourself, or rename the user"
        )
    return name


def _acl_rule(acl: AclEntry, operations: list[str]) -> dict[str, Any]:
    if acl.resource_type not in ACL_RESOURCE_TYPES or acl.pattern_type not in ACL_PATTERN_TYPES:
        raise ValueError(
            f"ACL {acl.key()} has a {acl.resource_type}/{acl.pattern_type} resource, which a KafkaUser cannot hold; "
            f"add {acl.principal} to acls.excludePrincipals and grant it on green yourself"
        )
    resource: dict[str, Any] = {"type": ACL_RESOURCE_TYPES[acl.resource_type]}
    if acl.resource_type != "Cluster":
        resource["name"] = acl.resource_name
        resource["patternType"] = ACL_PATTERN_TYPES[acl.pattern_type]
    return {"type": acl.permission.lower(), "resource": resource, "host": acl.host, "operations": operations}


def _user_acls(acls: Iterable[AclEntry]) -> list[dict[str, Any]]:
    """ACL entries grouped by resource, host and permission, their operations merged (as KafkaUser lists them)."""
    grouped: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    first: dict[tuple[str, str, str, str, str], AclEntry] = {}
    for acl in sorted(acls):
        if acl.operation not in ACL_OPERATIONS:
            raise ValueError(
                f"ACL {acl.key()} grants {acl.operation}, which a KafkaUser cannot hold; "
                f"add {acl.principal} to acls.excludePrincipals and grant it on green yourself"
            )
        key = (acl.resource_type, acl.pattern_type, acl.resource_name, acl.host, acl.permission)
        grouped[key].append(acl.operation)
        first.setdefault(key, acl)
    return [_acl_rule(first[k], sorted(set(ops))) for k, ops in sorted(grouped.items())]


def kafka_users(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `KafkaUser` per principal of green's ACLs, plus the migration's own SCRAM users.

    With a SASL listener every user authenticates with SCRAM-SHA-512: the migration's own
    user (green.security.username, the super user) and MM2's (green.security.mm2.username,
    with the literal grants of the plan, if MM2 has an identity of its own) with the
    stack's passwords from the credentials Secret; every other user with a password the
    User Operator generates into the Secret `<user>` (which the applications read when they
    move to green).
    """
    names = strimzi_names(cfg)
    by_user: dict[str, list[AclEntry]] = defaultdict(list)
    for acl in plan.acls:
        by_user[user_name(acl.principal)].append(acl)
    sec = cfg.green.security
    own: dict[str, str] = {}  # user -> key of its password in the credentials Secret
    if uses_sasl(cfg.green) and sec.username is not None:
        own[sec.username] = admin_password_key(cfg.green)
        if sec.mm2 is not None:
            own[sec.mm2.username] = password_key(cfg.green)
    for user in own:
        by_user.setdefault(user_name(f"User:{user}"), [])
    users = []
    for user, acls in sorted(by_user.items()):
        body: dict[str, Any] = {}
        if own:
            body["authentication"] = {"type": "scram-sha-512"}
            if user in own:
                ref = {"name": names.credentials_secret, "key": own[user]}
                body["authentication"]["password"] = {"valueFrom": {"secretKeyRef": ref}}
        if acls:
            body["authorization"] = {"type": "simple", "acls": _user_acls(acls)}
        users.append(
            custom_resource("KafkaUser", object_metadata(user, names.namespace, {CLUSTER_LABEL: names.cluster}), body)
        )
    return users
