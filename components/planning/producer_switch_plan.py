"""One-way producer switch: a producer resumes on green only once MM2 copied what it wrote on blue.

Under the one-way strategy consumers are already on green when producers move, and they
read one topic, `orders`, fed by two writers in turn: MM2 (the producer's blue records)
and then the producer itself. If the producer's first green record lands before MM2
copied its last blue ones, a key's records are read out of order. So the move runs:
publish `paused: true` (producers flush and stop), wait `gates.producerFlushSeconds`,
read blue's ends of the producer's topics, wait until MM2 copied everything below them,
then publish the green document. The pause is what the producer pays for per-key order;
the routing resource records how long it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kafka_migration.config.clients import ClientGroup
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.planning.naming import offset_syncs_topic


@dataclass(frozen=True)
class ProducerSwitch:
    """What one producer group's move from blue to green waits for."""

    from_alias: str
    to_alias: str
    topics: tuple[str, ...]
    """Blue topics the producer writes."""
    syncs_topic: str
    """Where MM2 records what it copied (on blue)."""
    flush_seconds: float
    timeout_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "topics": list(self.topics)}

    @staticmethod
    def from_json(value: dict[str, Any]) -> ProducerSwitch:
        return ProducerSwitch(
            from_alias=str(value["from_alias"]),
            to_alias=str(value["to_alias"]),
            topics=tuple(str(t) for t in value["topics"]),
            syncs_topic=str(value["syncs_topic"]),
            flush_seconds=float(value["flush_seconds"]),
            timeout_seconds=float(value["timeout_seconds"]),
        )

    def applies(self, from_cluster: str | None, to_cluster: str | None) -> bool:
        """Whether a document change from `from_cluster` to `to_cluster` is this move (blue to green)."""
        return from_cluster == self.from_alias and to_cluster == self.to_alias


def producer_switch(cfg: MigrationConfig, client: ClientGroup) -> ProducerSwitch | None:
    """The switch a producer group's move to green waits for; None under bidirectional (see the README)."""
    if cfg.strategy is not Strategy.ONE_WAY:
        return None
    return ProducerSwitch(
        from_alias=cfg.blue.alias,
        to_alias=cfg.green.alias,
        topics=tuple(client.topics),
        syncs_topic=offset_syncs_topic(cfg.green.alias),
        flush_seconds=cfg.gates.producer_flush_seconds,
        timeout_seconds=cfg.gates.handoff_timeout_seconds,
    )


def still_to_copy(left: dict[tuple[str, int], int]) -> dict[str, int]:
    """`topic:partition` -> records MM2 has yet to copy below the ends read after the pause (empty: done)."""
    return {f"{t}:{p}": n for (t, p), n in sorted(left.items()) if n}
