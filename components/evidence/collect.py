"""Collecting the evidence a set of gates needs, with every read bounded in time."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from confluent_kafka.admin import AdminClient

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.connect_rest import ConnectClient, ConnectError
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.evidence.lag import partition_lags, writes_since
from kafka_migration.evidence.metrics import Mm2Metrics, scrape_workers
from kafka_migration.evidence.parity import FlowSides, sample_flow
from kafka_migration.evidence.source_gaps import source_gaps
from kafka_migration.evidence.topics import latest_timestamp_ms
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.desired import selected_topics
from kafka_migration.planning.gate_evidence import (
    Evidence,
    FlowEvidence,
    GroupActivity,
    ParitySample,
    PartitionLag,
    SourceGap,
)
from kafka_migration.planning.gates import Gate
from kafka_migration.planning.local_processes import Mm2Endpoints
from kafka_migration.planning.naming import ConnectorKind, connector_name, offset_syncs_topic


@contextlib.contextmanager
def timed(seconds: dict[str, float], part: str) -> Iterator[None]:
    """Record in `seconds[part]` how long the block took."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[part] = time.perf_counter() - started


LAG_SETTLE_S = 10.0
"""How long a lag reading may wait for MM2's delayed offset-syncs (flushed every second) to land."""


class Collector:
    """Reads blue, green and MM2 for one gate evaluation."""

    def __init__(self, cfg: MigrationConfig, mm2: Mm2Endpoints | None, settle_lag: bool = True) -> None:
        """`mm2`: where MM2's REST API and metrics are (None: nowhere, MM2 is not read).

        `settle_lag`: let a lag reading wait briefly for MM2's delayed offset-syncs (gates); off for samples.
        """
        self.cfg = cfg
        self.settle_lag = settle_lag
        self.timeout = cfg.gates.read_timeout_seconds
        self.conf = {c.alias: client_config(c) for c in (cfg.blue, cfg.green)}
        self.connect_url = mm2.connect_url if mm2 else None
        self.metrics_urls = mm2.metrics_urls if mm2 else ()
        self.rest_credentials_file = mm2.rest_credentials_file if mm2 else None
        self.read_seconds: dict[str, float] = {}
        """Seconds each part of the last `collect` took to read (the benchmark's B4 shows where the time goes)."""

    def collect(
        self,
        blue: ClusterInventory,
        gates: list[Gate],
        flows: list[str],
        known_topic_ids: dict[str, str],
        history: list[dict[str, Any]],
    ) -> Evidence:
        """Evidence for `gates`, about the flows currently running (`A->B`, `B->A`)."""
        need = set(gates)
        self.read_seconds = {}
        green = None
        if need & {Gate.GREEN_HEALTHY, Gate.DISTINCT_CLUSTERS, Gate.TOPIC_PARITY, Gate.ACL_PARITY}:
            with timed(self.read_seconds, "green inventory"):
                green = self.green_inventory()
        flow_gates = {
            Gate.REPLICATION_LAG,
            Gate.REPLICATION_DRAINED,
            Gate.HEARTBEATS,
            Gate.MM2_HEALTHY,
            Gate.SOURCE_INTACT,
        }
        flow_evidence = {}
        if need & flow_gates:
            with timed(self.read_seconds, "flows (lag, heartbeats, MM2)"):
                flow_evidence = {f: self.flow(f, blue) for f in flows}
        parity: tuple[ParitySample, ...] = ()
        if Gate.DATA_PARITY in need:
            with timed(self.read_seconds, "data parity"):
                parity = self.parity(blue, flows)
        groups: dict[str, GroupActivity] = {}
        if need & {Gate.BLUE_CONSUMERS_READ_GREEN, Gate.BLUE_IDLE}:
            with timed(self.read_seconds, "blue groups"):
                groups = self.blue_groups()
        writes = None
        if Gate.BLUE_IDLE in need:
            with timed(self.read_seconds, "blue writes"):
                writes = self.blue_writes(blue)
        gaps: tuple[SourceGap, ...] = ()
        covered: dict[str, dict[str, int]] = {}
        if Gate.SOURCE_INTACT in need:
            with timed(self.read_seconds, "source gaps"):
                gaps, covered = source_gaps(self.cfg, self.conf, flows, blue, self.timeout, history)
        return Evidence(
            time.time(),
            blue,
            green,
            flow_evidence,
            parity,
            groups,
            writes,
            known_topic_ids,
            history,
            source_gaps=gaps,
            source_covered=covered,
        )

    def green_inventory(self) -> ClusterInventory | None:
        try:
            return read_inventory(self.conf[self.cfg.green.alias], self.timeout)
        except Exception:  # noqa: BLE001 - an unreachable green is what the gate reports
            return None

    # --- flows ---------------------------------------------------------------------------

    def _source_topics(self, source: str, blue: ClusterInventory) -> dict[str, int]:
        """Topic -> partitions that flow `source`->... copies."""
        return {t.name: t.partitions for t in selected_topics(self.cfg, blue)}

    def flow(self, name: str, blue: ClusterInventory) -> FlowEvidence:
        source, target = name.split("->")
        lags = self._lags(source, target, blue)
        metrics = self._metrics()
        flow_metrics = metrics.flows.get(name)
        connectors = self._connector_states(source, target)
        failures = sum(v for k, v in metrics.record_failures.items() if k in connectors)
        heartbeat = latest_timestamp_ms(self.conf[target], f"{source}.heartbeats", self.timeout)
        return FlowEvidence(
            name=name,
            lags=tuple(lags),
            heartbeat_age_s=None if heartbeat is None else max(0.0, time.time() - heartbeat / 1000),
            connector_states=connectors,
            record_failures=failures,
            record_age_ms=flow_metrics.record_age_ms if flow_metrics else None,
            replication_latency_ms=flow_metrics.replication_latency_ms if flow_metrics else None,
        )

    def _lags(self, source: str, target: str, blue: ClusterInventory) -> list[PartitionLag]:
        deadline = time.monotonic() + (min(LAG_SETTLE_S, self.timeout) if self.settle_lag else 0)
        while True:
            lags = self._lags_once(source, target, blue)
            settled = all(p.lag_records <= self.cfg.gates.max_lag_records for p in lags)
            if settled or time.monotonic() > deadline:
                return lags
            time.sleep(1)

    def lag_snapshot(self, flow: str, blue: ClusterInventory) -> list[PartitionLag]:
        """One reading of a flow's lag per partition (no waiting for MM2 to settle)."""
        source, target = flow.split("->")
        return self._lags_once(source, target, blue)

    def _lags_once(self, source: str, target: str, blue: ClusterInventory) -> list[PartitionLag]:
        return partition_lags(
            self.conf[source], offset_syncs_topic(target), self._source_topics(source, blue), self.timeout
        )

    def _connector_states(self, source: str, target: str) -> dict[str, str]:
        if not self.connect_url:
            return {}
        client = ConnectClient(self.connect_url, self.timeout, self.rest_credentials_file)
        names = [
            connector_name(source, target, ConnectorKind.SOURCE),
            connector_name(source, target, ConnectorKind.CHECKPOINT),
            connector_name(target, source, ConnectorKind.HEARTBEAT),
        ]
        states = {}
        for name in names:
            try:
                status = client.status(name)
            except (OSError, ConnectError):
                status = None
            if status is None:
                states[name] = "MISSING"
                continue
            states[name] = status.get("connector", {}).get("state", "UNKNOWN")
            for task in status.get("tasks", []):
                if task.get("state") != "RUNNING":
                    states[f"{name}#{task.get('id')}"] = task.get("state", "UNKNOWN")
        return states

    def _metrics(self) -> Mm2Metrics:
        metrics, _failed = scrape_workers(self.metrics_urls, self.timeout)
        return metrics or Mm2Metrics()

    # --- data parity -----------------------------------------------------------------------

    def parity(self, blue: ClusterInventory, flows: list[str]) -> tuple[ParitySample, ...]:
        """Every partition of every running flow (`A->B`, `B->A`), compared record by record (evidence/parity.py)."""
        budget = self.cfg.gates.data_parity_sample
        topics = selected_topics(self.cfg, blue)
        samples: list[ParitySample] = []
        for name in flows if budget else []:
            source, target = name.split("->")
            sides = FlowSides(name, self.conf[source], self.conf[target], self.cfg.strategy)
            samples += sample_flow(sides, topics, budget, self.timeout)
        return tuple(samples)

    # --- blue activity ---------------------------------------------------------------------

    def blue_groups(self) -> dict[str, GroupActivity]:
        admin = AdminClient(self.conf[self.cfg.blue.alias])
        ids = [c.consumer_group_id for c in self.cfg.clients_of(ClientRole.CONSUMER)]
        if not ids:
            return {}
        out = {}
        for gid, future in admin.describe_consumer_groups(ids, request_timeout=self.timeout).items():
            desc = future.result(timeout=self.timeout)
            topics = sorted(
                {tp.topic for m in desc.members for tp in (m.assignment.topic_partitions if m.assignment else [])}
            )
            out[gid] = GroupActivity(gid, len(desc.members), tuple(topics))
        return out

    def blue_writes(self, blue: ClusterInventory) -> dict[str, int]:
        """Records appended to each migrated blue topic within the last idle window (see `writes_since`)."""
        topics = {t.name: t.partitions for t in selected_topics(self.cfg, blue)}
        since_ms = int((time.time() - self.cfg.gates.idle_window_seconds) * 1000)
        return writes_since(self.conf[self.cfg.blue.alias], topics, since_ms, self.timeout)
