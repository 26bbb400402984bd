"""The status report's decisions (pure): what was read, turned into the report's figures, verdicts and series.

Everything here is a function of plain data, tested without a cluster: the next step,
the gates' states as `pulumi up` would force them, flows' and clients' status, and the
samples' rates and series the plots draw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from confluent_kafka import KafkaException

from kafka_migration.charts import PhaseSpan
from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.evidence.metrics import FlowMetrics
from kafka_migration.planning.gate_evidence import FlowEvidence, PartitionLag
from kafka_migration.planning.gates import Gate, Verdict, blocking
from kafka_migration.planning.phases import Step, place_step
from kafka_migration.status.report_data import (
    ClientStatus,
    FlowStatus,
    GateState,
    GateStatus,
    PartitionStatus,
    Sample,
    Series,
    clean,
)


def config_values(cli_config: Mapping[str, Any]) -> dict[str, Any]:
    """`pulumi config --json` entries as `{key: value}`: objects from `objectValue`, else `value`.

    `value` is the raw text (JSON for objects set as strings); `config_from_mapping` parses it.
    """
    out: dict[str, Any] = {}
    for key, entry in cli_config.items():
        if isinstance(entry, Mapping):
            out[key] = entry["objectValue"] if "objectValue" in entry else entry.get("value")
        else:
            out[key] = entry
    return out


def step_of(value: object) -> Step | None:
    """A step as recorded in the outputs, or None (missing, or a phase this version does not know)."""
    try:
        return Step.from_output(value)
    except (TypeError, ValueError):
        return None


def next_step(order: Sequence[Step], applied: Step | None) -> Step | None:
    """The step after `applied` in the migration's order; the first step for a stack never updated.

    A step recorded before the clients' waves changed is placed by phase, as `pulumi up` does.
    None when the migration is complete (or the applied phase is not one of this strategy).
    """
    if not order:
        return None
    if applied is None:
        return order[0]
    placed = place_step(list(order), applied)
    if placed is None:
        return None
    i = order.index(placed)
    return order[i + 1] if i + 1 < len(order) else None


def gate_statuses(
    verdicts: Sequence[Verdict], force: Mapping[str, str], spent: Mapping[str, str] | None = None
) -> list[GateStatus]:
    """Verdicts as PASS / FAIL / FORCED, forced exactly as `pulumi up` would force them."""
    _failed, used = blocking(list(verdicts), dict(force), dict(spent or {}))
    out = []
    for v in verdicts:
        state = GateState.PASS if v.passed else GateState.FORCED if v.gate.value in used else GateState.FAIL
        out.append(GateStatus(v.gate.value, state, v.summary, clean(v.figures), used.get(v.gate.value)))
    return out


def unknown_gates(gates: Iterable[Gate], reason: str) -> list[GateStatus]:
    """Gates that could not be evaluated, each with the reason."""
    return [GateStatus(g.value, GateState.UNKNOWN, reason) for g in gates]


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _partition(p: PartitionLag) -> PartitionStatus:
    return PartitionStatus(p.topic, p.partition, p.end_offset, p.replicated_through, p.lag_records, p.lag_seconds)


def flow_status(evidence: FlowEvidence, metrics: FlowMetrics | None) -> FlowStatus:
    """A flow's figures: lag per partition from the clusters, age, latency and rate from MM2's metrics."""
    return FlowStatus(
        name=evidence.name,
        partitions=tuple(_partition(p) for p in evidence.lags),
        heartbeat_age_s=evidence.heartbeat_age_s,
        connectors=dict(evidence.connector_states),
        record_failures=evidence.record_failures,
        record_age_ms=_finite(evidence.record_age_ms),
        replication_latency_ms=_finite(evidence.replication_latency_ms),
        byte_rate=_finite(metrics.byte_rate) if metrics else None,
    )


def side_of(cfg: MigrationConfig, alias: str | None) -> str:
    """`blue`, `green` or `unknown` for a cluster alias."""
    return {cfg.blue.alias: "blue", cfg.green.alias: "green"}.get(alias or "", "unknown")


def client_statuses(
    cfg: MigrationConfig, routing: Mapping[str, Any], documents: Mapping[str, Any]
) -> dict[str, ClientStatus]:
    """Where each client group is: its published document first (it shows a handoff's pause), else the outputs.

    A group with neither was never routed: its clients are still on blue.
    """
    by_name = {c.name: c for c in cfg.clients}
    names = [*by_name, *sorted(set(routing) - set(by_name))]
    out = {}
    for name in names:
        client = by_name.get(name)
        doc, source = documents.get(name), "document"
        if not isinstance(doc, Mapping):
            doc, source = routing.get(name), "outputs"
        if not isinstance(doc, Mapping):
            doc, source = {}, "not published"
        cluster = str(doc.get("cluster") or cfg.blue.alias)
        role = client.role.value if client else doc.get("role")
        group_id = (client.consumer_group_id if client and client.role is ClientRole.CONSUMER else None) or doc.get(
            "groupId"
        )
        out[name] = ClientStatus(
            name=name,
            role=role,
            wave=client.wave if client else None,
            cluster=cluster,
            side=side_of(cfg, cluster),
            paused=bool(doc.get("paused", False)),
            source=source,
            group_id=group_id,
        )
    return out


def is_migrated_topic(cfg: MigrationConfig, topic: str) -> bool:
    """Whether `topic`, on either cluster, carries a migrated topic (itself, or its `A.`/`B.` remote copy)."""
    if cfg.topics.selects(topic):
        return True
    if cfg.strategy is Strategy.BIDIRECTIONAL:
        for alias in (cfg.blue.alias, cfg.green.alias):
            prefix = f"{alias}."
            if topic.startswith(prefix) and cfg.topics.selects(topic[len(prefix) :]):
                return True
    return False


def green_exists(applied: Step | None) -> bool:
    """Green is there from `green-provisioned` on (a stack at blue-only has none to read)."""
    return applied is not None and applied.phase is not Phase.BLUE_ONLY


def make_sample(
    stack: str, at: float, flows: Mapping[str, FlowStatus], end_offsets: Mapping[str, int | None]
) -> Sample:
    """The sample line of one reading."""
    return Sample(
        stack=stack,
        at=at,
        flows={
            name: {
                "maxLagRecords": f.max_lag_records,
                "maxLagSeconds": f.max_lag_seconds,
                "recordAgeMs": f.record_age_ms,
                "replicationLatencyMs": f.replication_latency_ms,
                "byteRate": f.byte_rate,
            }
            for name, f in flows.items()
        },
        end_offsets=dict(end_offsets),
    )


@dataclass(frozen=True)
class Rate:
    """Records appended per second to one cluster's migrated topics between two samples."""

    start: float
    end: float
    per_second: float


def throughput_series(samples: Sequence[Sample]) -> dict[str, list[Rate]]:
    """Records/s appended per cluster: end offsets' growth between consecutive samples, over their interval.

    An interval where a cluster could not be read, or its total went down (a topic was
    deleted), has no rate.
    """
    ordered = sorted(samples, key=lambda s: s.at)
    out: dict[str, list[Rate]] = {}
    for before, after in pairwise(ordered):
        elapsed = after.at - before.at
        if elapsed <= 0:
            continue
        for cluster, end in after.end_offsets.items():
            start = before.end_offsets.get(cluster)
            if end is None or start is None or end < start:
                continue
            out.setdefault(cluster, []).append(Rate(before.at, after.at, (end - start) / elapsed))
    return out


def rate_steps(rates: Sequence[Rate]) -> Series:
    """Points of a step chart (each value held until the next point): every rate over its own interval.

    A gap between two intervals (an unreadable sample) is a NaN point, which leaves it blank.
    """
    points: Series = []
    for previous, rate in zip([None, *rates], rates, strict=False):
        if previous is not None and previous.end < rate.start:
            points.append((previous.end, math.nan))
        points.append((rate.start, rate.per_second))
    if rates:
        points.append((rates[-1].end, rates[-1].per_second))
    return points


def lag_series(samples: Sequence[Sample], key: str = "maxLagRecords") -> dict[str, Series]:
    """One figure (`maxLagRecords` by default) per flow over time."""
    out: dict[str, Series] = {}
    for sample in sorted(samples, key=lambda s: s.at):
        for flow, figures in sample.flows.items():
            value = figures.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                out.setdefault(flow, []).append((sample.at, float(value)))
    return out


def latest_rates(series: Mapping[str, Sequence[Rate]]) -> dict[str, float]:
    """Each cluster's rate over its last interval."""
    return {name: rates[-1].per_second for name, rates in series.items() if rates}


def phase_spans(history: Iterable[Mapping[str, Any]], now: float) -> list[PhaseSpan]:
    """The outputs' history as spans: each step from when it was entered until the next (the last until now)."""
    entered: list[tuple[float, str]] = []
    for entry in history:
        step = step_of(entry)
        try:
            at = datetime.fromisoformat(str(entry.get("at"))).timestamp()
        except (TypeError, ValueError):
            continue
        if step is not None:
            entered.append((at, step.describe()))
    if not entered:
        return []
    ends = [at for at, _ in entered[1:]] + [max(now, entered[-1][0])]
    return [PhaseSpan(name=name, start=at, end=end) for (at, name), end in zip(entered, ends, strict=True)]


def describe_error(err: BaseException) -> str:
    """A one-line reason (Kafka errors by their text, not their repr)."""
    if isinstance(err, KafkaException) and err.args and hasattr(err.args[0], "str"):
        return str(err.args[0].str())
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
