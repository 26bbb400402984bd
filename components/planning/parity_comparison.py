"""Data parity (pure): which records of a partition to compare with MM2's copy, and what the comparison shows.

MM2 copies what a `read_committed` consumer of the source sees, in order, and may deliver a
copy again (at least once). So from an offset-sync (u, d) the source's records from u on, as
a `read_committed` consumer returns them (aborted records and transaction markers skipped),
must equal the target's records from d on, in order, except for copies delivered again.
Records are compared by key, value, headers and timestamp (`RecordId`); evidence/parity.py
reads them.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka_migration.planning.gate_evidence import ParitySample
from kafka_migration.planning.offsets import OffsetSync, RecordId

Record = tuple[int, RecordId]
"""A record and its offset."""
EMPTY = "empty"
"""`ParitySample.unsampled` of a partition with no committed record on the flow's source: nothing to compare."""
WINDOWS = 3
"""How many places of a partition share its sample: the oldest, the middle and the newest copied records."""


@dataclass(frozen=True)
class Window:
    """Records to compare from one offset-sync on."""

    anchor: OffsetSync
    records: int
    """At most this many records compared."""
    stop_before: int | None
    """Upstream offset where the next window starts (None: read to the end)."""


def plan_windows(syncs: Sequence[OffsetSync], budget: int) -> list[Window]:
    """Where to compare up to `budget` records of one partition, given its offset-syncs (ordered by upstream offset).

    When the synced range holds no more records than the budget, one window from the oldest
    sync covers all of it (and the copied records after the newest sync). Otherwise the budget
    is shared by windows from the oldest sync, the middle and up to the newest sync; each
    ends where the next one starts.
    """
    if budget <= 0 or not syncs:
        return []
    if syncs[-1].upstream - syncs[0].upstream < budget:
        return [Window(syncs[0], budget, None)]
    count = min(WINDOWS, budget)
    shares = [budget // count + (1 if k < budget % count else 0) for k in range(count)]
    merged: list[tuple[OffsetSync, int]] = []
    for anchor, share in zip(_anchors(syncs, shares), shares, strict=True):
        if merged and merged[-1][0] == anchor:
            merged[-1] = (anchor, merged[-1][1] + share)
        else:
            merged.append((anchor, share))
    stops: list[int | None] = [a.upstream for a, _ in merged[1:]] + [None]
    return [Window(a, n, stop) for (a, n), stop in zip(merged, stops, strict=True)]


def _anchors(syncs: Sequence[OffsetSync], shares: list[int]) -> list[OffsetSync]:
    """The sync each window starts from: places spread from the oldest sync to where the last window ends on the newest.

    A window starts at the newest sync at or before its place (only a sync locates a record on
    the target). When syncs are sparse and the last window would start where the one before
    it does, it starts at the newest sync instead.
    """
    upstreams = [s.upstream for s in syncs]
    first, last_start = upstreams[0], upstreams[-1] + 1 - shares[-1]
    steps = max(len(shares) - 1, 1)
    places = [last_start - round((len(shares) - 1 - k) * (last_start - first) / steps) for k in range(len(shares))]
    anchors = [syncs[bisect.bisect_right(upstreams, place) - 1] for place in places]
    if len(anchors) > 1 and anchors[-1] == anchors[-2]:
        anchors[-1] = syncs[-1]
    return anchors


@dataclass(frozen=True)
class Difference:
    """A record of the target that is not the copy of the source's record it should be."""

    upstream_offset: int
    downstream_offset: int
    fields: tuple[str, ...]
    """Which of key, value, headers and timestamp differ."""

    def describe(self) -> str:
        return (
            f"upstream offset {self.upstream_offset} differs from downstream offset {self.downstream_offset} "
            f"({', '.join(self.fields)})"
        )


@dataclass(frozen=True)
class Comparison:
    """What comparing records in order found."""

    compared: int = 0
    """Records compared, a differing one included."""
    repeated: int = 0
    """Copies MM2 delivered again, skipped."""
    compacted: int = 0
    """Records of a compacted topic on one side only, skipped."""
    difference: Difference | None = None


def differing_fields(original: RecordId, copy: RecordId) -> tuple[str, ...]:
    """Which of key, value, headers and timestamp differ between two records."""
    names = {"key": "key", "value": "value", "headers": "headers", "timestamp_ms": "timestamp"}
    return tuple(label for attr, label in names.items() if getattr(original, attr) != getattr(copy, attr))


def compare_in_order(
    originals: Sequence[Record],
    copies: Sequence[Record],
    limit: int,
    compacted: bool = False,
    copy_of: Mapping[int, int] | None = None,
    earlier: Collection[RecordId] = frozenset(),
    start: int | None = None,
) -> Comparison:
    """Compare up to `limit` source records with the target's records, both read in order from one offset-sync.

    A copy equal to a record already compared, or to one of `earlier` (source records before
    the window, read where a copy was not the record expected), is MM2 delivering it again
    after a restart from an older committed offset: skipped. A copy
    that an offset-sync (`copy_of`: downstream -> upstream offset) maps to a record before the
    one expected is MM2 copying earlier records again after a restart, from before what was
    read: the comparison ends there, without a verdict on it. In a compacted topic each
    cluster compacts on its own, so a record present on one side only is skipped when the
    other side's record comes later on its side, and a copy an offset-sync maps to a source
    offset between the record expected and the one before it (`start`, the offset the source
    was read from, before the first) is of a record the source compacted away. Anything else
    is a difference, and the comparison stops at the first one. It also stops when either side
    runs out.
    """
    copy_of = copy_of or {}
    later = _Later(originals, copies) if compacted else None
    i = j = compared = repeated = skipped = 0
    seen: set[RecordId] = set()
    while compared < limit and i < len(originals) and j < len(copies):
        (up_offset, original), (down_offset, copy) = originals[i], copies[j]
        if copy == original:
            seen.add(original)
            compared, i, j = compared + 1, i + 1, j + 1
        elif copy in seen or copy in earlier:
            repeated, j = repeated + 1, j + 1
        elif later and (skip := later.compaction_skip(i, j)):
            i, j, skipped = i + skip[0], j + skip[1], skipped + sum(skip)
        elif later and _gap_start(originals, i, start) <= copy_of.get(down_offset, -1) < up_offset:
            j, skipped = j + 1, skipped + 1
        elif copy_of.get(down_offset, up_offset) < up_offset:
            break
        else:
            difference = Difference(up_offset, down_offset, differing_fields(original, copy))
            return Comparison(compared + 1, repeated, skipped, difference)
    return Comparison(compared, repeated, skipped)


def _gap_start(originals: Sequence[Record], i: int, start: int | None) -> int:
    """The first source offset after the record before `originals[i]` (`start` or its own offset for the first)."""
    if i:
        return originals[i - 1][0] + 1
    return originals[0][0] if start is None else start


class _Later:
    """Where each record appears on either side, to find the next place both sides hold the same record."""

    def __init__(self, originals: Sequence[Record], copies: Sequence[Record]) -> None:
        self._originals, self._copies = originals, copies
        self._in_originals, self._in_copies = _indexes(originals), _indexes(copies)

    def compaction_skip(self, i: int, j: int) -> tuple[int, int] | None:
        """The fewest records to skip (source, target) so that both sides hold the same record again; None if none."""
        later_original = _next_index(self._in_originals.get(self._copies[j][1], []), i + 1)
        later_copy = _next_index(self._in_copies.get(self._originals[i][1], []), j + 1)
        options = [(later_original - i, 0)] if later_original is not None else []
        options += [(0, later_copy - j)] if later_copy is not None else []
        return min(options, key=sum, default=None)


def _indexes(records: Sequence[Record]) -> dict[RecordId, list[int]]:
    out: dict[RecordId, list[int]] = {}
    for k, (_offset, record) in enumerate(records):
        out.setdefault(record, []).append(k)
    return out


def _next_index(indexes: list[int], start: int) -> int | None:
    """The first of `indexes` (ascending) at or after `start`."""
    k = bisect.bisect_left(indexes, start)
    return indexes[k] if k < len(indexes) else None


def combine(comparisons: Iterable[Comparison]) -> Comparison:
    """The comparisons of one partition's windows as one (the first difference kept)."""
    total = Comparison()
    for c in comparisons:
        total = Comparison(
            total.compared + c.compared,
            total.repeated + c.repeated,
            total.compacted + c.compacted,
            total.difference or c.difference,
        )
    return total


# --- the verdict's inputs -------------------------------------------------------------------


def partition_name(sample: ParitySample) -> str:
    """`orders:0`."""
    return f"{sample.topic}:{sample.partition}"


def problems(samples: Iterable[ParitySample]) -> list[str]:
    """What fails the gate: a record that is not its copy, or a partition with records nothing could be compared of."""
    out = []
    for s in samples:
        where = f"{s.flow} {partition_name(s)}"
        if s.difference:
            out.append(f"{where}: {s.difference}")
        elif not s.compared and s.unsampled != EMPTY:
            out.append(f"{where} not sampled: {s.unsampled or 'nothing compared'}")
    return out


def flow_figures(samples: Iterable[ParitySample]) -> dict[str, dict[str, Any]]:
    """Per flow: topics and partitions sampled, records compared, and each partition's count or why it has none."""
    by_flow: dict[str, list[ParitySample]] = {}
    for s in samples:
        by_flow.setdefault(s.flow, []).append(s)
    return {flow: _figures(flow_samples) for flow, flow_samples in by_flow.items()}


def _figures(samples: list[ParitySample]) -> dict[str, Any]:
    sampled = [s for s in samples if s.compared]
    return {
        "topics": len({s.topic for s in sampled}),
        "partitions": len(sampled),
        "recordsCompared": sum(s.compared for s in samples),
        "perPartition": {partition_name(s): s.compared or _unsampled(s) for s in samples},
        "different": {partition_name(s): s.difference for s in samples if s.difference},
        "repeatedCopies": sum(s.repeated_copies for s in samples),
        "compactedAway": sum(s.compacted_away for s in samples),
    }


def _unsampled(sample: ParitySample) -> str:
    return EMPTY if sample.unsampled == EMPTY else f"not sampled: {sample.unsampled or 'nothing compared'}"


def compared_summary(figures: Mapping[str, Mapping[str, Any]], shown: int = 5) -> str:
    """`A->B 126 record(s) in 6 partition(s) of 3 topic(s) (empty: orders:2)`, one part per flow."""
    parts = []
    for flow, f in figures.items():
        empty = [name for name, count in f["perPartition"].items() if count == EMPTY]
        more = f" and {len(empty) - shown} more" if len(empty) > shown else ""
        note = f" (empty: {', '.join(empty[:shown])}{more})" if empty else ""
        parts.append(
            f"{flow} {f['recordsCompared']} record(s) in {f['partitions']} partition(s) of {f['topics']} topic(s){note}"
        )
    return "; ".join(parts)
