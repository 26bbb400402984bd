"""A fetched record's fields, typed as what they are.

confluent-kafka types every field of a `Message` as optional because error events come
as messages too; a record that `poll`/`consume` returned without an error always has
its partition and offset, and its headers as a list of (name, bytes) pairs.
"""

from __future__ import annotations

from typing import cast

from confluent_kafka import KafkaError, Message

from kafka_migration.planning.offsets import RecordId


def partition_of(msg: Message) -> int:
    """The record's partition."""
    partition = msg.partition()
    if partition is None:
        raise ValueError(f"not a record: a message without a partition ({msg.error()})")
    return partition


def offset_of(msg: Message) -> int:
    """The record's offset."""
    offset = msg.offset()
    if offset is None:
        raise ValueError(f"not a record: a message without an offset ({msg.error()})")
    return offset


def error_code(msg: Message) -> int | None:
    """The code of the message's error (`KafkaError._PARTITION_EOF`, ...), None for a record."""
    error: KafkaError | None = msg.error()
    return None if error is None else error.code()


def headers_of(msg: Message) -> tuple[tuple[str, bytes | None], ...]:
    """The record's headers in order, as a consumer returns them (a list of name, bytes pairs)."""
    return tuple(cast("list[tuple[str, bytes | None]]", msg.headers() or []))


def record_id(msg: Message) -> RecordId:
    """What identifies the record across clusters: key, value, headers and timestamp."""
    return RecordId(msg.key(), msg.value(), headers_of(msg), msg.timestamp()[1])
