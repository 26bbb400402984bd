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

from kafka_migration.evidence.records import offset_of, record_id
from kafka_migration.planning.offsets import RecordId, match_copies
from kafka_migration.planning.placement import SearchOutcome, SearchRequest


class IncompleteRead(RuntimeError):
    """A range could not be read to its end in time: nothing may be concluded from part of it."""


def _read_range(
    conf: dict[str, Any], topic: str, partition: int, start: int, end: int, timeout_s: float
) -> list[tuple[int, RecordId]]:
    """Records of [start, end) of one partition, or fewer when the partition ends sooner.

    Offsets may have gaps (compaction, transaction markers). Raises IncompleteRead when
    the range is not read to its end (or to the partition's end) within timeout_s.
    """
    if end <= start:
        return []
    consumer = Consumer(
        {
            **conf,
            "group.id": f"kafka-migration-search-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "error",  # an offset below the log start must not jump silently
        }
    )
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
                    return out
                continue
            if msg.error():
                raise KafkaException(msg.error())
            offset = offset_of(msg)
            if offset >= end:
                return out
            out.append((offset, record_id(msg)))
            if offset >= end - 1:
                return out
        raise IncompleteRead(f"{topic}:{partition} [{start}, {end}) not read within {timeout_s}s")
    finally:
        consumer.close()


def search(
    from_conf: dict[str, Any],
    from_topic: str,
    to_conf: dict[str, Any],
    to_topic: str,
    partition: int,
    request: SearchRequest,
    timeout_s: float,
) -> int | SearchOutcome:
    """Exact offset on the other side for the group at `request.committed`, or why there is none.

    Reads what the group consumed since the anchor's record (the anchor's record first)
    and finds the same records, in order, on the other side from the anchor's copy.
    """
    start, copy_start = request.anchor.from_offset, request.anchor.to_offset
    try:
        originals = [r for _o, r in _read_range(from_conf, from_topic, partition, start, request.committed, timeout_s)]
        budget = (request.committed - start) * 2 + 100  # copies may repeat (at-least-once)
        copies = _read_range(to_conf, to_topic, partition, copy_start, copy_start + budget, timeout_s)
        if not originals:  # all compacted away: nothing to compare
            return SearchOutcome.UNDECIDABLE
        found = match_copies(originals, copies)
    except (IncompleteRead, ValueError, KafkaException):
        return SearchOutcome.UNDECIDABLE
    return SearchOutcome.NOT_COPIED_YET if found is None else found
