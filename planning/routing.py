"""Routing documents: what each client group is told to do at a step.

Clients are not Pulumi resources, so the migration publishes one document per client
group, and the clients (or their deployment tooling) follow it. The document is plain
JSON with camelCase keys; its schema is `RoutingDocument.to_json()` below. A document
changes only when its clients must act, so a phase step touches only the documents of
the groups it moves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from config.model import ClientGroup, ClientRole, MigrationConfig, Phase, Strategy
from planning.naming import remote_topic
from planning.phases import Step, phase_order

ROUTING_FORMAT_VERSION = 1


@dataclass(frozen=True)
class RoutingDocument:
    """Where one client group connects and which topics it uses."""

    client_group: str
    role: ClientRole
    cluster: str
    """Alias of the cluster to use (blue's or green's)."""
    bootstrap_servers: str
    security_protocol: str
    topics: dict[str, str]
    """Physical topic on `cluster` -> the logical (blue) topic it carries. Producers write
    to the keys (one per logical topic); consumers subscribe to all keys."""
    group_id: str | None = None
    paused: bool = False
    """True only while the group is being handed over: stop, commit, leave the group, wait."""

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "version": ROUTING_FORMAT_VERSION,
            "clientGroup": self.client_group,
            "role": self.role.value,
            "cluster": self.cluster,
            "bootstrapServers": self.bootstrap_servers,
            "securityProtocol": self.security_protocol,
            "topics": dict(sorted(self.topics.items())),
            "groupId": self.group_id,
            "paused": self.paused,
        }
        body["revision"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return body


def _reached(strategy: Strategy, current: Phase, phase: Phase) -> bool:
    order = phase_order(strategy)
    return phase in order and order.index(current) >= order.index(phase)


def reverse_flow_active(cfg: MigrationConfig, step: Step) -> bool:
    """B->A runs from `bidirectional` until `reverse-disabled` (bidirectional strategy only)."""
    return cfg.strategy is Strategy.BIDIRECTIONAL and (
        _reached(cfg.strategy, step.phase, Phase.BIDIRECTIONAL)
        and not _reached(cfg.strategy, step.phase, Phase.REVERSE_DISABLED)
    )


def forward_flow_active(cfg: MigrationConfig, step: Step) -> bool:
    """A->B runs from `replicating` until `mm2-stopped`."""
    return _reached(cfg.strategy, step.phase, Phase.REPLICATING) and not _reached(
        cfg.strategy, step.phase, Phase.MM2_STOPPED
    )


def on_green(client: ClientGroup, step: Step) -> bool:
    """Whether the client group's wave is switched at this step."""
    done = step.producer_waves if client.role is ClientRole.PRODUCER else step.consumer_waves
    return client.wave <= done


def routing_document(cfg: MigrationConfig, client: ClientGroup, step: Step) -> RoutingDocument:
    """The document for `client` at `step`.

    Consumers under the bidirectional strategy read the local topic and the remote copy
    of the other side: on blue `orders` + `B.orders` while B->A runs (so records from
    producers already on green reach them), on green `orders` + `A.orders` (history and
    anything producers still on blue write). Under one-way, names never change.
    """
    green = on_green(client, step)
    cluster = cfg.green if green else cfg.blue
    other = cfg.blue if green else cfg.green
    topics: dict[str, str] = {}
    for logical in client.topics:
        topics[logical] = logical
        if client.role is ClientRole.CONSUMER and cfg.strategy is Strategy.BIDIRECTIONAL:
            carries_other_side = green or reverse_flow_active(cfg, step)
            if carries_other_side:
                topics[remote_topic(cfg.strategy, other.alias, logical)] = logical
    return RoutingDocument(
        client_group=client.name,
        role=client.role,
        cluster=cluster.alias,
        bootstrap_servers=cluster.resolved_bootstrap_servers,
        security_protocol=cluster.security.protocol,
        topics=topics,
        group_id=client.consumer_group_id if client.role is ClientRole.CONSUMER else None,
    )


def routing_table(cfg: MigrationConfig, step: Step) -> dict[str, RoutingDocument]:
    """Every client group's document at `step`."""
    return {c.name: routing_document(cfg, c, step) for c in cfg.clients}
