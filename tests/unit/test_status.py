"""The status command's pure parts: next step, verdict states, samples and series, clients, JSON shape, tables."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import Phase
from kafka_migration.evidence.metrics import FlowMetrics
from kafka_migration.planning.gate_evidence import FlowEvidence, PartitionLag
from kafka_migration.planning.gates import Gate, Verdict
from kafka_migration.planning.phases import Step, config_steps
from kafka_migration.status.__main__ import main
from kafka_migration.status.decisions import (
    Rate,
    client_statuses,
    config_values,
    flow_status,
    gate_statuses,
    is_migrated_topic,
    lag_series,
    latest_rates,
    make_sample,
    next_step,
    phase_spans,
    rate_steps,
    step_of,
    throughput_series,
    unknown_gates,
)
from kafka_migration.status.pulumi_stack import cli_env
from kafka_migration.status.render import key_figures, render, write_plots
from kafka_migration.status.report_data import (
    NO_PHASE,
    ClientStatus,
    FlowStatus,
    GateState,
    GateStatus,
    PartitionStatus,
    Sample,
    StatusReport,
    append_sample,
    read_samples,
)
from tests.unit.builders import config_dict, make_config

ORDER = config_steps(make_config())


# --- config and steps -------------------------------------------------------------------


def test_config_from_cli_json_accepts_object_values_and_json_text() -> None:
    body = config_dict(phase="replicating")
    cli = {
        "kafka-migration:phase": {"value": "replicating", "secret": False},
        "kafka-migration:producerWaves": {"value": "0", "secret": False},
        # `pulumi config set --path` stores objects (objectValue); the Automation API stores JSON text.
        "kafka-migration:blue": {"value": json.dumps(body["blue"]), "objectValue": body["blue"], "secret": True},
        "kafka-migration:green": {"value": json.dumps(body["green"]), "secret": False},
        "kafka-migration:topics": {"value": json.dumps(body["topics"]), "secret": False},
        "kafka-migration:clients": {"value": json.dumps(body["clients"]), "secret": False},
        "aws:region": {"value": "eu-west-1", "secret": False},
    }
    cfg = config_from_mapping(config_values(cli), "dev", "kafka-migration")
    assert cfg.phase is Phase.REPLICATING
    assert cfg.blue.bootstrap_servers == "blue-1:9092,blue-2:9092"
    assert cfg.green.local is not None and cfg.green.local.broker_port == 29092
    assert [c.name for c in cfg.clients] == ["orders-writer", "payments-writer", "billing", "analytics"]


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        (None, Step(Phase.BLUE_ONLY)),
        (Step(Phase.BLUE_ONLY), Step(Phase.GREEN_PROVISIONED)),
        (Step(Phase.REPLICATING), Step(Phase.BIDIRECTIONAL)),
        (Step(Phase.BIDIRECTIONAL), Step(Phase.PRODUCERS_SWITCHED, 1, 0)),
        (Step(Phase.PRODUCERS_SWITCHED, 1, 0), Step(Phase.PRODUCERS_SWITCHED, 2, 0)),
        (Step(Phase.CONSUMERS_SWITCHED, 2, 2), Step(Phase.REVERSE_DISABLED, 2, 2)),
        (Step(Phase.DECOMMISSIONED, 2, 2), None),
        # Recorded before a third producer wave was configured away: placed by phase, as `pulumi up` does.
        (Step(Phase.PRODUCERS_SWITCHED, 3, 0), Step(Phase.CONSUMERS_SWITCHED, 2, 1)),
    ],
)
def test_next_step_follows_the_strategys_order(applied: Step | None, expected: Step | None) -> None:
    assert next_step(ORDER, applied) == expected


def test_next_step_of_a_phase_the_strategy_does_not_have_is_none() -> None:
    one_way = config_steps(make_config(strategy="one-way"))
    assert next_step(one_way, Step(Phase.BIDIRECTIONAL)) is None
    assert next_step(one_way, Step(Phase.REPLICATING)) == Step(Phase.CONSUMERS_SWITCHED, 0, 1)


def test_step_of_tolerates_missing_and_unknown_outputs() -> None:
    assert step_of(None) is None
    assert step_of({"phase": "teleported"}) is None
    assert step_of({"phase": "replicating", "producerWaves": 0, "consumerWaves": 0}) == Step(Phase.REPLICATING)


# --- gates, flows, clients ----------------------------------------------------------------


def test_gate_states_force_exactly_as_pulumi_up_does() -> None:
    verdicts = [
        Verdict(Gate.REPLICATION_LAG, True, "within limits", {"A->B": {"maxLagRecords": 0}}),
        Verdict(Gate.HEARTBEATS, False, "A->B: none"),
        Verdict(Gate.DATA_PARITY, False, "no record could be sampled yet", {"sampled": 0}),
        Verdict(Gate.SOURCE_INTACT, False, "orders was re-created"),
        Verdict(Gate.MM2_HEALTHY, False, "connectors missing", {"A->B": {"recordAgeMs": math.nan}}),
    ]
    force = {"data-parity": "empty topics in the rehearsal", "source-intact": "we know", "blue-idle": "unused"}
    states = {g.gate: g for g in gate_statuses(verdicts, force)}
    assert {name: g.state for name, g in states.items()} == {
        "replication-lag": GateState.PASS,
        "heartbeats-flowing": GateState.FAIL,
        "data-parity": GateState.FORCED,
        "source-intact": GateState.FAIL,  # can never be forced
        "mm2-healthy": GateState.FAIL,
    }
    assert states["data-parity"].forced_reason == "empty topics in the rehearsal"
    assert states["mm2-healthy"].figures == {"A->B": {"recordAgeMs": None}}  # NaN is not JSON
    assert [g.state for g in unknown_gates([Gate.BLUE_IDLE], "blue down")] == [GateState.UNKNOWN]


def test_flow_status_keeps_every_partition_and_the_metrics() -> None:
    evidence = FlowEvidence(
        "A->B",
        lags=(
            PartitionLag("orders", 0, 0, 120, 99, 20, 4.5),
            PartitionLag("orders", 1, 0, 80, 79, 0, 0.0),
        ),
        heartbeat_age_s=1.2,
        connector_states={"A->B.MirrorSourceConnector": "RUNNING"},
        record_age_ms=math.nan,
        replication_latency_ms=35.0,
    )
    flow = flow_status(evidence, FlowMetrics(byte_rate=2048.0))
    assert (flow.max_lag_records, flow.max_lag_seconds) == (20, 4.5)
    assert (flow.record_age_ms, flow.replication_latency_ms, flow.byte_rate) == (None, 35.0, 2048.0)
    body = flow.to_json()
    assert body["partitions"]["orders:0"] == {
        "lagRecords": 20,
        "lagSeconds": 4.5,
        "endOffset": 120,
        "replicatedThrough": 99,
    }
    assert FlowStatus("B->A", error="cannot be read").max_lag_records is None


def test_clients_come_from_the_published_document_then_the_outputs() -> None:
    cfg = make_config()
    outputs = {
        "orders-writer": {"cluster": "B", "paused": False},
        "billing": {"cluster": "A", "paused": False},
        "retired-app": {"cluster": "A", "role": "consumer", "groupId": "retired"},
    }
    documents = {"billing": {"cluster": "A", "paused": True, "groupId": "billing"}}
    clients = client_statuses(cfg, outputs, documents)
    assert list(clients) == ["orders-writer", "payments-writer", "billing", "analytics", "retired-app"]
    assert (clients["orders-writer"].cluster, clients["orders-writer"].side, clients["orders-writer"].source) == (
        "B",
        "green",
        "outputs",
    )
    assert (clients["billing"].paused, clients["billing"].source, clients["billing"].group_id) == (
        True,
        "document",
        "billing",
    )
    assert (clients["payments-writer"].cluster, clients["payments-writer"].source) == ("A", "not published")
    assert (clients["retired-app"].role, clients["retired-app"].wave, clients["retired-app"].group_id) == (
        "consumer",
        None,
        "retired",
    )


def test_migrated_topics_include_remote_copies_under_bidirectional_only() -> None:
    bidi, one_way = make_config(), make_config(strategy="one-way")
    for name in ("orders", "audit.events", "A.orders", "B.payments"):
        assert is_migrated_topic(bidi, name), name
    for name in ("A.heartbeats", "A.checkpoints.internal", "mm2-offset-syncs.B.internal", "C.orders", "other"):
        assert not is_migrated_topic(bidi, name), name
    assert is_migrated_topic(one_way, "orders") and not is_migrated_topic(one_way, "A.orders")


# --- samples and series -------------------------------------------------------------------


def sample(at: float, a: int | None, b: int | None = None, lag: int | None = 0, stack: str = "dev") -> Sample:
    flows = (
        {"A->B": FlowStatus("A->B", (PartitionStatus("orders", 0, 10, 9, lag or 0, 0.0),))} if lag is not None else {}
    )
    ends = {"A": a} if b is None else {"A": a, "B": b}
    return make_sample(stack, at, flows, ends)


def test_throughput_is_end_offset_growth_between_consecutive_samples() -> None:
    samples = [sample(110, 300, 50), sample(100, 100, None), sample(120, 250, 90), sample(130, None, 190)]
    series = throughput_series(samples)
    # A: +200 over 10 s, then fewer records (a topic went away: no rate), then unreadable.
    assert series["A"] == [Rate(100, 110, 20.0)]
    # B: first seen at 110, +40 over 10 s, +100 over 10 s.
    assert series["B"] == [Rate(110, 120, 4.0), Rate(120, 130, 10.0)]
    assert latest_rates(series) == {"A": 20.0, "B": 10.0}
    assert throughput_series([sample(100, 5)]) == {}
    assert throughput_series([sample(100, 5), sample(100, 9)]) == {}


def test_rate_steps_hold_each_rate_over_its_interval_and_leave_gaps_blank() -> None:
    steps = rate_steps([Rate(100, 110, 2.0), Rate(110, 120, 4.0), Rate(150, 160, 1.0)])
    assert steps[:2] == [(100, 2.0), (110, 4.0)]
    assert steps[2][0] == 120 and math.isnan(steps[2][1])  # 120..150: no sample, nothing drawn
    assert steps[3:] == [(150, 1.0), (160, 1.0)]
    assert rate_steps([]) == []


def test_lag_series_per_flow_skips_unread_flows() -> None:
    unread = make_sample("dev", 105, {"A->B": FlowStatus("A->B", error="down")}, {})
    series = lag_series([sample(110, 0, lag=7), unread, sample(100, 0, lag=0)])
    assert series == {"A->B": [(100, 0.0), (110, 7.0)]}


def test_samples_round_trip_through_the_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "samples.jsonl"
    append_sample(path, sample(200, 10, 20, lag=3))
    append_sample(path, sample(100, 5, stack="other"))
    with path.open("a") as f:
        f.write("not json\n{}\n")
    append_sample(path, sample(150, 8))
    loaded = read_samples(path, "dev")
    assert [s.at for s in loaded] == [150, 200]
    assert loaded[1].end_offsets == {"A": 10, "B": 20}
    assert loaded[1].flows["A->B"]["maxLagRecords"] == 3
    line = json.loads(path.read_text().splitlines()[0])
    assert set(line) == {"stack", "time", "at", "flows", "endOffsets"}
    assert set(line["flows"]["A->B"]) == {
        "maxLagRecords",
        "maxLagSeconds",
        "recordAgeMs",
        "replicationLatencyMs",
        "byteRate",
    }
    assert read_samples(tmp_path / "missing.jsonl", "dev") == []


def test_phase_spans_run_from_each_entry_to_the_next_and_the_last_to_now() -> None:
    history = [
        {"phase": "blue-only", "producerWaves": 0, "consumerWaves": 0, "at": "2026-01-01T10:00:00+00:00"},
        {"phase": "green-provisioned", "producerWaves": 0, "consumerWaves": 0, "at": "2026-01-01T10:01:00+00:00"},
        {"phase": "replicating", "at": "garbage"},
        {"phase": "producers-switched", "producerWaves": 1, "consumerWaves": 0, "at": "2026-01-01T10:05:00+00:00"},
    ]
    start = 1767261600.0  # 2026-01-01T10:00:00Z
    spans = phase_spans(history, now=start + 600)
    assert [(s["name"], s["start"] - start, s["end"] - start) for s in spans] == [
        ("blue-only", 0, 60),
        ("green-provisioned", 60, 300),
        ("producers-switched (producerWaves=1)", 300, 600),
    ]
    assert phase_spans([], now=start) == []


# --- the report -------------------------------------------------------------------------


def report_at_replicating() -> StatusReport:
    flow = FlowStatus(
        "A->B",
        (PartitionStatus("orders", 0, 120, 99, 20, 4.5), PartitionStatus("orders", 1, 80, 79, 0, 0.0)),
        heartbeat_age_s=0.8,
        connectors={"A->B.MirrorSourceConnector": "RUNNING", "B->A.MirrorHeartbeatConnector": "FAILED"},
        record_age_ms=12.0,
        replication_latency_ms=30.0,
        byte_rate=1024.0,
    )
    return StatusReport(
        stack="dev",
        strategy="bidirectional",
        generated_at=1767261600.0,
        applied=Step(Phase.REPLICATING),
        high_water=Step(Phase.REPLICATING),
        next=Step(Phase.BIDIRECTIONAL),
        clusters={"A": "blue", "B": "green"},
        gates=(
            GateStatus("replication-lag", GateState.FAIL, "behind: A->B orders:0 20 record(s) / 4.5s", {"A->B": {}}),
            GateStatus("data-parity", GateState.FORCED, "no record", {"sampled": 0}, "rehearsal"),
            GateStatus("heartbeats-flowing", GateState.PASS, "fresh", {"A->B": 0.8}),
            GateStatus("mm2-healthy", GateState.UNKNOWN, "not evaluated: blue cannot be read"),
        ),
        flows={"A->B": flow},
        clients={"billing": ClientStatus("billing", "consumer", 1, "A", "blue", True, "document", "billing")},
        history=({"phase": "replicating", "producerWaves": 0, "consumerWaves": 0, "at": "2026-01-01T09:59:00+00:00"},),
        errors=("green (B) at 127.0.0.1:29092 cannot be read: timed out",),
        throughput={"A": 12.5},
        plots=("out/lag.png",),
    )


def test_json_shape_for_scripts() -> None:
    body = json.loads(json.dumps(report_at_replicating().to_json(), allow_nan=False))
    assert {"phase", "step", "nextStep", "gates", "flows", "clients", "plots", "errors", "throughput"} <= set(body)
    assert body["phase"] == "replicating"
    assert body["nextStep"] == {"phase": "bidirectional", "producerWaves": 0, "consumerWaves": 0}
    assert [(g["gate"], g["status"], g["passed"]) for g in body["gates"]] == [
        ("replication-lag", "FAIL", False),
        ("data-parity", "FORCED", False),
        ("heartbeats-flowing", "PASS", True),
        ("mm2-healthy", "UNKNOWN", None),
    ]
    assert body["gates"][1]["forcedReason"] == "rehearsal"
    assert body["flows"]["A->B"]["maxLagRecords"] == 20
    assert body["flows"]["A->B"]["partitions"]["orders:1"]["lagRecords"] == 0
    assert body["clients"]["billing"] == {
        "role": "consumer",
        "wave": 1,
        "cluster": "A",
        "side": "blue",
        "paused": True,
        "source": "document",
        "groupId": "billing",
    }
    assert body["plots"] == ["out/lag.png"]


def test_a_stack_never_updated_shows_no_phase_and_the_first_step_next() -> None:
    cfg = make_config()
    report = StatusReport("dev", "bidirectional", 0.0, None, None, next_step(config_steps(cfg), None), {})
    body = report.to_json()
    assert (body["phase"], body["step"], body["nextStep"]["phase"]) == (NO_PHASE, None, "blue-only")


def test_key_figures_flatten_and_cap() -> None:
    assert key_figures({"brokers": 1, "neededForReplicationFactor": 1}) == "brokers=1, neededForReplicationFactor=1"
    figures = {"A->B": {"maxLagRecords": 3, "maxLagSeconds": 1.25, "partitions": {}}, "problems": []}
    assert key_figures(figures) == "A->B.maxLagRecords=3, A->B.maxLagSeconds=1.2"
    connectors = {"A->B": {"connectors": {"A->B.MirrorSourceConnector": "RUNNING", "B->A.Heartbeat": "RUNNING"}}}
    assert key_figures(connectors) == "A->B.connectors=2x RUNNING"
    mixed = {"connectors": {"A->B.MirrorSourceConnector": "RUNNING", "B->A.Heartbeat": "FAILED"}}
    assert key_figures(mixed) == "connectors.A->B.MirrorSourceConnector=RUNNING, connectors.B->A.Heartbeat=FAILED"
    many = {str(i): i for i in range(9)}
    assert key_figures(many, limit=2) == "0=0, 1=1, (+7 more)"


def test_table_shows_step_gates_flows_and_clients() -> None:
    console = Console(record=True, width=200)
    render(report_at_replicating(), console)
    text = console.export_text()
    for expected in (
        "replicating",
        "Gates guarding bidirectional",
        "replication-lag",
        "FAIL",
        "FORCED",
        "UNKNOWN",
        "orders:0",
        "B->A.MirrorHeartbeatConnector FAILED",
        "PAUSED",
        "A (blue)",
        "cannot be read: timed out",
        "A 12.5",
    ):
        assert expected in text, expected


def test_plots_are_written_from_samples_and_history(tmp_path: Path) -> None:
    report = report_at_replicating()
    samples = [sample(1767261600.0 + 10 * i, 100 * i, 50 * i, lag=i) for i in range(4)]
    paths = write_plots(tmp_path, samples, report.history, report.clusters, 1767261660.0)
    assert [p.name for p in paths] == ["lag.png", "throughput.png", "phase-timeline.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000
    # Empty inputs still give a (captioned) picture rather than an error.
    for p in write_plots(tmp_path / "empty", [], [], {}, 0.0):
        assert p.stat().st_size > 1000


# --- the command line -------------------------------------------------------------------


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--project-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no Pulumi.yaml" in capsys.readouterr().err
    assert main(["--stack", "dev", "--project-dir", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["--stack", "dev", "--samples", "0"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


def test_a_config_mm2_cannot_be_found_for_exits_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Green on Kubernetes without its `kubernetes:` block: no Connect pods to read, said as the program says it."""
    cfg = make_config(green={"alias": "B", "runtime": "kubernetes", "bootstrapServers": "b:9092"})
    stack = SimpleNamespace(config=cfg, outputs={})
    monkeypatch.setattr("kafka_migration.status.__main__.read_stack", lambda *_: stack)
    assert main(["--stack", "dev", "--project-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "write `kubernetes: {}` for the defaults" in capsys.readouterr().err


def test_cli_env_honours_the_backend_from_the_environment(tmp_path: Path) -> None:
    env = cli_env(tmp_path, {"PATH": "/bin", "PULUMI_BACKEND_URL": "file:///elsewhere"})
    assert env["PULUMI_BACKEND_URL"] == "file:///elsewhere"
    env = cli_env(tmp_path, {"PATH": "/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path.resolve() / '.pulumi-state'}"
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
