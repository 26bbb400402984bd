"""The status report: the applied step, the next one and its gates, lag per flow, and where clients are.

Reading (the Pulumi CLI, the clusters, MM2) is kept apart from deciding: everything that
turns what was read into the report is a pure function of plain data, tested without a
cluster. Live reads are bounded by the stack's `gates.readTimeoutSeconds`, and a cluster
that cannot be reached becomes a message in the report, never an exception.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import ClientRole, ClusterSpec, MigrationConfig, Phase, RuntimeKind, Strategy
from kafka_migration.errors import MigrationError
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.evidence.metrics import FlowMetrics, Mm2Metrics, parse, scrape
from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env
from kafka_migration.planning.evidence import FlowEvidence, PartitionLag
from kafka_migration.planning.gates import (
    Gate,
    Verdict,
    active_flows,
    blocking,
    evaluate,
    gates_for,
    known_topic_ids,
    spent_forces,
)
from kafka_migration.planning.inventory import ClusterInventory
from kafka_migration.planning.phases import Step, config_steps, place_step
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.plots import PhaseSpan
from kafka_migration.resources.migration import DATA_ROOT
from kafka_migration.resources.mm2_workers import mm2_endpoints

NO_PHASE = "(none)"
"""The phase shown for a stack that was never updated."""
CLI_TIMEOUT_S = 120.0
QUIET = {"log_level": 0}
"""librdkafka settings of the report's clients: connection failures are reported, not logged to stderr."""

Series = list[tuple[float, float]]
"""(epoch seconds, value) points."""


# --- the report's data -------------------------------------------------------------------


class GateState(StrEnum):
    """What a gate of the next step says now."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    FORCED = "FORCED"
    """Failed, but the stack's `force` names it with a reason: `pulumi up` would go ahead."""
    UNKNOWN = "UNKNOWN"
    """Not evaluated: the evidence could not be read (the summary says why)."""


@dataclass(frozen=True)
class GateStatus:
    """One gate of the next step, with the figures behind its verdict."""

    gate: str
    state: GateState
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    forced_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": self.state.value,
            "passed": None if self.state is GateState.UNKNOWN else self.state is GateState.PASS,
            "summary": self.summary,
            "figures": self.figures,
            "forcedReason": self.forced_reason,
        }


@dataclass(frozen=True)
class PartitionStatus:
    """How far one flow is behind on one source partition."""

    topic: str
    partition: int
    end_offset: int
    replicated_through: int | None
    lag_records: int
    lag_seconds: float


@dataclass(frozen=True)
class FlowStatus:
    """One running replication flow (`A->B`), as the clusters and MM2's metrics show it."""

    name: str
    partitions: tuple[PartitionStatus, ...] = ()
    heartbeat_age_s: float | None = None
    connectors: dict[str, str] = field(default_factory=dict)
    record_failures: float = 0.0
    record_age_ms: float | None = None
    replication_latency_ms: float | None = None
    byte_rate: float | None = None
    """Bytes per second MM2 copies on this flow (None: no metrics)."""
    error: str | None = None
    """Why the flow could not be read (its figures are then empty)."""

    @property
    def max_lag_records(self) -> int | None:
        if self.error and not self.partitions:
            return None
        return max((p.lag_records for p in self.partitions), default=0)

    @property
    def max_lag_seconds(self) -> float | None:
        if self.error and not self.partitions:
            return None
        return max((p.lag_seconds for p in self.partitions), default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "maxLagRecords": self.max_lag_records,
            "maxLagSeconds": None if self.max_lag_seconds is None else round(self.max_lag_seconds, 1),
            "recordAgeMs": self.record_age_ms,
            "replicationLatencyMs": self.replication_latency_ms,
            "byteRate": self.byte_rate,
            "heartbeatAgeSeconds": None if self.heartbeat_age_s is None else round(self.heartbeat_age_s, 1),
            "recordFailures": self.record_failures,
            "connectors": self.connectors,
            "partitions": {
                f"{p.topic}:{p.partition}": {
                    "lagRecords": p.lag_records,
                    "lagSeconds": round(p.lag_seconds, 1),
                    "endOffset": p.end_offset,
                    "replicatedThrough": p.replicated_through,
                }
                for p in self.partitions
            },
            "error": self.error,
        }


@dataclass(frozen=True)
class ClientStatus:
    """Where one client group is told to connect."""

    name: str
    role: str | None
    wave: int | None
    cluster: str
    """Alias of the cluster the group uses."""
    side: str
    """`blue`, `green`, or `unknown` (an alias that is neither)."""
    paused: bool
    source: str
    """`document` (the published routing document), `outputs` (the stack's outputs) or `not published`."""
    group_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "wave": self.wave,
            "cluster": self.cluster,
            "side": self.side,
            "paused": self.paused,
            "source": self.source,
            "groupId": self.group_id,
        }


@dataclass(frozen=True)
class Sample:
    """One line of `samples.jsonl`: lag per flow and end offsets per cluster at one time."""

    stack: str
    at: float
    """Epoch seconds."""
    flows: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Flow -> maxLagRecords, maxLagSeconds, recordAgeMs, replicationLatencyMs, byteRate."""
    end_offsets: dict[str, int | None] = field(default_factory=dict)
    """Cluster alias -> sum of the end offsets of its migrated topics (None: not readable)."""

    def to_json(self) -> dict[str, Any]:
        return clean(
            {
                "stack": self.stack,
                "time": iso(self.at),
                "at": round(self.at, 3),
                "flows": self.flows,
                "endOffsets": self.end_offsets,
            }
        )

    @staticmethod
    def from_json(value: object) -> Sample | None:
        """The sample a line holds, or None when the line is not one."""
        if not isinstance(value, dict):
            return None
        try:
            return Sample(
                stack=str(value["stack"]),
                at=float(value["at"]),
                flows={str(k): dict(v) for k, v in (value.get("flows") or {}).items()},
                end_offsets={
                    str(k): (None if v is None else int(v)) for k, v in (value.get("endOffsets") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class StatusReport:
    """Everything `python -m status` shows."""

    stack: str
    strategy: str
    generated_at: float
    applied: Step | None
    high_water: Step | None
    next: Step | None
    """The step after the applied one (None: the migration is complete)."""
    clusters: dict[str, str]
    """Alias -> `blue` / `green`."""
    gates: tuple[GateStatus, ...] = ()
    flows: dict[str, FlowStatus] = field(default_factory=dict)
    clients: dict[str, ClientStatus] = field(default_factory=dict)
    forced_gates: dict[str, str] = field(default_factory=dict)
    """Gates forced by earlier updates (the stack's `forcedGates` output)."""
    history: tuple[dict[str, Any], ...] = ()
    errors: tuple[str, ...] = ()
    throughput: dict[str, float] = field(default_factory=dict)
    """Cluster alias -> records/s appended to its migrated topics between the last two samples."""
    samples_file: str | None = None
    sample_count: int = 0
    plots: tuple[str, ...] = ()

    @property
    def phase(self) -> str:
        return self.applied.phase.value if self.applied else NO_PHASE

    def to_json(self) -> dict[str, Any]:
        return clean(
            {
                "stack": self.stack,
                "strategy": self.strategy,
                "generatedAt": iso(self.generated_at),
                "phase": self.phase,
                "step": self.applied.as_output() if self.applied else None,
                "highWater": self.high_water.as_output() if self.high_water else None,
                "nextStep": self.next.as_output() if self.next else None,
                "clusters": self.clusters,
                "gates": [g.to_json() for g in self.gates],
                "forcedGates": self.forced_gates,
                "flows": {name: f.to_json() for name, f in self.flows.items()},
                "clients": {name: c.to_json() for name, c in self.clients.items()},
                "throughput": self.throughput,
                "samples": {"file": self.samples_file, "count": self.sample_count},
                "plots": list(self.plots),
                "errors": list(self.errors),
            }
        )


# --- decisions (pure) ---------------------------------------------------------------------


def iso(t: float) -> str:
    """Epoch seconds as an ISO-8601 UTC time."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds")


def clean(value: Any) -> Any:
    """`value` made JSON-safe: NaN and infinities (metrics without data) become None, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


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


# --- the stack (Pulumi CLI) ---------------------------------------------------------------


class StackError(MigrationError):
    """The stack cannot be read (no CLI, no such stack, invalid config): nothing to report on."""


@dataclass(frozen=True)
class StackData:
    """The stack's config and its last outputs."""

    config: MigrationConfig
    outputs: dict[str, Any]


def cli_env(project_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`pulumi_env()`, honouring PULUMI_BACKEND_URL from the environment; else the project's `.pulumi-state`."""
    source = dict(os.environ if base is None else base)
    env = pulumi_env(base=source)
    if "PULUMI_BACKEND_URL" not in source:
        env["PULUMI_BACKEND_URL"] = f"file://{(project_dir / '.pulumi-state').resolve()}"
    return env


def run_pulumi(args: Sequence[str], project_dir: Path, env: Mapping[str, str]) -> Any:
    """Run the project's pulumi CLI in `project_dir` and parse its JSON output."""
    binary = pulumi_bin() / "pulumi"
    if not binary.exists():
        raise StackError(f"the project's Pulumi CLI is not built ({binary} is missing); run `make toolchain`")
    command = " ".join(["pulumi", *args])
    try:
        done = subprocess.run(
            [str(binary), *args],
            cwd=project_dir,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise StackError(f"`{command}` could not run: {err}") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise StackError(f"`{command}` failed: {reason}")
    try:
        return json.loads(done.stdout or "null")
    except ValueError as err:
        raise StackError(f"`{command}` did not print JSON: {err}") from None


def read_stack(stack: str, project_dir: Path, env: Mapping[str, str]) -> StackData:
    """The stack's config (validated as `pulumi up` validates it) and outputs ({} if never updated)."""
    if not (project_dir / "Pulumi.yaml").is_file():
        raise StackError(f"{project_dir} is not the Pulumi project (no Pulumi.yaml); pass --project-dir")
    raw = run_pulumi(["config", "--json", "--show-secrets", "--stack", stack], project_dir, env)
    if not isinstance(raw, dict):
        raise StackError(f"`pulumi config --json` printed {type(raw).__name__}, expected an object")
    cfg = config_from_mapping(config_values(raw), stack)
    outputs = run_pulumi(["stack", "output", "--json", "--show-secrets", "--stack", stack], project_dir, env)
    return StackData(cfg, outputs if isinstance(outputs, dict) else {})


# --- the clusters and MM2 -----------------------------------------------------------------


@dataclass
class Reading:
    """What one live reading found (flows, end offsets, and the reasons for what it could not read)."""

    at: float
    flows: dict[str, FlowStatus]
    end_offsets: dict[str, int | None]
    errors: list[str]


class LiveReader:
    """Reads blue, green and MM2 for a report, the way the program's gates read them."""

    def __init__(self, cfg: MigrationConfig, project_dir: Path) -> None:
        self.cfg = cfg
        self.project_dir = project_dir
        self.timeout = cfg.gates.read_timeout_seconds
        # The same endpoints as the program's gates.
        self.connect_url, self.metrics_url = mm2_endpoints(cfg, project_dir / DATA_ROOT)

    def _collector(self, settle: bool = True) -> Collector:
        """A collector whose clients do not log to stderr: what they cannot reach is in the report."""
        collector = Collector(self.cfg, self.connect_url, self.metrics_url, settle_lag=settle)
        collector.conf = {alias: {**conf, **QUIET} for alias, conf in collector.conf.items()}
        return collector

    def _unreadable(self, cluster: ClusterSpec, err: BaseException) -> str:
        side = side_of(self.cfg, cluster.alias)
        return f"{side} ({cluster.alias}) at {cluster.resolved_bootstrap_servers} cannot be read: {describe_error(err)}"

    def blue(self) -> tuple[ClusterInventory | None, str | None]:
        """Blue's inventory, or the reason it cannot be read."""
        try:
            return read_inventory(client_config(self.cfg.blue, **QUIET), self.timeout), None
        except Exception as err:  # noqa: BLE001 - an unreachable cluster is reported, not raised
            return None, self._unreadable(self.cfg.blue, err)

    def gates(
        self, applied: Step | None, target: Step, blue: ClusterInventory | None, outputs: Mapping[str, Any]
    ) -> tuple[list[GateStatus], dict[str, FlowEvidence], list[str]]:
        """The verdicts of the gates guarding `target`, on the same evidence `pulumi up` would collect."""
        gates = gates_for(self.cfg, applied, target)
        if not gates:
            return [], {}, []
        if blue is None:
            return unknown_gates(gates, "not evaluated: blue cannot be read"), {}, []
        flows = active_flows(self.cfg, applied) if applied else []
        known = known_topic_ids(self.cfg, outputs.get("blueTopicIds"), blue)
        history = list(outputs.get("history") or [])
        try:
            evidence = self._collector().collect(blue, gates, flows, known, history)
        except Exception as err:  # noqa: BLE001 - an unreachable cluster is reported, not raised
            reason = f"evidence for the gates could not be read: {describe_error(err)}"
            return unknown_gates(gates, f"not evaluated: {reason}"), {}, [reason]
        verdicts = evaluate(self.cfg, applied, target, evidence)
        return gate_statuses(verdicts, self.cfg.force, spent_forces(history, target)), dict(evidence.flows), []

    def metrics(self) -> tuple[Mm2Metrics | None, str | None]:
        """One scrape of MM2's metrics, or the reason there is none."""
        if not self.metrics_url:
            return None, None
        try:
            return parse(scrape(self.metrics_url, self.timeout)), None
        except Exception as err:  # noqa: BLE001 - an unreachable endpoint is reported, not raised
            return None, f"MM2 metrics at {self.metrics_url} cannot be read: {describe_error(err)}"

    def flows(
        self,
        names: Sequence[str],
        blue: ClusterInventory | None,
        already: Mapping[str, FlowEvidence],
        *,
        settle: bool,
    ) -> tuple[dict[str, FlowStatus], list[str]]:
        """Each flow's status; `already` holds evidence the gates collected (reused, not read twice).

        `settle` waits for MM2's offset-syncs as the gates do; a quick sample reads lag once.
        """
        if not names:
            return {}, []
        metrics, error = self.metrics()
        errors = [error] if error else []
        collector = self._collector(settle)
        out = {}
        for name in names:
            evidence = already.get(name)
            if evidence is None and blue is None:
                out[name] = FlowStatus(name, error="not read: blue cannot be read")
                continue
            if evidence is None:
                try:
                    evidence = collector.flow(name, blue)
                except Exception as err:  # noqa: BLE001 - an unreachable cluster is reported, not raised
                    out[name] = FlowStatus(name, error=f"cannot be read: {describe_error(err)}")
                    continue
            out[name] = flow_status(evidence, metrics.flows.get(name) if metrics else None)
        return out, errors

    def end_offsets(self, cluster: ClusterSpec) -> tuple[int | None, str | None]:
        """Sum of the end offsets of the migrated topics on `cluster` (their remote copies included)."""
        admin = AdminClient(client_config(cluster, **QUIET))
        try:
            metadata = admin.list_topics(timeout=self.timeout)
            partitions = [
                TopicPartition(name, p)
                for name, info in metadata.topics.items()
                if info.error is None and is_migrated_topic(self.cfg, name)
                for p in info.partitions
            ]
            if not partitions:
                return 0, None
            futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in partitions}, request_timeout=self.timeout)
            return sum(f.result(timeout=self.timeout).offset for f in futures.values()), None
        except Exception as err:  # noqa: BLE001 - an unreachable cluster is reported, not raised
            return None, self._unreadable(cluster, err)

    def all_end_offsets(self, applied: Step | None, blue_read: bool) -> tuple[dict[str, int | None], list[str]]:
        """End offsets of blue (unless it could not be read at all), and of green once it exists."""
        clusters = [self.cfg.blue, *([self.cfg.green] if green_exists(applied) else [])]
        out: dict[str, int | None] = {}
        errors = []
        for cluster in clusters:
            if cluster is self.cfg.blue and not blue_read:
                out[cluster.alias] = None
                continue
            total, error = self.end_offsets(cluster)
            out[cluster.alias] = total
            if error:
                errors.append(error)
        return out, errors

    def documents(self) -> dict[str, Any]:
        """The routing documents published in the local routing folder (none when routing is by ConfigMaps)."""
        if self.cfg.routing.kubernetes_namespace and self.cfg.green.runtime is RuntimeKind.KUBERNETES:
            return {}
        directory = Path(self.cfg.routing.directory)
        if not directory.is_absolute():
            directory = self.project_dir / directory
        out = {}
        for client in self.cfg.clients:
            try:
                out[client.name] = RoutingDocument.from_json(
                    json.loads((directory / f"{client.name}.json").read_text())
                ).to_json()
            except (OSError, ValueError):
                continue
        return out


def read_sample(reader: LiveReader, applied: Step | None, blue: ClusterInventory | None) -> Reading:
    """A quick reading for one sample: lag per running flow (read once) and end offsets per cluster."""
    flows, errors = reader.flows(active_flows(reader.cfg, applied) if applied else [], blue, {}, settle=False)
    ends, end_errors = reader.all_end_offsets(applied, blue is not None)
    return Reading(time.time(), flows, ends, errors + end_errors)


def read_report(
    reader: LiveReader,
    stack: str,
    outputs: Mapping[str, Any],
    blue: ClusterInventory | None,
    blue_error: str | None,
) -> tuple[StatusReport, Reading]:
    """The full reading: the next step's gates as `pulumi up` evaluates them, flows, routing, end offsets."""
    cfg = reader.cfg
    applied, high_water = step_of(outputs.get("step")), step_of(outputs.get("highWater"))
    target = next_step(config_steps(cfg), applied)
    errors = [blue_error] if blue_error else []
    gates, evidence, gate_errors = reader.gates(applied, target, blue, outputs) if target else ([], {}, [])
    names = active_flows(cfg, applied) if applied else []
    flows, flow_errors = reader.flows(names, blue, evidence, settle=True)
    ends, end_errors = reader.all_end_offsets(applied, blue is not None)
    now = time.time()
    reading = Reading(now, flows, ends, errors + gate_errors + flow_errors + end_errors)
    report = StatusReport(
        stack=stack,
        strategy=cfg.strategy.value,
        generated_at=now,
        applied=applied,
        high_water=high_water,
        next=target,
        clusters={cfg.blue.alias: "blue", cfg.green.alias: "green"},
        gates=tuple(gates),
        flows=flows,
        clients=client_statuses(cfg, outputs.get("routing") or {}, reader.documents()),
        forced_gates={str(k): str(v) for k, v in (outputs.get("forcedGates") or {}).items()},
        history=tuple(outputs.get("history") or ()),
        errors=tuple(dict.fromkeys(reading.errors)),
    )
    return report, reading


# --- samples.jsonl -----------------------------------------------------------------------


def append_sample(path: Path, sample: Sample) -> None:
    """Append one sample line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(sample.to_json(), sort_keys=True) + "\n")


def read_samples(path: Path, stack: str) -> list[Sample]:
    """The stack's samples in `path`, oldest first (lines of other stacks, or not samples, are skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            sample = Sample.from_json(json.loads(line))
        except ValueError:
            continue
        if sample is not None and sample.stack == stack:
            out.append(sample)
    return sorted(out, key=lambda s: s.at)
