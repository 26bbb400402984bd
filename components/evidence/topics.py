"""Reading whole (small) topics: MM2's offset-syncs, checkpoints and heartbeats."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from kafka_migration.evidence.partition_reads import every_watermark
from kafka_migration.evidence.records import offset_of, partition_of
from kafka_migration.planning.offsets import (
    Checkpoint,
    OffsetSync,
    SyncHistory,
    SyncKey,
    decode_checkpoint,
    decode_sync,
)
from kafka_migration.planning.placement import Watermark


def read_topic(conf: dict[str, Any], topic: str, timeout_s: float) -> Iterator[tuple[bytes, bytes, int]]:
    """Every record (key, value, timestamp ms) of `topic` from the beginning to its end offsets at call time.

    Yields nothing when the topic does not exist. Raises TimeoutError when the end is
    not reached within timeout_s.
    """
    consumer = Consumer(
        {
            **conf,
            "group.id": f"kafka-migration-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None:
            return
        partitions = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in info.partitions]
        ends = {}
        for tp in partitions:
            _low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            ends[tp.partition] = high
        pending = {p for p, high in ends.items() if high > 0}
        if not pending:
            return
        consumer.assign(partitions)
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end within {timeout_s}s")
            msg = consumer.poll(0.5)
            if msg is None:
                # Gaps (compaction, transaction markers) can hide the last offsets.
                for tp in consumer.position([TopicPartition(topic, p) for p in pending]):
                    if tp.offset >= ends[tp.partition]:
                        pending.discard(tp.partition)
                continue
            if msg.error():
                raise KafkaException(msg.error())
            p, off = partition_of(msg), offset_of(msg)
            if off >= ends[p] - 1:
                pending.discard(p)
            if off < ends[p]:
                yield msg.key() or b"", msg.value() or b"", msg.timestamp()[1]
    finally:
        consumer.close()


def read_offset_syncs(conf: dict[str, Any], topic: str, timeout_s: float) -> dict[SyncKey, SyncHistory]:
    """All offset-syncs of a flow, per upstream topic-partition."""
    raw: dict[SyncKey, list[OffsetSync]] = {}
    for key, value, _ts in read_topic(conf, topic, timeout_s):
        sync_key, sync = decode_sync(key, value)
        raw.setdefault(sync_key, []).append(sync)
    return {k: SyncHistory(v) for k, v in raw.items()}


def read_checkpoints(conf: dict[str, Any], topic: str, timeout_s: float) -> list[Checkpoint]:
    """All checkpoints (latest last) from a `<source>.checkpoints.internal` topic."""
    return [decode_checkpoint(k, v) for k, v, _ts in read_topic(conf, topic, timeout_s)]


def latest_timestamp_ms(conf: dict[str, Any], topic: str, timeout_s: float) -> int | None:
    """Timestamp of the newest record of `topic` (any partition), or None if empty/missing."""
    consumer = Consumer({**conf, "group.id": f"kafka-migration-reader-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        info = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if info is None or info.error is not None:
            return None
        tps = []
        for p in info.partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            if high > 0:
                tps.append(TopicPartition(topic, p, high - 1))
        if not tps:
            return None
        consumer.assign(tps)
        newest: int | None = None
        remaining = len(tps)
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            remaining -= 1
            ts = msg.timestamp()[1]
            newest = ts if newest is None else max(newest, ts)
        return newest
    finally:
        consumer.close()


def partition_watermarks(
    conf: dict[str, Any], topics: set[str], timeout_s: float = 10
) -> dict[tuple[str, int], Watermark]:
    """Log start and end of every partition of `topics` (a missing topic has none), read together."""
    consumer = Consumer({**conf, "group.id": f"kafka-migration-reader-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        keys = []
        for topic in sorted(topics):
            info = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            if info is not None and info.error is None:
                keys += [(topic, partition) for partition in sorted(info.partitions)]
        return every_watermark(conf, consumer, keys, timeout_s)
    finally:
        consumer.close()
