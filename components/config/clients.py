"""The client groups that move together, in producer and consumer waves."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from kafka_migration.config.base import ConfigModel
from kafka_migration.config.values import check_principal, check_text, check_topic_name


class ClientRole(StrEnum):
    """What a client group does: producers move in producer waves, consumers in consumer waves."""

    PRODUCER = "producer"
    CONSUMER = "consumer"


class OffsetReset(StrEnum):
    """A consumer's `auto.offset.reset`: where it starts on a partition with no committed offset."""

    EARLIEST = "earliest"
    LATEST = "latest"


class ClientGroup(ConfigModel):
    """A group of clients that moves together (one deployment, one routing document)."""

    name: str = Field(pattern=r"^[a-zA-Z0-9._-]{1,120}$")
    role: ClientRole
    wave: int = Field(ge=1)
    """Producer groups move in producer waves, consumer groups in consumer waves, 1 first."""
    topics: list[str] = Field(min_length=1)
    """Blue topic names the clients use (routing translates them per cluster and phase)."""
    group_id: str | None = None
    """Kafka consumer group id (consumers). Default: the client group's name."""
    principal: str | None = None
    """Principal the clients authenticate as (for ACL checks). Default: none."""
    auto_offset_reset: OffsetReset = OffsetReset.EARLIEST
    """The consumers' `auto.offset.reset` (consumers). The handoff gives every partition the
    group reads an explicit committed position before moving it; on a partition where the
    group has none, it commits blue's log start (`earliest`, the default: nothing is ever
    skipped) or blue's end offset when the group stopped (`latest`: what the clients would
    have done; records written after they stopped are still read)."""

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: list[str]) -> list[str]:
        for i, topic in enumerate(topics):
            check_topic_name(topic, f"topics[{i}]")
        return topics

    @field_validator("group_id")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("groupId is empty; remove it (the client group's name is used) or give the group id")
        return None if value is None else check_text(value, "groupId")

    @field_validator("principal")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        return None if value is None else check_principal(value, "principal")

    @property
    def consumer_group_id(self) -> str:
        return self.group_id or self.name
