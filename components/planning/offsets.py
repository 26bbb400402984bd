"""MirrorMaker 2 offset-syncs: decoding, and translating a consumer group's offsets.

An offset-sync says: upstream record at offset U (source cluster) was written
downstream at offset D (target cluster). MM2 writes them to
`mm2-offset-syncs.<target>.internal` on the source cluster; key = topic (int16 length
+ UTF-8) and partition (int32), value = upstream offset (int64) and downstream offset
(int64), all big-endian (Kafka's protocol types).

Translations here never skip a record: when no sync matches exactly they return an
earlier position (a re-read, counted so the caller can report it), never a later one.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class OffsetSync:
    """Upstream record `upstream` was written downstream at `downstream`."""

    upstream: int
    downstream: int


@dataclass(frozen=True)
class SyncKey:
    """The upstream topic-partition an offset-sync is about."""

    topic: str
    partition: int


def decode_sync(key: bytes, value: bytes) -> tuple[SyncKey, OffsetSync]:
    """Decode one offset-sync record; raises ValueError on a malformed record."""
    if len(key) < 2:
        raise ValueError("offset-sync key too short")
    (length,) = struct.unpack_from(">h", key, 0)
    if length < 0 or len(key) != 2 + length + 4:
        raise ValueError(f"offset-sync key of {len(key)} bytes does not hold a topic of {length} bytes and a partition")
    topic = key[2 : 2 + length].decode("utf-8")
    (partition,) = struct.unpack_from(">i", key, 2 + length)
    if len(value) != 16:
        raise ValueError(f"offset-sync value must be 16 bytes, got {len(value)}")
    upstream, downstream = struct.unpack(">qq", value)
    return SyncKey(topic, partition), OffsetSync(upstream, downstream)


def encode_sync(key: SyncKey, sync: OffsetSync) -> tuple[bytes, bytes]:
    """Inverse of decode_sync (used by tests to check the layout against MM2's own records)."""
    raw = key.topic.encode()
    return struct.pack(">h", len(raw)) + raw + struct.pack(">i", key.partition), struct.pack(
        ">qq", sync.upstream, sync.downstream
    )


def current_run(syncs: list[OffsetSync]) -> list[OffsetSync]:
    """The syncs of the current replication of a partition, from syncs in the order MM2 wrote them.

    MM2's offset-syncs topic outlives the target topic: after a rollback that destroyed
    green (or deleted the remote topic), a new replication writes into a new downstream
    log that starts again at offset 0, while the old run's syncs stay in the topic and
    map upstream offsets to downstream offsets of a log that no longer exists. Within one
    downstream log offsets only grow, so a sync whose downstream offset is lower than the
    previous one's (or equal to it for another upstream record) starts a new run: every
    sync before it is dropped.
    """
    start = 0
    for i in range(1, len(syncs)):
        prev, cur = syncs[i - 1], syncs[i]
        if cur.downstream < prev.downstream or (cur.downstream == prev.downstream and cur.upstream != prev.upstream):
            start = i
    return syncs[start:]


class SyncHistory:
    """The current run's syncs for one topic-partition, ordered by upstream offset.

    `syncs` come in the order MM2 wrote them; syncs of an earlier run are dropped (see
    `current_run`). MM2 can restart and re-emit syncs, so for each upstream offset the
    most recent downstream offset wins, and the history is kept monotone.
    """

    def __init__(self, syncs: list[OffsetSync]) -> None:
        by_upstream: dict[int, int] = {}
        for s in current_run(syncs):
            by_upstream[s.upstream] = s.downstream
        self.syncs = sorted(OffsetSync(u, d) for u, d in by_upstream.items())
        # Bisection keys, built once: a handoff translates many offsets against one history.
        self.upstreams = [s.upstream for s in self.syncs]
        self.by_downstream = sorted(self.syncs, key=lambda s: (s.downstream, s.upstream))
        self.downstreams = [s.downstream for s in self.by_downstream]

    def __len__(self) -> int:
        return len(self.syncs)


@dataclass(frozen=True)
class Translation:
    """A translated committed offset."""

    offset: int
    """Offset to commit on the other cluster."""
    exact: bool
    """True when no record is read twice."""
    reread_bound: int
    """At most this many records may be delivered again (0 when exact)."""


def translate_downstream(history: SyncHistory, committed: int) -> Translation | None:
    """Offset on the flow's target for a group committed at `committed` on the source.

    `committed` is the next record the group would read. Uses the newest sync of a
    record the group already read (upstream < committed): its downstream + 1 is where
    the group continues; records between that sync and `committed` are read again.
    A sync at exactly `committed` (MM2 syncs the first record after a gap) maps exactly.
    Returns None when no usable sync exists (nothing can be said safely).
    """
    i = bisect.bisect_right(history.upstreams, committed) - 1
    if i < 0:
        return None
    sync = history.syncs[i]
    if sync.upstream == committed:
        return Translation(sync.downstream, True, 0)
    reread = committed - 1 - sync.upstream
    return Translation(sync.downstream + 1, reread == 0, max(reread, 0))


def translate_upstream(history: SyncHistory, committed: int) -> Translation | None:
    """Offset on the flow's source for a group committed at `committed` on the target (a hand-back).

    The inverse of translate_downstream: the newest sync whose downstream record the
    group already read (downstream < committed) gives upstream + 1.
    """
    i = bisect.bisect_right(history.downstreams, committed) - 1
    if i < 0:
        return None
    sync = history.by_downstream[i]
    if sync.downstream == committed:
        return Translation(sync.upstream, True, 0)
    reread = committed - 1 - sync.downstream
    return Translation(sync.upstream + 1, reread == 0, max(reread, 0))


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint MM2 wrote to `<source>.checkpoints.internal` on the target."""

    group: str
    topic: str
    """The topic as it is named on the target (`A.orders`), per MM2's replication policy."""
    partition: int
    upstream: int
    downstream: int
    metadata: str


def _read_string(buf: bytes, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from(">h", buf, pos)
    pos += 2
    return buf[pos : pos + length].decode("utf-8"), pos + length


def decode_checkpoint(key: bytes, value: bytes) -> Checkpoint:
    """Decode a checkpoint record.

    Key: group, topic, partition. Value: version (int16), upstream, downstream, metadata.
    """
    group, pos = _read_string(key, 0)
    topic, pos = _read_string(key, pos)
    (partition,) = struct.unpack_from(">i", key, pos)
    (version,) = struct.unpack_from(">h", value, 0)
    if version != 0:
        raise ValueError(f"checkpoint value version {version} is not supported (expected 0)")
    upstream, downstream = struct.unpack_from(">qq", value, 2)
    metadata, _ = _read_string(value, 18)
    return Checkpoint(group, topic, partition, upstream, downstream, metadata)


def nearest_sync_below(history: SyncHistory | None, committed: int, forward: bool) -> tuple[int, int] | None:
    """The newest sync at or below `committed` on the side the group reads, as (from_offset, to_offset).

    `forward`: the group read the flow's upstream (from = upstream). Otherwise it read
    the downstream copy and goes back upstream (from = downstream).
    """
    if history is None:
        return None
    keys, ordered = (history.upstreams, history.syncs) if forward else (history.downstreams, history.by_downstream)
    i = bisect.bisect_right(keys, committed) - 1
    if i < 0:
        return None
    sync = ordered[i]
    return (sync.upstream, sync.downstream) if forward else (sync.downstream, sync.upstream)


@dataclass(frozen=True)
class RecordId:
    """What identifies a record across clusters: MM2 copies key, value, headers and timestamp verbatim."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp_ms: int


def match_copies(originals: list[RecordId], copies: list[tuple[int, RecordId]]) -> int | None:
    """Offset right after the copy of the last original, scanning copies in order.

    `originals` are the records the group consumed since a known sync (in order);
    `copies` are (offset, record) of the other side from that sync's offset on. MM2 is
    at-least-once, so a copy may repeat the previous one; it is skipped. Returns None
    when the copies run out before every original is matched (MM2 has not copied that
    far yet) and raises ValueError on a record that matches neither (not a copy).
    """
    if not originals:
        return copies[0][0] if copies else None
    i = 0
    last_offset = -1
    for offset, record in copies:
        if record == originals[i]:
            i += 1
            last_offset = offset
            if i == len(originals):
                return last_offset + 1
        elif i > 0 and record == originals[i - 1]:
            continue
        else:
            raise ValueError(f"record at offset {offset} is not a copy of the consumed records")
    return None
