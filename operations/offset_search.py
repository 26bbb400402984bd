"""Exact offset translation by comparing records, where MM2's offset-syncs are too sparse.

MM2 writes offset-syncs sparsely while it catches up on history (it drops syncs when
more than ten are in flight and keeps only the newest per partition), so a group whose
position lies in that history has no sync at its offset. The records themselves decide:
read what the group consumed since the nearest sync on its side, find the same records
(key, value, headers, timestamp) in order on the other side from that sync's offset,
and continue right after the last one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from evidence.topics import watermarks
from planning.offsets import RecordId, match_copies

MAX_RECORDS = 200_000
"""Beyond this many records to compare, settle for the conservative translation."""


def _read_range(
    conf: dict[str, Any], topic: str, partition: int, start: int, end: int, timeout_s: float
) -> list[tuple[int, RecordId]]:
    """Records of [start, end) of one partition (fewer if the partition ends sooner)."""
    if end <= start:
        return []
    consumer = Consumer({**conf, "group.id": f"kafka-migration-search-{uuid.uuid4()}", "enable.auto.commit": False})
    try:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
        end = min(end, high)
        if end <= start:
            return []
        consumer.assign([TopicPartition(topic, partition, start)])
        out: list[tuple[int, RecordId]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                [pos] = consumer.position([TopicPartition(topic, partition)])
                if pos.offset >= end:
                    break
                continue
            if msg.error():
                raise KafkaException(msg.error())
            if msg.offset() >= end:
                break
            headers = tuple((k, v) for k, v in (msg.headers() or []))
            out.append((msg.offset(), RecordId(msg.key(), msg.value(), headers, msg.timestamp()[1])))
            if msg.offset() >= end - 1:
                break
        return out
    finally:
        consumer.close()


def search_translation(
    from_conf: dict[str, Any],
    from_topic: str,
    to_conf: dict[str, Any],
    to_topic: str,
    partition: int,
    committed: int,
    anchor: tuple[int, int] | None,
    timeout_s: float,
) -> int | None:
    """Exact offset on the other side for a group committed at `committed`, or None if not decidable yet.

    `anchor` is (from_offset, to_offset) of the nearest sync at or below `committed`;
    without one, both partitions' log starts are assumed to hold the same record.
    """
    if anchor is None:
        anchor = (
            watermarks(from_conf, from_topic, partition, timeout_s)[0],
            watermarks(to_conf, to_topic, partition, timeout_s)[0],
        )
    from_offset, to_offset = anchor
    if committed == from_offset:
        return to_offset
    if committed - from_offset > MAX_RECORDS:
        return None
    originals = [r for _o, r in _read_range(from_conf, from_topic, partition, from_offset, committed, timeout_s)]
    budget = (committed - from_offset) * 2 + 100  # copies may repeat (at-least-once)
    copies = _read_range(to_conf, to_topic, partition, to_offset, to_offset + budget, timeout_s)
    try:
        return match_copies(originals, copies)
    except ValueError:
        return None
