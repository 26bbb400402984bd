"""How far a flow is behind, and what was written lately, as a `read_committed` reader sees a cluster."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.partition_reads import (
    PartitionKey,
    ReadRequest,
    every_watermark,
    list_offsets,
    read_many,
    watermark_alone,
)
from kafka_migration.evidence.records import offset_of
from kafka_migration.evidence.topics import partition_watermarks, read_offset_syncs
from kafka_migration.planning.gate_evidence import PartitionLag
from kafka_migration.planning.offsets import SyncHistory, SyncKey


def partition_lags(
    source_conf: dict[str, Any], syncs_topic: str, topics: dict[str, int], timeout_s: float
) -> list[PartitionLag]:
    """Per partition of `topics` (name -> partitions) on the source: what MM2 still has to copy.

    MM2 reads committed data, so the end is the last stable offset, and a partition whose
    uncopied tail holds only transaction markers or aborted records has nothing left to
    copy (lag 0). What was copied is the newest offset-sync in `syncs_topic`.
    """
    syncs = read_offset_syncs(source_conf, syncs_topic, timeout_s)
    keys = [(topic, p) for topic, partitions in topics.items() for p in range(partitions)]
    consumer = committed_reader(source_conf, "gate", **{"auto.offset.reset": "earliest"})
    try:
        marks = every_watermark(source_conf, consumer, keys, timeout_s)
        copied = {key: _copied_through(syncs.get(SyncKey(*key))) for key in keys}
        copied_next = {key: _next_to_copy(copied[key], marks[key].low) for key in keys}
        oldest = _first_visible(consumer, {k: n for k, n in copied_next.items() if marks[k].high > n}, timeout_s)
        out = []
        for key in keys:
            first = oldest.get(key)
            lag = 0 if first is None else max(0, marks[key].high - first[0])
            seconds = 0.0 if first is None else max(0.0, time.time() - first[1] / 1000)
            out.append(PartitionLag(*key, marks[key].low, marks[key].high, copied[key], lag, seconds))
        return out
    finally:
        consumer.close()


def _copied_through(history: SyncHistory | None) -> int | None:
    """The source offset of the newest offset-sync: MM2 copied up to and including it."""
    return history.syncs[-1].upstream if history and history.syncs else None


def _next_to_copy(copied_through: int | None, log_start: int) -> int:
    """The first offset MM2 has not copied yet, no lower than the log start."""
    return log_start if copied_through is None else max(copied_through + 1, log_start)


def _first_visible(
    consumer: Consumer, starts: dict[PartitionKey, int], timeout_s: float
) -> dict[PartitionKey, tuple[int, int]]:
    """Offset and timestamp (ms) of the first committed record at or after each start; absent when there is none.

    A partition not read within the timeout counts from its start, now: its whole tail is lag
    rather than called copied.
    """
    requests = [ReadRequest(topic, partition, start, 1) for (topic, partition), start in starts.items()]
    done = read_many(consumer, requests, timeout_s)
    out = {}
    for request in requests:
        records = done.get(request)
        if records is None:
            out[request.key] = (request.start, int(time.time() * 1000))
        elif records:
            out[request.key] = (offset_of(records[0]), records[0].timestamp()[1])
    return out


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
        since = {(tp.topic, tp.partition): tp.offset for tp in firsts if tp.offset >= 0}  # -1: none at or after
        ends = list_offsets(conf, since, OffsetSpec.latest(), timeout_s)
        written = dict.fromkeys(topics, 0)
        for key, first in since.items():
            end = ends[key] if key in ends else watermark_alone(consumer, key, timeout_s).high
            written[key[0]] += end - first
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
    lows = list_offsets(source_conf, ends, OffsetSpec.earliest(), timeout_s)
    consumer = committed_reader(source_conf, "gate", **{"auto.offset.reset": "earliest"})
    try:
        lows |= {key: watermark_alone(consumer, key, timeout_s).low for key in ends if key not in lows}
        copied_next = {key: _next_to_copy(_copied_through(syncs.get(SyncKey(*key))), lows[key]) for key in ends}
        oldest = _first_visible(consumer, {k: n for k, n in copied_next.items() if ends[k] > n}, timeout_s)
        return {
            key: 0 if key not in oldest or oldest[key][0] >= end else end - oldest[key][0]
            for key, end in sorted(ends.items())
        }
    finally:
        consumer.close()


def stable_ends(conf: dict[str, Any], topics: set[str], timeout_s: float) -> dict[tuple[str, int], int]:
    """Last stable offset of every partition of `topics`: the end a `read_committed` reader (and MM2) sees.

    `partition_watermarks` reads with librdkafka's default `isolation.level`, read_committed,
    so its high watermark is the last stable offset.
    """
    return {key: mark.high for key, mark in partition_watermarks(conf, topics, timeout_s).items()}
