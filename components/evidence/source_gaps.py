"""What each running flow skipped on its source: its offset-syncs, the source's log starts, and a read-back.

The decision is planning/skipped_offsets.py's; this module only reads, every read bounded by
the gates' read timeout.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.records import error_code, offset_of
from kafka_migration.evidence.topics import partition_watermarks, read_topic
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.desired import selected_topics
from kafka_migration.planning.gate_evidence import SourceGap
from kafka_migration.planning.naming import offset_syncs_topic
from kafka_migration.planning.offsets import OffsetSync, SyncKey, decode_sync
from kafka_migration.planning.skipped_offsets import Skip, checked_through, find_skips, judge, newest_synced, readable

SPAN_JOIN_OFFSETS = 1000
"""Skipped ranges of a partition closer than this are read in one pass rather than one seek each."""


def source_gaps(
    cfg: MigrationConfig,
    confs: dict[str, dict[str, Any]],
    flows: Iterable[str],
    blue: ClusterInventory,
    timeout_s: float,
    history: Sequence[Mapping[str, Any]] = (),
) -> tuple[tuple[SourceGap, ...], dict[str, dict[str, int]]]:
    """Gaps of every flow in `flows` (`A->B`, `B->A`), over the migrated topics; `confs` by cluster alias.

    Skips an earlier passing check covered (the stack's `history`) are not judged again.
    Also returns, per flow, the newest sync of each partition: what this check covers.
    """
    topics = selected_topics(cfg, blue)
    names = {t.name for t in topics}
    compacted = {t.name for t in topics if "compact" in t.configs.get("cleanup.policy", "")}
    gaps: list[SourceGap] = []
    covered: dict[str, dict[str, int]] = {}
    for flow in flows:
        source, target = flow.split("->")
        side = "blue" if source == cfg.blue.alias else "green"
        syncs = _written_syncs(confs[source], offset_syncs_topic(target), names, timeout_s)
        covered[flow] = newest_synced(syncs)
        skips = find_skips(syncs, checked_through(history, flow))
        gaps += _flow_gaps(flow, side, confs[source], skips, compacted, timeout_s) if skips else []
    return tuple(gaps), covered


def _flow_gaps(
    flow: str, side: str, conf: dict[str, Any], skips: list[Skip], compacted: Collection[str], timeout_s: float
) -> list[SourceGap]:
    """Judge one flow's skips against its source's log starts, reading back the ranges it still has."""
    watermarks = partition_watermarks(conf, {s.topic for s in skips}, timeout_s)
    log_starts = {key: w.low for key, w in watermarks.items()}
    committed = committed_counts(conf, [s for s in skips if readable(s, log_starts)], timeout_s)
    return judge(flow, side, skips, log_starts, compacted, committed)


def _written_syncs(
    conf: dict[str, Any], syncs_topic: str, topics: Collection[str], timeout_s: float
) -> dict[SyncKey, list[OffsetSync]]:
    """The offset-syncs of `topics`, per partition, in the order MM2 wrote them (its topic has one partition)."""
    syncs: dict[SyncKey, list[OffsetSync]] = {}
    for key, value, _ts in read_topic(conf, syncs_topic, timeout_s):
        sync_key, sync = decode_sync(key, value)
        if sync_key.topic in topics:
            syncs.setdefault(sync_key, []).append(sync)
    return syncs


def committed_counts(conf: dict[str, Any], skips: list[Skip], timeout_s: float) -> dict[Skip, int]:
    """Records a `read_committed` reader finds in each skip's range; a range not read back is left out."""
    deadline = time.monotonic() + timeout_s
    # A range retention deletes while it is read is an error, never a silent jump to the end.
    consumer = committed_reader(conf, "gate", **{"auto.offset.reset": "error"})
    counts: dict[Skip, int] = {}
    try:
        for span in _spans(skips):
            counts.update(_count_span(consumer, span, deadline) or {})
        return counts
    finally:
        consumer.close()


def _spans(skips: list[Skip]) -> Iterator[list[Skip]]:
    """Skips grouped per partition into runs read in one pass, in offset order."""
    ordered = sorted(skips, key=lambda s: (s.topic, s.partition, s.first))
    span: list[Skip] = []
    for skip in ordered:
        joins = bool(span) and (span[-1].topic, span[-1].partition) == (skip.topic, skip.partition)
        if joins and skip.first - span[-1].last <= SPAN_JOIN_OFFSETS:
            span.append(skip)
            continue
        if span:
            yield span
        span = [skip]
    if span:
        yield span


def _count_span(consumer: Consumer, span: list[Skip], deadline: float) -> dict[Skip, int] | None:
    """Committed records in each skip's range of one span; None when it was not read to its end.

    That is: not within the deadline, or the source deleted part of it while it was read.
    """
    topic, partition, end = span[0].topic, span[0].partition, span[-1].after.upstream
    firsts = [s.first for s in span]
    counts = dict.fromkeys(span, 0)
    consumer.assign([TopicPartition(topic, partition, span[0].first)])
    try:
        # One message at a time: a batch (`consume`) would wait out its timeout at the partition's end.
        while (left := deadline - time.monotonic()) > 0:
            msg = consumer.poll(min(1.0, left))
            if msg is None:
                continue
            if msg.error():
                code = error_code(msg)
                if code == KafkaError._PARTITION_EOF:
                    return counts
                if code == KafkaError._AUTO_OFFSET_RESET:
                    return None  # the range went below the log start while it was read
                continue
            offset = offset_of(msg)
            if offset >= end:
                return counts
            skip = span[bisect.bisect_right(firsts, offset) - 1]
            if offset <= skip.last:
                counts[skip] += 1
        return None
    finally:
        consumer.unassign()
