"""The consumer handoff as decisions over snapshots: what to do next, from what is true now (pure).

A handoff moves consumer group G from cluster X to cluster Y without skipping a record:
pause the group's document, wait until G has no member on X and its committed offsets
stop moving, give every partition G reads on X an explicit committed offset, place each
one on Y, commit the placements on Y, read them back, then publish the document that
routes G to Y. `decide` looks at one `HandoffSnapshot` (the document as clients see it,
members and committed offsets on both sides, partitions, placements) and returns the
single next action; the caller acts, reads a new snapshot and asks again. Nothing is
remembered between calls, so after a crash at any point (an interrupted `pulumi up`)
the same loop resumes from what the clusters and the published document say:

- document already as wanted -> done, nothing is committed again;
- document paused, offsets already committed on Y -> publish;
- document paused, nothing on Y yet -> carry on from the drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka_migration.config.clients import OffsetReset
from kafka_migration.planning.handoff_offsets import OffsetMove
from kafka_migration.planning.placement import Placement, Watermark
from kafka_migration.planning.routing import published_form

TopicPartition = tuple[str, int]
Document = dict[str, Any]


def document_content(document: Document | None) -> Document:
    """A document without its derived revision, for comparisons."""
    return {k: v for k, v in (document or {}).items() if k != "revision"}


def paused(document: Document) -> Document:
    """The same document with `paused: true` (and its own revision): clients stop, commit and leave the group."""
    return published_form({**document, "paused": True})


@dataclass(frozen=True)
class GroupView:
    """The group as one cluster sees it."""

    members: int = 0
    static_members: tuple[str, ...] = ()
    """`group.instance.id` of members that stay in the group after their client closes."""
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    """Committed offsets of the topics the handoff looks at."""


@dataclass(frozen=True)
class HandoffSnapshot:
    """Everything true about one handoff at one moment."""

    group_id: str
    from_alias: str
    to_alias: str
    published: Document | None
    """The document as the clients read it now (None: none published)."""
    target: Document
    """The document to publish when the handoff is complete."""
    moves: tuple[OffsetMove, ...]
    reset: OffsetReset
    source: GroupView
    destination: GroupView
    source_stable: bool
    """The committed offsets on X did not change while the snapshot was read."""
    source_partitions: dict[TopicPartition, Watermark]
    """Every partition of every topic G reads on X."""
    destination_partitions: dict[TopicPartition, Watermark]
    """Every partition of every topic G will read on Y."""
    placements: dict[TopicPartition, Placement]
    """Source partition -> where G continues on Y (read once every source partition is committed)."""
    settle: bool = False
    """The wait for exact placements is over: conservative ones are accepted."""


@dataclass(frozen=True)
class Publish:
    """Write `document` where the group's clients read it."""

    document: Document
    why: str


@dataclass(frozen=True)
class Wait:
    """Nothing to do yet; read again."""

    why: str


@dataclass(frozen=True)
class Commit:
    """Commit `offsets` for the group on `cluster` (the group has no member there)."""

    cluster: str
    offsets: dict[TopicPartition, int]
    why: str


@dataclass(frozen=True)
class Done:
    """The handoff is complete; nothing was done now."""

    why: str


@dataclass(frozen=True)
class Refuse:
    """The handoff cannot complete safely; the clients go back to the document they had."""

    why: str


Action = Publish | Wait | Commit | Done | Refuse


def decide(s: HandoffSnapshot) -> Action:
    """The next action of the handoff that `s` describes."""
    if s.published is not None and document_content(s.published) == document_content(s.target):
        return Done("the routing document is already published as wanted")
    if s.published is None or s.published.get("cluster") == s.target.get("cluster"):
        return Publish(s.target, "the group stays on its cluster: nothing to hand over")
    if s.published.get("cluster") != s.from_alias:
        where = s.published.get("cluster")
        return Refuse(f"the published document routes {s.group_id} to {where!r}, not {s.from_alias}")
    if not s.published.get("paused"):
        return Publish(paused(s.published), f"pause {s.group_id} on {s.from_alias} before handing it over")
    waiting = _drain(s)
    if waiting is not None:
        return waiting
    unpinned = _positions_for_uncommitted(s)
    if unpinned:
        return Commit(
            s.from_alias,
            unpinned,
            f"give {len(unpinned)} partition(s) without a committed offset on {s.from_alias} an explicit one "
            f"({s.reset.value}), so none is left to the clients' auto.offset.reset on {s.to_alias}",
        )
    desired = destination_offsets(s)
    if not isinstance(desired, dict):
        return desired
    improvable = sorted(f"{t}:{p}" for (t, p), pl in s.placements.items() if pl.improvable)
    if improvable and not s.settle:
        return Wait(f"MM2 has not copied the last records {s.group_id} read on {', '.join(improvable)} yet")
    if any(s.destination.committed.get(tp) != offset for tp, offset in desired.items()):
        return Commit(s.to_alias, desired, f"commit {s.group_id}'s positions on {s.to_alias}")
    return Publish(s.target, f"{s.group_id}'s offsets are committed on {s.to_alias}: route it there")


def _drain(s: HandoffSnapshot) -> Action | None:
    """Wait (or refuse) until the group has left X and its offsets are final; None when it has."""
    if s.source.members:
        static = f" (static members {', '.join(s.source.static_members)} stay until session.timeout.ms)"
        return Wait(
            f"{s.source.members} member(s) of {s.group_id} still on {s.from_alias}"
            + (static if s.source.static_members else "")
        )
    if s.destination.members:
        return Refuse(
            f"{s.destination.members} member(s) of {s.group_id} are on {s.to_alias} while its document still routes "
            f"it to {s.from_alias}: a client ignores its routing document; stop it before the handoff"
        )
    if not s.source_stable:
        return Wait(
            f"committed offsets of {s.group_id} on {s.from_alias} still change although it has no member: "
            "a consumer that uses assign() is still committing"
        )
    return None


def _positions_for_uncommitted(s: HandoffSnapshot) -> dict[TopicPartition, int]:
    """Where the group stands on X's partitions it never committed, per its auto.offset.reset."""
    return {
        tp: (wm.low if s.reset is OffsetReset.EARLIEST else wm.high)
        for tp, wm in sorted(s.source_partitions.items())
        if tp not in s.source.committed
    }


def destination_offsets(s: HandoffSnapshot) -> dict[TopicPartition, int] | Wait | Refuse:
    """The offset to commit on Y for every partition G will read there."""
    by_from = {m.from_topic: m for m in s.moves}
    desired: dict[TopicPartition, int] = {}
    for (topic, partition), _wm in sorted(s.source_partitions.items()):
        move = by_from[topic]
        target_tp = (move.to_topic, partition)
        placement = s.placements.get((topic, partition))
        if placement is None:
            return Wait(f"no placement yet for {topic}:{partition}")
        window = s.destination_partitions.get(target_tp)
        if window is None:
            return Wait(f"{move.to_topic} has no partition {partition} on {s.to_alias} yet (MM2 creates it)")
        if placement.offset < window.low:
            return Refuse(
                f"{s.group_id} continues on {s.to_alias} {move.to_topic}:{partition} at {placement.offset}, "
                f"but the log there starts at {window.low}: {window.low - placement.offset} record(s) it has not "
                f"read were deleted by retention on {s.to_alias}; raise retention.ms there"
            )
        if placement.offset > window.high:
            return Refuse(
                f"{topic}:{partition} of {s.group_id} translates to {move.to_topic}:{partition}@{placement.offset}, "
                f"past the end ({window.high}) on {s.to_alias}: the offset-syncs describe another copy of the topic"
            )
        desired[target_tp] = placement.offset
    for tp, window in sorted(s.destination_partitions.items()):
        if tp not in desired:
            desired[tp] = window.low  # G read nothing of it on X: everything there is new to it
    return desired


def reread_bound(placements: dict[TopicPartition, Placement]) -> int | None:
    """Records the group may read again in total; None when any partition's bound is unknown."""
    bounds = [p.reread_bound for p in placements.values()]
    return None if any(b is None for b in bounds) else sum(b for b in bounds if b is not None)
