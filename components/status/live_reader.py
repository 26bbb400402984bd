"""The status report's live reads: blue, green and MM2, read the way the program's gates read them.

Reads are bounded by the stack's `gates.readTimeoutSeconds`, and a cluster that cannot be
reached becomes a message in the report, never an exception.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kafka_migration.config.clusters import ClusterSpec
from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.evidence.metrics import Mm2Metrics, scrape_workers
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.gate_evidence import FlowEvidence
from kafka_migration.planning.gates import active_flows, evaluate, gates_for, known_topic_ids, spent_forces
from kafka_migration.planning.local_processes import DEFAULT_DATA_DIR, mm2_endpoints
from kafka_migration.planning.phases import Step, config_steps, configmap_routing, routing_kubeconfig_context
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.status.decisions import (
    client_statuses,
    describe_error,
    flow_status,
    gate_statuses,
    green_exists,
    is_migrated_topic,
    next_step,
    side_of,
    step_of,
    unknown_gates,
)
from kafka_migration.status.report_data import FlowStatus, GateStatus, StatusReport

QUIET = {"log_level": 0}
"""librdkafka settings of the report's clients: connection failures are reported, not logged to stderr."""


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
        self.mm2 = mm2_endpoints(cfg, project_dir / DEFAULT_DATA_DIR)

    def _collector(self, settle: bool = True) -> Collector:
        """A collector whose clients do not log to stderr: what they cannot reach is in the report."""
        collector = Collector(self.cfg, self.mm2, settle_lag=settle)
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
        if not self.mm2.metrics_urls:
            return None, None
        try:
            metrics, failed = scrape_workers(self.mm2.metrics_urls, self.timeout)
        except Exception as err:  # noqa: BLE001 - an unreadable exporter is reported, not raised
            return None, f"MM2 metrics cannot be read: {describe_error(err)}"
        return metrics, (f"MM2 metrics cannot be read at {'; '.join(failed)}" if failed else None)

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
            if evidence is None:
                if blue is None:
                    out[name] = FlowStatus(name, error="not read: blue cannot be read")
                    continue
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

    def documents(self) -> tuple[dict[str, Any], str | None]:
        """The routing documents the clients read now, by client group, and why they could not all be read.

        Files in `routing.directory`, or with `routing.kubernetesNamespace` the ConfigMaps
        `kafka-routing-<client-group>` read through the API server (`_config_map_documents`).
        A missing or invalid document is left out (the report falls back to the outputs).
        """
        if configmap_routing(self.cfg):
            return self._config_map_documents()
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
        return out, None

    def _config_map_documents(self) -> tuple[dict[str, Any], str | None]:
        """Each group's ConfigMap as its clients read it (`routing.kubeconfigContext`, else green's context).

        An API server that cannot be reached or refuses the read is reported, never raised: the
        first failure ends the reading (the others would wait out the same server).
        """
        # Imported here, as where the documents are written: the Kubernetes client loads only for ConfigMaps.
        from kafka_migration.operations.configmap_document import ConfigMapDocuments, read_failure

        namespace = str(self.cfg.routing.kubernetes_namespace)
        context = routing_kubeconfig_context(self.cfg)
        documents = ConfigMapDocuments(namespace, context, timeout_s=self.timeout)
        out: dict[str, Any] = {}
        for client in self.cfg.clients:
            try:
                body = documents.read(client.name)
            except Exception as err:  # noqa: BLE001 - an unreachable API server is reported, not raised
                where = f"namespace {namespace}" + (f" (kubeconfig context {context})" if context else "")
                return out, f"routing ConfigMaps in {where} cannot be read: {read_failure(err)}"
            try:
                if body is not None:
                    out[client.name] = RoutingDocument.from_json(body).to_json()
            except ValueError:
                continue
        return out, None


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
    documents, document_error = reader.documents()
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
        clients=client_statuses(cfg, outputs.get("routing") or {}, documents),
        forced_gates={str(k): str(v) for k, v in (outputs.get("forcedGates") or {}).items()},
        history=tuple(outputs.get("history") or ()),
        errors=tuple(dict.fromkeys([*reading.errors, *([document_error] if document_error else [])])),
    )
    return report, reading
