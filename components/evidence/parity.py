"""Reading what the data-parity gate compares: a flow's offset-syncs, then records on both sides from chosen syncs.

planning/parity_comparison.py decides where to read and what the records show; every read here is
bounded by the gate's read timeout and ends at the partition's end without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kafka_migration.config.model import Strategy
from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.partition_reads import ReadRequest, read_many, watermarks
from kafka_migration.evidence.records import offset_of, record_id
from kafka_migration.evidence.topics import read_offset_syncs
from kafka_migration.planning.cluster_inventory import TopicInfo
from kafka_migration.planning.gate_evidence import ParitySample
from kafka_migration.planning.naming import offset_syncs_topic, remote_topic
from kafka_migration.planning.offsets import OffsetSync, RecordId, SyncHistory, SyncKey
from kafka_migration.planning.parity_comparison import (
    EMPTY,
    WINDOWS,
    Comparison,
    Record,
    Window,
    combine,
    compare_in_order,
    plan_windows,
)
from kafka_migration.planning.placement import Watermark

READ_SLACK = 20
"""Records read beyond a window's share: room for copies delivered twice and records compacted on one side."""
EARLIER_READ = 5000
"""Source records read at most before a window to recognise copies MM2 delivered again after a restart (it
restarts from its last committed source offset: our workers commit every second, `offset.flush.interval.ms`)."""
READ_AHEAD_RECORDS = 50_000
"""Records read ahead of a comparison at most, per side: partitions are compared in chunks whose windows fit."""
COMPACTED_READ = 20_000
"""Records read at most on each side of a window of a compacted topic to find where both sides hold the same
record again: each cluster compacts on its own, so one side may lack thousands of superseded values the other
still holds."""


@dataclass(frozen=True)
class FlowSides:
    """A running flow as data parity reads it: client configs of its source and target, and how copies are named."""

    name: str
    """`A->B`."""
    source_conf: dict[str, Any]
    target_conf: dict[str, Any]
    strategy: Strategy

    @property
    def aliases(self) -> tuple[str, str]:
        source, target = self.name.split("->")
        return source, target


def sample_flow(flow: FlowSides, topics: Sequence[TopicInfo], budget: int, timeout_s: float) -> list[ParitySample]:
    """Every partition of `topics` (named as on the flow's source), up to `budget` records compared on each.

    Both sides' watermarks are read for all partitions at once, and the windows' reads of a
    chunk of partitions ahead of comparing them (`_read_ahead`); what that missed is read
    partition by partition.
    """
    source, target = flow.aliases
    partitions = [(t, p) for t in topics for p in range(t.partitions)]
    try:
        syncs = read_offset_syncs(flow.source_conf, offset_syncs_topic(target), timeout_s)
    except (KafkaException, TimeoutError) as err:
        reason = f"the offset-syncs on {source} cannot be read: {err}"
        return [ParitySample(flow.name, t.name, p, unsampled=reason) for t, p in partitions]
    copies = {t.name: remote_topic(flow.strategy, source, t.name) for t in topics}
    up_marks = watermarks(flow.source_conf, [(t.name, p) for t, p in partitions], timeout_s)
    down_marks = watermarks(flow.target_conf, [(copies[t.name], p) for t, p in partitions], timeout_s)
    upstream, downstream = committed_reader(flow.source_conf, "parity"), committed_reader(flow.target_conf, "parity")
    samples: list[ParitySample] = []
    try:
        size = max(1, READ_AHEAD_RECORDS // (budget + READ_SLACK))
        for chunk in (partitions[i : i + size] for i in range(0, len(partitions), size)):
            pairs = [
                _Pair(
                    ParitySample(flow.name, t.name, p),
                    _Side(upstream, t.name, p, timeout_s, up_marks.get((t.name, p))),
                    _Side(downstream, copies[t.name], p, timeout_s, down_marks.get((copies[t.name], p))),
                    syncs.get(SyncKey(t.name, p)),
                    "compact" in t.configs.get("cleanup.policy", ""),
                )
                for t, p in chunk
            ]
            _read_ahead(pairs, budget, timeout_s)
            samples += [_sample_partition(pair, budget) for pair in pairs]
        return samples
    finally:
        upstream.close()
        downstream.close()


@dataclass(frozen=True)
class _Side:
    """One partition on one cluster, read with that cluster's consumer."""

    consumer: Consumer
    topic: str
    partition: int
    timeout_s: float
    marks: Watermark | None = None
    """Log start and end, when read with other partitions' (else read on first use)."""
    read_ahead: dict[tuple[int, int, int | None], list[Record]] = field(default_factory=dict)
    """Reads done with other partitions' ahead of the comparison, by (start, limit, stop)."""

    def watermarks(self) -> tuple[int, int]:
        if self.marks is not None:
            return self.marks.low, self.marks.high
        low, high = self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, self.partition), timeout=self.timeout_s
        )
        return int(low), int(high)

    def read(self, start: int, limit: int, stop: int | None = None) -> list[Record]:
        """Up to `limit` records from `start` on (before offset `stop`), in order; fewer at the end or the timeout."""
        if (ahead := self.read_ahead.pop((start, limit, stop), None)) is not None:
            return ahead
        self.consumer.assign([TopicPartition(self.topic, self.partition, start)])
        out: list[Record] = []
        deadline = time.monotonic() + self.timeout_s
        try:
            # One message at a time: a batch (`consume`) returns only when full or at its timeout, so a read
            # reaching the partition's end would wait out the timeout before seeing the end.
            while len(out) < limit and (left := deadline - time.monotonic()) > 0:
                msg = self.consumer.poll(min(left, 1.0))
                if msg is None:
                    continue
                if self._at_end(msg):
                    return out
                # Anything before what was already taken was fetched for an earlier read of the partition.
                next_offset = out[-1][0] + 1 if out else start
                if not self._ours(msg) or offset_of(msg) < next_offset:
                    continue
                if stop is not None and offset_of(msg) >= stop:
                    return out
                out.append((offset_of(msg), record_id(msg)))
            return out
        finally:
            self.consumer.unassign()

    def records_before(self, stop: int, timestamp_ms: int) -> set[RecordId]:
        """Up to `EARLIER_READ` records before offset `stop`, from the first one timestamped `timestamp_ms` or later.

        That first one is at or before any record with this timestamp; when timestamps do not
        grow with offsets (a producer setting its own) it can be far earlier, so the read
        starts no more than `EARLIER_READ` records before `stop`.
        """
        low, _high = self.watermarks()
        [found] = self.consumer.offsets_for_times(
            [TopicPartition(self.topic, self.partition, timestamp_ms)], timeout=self.timeout_s
        )
        start = max(low, found.offset, stop - EARLIER_READ)
        if start >= stop:
            return set()
        return {record for _offset, record in self.read(start, stop - start, stop)}

    def _ours(self, msg: Message) -> bool:
        return msg.topic() == self.topic and msg.partition() == self.partition

    def _at_end(self, msg: Message) -> bool:
        """True at the partition's end; raises on any other error."""
        error = msg.error()
        if error is None:
            return False
        if error.code() == KafkaError._PARTITION_EOF:
            return self._ours(msg)
        raise KafkaException(error)


@dataclass(frozen=True)
class _Pair:
    """One partition of a flow: its source and its copy, and the offset-syncs between them."""

    sample: ParitySample
    up: _Side
    down: _Side
    history: SyncHistory | None
    compacted: bool

    def synced(self, up_low: int) -> list[OffsetSync]:
        """The syncs of records still on the source."""
        return [s for s in (self.history.syncs if self.history else []) if s.upstream >= up_low]


def _comparable(synced: list[OffsetSync], down_low: int, down_high: int) -> list[OffsetSync]:
    """The syncs whose copies are still on the target."""
    return [s for s in synced if down_low <= s.downstream < down_high]


def _read_ahead(pairs: list[_Pair], budget: int, timeout_s: float) -> None:
    """The first read of every window of `pairs`, done together: window k of every partition in one pass per side.

    With the first windows, the one-record read that tells an empty source partition from
    one not synced yet (`_nothing_synced`). A partition whose watermarks were not read with
    the others' is left to its own reads.
    """
    windows: dict[int, list[Window]] = {}
    probes: list[tuple[_Side, ReadRequest]] = []
    for pair in pairs:
        up, down = pair.up.marks, pair.down.marks
        if up is None or down is None:
            continue
        synced = pair.synced(up.low)
        windows[id(pair)] = plan_windows(_comparable(synced, down.low, down.high), budget)
        if not synced and up.high > up.low:
            probes.append((pair.up, ReadRequest(pair.up.topic, pair.up.partition, up.low, 1)))
    for k in range(WINDOWS):
        reads = [(pair, windows[id(pair)][k]) for pair in pairs if len(windows.get(id(pair), ())) > k]
        if not reads and not probes:
            return
        _read_sides([(pair.up, _upstream_read(pair.up, w)) for pair, w in reads] + probes, timeout_s)
        _read_sides([(pair.down, _downstream_read(pair.down, w)) for pair, w in reads], timeout_s)
        probes = []


def _upstream_read(side: _Side, window: Window) -> ReadRequest:
    reach = window.records + READ_SLACK
    return ReadRequest(side.topic, side.partition, window.anchor.upstream, reach, window.stop_before)


def _downstream_read(side: _Side, window: Window) -> ReadRequest:
    return ReadRequest(side.topic, side.partition, window.anchor.downstream, window.records + READ_SLACK)


def _read_sides(reads: list[tuple[_Side, ReadRequest]], timeout_s: float) -> None:
    """Reads of one cluster's partitions (one per partition) in one pass; each finished one kept for its side."""
    if not reads:
        return
    done = read_many(reads[0][0].consumer, [request for _side, request in reads], timeout_s)
    for side, request in reads:
        if request in done:
            records = [(offset_of(msg), record_id(msg)) for msg in done[request]]
            side.read_ahead[(request.start, request.limit, request.stop)] = records


def _sample_partition(pair: _Pair, budget: int) -> ParitySample:
    """One partition: compared from syncs of records still on both sides, or why nothing could be."""
    up, down, sample = pair.up, pair.down, pair.sample
    try:
        up_low, up_high = up.watermarks()
        synced = pair.synced(up_low)
        if not synced:
            return replace(sample, unsampled=_nothing_synced(up, up_low, up_high))
        syncs = _comparable(synced, *down.watermarks())
        if not syncs:
            return replace(sample, unsampled="no offset-sync names a record still on the target (deleted, re-created)")
        result = _compare(up, down, syncs, budget, pair.compacted)
    except KafkaException as err:
        return replace(sample, unsampled=f"cannot be read: {err}")
    if not result.compared:
        return replace(sample, unsampled=f"no record read within {up.timeout_s:g}s")
    return replace(
        sample,
        compared=result.compared,
        repeated_copies=result.repeated,
        compacted_away=result.compacted,
        difference=result.difference.describe() if result.difference else None,
    )


def _nothing_synced(up: _Side, low: int, high: int) -> str:
    """`empty` when the source has no committed record, else why nothing can be compared (a failure)."""
    if high <= low or not up.read(low, 1):
        return EMPTY
    return "records on the source, but no offset-sync of any of them yet"


def _compare(up: _Side, down: _Side, syncs: list[OffsetSync], budget: int, compacted: bool) -> Comparison:
    """The planned windows, in order, up to the first difference."""
    copy_of = {s.downstream: s.upstream for s in syncs}
    results: list[Comparison] = []
    for window in plan_windows(syncs, budget):
        results.append(_compare_window(up, down, window, compacted, copy_of))
        if results[-1].difference:
            break
    return combine(results)


def _compare_window(up: _Side, down: _Side, window: Window, compacted: bool, copy_of: dict[int, int]) -> Comparison:
    """One window; a copy that is not the record expected is looked for among the source's records before it.

    In a compacted topic a difference found before either side's read ended is read again
    further (up to `COMPACTED_READ` records): the other side may hold the record again beyond
    what was read.

    MM2 restarted from an older committed offset copies records again, and the offset-sync of
    the first of them may never be written (its writer keeps one pending sync per partition
    and replaces it with a newer one). Such a copy is one of the source's records before the
    window (read back from its timestamp, which MM2 copies verbatim): a repeated copy, not a
    difference.
    """
    reach = window.records + READ_SLACK
    earlier: set[RecordId] = set()
    while True:
        originals = up.read(window.anchor.upstream, reach, window.stop_before)
        copies = down.read(window.anchor.downstream, reach)
        result = compare_in_order(
            originals, copies, window.records, compacted, copy_of, earlier, start=window.anchor.upstream
        )
        if result.difference is None:
            return result
        if compacted and reach < COMPACTED_READ and reach in (len(originals), len(copies)):
            reach = min(reach * 4, COMPACTED_READ)
            continue
        copy = dict(copies)[result.difference.downstream_offset]
        before = up.records_before(window.anchor.upstream, copy.timestamp_ms)
        if copy not in before or before <= earlier:
            return result
        earlier |= before
