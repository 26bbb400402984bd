"""Where a consumer group continues on the other cluster, one partition at a time (pure).

A placement maps the group's committed offset `c` on the side it read (the next record
it would read there) to an offset on the other side, using the current run's
offset-syncs of the flow between them. Every placement is safe: it is at or before the
copy (or the original) of record `c`, never after it, so the group may read some
records again but never skips one. How many it may read again is `reread_bound`: a
true upper bound on the records of the side it read that it sees twice (duplicates MM2
itself wrote, at-least-once, come on top), or None when no bound is known.

The planning is split around the one read it may need: `plan_placement` says whether
the syncs decide the placement alone or which records to compare, the caller reads
them, and `placement_from_search` turns the comparison's outcome into a placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kafka_migration.planning.offsets import SyncHistory, nearest_sync_below

MAX_SEARCH_RECORDS = 200_000
"""Beyond this many records to compare, settle for the sync's conservative position."""


@dataclass(frozen=True)
class Watermark:
    """A partition's log start and end offset."""

    low: int
    high: int


class Basis(StrEnum):
    """What a placement was derived from (recorded in the handoff report)."""

    SYNC = "sync"
    """An offset-sync of exactly the group's offset."""
    RECORDS = "records"
    """The records the group read since a sync, found in order on the other side."""
    SYNC_REREAD = "sync-reread"
    """The nearest sync below the group's offset; the records since it are read again."""
    LOG_START = "log-start"
    """No sync of the current run at or below the offset: the other side's log start."""


@dataclass(frozen=True)
class Placement:
    """The offset to commit on the other side for one partition."""

    offset: int
    exact: bool
    """True when no record is read twice."""
    reread_bound: int | None
    """At most this many records are read again; None when no bound is known."""
    basis: Basis
    improvable: bool = False
    """Not exact only because MM2 has not copied the group's last records yet: waiting may make it exact."""


@dataclass(frozen=True)
class Anchor:
    """A known or assumed pair of copies, as (offset on the side the group read, offset on the other side)."""

    from_offset: int
    to_offset: int
    from_sync: bool = True
    """An offset-sync says so. Otherwise both log starts are assumed to hold the same record, which only
    a record comparison that matches from the first record on can confirm."""


@dataclass(frozen=True)
class SearchRequest:
    """Compare records `from_offset..committed` of the side read with the other side from `anchor.to_offset`."""

    anchor: Anchor
    committed: int


def plan_placement(
    committed: int, history: SyncHistory | None, forward: bool, source: Watermark, target: Watermark
) -> Placement | SearchRequest:
    """The placement the syncs decide alone, or the record comparison that can make it exact.

    `forward`: the group read the flow's upstream side (the syncs' keys). A committed
    offset below the side's log start is placed like any other: the records the group
    has not read were deleted there, but their copies may still be on the other side.
    Records are compared only from an anchor whose record still exists on the side read.
    """
    found = nearest_sync_below(history, committed, forward)
    if found is None:
        if committed <= source.low or committed - source.low > MAX_SEARCH_RECORDS:
            # Nothing the group read is left to compare (or too much): the other side's log start.
            nothing_to_read = target.low == target.high
            return Placement(target.low, nothing_to_read, 0 if nothing_to_read else None, Basis.LOG_START)
        return SearchRequest(Anchor(source.low, target.low, from_sync=False), committed)
    anchor = Anchor(*found)
    if anchor.from_offset == committed:
        return Placement(anchor.to_offset, True, 0, Basis.SYNC)
    if anchor.from_offset < source.low or committed - anchor.from_offset > MAX_SEARCH_RECORDS:
        return conservative(anchor, committed, improvable=False)
    return SearchRequest(anchor, committed)


def conservative(anchor: Anchor, committed: int, improvable: bool) -> Placement:
    """Right after the anchor's copy: the records between the anchor and `committed` are read again.

    An assumed anchor proves nothing: the other side's log start, with no known bound.
    """
    if not anchor.from_sync:
        return Placement(anchor.to_offset, False, None, Basis.LOG_START, improvable)
    reread = committed - 1 - anchor.from_offset
    return Placement(anchor.to_offset + 1, reread == 0, reread, Basis.SYNC_REREAD, improvable and reread > 0)


class SearchOutcome(StrEnum):
    """How a record comparison ended, when it found no exact position."""

    NOT_COPIED_YET = "not-copied-yet"
    """The other side ends before the copy of the last record read: MM2 is behind."""
    UNDECIDABLE = "undecidable"
    """A record did not match, or a read did not complete in time."""


def placement_from_search(request: SearchRequest, found: int | SearchOutcome) -> Placement:
    """The placement after comparing records: exact when found, else the anchor's conservative one."""
    if isinstance(found, int):
        return Placement(found, True, 0, Basis.RECORDS)
    return conservative(request.anchor, request.committed, improvable=found is SearchOutcome.NOT_COPIED_YET)
