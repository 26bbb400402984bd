"""Safety gates: which ones guard a step, and what each concludes from the evidence (pure).

Every verdict carries the figures behind it. A gate fails `pulumi up` (and is shown at
`pulumi preview`) unless the stack's `force` names it with a reason; `source-intact`
cannot be forced, because the records it protects would be lost without a trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.planning import parity_comparison, skipped_offsets
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.desired import green_topics, selected_topics
from kafka_migration.planning.gate_evidence import Evidence, FlowEvidence
from kafka_migration.planning.phases import Step, forward_flow_active, reverse_flow_active
from kafka_migration.planning.routing import on_green


class Gate(StrEnum):
    """Gate names, as used in `force:`, in messages and in the policy pack."""

    GREEN_HEALTHY = "green-healthy"
    DISTINCT_CLUSTERS = "distinct-clusters"
    TOPIC_PARITY = "topic-parity"
    ACL_PARITY = "acl-parity"
    REPLICATION_LAG = "replication-lag"
    REPLICATION_DRAINED = "replication-drained"
    HEARTBEATS = "heartbeats-flowing"
    DATA_PARITY = "data-parity"
    MM2_HEALTHY = "mm2-healthy"
    SOURCE_INTACT = "source-intact"
    BLUE_CONSUMERS_READ_GREEN = "blue-consumers-read-green"
    BLUE_IDLE = "blue-idle"
    SOAK_ELAPSED = "soak-elapsed"
    GREEN_IDLE = "green-idle"
    REVERSE_DRAINED = "reverse-drained"
    REVERSE_COPIES_READ = "reverse-copies-read"


NOT_OVERRIDABLE = frozenset({Gate.SOURCE_INTACT})
TOPIC_CONFIGS_THAT_MATTER = (
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "max.message.bytes",
    "compression.type",
)


@dataclass(frozen=True)
class Verdict:
    """A gate's conclusion and the figures behind it."""

    gate: Gate
    passed: bool
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"gate": self.gate.value, "passed": self.passed, "summary": self.summary, "figures": self.figures}


def active_flows(cfg: MigrationConfig, step: Step) -> list[str]:
    """Flows running at `step`, as `A->B` names."""
    flows = []
    if forward_flow_active(cfg, step):
        flows.append(f"{cfg.blue.alias}->{cfg.green.alias}")
    if reverse_flow_active(cfg, step):
        flows.append(f"{cfg.green.alias}->{cfg.blue.alias}")
    return flows


def gates_for(cfg: MigrationConfig, previous: Step | None, target: Step) -> list[Gate]:
    """The gates that guard moving forward into `target` (what must be true before it happens)."""
    bidi = cfg.strategy is Strategy.BIDIRECTIONAL
    phase = target.phase
    if phase is Phase.REPLICATING:
        return [Gate.GREEN_HEALTHY, Gate.DISTINCT_CLUSTERS, Gate.TOPIC_PARITY, Gate.ACL_PARITY]
    if phase is Phase.BIDIRECTIONAL:
        return [Gate.REPLICATION_LAG, Gate.HEARTBEATS, Gate.DATA_PARITY, Gate.MM2_HEALTHY, Gate.SOURCE_INTACT]
    if phase is Phase.PRODUCERS_SWITCHED:
        gates = [Gate.REPLICATION_LAG, Gate.MM2_HEALTHY, Gate.SOURCE_INTACT]
        return [*gates, Gate.HEARTBEATS, Gate.BLUE_CONSUMERS_READ_GREEN] if bidi else gates
    if phase is Phase.CONSUMERS_SWITCHED:
        return [Gate.REPLICATION_LAG, Gate.DATA_PARITY, Gate.MM2_HEALTHY, Gate.SOURCE_INTACT]
    if phase is Phase.REVERSE_DISABLED:
        return [Gate.BLUE_IDLE, Gate.MM2_HEALTHY]
    if phase is Phase.VERIFIED:
        return [Gate.SOAK_ELAPSED, Gate.REPLICATION_DRAINED, Gate.MM2_HEALTHY, Gate.SOURCE_INTACT]
    if phase is Phase.MM2_STOPPED:
        # Stopping the last flow out of blue: whatever blue still receives after it is never copied.
        return [Gate.REPLICATION_DRAINED, Gate.SOURCE_INTACT, Gate.BLUE_IDLE]
    if phase is Phase.DECOMMISSIONED:
        return [Gate.BLUE_IDLE]
    return []


def evaluate(cfg: MigrationConfig, applied: Step | None, target: Step, evidence: Evidence) -> list[Verdict]:
    """Verdicts of every gate guarding the move from `applied` to `target`."""
    judges = {
        Gate.GREEN_HEALTHY: _green_healthy,
        Gate.DISTINCT_CLUSTERS: _distinct_clusters,
        Gate.TOPIC_PARITY: _topic_parity,
        Gate.ACL_PARITY: _acl_parity,
        Gate.REPLICATION_LAG: _replication_lag,
        Gate.REPLICATION_DRAINED: _replication_drained,
        Gate.HEARTBEATS: _heartbeats,
        Gate.DATA_PARITY: _data_parity,
        Gate.MM2_HEALTHY: _mm2_healthy,
        Gate.SOURCE_INTACT: _source_intact,
        Gate.BLUE_CONSUMERS_READ_GREEN: _blue_consumers_read_green,
        Gate.BLUE_IDLE: _blue_idle,
        Gate.SOAK_ELAPSED: _soak_elapsed,
    }
    context = _Context(cfg, applied, target, evidence)
    return [judges[g](context) for g in gates_for(cfg, applied, target)]


@dataclass(frozen=True)
class _Context:
    cfg: MigrationConfig
    applied: Step | None
    target: Step
    evidence: Evidence

    @property
    def flows(self) -> list[FlowEvidence]:
        names = active_flows(self.cfg, self.applied) if self.applied else []
        return [self.evidence.flows.get(n, FlowEvidence(n)) for n in names]


def _green_healthy(c: _Context) -> Verdict:
    green = c.evidence.green
    if green is None:
        return Verdict(Gate.GREEN_HEALTHY, False, "green cannot be read")
    needed = max((t.replication_factor for t in green_topics(c.cfg, c.evidence.blue, c.cfg.green.brokers)), default=1)
    ok = green.broker_count >= needed
    summary = f"{green.broker_count} broker(s), topics need {needed}"
    return Verdict(
        Gate.GREEN_HEALTHY, ok, summary, {"brokers": green.broker_count, "neededForReplicationFactor": needed}
    )


def _distinct_clusters(c: _Context) -> Verdict:
    blue_id = c.evidence.blue.cluster_id
    green_id = c.evidence.green.cluster_id if c.evidence.green else None
    ok = green_id is not None and green_id != blue_id
    summary = "blue and green are different clusters" if ok else f"blue and green report the same cluster id {blue_id}"
    return Verdict(Gate.DISTINCT_CLUSTERS, ok, summary, {"blue": blue_id, "green": green_id})


def _topic_parity(c: _Context) -> Verdict:
    green = c.evidence.green
    expected = green_topics(c.cfg, c.evidence.blue, c.cfg.green.brokers)
    problems = []
    for t in expected:
        actual = green.topics.get(t.name) if green else None
        if actual is None:
            problems.append(f"{t.name}: missing")
            continue
        if actual.partitions != t.partitions:
            problems.append(f"{t.name}: {actual.partitions} partitions, blue has {t.partitions}")
        for key in TOPIC_CONFIGS_THAT_MATTER:
            if t.config.get(key) != actual.configs.get(key):
                problems.append(f"{t.name}: {key}={actual.configs.get(key)}, blue has {t.config.get(key)}")
    summary = f"{len(expected)} topic(s) match blue" if not problems else "; ".join(problems[:5])
    return Verdict(Gate.TOPIC_PARITY, not problems, summary, {"checked": len(expected), "problems": problems})


def _acl_parity(c: _Context) -> Verdict:
    from kafka_migration.planning.desired import green_acls

    green = c.evidence.green
    expected = set(green_acls(c.cfg, c.evidence.blue))
    actual = set(green.acls) if green else set()
    missing = sorted(expected - actual)
    shown = [f"{a.principal} {a.operation} {a.resource_type}:{a.resource_name}" for a in missing[:5]]
    summary = f"{len(expected)} ACL(s) present on green" if not missing else f"missing on green: {'; '.join(shown)}"
    return Verdict(Gate.ACL_PARITY, not missing, summary, {"expected": len(expected), "missing": len(missing)})


def _lag_figures(flows: list[FlowEvidence]) -> dict[str, Any]:
    return {
        f.name: {
            "maxLagRecords": f.max_lag_records,
            "maxLagSeconds": round(f.max_lag_seconds, 1),
            "partitions": {f"{p.topic}:{p.partition}": p.lag_records for p in f.lags if p.lag_records},
        }
        for f in flows
    }


def _replication_lag(c: _Context) -> Verdict:
    g = c.cfg.gates
    over = [
        f"{f.name} {p.topic}:{p.partition} {p.lag_records} record(s) / {p.lag_seconds:.1f}s"
        for f in c.flows
        for p in f.lags
        if p.lag_records > g.max_lag_records or p.lag_seconds > g.max_lag_seconds
    ]
    summary = (
        f"every partition within {g.max_lag_records} record(s) and {g.max_lag_seconds:g}s"
        if not over
        else "behind: " + "; ".join(over[:5])
    )
    return Verdict(Gate.REPLICATION_LAG, not over, summary, _lag_figures(c.flows))


def _replication_drained(c: _Context) -> Verdict:
    behind = [f"{f.name} {p.topic}:{p.partition} {p.lag_records}" for f in c.flows for p in f.lags if p.lag_records]
    summary = "MM2 has copied every record" if not behind else "still to copy: " + "; ".join(behind[:5])
    return Verdict(Gate.REPLICATION_DRAINED, not behind, summary, _lag_figures(c.flows))


def _heartbeats(c: _Context) -> Verdict:
    limit = c.cfg.gates.max_lag_seconds
    flows = list(c.flows)
    if c.target.phase is Phase.PRODUCERS_SWITCHED:
        reverse = f"{c.cfg.green.alias}->{c.cfg.blue.alias}"
        flows = [f for f in flows if f.name == reverse]
    stale = [
        f"{f.name}: {'none' if f.heartbeat_age_s is None else f'{f.heartbeat_age_s:.0f}s old'}"
        for f in flows
        if f.heartbeat_age_s is None or f.heartbeat_age_s > limit
    ]
    figures = {f.name: f.heartbeat_age_s for f in flows}
    summary = f"heartbeats younger than {limit:g}s on {len(flows)} flow(s)" if not stale else "; ".join(stale)
    return Verdict(Gate.HEARTBEATS, bool(flows) and not stale, summary, figures)


def _data_parity(c: _Context) -> Verdict:
    """Every partition of every running flow sampled (planning/parity_comparison.py); records never compared fail it."""
    if c.cfg.gates.data_parity_sample == 0:
        return Verdict(Gate.DATA_PARITY, True, "sampling disabled (gates.dataParitySample: 0)")
    samples = c.evidence.parity
    if not samples:
        return Verdict(Gate.DATA_PARITY, False, "no partition to sample (no running flow or no selected topic)")
    per_flow = parity_comparison.flow_figures(samples)
    compared = parity_comparison.compared_summary(per_flow)
    problems = parity_comparison.problems(samples)
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    summary = f"{'; '.join(problems[:5])}{more}; compared {compared}" if problems else f"identical: {compared}"
    return Verdict(Gate.DATA_PARITY, not problems, summary, per_flow)


def _mm2_healthy(c: _Context) -> Verdict:
    problems = []
    figures: dict[str, Any] = {}
    for f in c.flows:
        bad = {n: s for n, s in f.connector_states.items() if s != "RUNNING"}
        if bad or not f.connector_states:
            problems.append(f"{f.name} connectors {bad or 'missing'}")
        if f.record_failures:
            problems.append(f"{f.name} {f.record_failures:g} failed record(s)")
        figures[f.name] = {
            "connectors": f.connector_states,
            "failedRecords": f.record_failures,
            "recordAgeMs": f.record_age_ms,
            "replicationLatencyMs": f.replication_latency_ms,
        }
    summary = "every connector and task RUNNING, no failed record" if not problems else "; ".join(problems)
    return Verdict(Gate.MM2_HEALTHY, not problems, summary, figures)


def _source_intact(c: _Context) -> Verdict:
    problems = []
    for name, topic_id in c.evidence.known_topic_ids.items():
        now = c.evidence.blue.topics.get(name)
        if now is not None and now.topic_id and now.topic_id != topic_id:
            problems.append(f"{name} was deleted and re-created on blue (topic id changed)")
    for f in c.flows:
        for p in f.lags:
            copied_up_to = -1 if p.replicated_through is None else p.replicated_through
            if p.lag_records and p.log_start > copied_up_to + 1:
                lost = p.log_start - copied_up_to - 1
                problems.append(f"{f.name} {p.topic}:{p.partition}: {lost} record(s) deleted before MM2 copied them")
    # Whether or not MM2 is behind now: offsets it skipped that were records (see planning/skipped_offsets.py).
    problems += [skipped_offsets.describe(g) for g in c.evidence.source_gaps]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    summary = "no source truncation, re-creation or skipped record" if not problems else "; ".join(problems[:5]) + more
    gaps = [skipped_offsets.figures(g) for g in c.evidence.source_gaps]
    figures: dict[str, Any] = {"problems": problems, "gaps": gaps}
    if not problems:
        figures["checkedThrough"] = c.evidence.source_covered  # recorded with the step: not judged again
    return Verdict(Gate.SOURCE_INTACT, not problems, summary, figures)


def _blue_consumers_read_green(c: _Context) -> Verdict:
    cfg = c.cfg
    problems: list[str] = []
    figures: dict[str, Any] = {}
    for client in cfg.clients_of(ClientRole.CONSUMER):
        if on_green(client, c.target):
            continue
        group = c.evidence.blue_groups.get(client.consumer_group_id)
        if group is None or group.members == 0:
            figures[client.name] = "not running"
            continue
        wanted = {f"{cfg.green.alias}.{t}" for t in client.topics}
        missing = sorted(wanted - set(group.topics))
        figures[client.name] = {"members": group.members, "missing": missing}
        if missing:
            problems.append(f"{client.name} does not read {missing} on blue")
    summary = "consumers on blue read green's records (B.* topics)" if not problems else "; ".join(problems)
    return Verdict(Gate.BLUE_CONSUMERS_READ_GREEN, not problems, summary, figures)


def _blue_idle(c: _Context) -> Verdict:
    writes = c.evidence.blue_writes or {}
    written = {t: n for t, n in writes.items() if n}
    active = {g: a.members for g, a in c.evidence.blue_groups.items() if a.members}
    ok = c.evidence.blue_writes is not None and not written and not active
    window = c.cfg.gates.idle_window_seconds
    summary = (
        f"no write and no active consumer group on blue for {window:g}s"
        if ok
        else f"blue still used: writes in the last {window:g}s {written or 'none'}, active groups {active or 'none'}"
    )
    return Verdict(Gate.BLUE_IDLE, ok, summary, {"writes": written, "activeGroups": active, "windowSeconds": window})


def _soak_elapsed(c: _Context) -> Verdict:
    """Time since every client group is on green (last wave of consumers-switched, or of producers-switched one-way)."""
    producers, consumers = c.cfg.wave_count(ClientRole.PRODUCER), c.cfg.wave_count(ClientRole.CONSUMER)
    switch_phases = (Phase.CONSUMERS_SWITCHED.value, Phase.PRODUCERS_SWITCHED.value)
    entered = [
        h
        for h in c.evidence.history
        if h.get("phase") in switch_phases
        and h.get("producerWaves") == producers
        and h.get("consumerWaves") == consumers
    ]
    required = c.cfg.gates.soak_seconds
    if not entered:
        return Verdict(
            Gate.SOAK_ELAPSED, required == 0, "the switch of the last wave was never recorded", {"required": required}
        )
    since = datetime.fromisoformat(str(entered[-1]["at"])).timestamp()
    elapsed = c.evidence.now - since
    ok = elapsed >= required
    summary = f"{elapsed:.0f}s since every client group moved to green, {required}s required"
    return Verdict(Gate.SOAK_ELAPSED, ok, summary, {"elapsedSeconds": round(elapsed), "requiredSeconds": required})


def spent_forces(history: list[dict[str, Any]], target: Step) -> dict[str, str]:
    """Forces (gate -> reason) already used to enter another step than `target`.

    A force answers for the evidence of one move: the history records it with the step
    it let in, and the same reason left in the config does not wave that gate through at
    a later step, where the gate guards other records.
    """
    spent: dict[str, str] = {}
    for entry in history:
        if Step.from_output(entry) != target:
            spent.update({str(g): str(r) for g, r in (entry.get("forced") or {}).items()})
    return spent


def blocking(
    verdicts: list[Verdict], force: dict[str, str], spent: dict[str, str] | None = None
) -> tuple[list[Verdict], dict[str, str]]:
    """Failed verdicts not forced, and the forces that were used (gate -> reason).

    A force applies unless its gate cannot be forced or `spent` holds the same reason
    (used for another step: see `spent_forces`).
    """
    usable = usable_forces(force, spent or {})
    failed = [v for v in verdicts if not v.passed]
    used: dict[str, str] = {v.gate.value: usable[v.gate.value] for v in failed if v.gate.value in usable}
    return [v for v in failed if v.gate.value not in used], used


def usable_forces(force: dict[str, str], spent: dict[str, str]) -> dict[str, str]:
    """The forces that may waive a gate at this step: not spent on another step, not `source-intact`."""
    return {g: r for g, r in force.items() if spent.get(g) != r and g not in {n.value for n in NOT_OVERRIDABLE}}


def stale_force_note(gate: str, force: dict[str, str], spent: dict[str, str]) -> str:
    """Why a force named in the config did not apply to this step ('' when it was not stale)."""
    if gate in force and spent.get(gate) == force[gate]:
        return (
            f" (force.{gate} {force[gate]!r} was used for an earlier step and does not carry over: "
            "set a new reason to force this step too)"
        )
    return ""


def known_topic_ids(cfg: MigrationConfig, previous: Mapping[str, Any] | None, blue: ClusterInventory) -> dict[str, str]:
    """Ids of blue's migrated topics as first seen by the stack (`source-intact`: a changed id means re-created).

    `previous` is the stack's `blueTopicIds` output; topics new on blue are added with their id now.
    """
    known = {k: str(v) for k, v in (previous or {}).items() if cfg.topics.selects(k)}
    for topic in selected_topics(cfg, blue):
        if topic.topic_id and topic.name not in known:
            known[topic.name] = topic.topic_id
    return known
