"""What the program read from a cluster: topics, their configs, ACLs (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicInfo:
    """A topic as read from a cluster."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    """Configs set on the topic itself (not broker defaults)."""
    topic_id: str | None = None


@dataclass(frozen=True, order=True)
class AclEntry:
    """One ACL binding, in pulumi_kafka's vocabulary (Topic, Literal, Read, Allow...)."""

    resource_type: str
    resource_name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission: str

    def key(self) -> str:
        """Stable resource name fragment for this ACL."""
        return "-".join(
            (
                self.resource_type,
                self.pattern_type,
                self.resource_name,
                self.principal,
                self.host,
                self.operation,
                self.permission,
            )
        ).lower()


@dataclass(frozen=True)
class ClusterInventory:
    """A cluster as read at the start of an update."""

    cluster_id: str
    broker_count: int
    topics: dict[str, TopicInfo]
    acls: tuple[AclEntry, ...] = ()
