"""How far a flow is behind, and what was written lately, as a `read_committed` reader sees a cluster."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.records import error_code, offset_of
from kafka_migration.evidence.topics import partition_watermarks, read_offset_syncs
from kafka_migration.planning.gate_evidence import PartitionLag
from kafka_migration.planning.offsets import SyncKey


def partition_lags(
    source_conf: dict[str, Any], syncs_topic: str, topics: dict[str, int], timeout_s: float
) -> list[PartitionLag]:
    """Per partition of `topics` (name -> partitions) on the source: what MM2 still has to copy.

    MM2 reads committed data, so the end is the last stable offset, and a partition whose
    uncopied tail holds only transaction markers or aborted records has nothing left to
    copy (lag 0). What was copied is the newest offset-sync in `syncs_topic`.
    """
    syncs = read_offset_syncs(source_conf, syncs_topic, timeout_s)
    consumer = committed_reader(source_conf, "gate", **{"auto.offset.reset": "earliest"})
    try:
        out = []
        for topic, partitions in topics.items():
            for p in range(partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
                history = syncs.get(SyncKey(topic, p))
                through = history.syncs[-1].upstream if history and history.syncs else None
                copied_next = low if through is None else max(through + 1, low)
                oldest = _first_visible(consumer, topic, p, copied_next, timeout_s) if high > copied_next else None
                lag = 0 if oldest is None else max(0, high - oldest[0])
                seconds = 0.0 if oldest is None else max(0.0, time.time() - oldest[1] / 1000)
                out.append(PartitionLag(topic, p, low, high, through, lag, seconds))
        return out
    finally:
        consumer.close()


def _first_visible(
    consumer: Consumer, topic: str, partition: int, offset: int, timeout_s: float
) -> tuple[int, int] | None:
    """Offset and timestamp (ms) of the first committed record at or after `offset`; None when there is none."""
    consumer.assign([TopicPartition(topic, partition, offset)])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(max(0.0, deadline - time.monotonic()))
            if msg is None:
                break
            if msg.error():
                if error_code(msg) == KafkaError._PARTITION_EOF:
                    return None
                continue
            return offset_of(msg), msg.timestamp()[1]
        # Unread within the timeout: count the whole tail as lag rather than call it copied.
        return offset, int(time.time() * 1000)
    finally:
        consumer.unassign()


def writes_since(conf: dict[str, Any], topics: dict[str, int], since_ms: int, timeout_s: float) -> dict[str, int]:
    """Records appended to each topic (name -> partitions) at or after `since_ms`, by record timestamp.

    Counting by timestamp sees a producer that writes once a minute as well as a busy
    one, and needs no waiting: the first offset at or after the time (Kafka's ListOffsets
    by time) up to the end offset is what was written since. Record timestamps are the
    producers' (CreateTime) unless the topic sets LogAppendTime.
    """
    consumer = committed_reader(conf, "gate", **{"auto.offset.reset": "earliest"})
    try:
        wanted = [TopicPartition(t, p, since_ms) for t, n in sorted(topics.items()) for p in range(n)]
        firsts = consumer.offsets_for_times(wanted, timeout=timeout_s) if wanted else []
        written = dict.fromkeys(topics, 0)
        for tp in firsts:
            if tp.offset >= 0:  # -1: no record at or after the time
                end = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=timeout_s)[1]
                written[tp.topic] += end - tp.offset
        return written
    finally:
        consumer.close()


def uncopied_below(
    source_conf: dict[str, Any], syncs_topic: str, ends: dict[tuple[str, int], int], timeout_s: float
) -> dict[tuple[str, int], int]:
    """Per partition, the offsets below `ends[(topic, partition)]` MM2 has not copied yet (0: all copied).

    Copied means an offset-sync at or past the record; what lies between the newest
    sync and the end counts only if a `read_committed` reader sees a record there.
    """
    syncs = read_offset_syncs(source_conf, syncs_topic, timeout_s)
    consumer = committed_reader(source_conf, "gate", **{"auto.offset.reset": "earliest"})
    try:
        out = {}
        for (topic, partition), end in sorted(ends.items()):
            history = syncs.get(SyncKey(topic, partition))
            low = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)[0]
            copied_next = max(low, history.syncs[-1].upstream + 1 if history and history.syncs else 0)
            oldest = _first_visible(consumer, topic, partition, copied_next, timeout_s) if end > copied_next else None
            out[(topic, partition)] = 0 if oldest is None or oldest[0] >= end else end - oldest[0]
        return out
    finally:
        consumer.close()


def stable_ends(conf: dict[str, Any], topics: set[str], timeout_s: float) -> dict[tuple[str, int], int]:
    """Last stable offset of every partition of `topics`: the end a `read_committed` reader (and MM2) sees.

    `partition_watermarks` reads with librdkafka's default `isolation.level`, read_committed,
    so its high watermark is the last stable offset.
    """
    return {key: mark.high for key, mark in partition_watermarks(conf, topics, timeout_s).items()}
