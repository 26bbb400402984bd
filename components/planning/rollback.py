"""Rollbacks that stop the reverse flow: clients move first, the flow stops once what it carries is read.

Rolling a bidirectional migration back past `bidirectional` stops green->blue. Until
producers act on their new document they still write to green; the flow still has
records to copy into blue's `<green>.<topic>` copies; blue's consumers are still reading
those copies. Stopping the flow, or taking the copies out of the consumers' documents,
before all three are done strands records on green. Such a rollback therefore runs in
this order, within one `pulumi up`: producers' documents, then the drain (the gates
below, awaited), then consumers' documents, then the flow stops. Nothing here touches
a cluster: `operations/reverse_drain.py` reads and waits, these functions decide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.desired import selected_topics
from kafka_migration.planning.gates import Gate, Verdict
from kafka_migration.planning.naming import offset_syncs_topic, remote_topic
from kafka_migration.planning.phases import Step, reverse_flow_active
from kafka_migration.planning.routing import on_green, routing_document

DRAIN_GATES = (Gate.GREEN_IDLE, Gate.REVERSE_DRAINED, Gate.REVERSE_COPIES_READ)


@dataclass(frozen=True)
class ReverseDrain:
    """What a rollback must see before the green->blue flow stops."""

    flow: str
    """`<green>-><blue>`."""
    topics: dict[str, int]
    """Green's topics the producers wrote (blue's names) -> partitions."""
    copies: dict[str, str]
    """Blue's copy of each (`<green>.<topic>`) -> the topic it copies."""
    syncs_topic: str
    """Where the flow records what it copied (on green)."""
    groups: dict[str, tuple[str, ...]]
    """Consumer group id on blue -> the copies it reads at the step being left."""
    idle_window_seconds: float
    timeout_seconds: float
    forced: dict[str, str]
    """Drain gates the stack's `force` waives, with the reason."""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "groups": {g: list(t) for g, t in self.groups.items()}}

    @staticmethod
    def from_json(value: dict[str, Any]) -> ReverseDrain:
        return ReverseDrain(
            flow=str(value["flow"]),
            topics={str(k): int(v) for k, v in value["topics"].items()},
            copies={str(k): str(v) for k, v in value["copies"].items()},
            syncs_topic=str(value["syncs_topic"]),
            groups={str(g): tuple(str(t) for t in topics) for g, topics in value["groups"].items()},
            idle_window_seconds=float(value["idle_window_seconds"]),
            timeout_seconds=float(value["timeout_seconds"]),
            forced={str(k): str(v) for k, v in (value.get("forced") or {}).items()},
        )

    def describe(self) -> str:
        """What `pulumi up` will wait for, in the words of a preview."""
        groups = "; ".join(f"{g} of {', '.join(t)}" for g, t in self.groups.items()) or "none"
        return (
            f"{self.flow} stops only after, in this order: producers' documents point at blue; "
            f"{Gate.GREEN_IDLE.value} (no write to green's {', '.join(self.topics)} "
            f"for {self.idle_window_seconds:g}s); "
            f"{Gate.REVERSE_DRAINED.value} ({self.flow} copied everything); {Gate.REVERSE_COPIES_READ.value} "
            f"(blue's groups committed the end of their copies: {groups}); then consumers' documents. "
            f"`pulumi up` waits up to {self.timeout_seconds:g}s"
        )


def reverse_drain(
    cfg: MigrationConfig, applied: Step | None, target: Step, blue: ClusterInventory, force: dict[str, str]
) -> ReverseDrain | None:
    """The drain a move from `applied` to `target` needs, or None when it stops no reverse flow."""
    if applied is None or not reverse_flow_active(cfg, applied) or reverse_flow_active(cfg, target):
        return None
    green, blue_alias = cfg.green.alias, cfg.blue.alias
    topics = {t.name: t.partitions for t in selected_topics(cfg, blue)}
    copies = {remote_topic(cfg.strategy, green, t): t for t in topics}
    groups: dict[str, tuple[str, ...]] = {}
    for client in cfg.clients_of(ClientRole.CONSUMER):
        read = sorted(set(routing_document(cfg, client, applied).topics) & set(copies))
        if read and not on_green(client, applied):
            groups[client.consumer_group_id] = tuple(sorted({*groups.get(client.consumer_group_id, ()), *read}))
    groups = dict(sorted(groups.items()))
    return ReverseDrain(
        flow=f"{green}->{blue_alias}",
        topics=topics,
        copies=copies,
        syncs_topic=offset_syncs_topic(blue_alias),
        groups=groups,
        idle_window_seconds=cfg.gates.idle_window_seconds,
        timeout_seconds=cfg.gates.handoff_timeout_seconds,
        forced={g.value: force[g.value] for g in DRAIN_GATES if g.value in force},
    )


def consumers_move_with_reverse_stop(cfg: MigrationConfig, applied: Step, target: Step) -> str | None:
    """Why one `pulumi up` may not both move consumer waves and stop the reverse flow, or None.

    Consumers handed back to blue in the same update would be on green while the drain
    waits for them to read blue's copies; rolling them back first keeps each wait possible.
    """
    if not reverse_flow_active(cfg, applied) or reverse_flow_active(cfg, target):
        return None
    if applied.consumer_waves == target.consumer_waves:
        return None
    return (
        f"it would hand consumer waves back to blue and stop {cfg.green.alias}->{cfg.blue.alias} in one update, "
        f"while records on green may still be unread; roll back to phase producers-switched with "
        f"producerWaves={applied.producer_waves} consumerWaves={target.consumer_waves} first, "
        f"then to {target.describe()}"
    )


@dataclass(frozen=True)
class DrainSnapshot:
    """What the clusters say, for one turn of the drain."""

    green_writes: dict[str, int]
    """Records appended to green's topics within the idle window."""
    lag: dict[str, int]
    """`topic:partition` -> records the reverse flow still has to copy."""
    unread: dict[str, dict[str, int]]
    """Group id -> `copy:partition` -> records between its committed offset on blue and the end."""


def drain_verdicts(drain: ReverseDrain, snapshot: DrainSnapshot) -> list[Verdict]:
    """The drain gates' verdicts, in the order they can pass (a force counts as passing)."""
    writes = {t: n for t, n in snapshot.green_writes.items() if n}
    behind = {p: n for p, n in snapshot.lag.items() if n}
    unread = {g: {p: n for p, n in parts.items() if n} for g, parts in snapshot.unread.items()}
    unread = {g: parts for g, parts in unread.items() if parts}
    window = drain.idle_window_seconds
    verdicts = [
        Verdict(
            Gate.GREEN_IDLE,
            not writes,
            f"no write to green in {window:g}s" if not writes else f"still written on green in {window:g}s: {writes}",
            {"writes": writes},
        ),
        Verdict(
            Gate.REVERSE_DRAINED,
            not behind,
            f"{drain.flow} copied every record" if not behind else f"{drain.flow} still to copy: {behind}",
            {"lag": behind},
        ),
        Verdict(
            Gate.REVERSE_COPIES_READ,
            not unread,
            f"{', '.join(drain.groups) or 'no group'} read blue's copies to the end"
            if not unread
            else f"unread on blue: {unread}",
            {"unread": unread},
        ),
    ]
    return [
        Verdict(v.gate, True, f"FORCED ({drain.forced[v.gate.value]!r}): {v.summary}", v.figures)
        if not v.passed and v.gate.value in drain.forced
        else v
        for v in verdicts
    ]
