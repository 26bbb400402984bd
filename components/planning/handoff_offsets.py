"""Which offsets a consumer group's handoff moves, and how to translate each (pure).

A group moving from cluster X to cluster Y reads, on X, local topics and remote copies
of Y's topics. Each physical topic on X maps to one physical topic on Y through one
MM2 flow's offset-syncs, used forward (upstream -> downstream) or backward:

bidirectional, blue -> green, for logical topic t:
  blue `t`   -> green `A.t` : A->B syncs (on blue), key t, forward
  blue `B.t` -> green `t`   : B->A syncs (on green), key t, backward
one-way (identity names), blue -> green: blue `t` -> green `t`, A->B syncs, forward.
A hand-back (green -> blue) uses the same syncs the other way round.

MM2 itself translates only the forward case (its checkpoint connector skips topics
that came from its own target, MirrorSourceConnector's `isCycle`), which is why the
migration does its own translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kafka_migration.config.clients import ClientGroup
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.planning.naming import offset_syncs_topic, remote_topic


class Direction(StrEnum):
    """Which way a committed offset goes through a flow's offset-syncs."""

    FORWARD = "forward"
    """Committed offset is upstream of the syncs: translate to downstream."""
    BACKWARD = "backward"
    """Committed offset is downstream of the syncs: translate to upstream."""


@dataclass(frozen=True)
class OffsetMove:
    """How committed offsets of one physical topic carry over to the other cluster."""

    from_topic: str
    to_topic: str
    syncs_on: str
    """Alias of the cluster holding the offset-syncs topic (the flow's source)."""
    syncs_topic: str
    sync_key_topic: str
    """Topic name in the syncs' keys (the flow's upstream topic)."""
    direction: Direction

    def to_json(self) -> dict[str, str]:
        return {
            "fromTopic": self.from_topic,
            "toTopic": self.to_topic,
            "syncsOn": self.syncs_on,
            "syncsTopic": self.syncs_topic,
            "syncKeyTopic": self.sync_key_topic,
            "direction": self.direction.value,
        }

    @staticmethod
    def from_json(d: dict[str, str]) -> OffsetMove:
        return OffsetMove(
            d["fromTopic"], d["toTopic"], d["syncsOn"], d["syncsTopic"], d["syncKeyTopic"], Direction(d["direction"])
        )


def offset_moves(cfg: MigrationConfig, client: ClientGroup, to_green: bool) -> list[OffsetMove]:
    """The offset moves of `client`'s handoff, blue->green when `to_green`, else the hand-back."""
    a, b = cfg.blue.alias, cfg.green.alias
    ab_syncs = offset_syncs_topic(b)  # flow A->B, on blue
    moves: list[OffsetMove] = []
    for t in client.topics:
        if cfg.strategy is Strategy.ONE_WAY:
            direction = Direction.FORWARD if to_green else Direction.BACKWARD
            moves.append(OffsetMove(t, t, a, ab_syncs, t, direction))
            continue
        ba_syncs = offset_syncs_topic(a)  # flow B->A, on green
        blue_remote, green_remote = remote_topic(cfg.strategy, b, t), remote_topic(cfg.strategy, a, t)
        if to_green:
            moves.append(OffsetMove(t, green_remote, a, ab_syncs, t, Direction.FORWARD))
            moves.append(OffsetMove(blue_remote, t, b, ba_syncs, t, Direction.BACKWARD))
        else:
            moves.append(OffsetMove(green_remote, t, a, ab_syncs, t, Direction.BACKWARD))
            moves.append(OffsetMove(t, blue_remote, b, ba_syncs, t, Direction.FORWARD))
    return moves
