"""Upstream offsets MM2 skipped, and which of them are records it never copied (pure).

MM2 writes an offset-sync (upstream offset U copied to downstream offset D) whenever
the upstream offsets it copies are not contiguous (and, with `offset.lag.max` 0, for
nearly every record; syncs queued faster than they are sent are coalesced). Between two
consecutive syncs (u1, d1), (u2, d2) of a partition, in the order MM2 wrote them, it
wrote at most d2 - d1 - 1 records downstream, so at least (u2 - u1) - (d2 - d1) of the
upstream offsets u1+1..u2-1 were not copied. Skipping is legitimate for transaction
markers and aborted records (MM2 reads `read_committed`) and for records compaction
removed. It is not when the source's retention deleted records while MM2 was down: its
consumer then resets to `earliest`, the new log start, and catches up as if nothing
happened, so no lag reading ever shows the loss.

A skipped range still on the source is checked: whatever a `read_committed` reader finds
in it beyond what MM2 wrote downstream in between is a gap. A range (partly) below the
source's log start cannot be read any more and is reported on a non-compacted topic
(nobody can tell now whether it held only markers or aborted records); on a compacted
topic it is left out, compaction removes records MM2 rightly never sees. Anything else
that lands downstream in between (other producers on green, MM2 re-sending after a
restart) only makes a gap look smaller, never makes one up; a restart that rewinds
(u2 <= u1) is no skip.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kafka_migration.planning.gate_evidence import SourceGap
from kafka_migration.planning.offsets import OffsetSync, SyncKey, current_run


@dataclass(frozen=True)
class Skip:
    """Two consecutive offset-syncs of a partition between which MM2 did not copy some upstream offsets."""

    topic: str
    partition: int
    before: OffsetSync
    after: OffsetSync

    @property
    def first(self) -> int:
        return self.before.upstream + 1

    @property
    def last(self) -> int:
        return self.after.upstream - 1

    @property
    def copied_between(self) -> int:
        """Records MM2 wrote downstream between the two syncs (an upper bound of what it copied of the range)."""
        return self.after.downstream - self.before.downstream - 1

    @property
    def skipped(self) -> int:
        """Offsets of the range MM2 did not copy (at least)."""
        return self.last - self.first + 1 - self.copied_between


def find_skips(syncs: Mapping[SyncKey, Sequence[OffsetSync]], checked: Mapping[str, int] | None = None) -> list[Skip]:
    """Skips in each partition's current run of syncs, given in the order MM2 wrote them.

    `checked`: `topic:partition` -> upstream offset through which an earlier passing
    `source-intact` already judged every skip (see `checked_through`); those are not
    judged again, so a range verified harmless while blue still had it is not reported
    once retention deletes it.
    """
    checked = checked or {}
    skips = []
    for key in sorted(syncs, key=lambda k: (k.topic, k.partition)):
        done = checked.get(f"{key.topic}:{key.partition}", -1)
        for before, after in itertools.pairwise(current_run(list(syncs[key]))):
            skip = Skip(key.topic, key.partition, before, after)
            if skip.first <= skip.last and skip.skipped > 0 and after.upstream > done:
                skips.append(skip)
    return skips


def newest_synced(syncs: Mapping[SyncKey, Sequence[OffsetSync]]) -> dict[str, int]:
    """`topic:partition` -> upstream offset of the newest sync of its current run (what a passing check covers)."""
    out = {}
    for key, history in syncs.items():
        run = current_run(list(history))
        if run:
            out[f"{key.topic}:{key.partition}"] = run[-1].upstream
    return out


def checked_through(history: Sequence[Mapping[str, Any]], flow: str) -> dict[str, int]:
    """What the stack's last passing `source-intact` covered for `flow`, from its history.

    Only entries since the last `blue-only`: a rollback there deletes green's copies and
    the next replication starts over, so earlier checks say nothing about it.
    """
    since = 0
    for i, entry in enumerate(history):
        if entry.get("phase") == "blue-only":
            since = i + 1
    for entry in reversed(history[since:]):
        checked = (entry.get("sourceChecked") or {}).get(flow)
        if checked:
            return {str(k): int(v) for k, v in checked.items()}
    return {}


def readable(skip: Skip, log_starts: Mapping[tuple[str, int], int]) -> bool:
    """The whole skipped range is still on the source, so it can be read back."""
    log_start = log_starts.get((skip.topic, skip.partition))
    return log_start is not None and skip.first >= log_start


def judge(
    flow: str,
    source: str,
    skips: Iterable[Skip],
    log_starts: Mapping[tuple[str, int], int],
    compacted: Collection[str],
    committed: Mapping[Skip, int],
) -> list[SourceGap]:
    """The gaps among `skips` of `flow`, which reads cluster `source` (`blue` or `green`).

    `log_starts`: (topic, partition) -> the source's log start now; a partition the source
    no longer has is left to the topic-id check. `compacted`: topics whose cleanup.policy
    contains `compact`. `committed`: records a `read_committed` reader found in each
    readable skip's range; a readable skip missing from it could not be read back.
    """
    gaps = []
    for skip in skips:
        log_start = log_starts.get((skip.topic, skip.partition))
        if log_start is None:
            continue
        gap = SourceGap(
            flow=flow,
            source=source,
            topic=skip.topic,
            partition=skip.partition,
            first=skip.first,
            last=skip.last,
            skipped=skip.skipped,
            downstream=(skip.before.downstream, skip.after.downstream),
            log_start=log_start,
            verifiable=readable(skip, log_starts),
        )
        if not gap.verifiable:
            if skip.topic not in compacted:
                gaps.append(gap)
        elif skip not in committed:
            gaps.append(gap)
        elif committed[skip] > skip.copied_between:
            gaps.append(replace(gap, missing=committed[skip] - skip.copied_between))
    return gaps


def describe(gap: SourceGap) -> str:
    """One line naming the flow, partition and offsets, and what is known of the records."""
    where = f"{gap.flow} {gap.topic}:{gap.partition}"
    offsets = f"offsets {gap.first}..{gap.last}"
    if gap.missing is not None:
        return f"{where}: MM2 skipped {gap.missing} committed record(s) {gap.source} still has ({offsets})"
    if gap.skipped < gap.last - gap.first + 1:
        offsets = f"{gap.skipped} of {offsets}"
    if not gap.verifiable:
        return (
            f"{where}: {offsets} were skipped and {gap.source} deleted them (log start {gap.log_start}): "
            "deleted before MM2 copied them, unless they were only transaction markers or aborted records"
        )
    return (
        f"{where}: {offsets} were skipped and could not be read back from {gap.source} within "
        "gates.readTimeoutSeconds (raise it to check them)"
    )


def figures(gap: SourceGap) -> dict[str, Any]:
    """The gap as plain data for the gate's figures."""
    return {
        "flow": gap.flow,
        "topic": gap.topic,
        "partition": gap.partition,
        "offsets": [gap.first, gap.last],
        "skippedOffsets": gap.skipped,
        "downstreamAround": list(gap.downstream),
        "logStart": gap.log_start,
        "verifiable": gap.verifiable,
        "missingRecords": gap.missing,
    }
