"""Reading many partitions at once: their offsets in one ListOffsets round, their records through one assignment.

A gate reads thousands of partitions. One watermark request or one assign-and-fetch per
partition costs a round trip each (39 ms a partition at 10,000 partitions, B4 in the
README); the same data read for all partitions together costs a few requests per broker.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, IsolationLevel, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kafka_migration.evidence.records import error_code, offset_of
from kafka_migration.planning.placement import Watermark

PartitionKey = tuple[str, int]
"""(topic, partition)."""


def list_offsets(
    conf: dict[str, Any], partitions: Collection[PartitionKey], spec: OffsetSpec, timeout_s: float
) -> dict[PartitionKey, int]:
    """`spec`'s offset of each partition as a `read_committed` reader sees it (the end is the last stable offset).

    A partition the cluster cannot answer for (a missing topic, a leader that is down) is left
    out; the caller reads it on its own or reports it.
    """
    if not partitions:
        return {}
    admin = AdminClient(conf)  # held while its futures resolve
    wanted = {TopicPartition(t, p): spec for t, p in partitions}
    futures = admin.list_offsets(wanted, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=timeout_s)
    out: dict[PartitionKey, int] = {}
    for tp, future in futures.items():
        try:
            out[(tp.topic, tp.partition)] = future.result(timeout=timeout_s).offset
        except KafkaException:
            continue
    return out


def watermarks(
    conf: dict[str, Any], partitions: Collection[PartitionKey], timeout_s: float
) -> dict[PartitionKey, Watermark]:
    """Log start and last stable offset of each partition that both requests answered for."""
    lows = list_offsets(conf, partitions, OffsetSpec.earliest(), timeout_s)
    highs = list_offsets(conf, partitions, OffsetSpec.latest(), timeout_s)
    return {key: Watermark(lows[key], highs[key]) for key in lows.keys() & highs.keys()}


def watermark_alone(consumer: Consumer, key: PartitionKey, timeout_s: float) -> Watermark:
    """One partition's watermarks read on their own: for one the batch left out, to raise what the cluster says."""
    low, high = consumer.get_watermark_offsets(TopicPartition(*key), timeout=timeout_s)
    return Watermark(int(low), int(high))


def every_watermark(
    conf: dict[str, Any], consumer: Consumer, keys: Collection[PartitionKey], timeout_s: float
) -> dict[PartitionKey, Watermark]:
    """Every partition's `watermarks`; those the batch left out read alone (raising what the cluster says)."""
    marks = watermarks(conf, keys, timeout_s)
    return {key: marks.get(key) or watermark_alone(consumer, key, timeout_s) for key in keys}


@dataclass(frozen=True)
class ReadRequest:
    """Up to `limit` records of one partition from offset `start` on, before offset `stop` when given."""

    topic: str
    partition: int
    start: int
    limit: int
    stop: int | None = None

    @property
    def key(self) -> PartitionKey:
        return (self.topic, self.partition)


@dataclass
class _Progress:
    """One read under way: the records taken so far."""

    request: ReadRequest
    records: list[Message] = field(default_factory=list)

    def offer(self, msg: Message) -> bool | None:
        """Takes `msg` if it is the read's next record. True: the read finished; None: it failed; False: it goes on."""
        if msg.error():
            return True if error_code(msg) == KafkaError._PARTITION_EOF else None
        offset = offset_of(msg)
        if offset < (offset_of(self.records[-1]) + 1 if self.records else self.request.start):
            return False  # fetched for an earlier read of the partition
        if self.request.stop is not None and offset >= self.request.stop:
            return True
        self.records.append(msg)
        return len(self.records) >= self.request.limit


def read_many(
    consumer: Consumer, requests: Sequence[ReadRequest], timeout_s: float
) -> dict[ReadRequest, list[Message]]:
    """The requested records of every partition, read through one assignment of all of them.

    `consumer` must report partition ends (`enable.partition.eof`, as `committed_reader` does).
    A read is in the result only when it finished: it holds `limit` records, reached `stop`
    or reached the partition's end. One not finished within `timeout_s` or failed (an error
    naming its partition) is left out, for the caller to read on its own and report. At most
    one request per partition.
    """
    pending = {r.key: _Progress(r) for r in requests if r.limit > 0}
    if len({r.key for r in requests}) != len(requests):
        raise ValueError("read_many reads each partition once; give it one request per partition")
    finished: dict[ReadRequest, list[Message]] = {r: [] for r in requests if r.limit <= 0}
    consumer.incremental_assign([TopicPartition(t, p, read.request.start) for (t, p), read in pending.items()])
    deadline = time.monotonic() + timeout_s
    try:
        while pending and (left := deadline - time.monotonic()) > 0:
            ended: list[PartitionKey] = []
            for msg in consumer.consume(1000, timeout=min(left, 0.05)):
                read = pending.get((msg.topic() or "", msg.partition() or 0)) if msg.partition() is not None else None
                if read is None or (outcome := read.offer(msg)) is False:
                    continue
                if outcome:
                    finished[read.request] = read.records
                ended.append(read.request.key)
                del pending[read.request.key]
            if ended:
                consumer.incremental_unassign([TopicPartition(t, p) for t, p in ended])
        return finished
    finally:
        if pending:
            consumer.incremental_unassign([TopicPartition(t, p) for t, p in pending])
