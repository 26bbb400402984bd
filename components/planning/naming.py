"""Deterministic names: connectors, remote topics and MM2's internal topics, from aliases only."""

from __future__ import annotations

from enum import StrEnum

from kafka_migration.config.model import Strategy


class ConnectorKind(StrEnum):
    """The three MM2 connectors of a flow, by their class names."""

    SOURCE = "MirrorSourceConnector"
    CHECKPOINT = "MirrorCheckpointConnector"
    HEARTBEAT = "MirrorHeartbeatConnector"


def connector_name(source: str, target: str, kind: ConnectorKind) -> str:
    """`A->B.MirrorSourceConnector`, the name MM2's own driver gives its connectors."""
    return f"{source}->{target}.{kind.value}"


def remote_topic(strategy: Strategy, source_alias: str, topic: str) -> str:
    """Name on the target of `topic` replicated from `source_alias` (DefaultReplicationPolicy or identity)."""
    return topic if strategy is Strategy.ONE_WAY else f"{source_alias}.{topic}"


def offset_syncs_topic(target_alias: str) -> str:
    """Where a flow's offset-syncs live (on the flow's source cluster, MM2's default location)."""
    return f"mm2-offset-syncs.{target_alias}.internal"


def checkpoints_topic(source_alias: str) -> str:
    """Where a flow's checkpoints live (on the flow's target cluster)."""
    return f"{source_alias}.checkpoints.internal"


HEARTBEATS_TOPIC = "heartbeats"


def mm2_internal_topics(blue: str, green: str, strategy: Strategy, worker_name: str) -> dict[str, list[str]]:
    """MM2's internal topics per cluster alias, deleted at `mm2-stopped`.

    Each flow X->Y writes offset-syncs on X, and checkpoints and heartbeats (plus the
    replicated `X.heartbeats`) on Y; the Connect worker keeps its own storage topics on
    green, where it runs.
    """
    flows = [(blue, green)] + ([(green, blue)] if strategy is Strategy.BIDIRECTIONAL else [])
    topics: dict[str, set[str]] = {blue: set(), green: set()}
    for source, target in flows:
        topics[source].add(offset_syncs_topic(target))
        topics[source].add(HEARTBEATS_TOPIC)
        topics[target].add(checkpoints_topic(source))
        topics[target].add(HEARTBEATS_TOPIC)
        topics[target].add(f"{source}.{HEARTBEATS_TOPIC}")
    topics[green].update(connect_storage_topics(worker_name))
    return {alias: sorted(names) for alias, names in topics.items()}


def connect_storage_topics(worker_name: str) -> list[str]:
    """The Connect worker's config, offset and status topics."""
    return [f"mm2-{kind}.{worker_name}.internal" for kind in ("configs", "offsets", "status")]
