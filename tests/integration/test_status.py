"""`kafka-migration status` on a real stack: never updated, then walked to `replicating` with traffic on blue."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kafka_migration.local_runtime.pulumi_cli import pulumi_env

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90
BIDIRECTIONAL_GATES = ["replication-lag", "heartbeats-flowing", "data-parity", "mm2-healthy", "source-intact"]


def run_status(walk, backend: Path, *args: str, stack: str = "walk-bidirectional") -> subprocess.CompletedProcess[str]:
    """The command as a user runs it from the project, against the fixture's file backend."""
    env = pulumi_env(backend)
    env["COLUMNS"] = "160"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kafka_migration.status",
            "--stack",
            stack,
            "--project-dir",
            str(walk.project_dir),
            *args,
        ],
        cwd=walk.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def keep_producing(bootstrap: str, stop: threading.Event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    i = 0
    while not stop.wait(0.05):
        producer.produce("orders", key=f"k{i % 7}", value=f"status-{i}")
        producer.poll(0)
        i += 1
    producer.flush(10)


def test_status_reports_phase_next_gates_flows_clients_and_plots(walk, tmp_path: Path) -> None:
    backend = tmp_path / "state"  # where MigrationStack.create keeps the walk's stacks
    stack, _config = walk.make("bidirectional")

    fresh = run_status(walk, backend, "--json", "--out", str(tmp_path / "fresh"))
    assert fresh.returncode == 0, fresh.stderr
    body = json.loads(fresh.stdout)
    assert (body["phase"], body["nextStep"]["phase"], body["gates"], body["flows"]) == ("(none)", "blue-only", [], {})
    assert {c["cluster"] for c in body["clients"].values()} == {"A"}
    assert body["errors"] == []

    for phase in ("blue-only", "green-provisioned", "replicating"):
        stack.goto(phase)
        stack.up_when_gates_pass(GATE_WAIT_S)

    out = tmp_path / "status-report"
    stop = threading.Event()
    traffic = threading.Thread(target=keep_producing, args=(walk.blue.bootstrap_servers, stop), daemon=True)
    traffic.start()
    try:
        result = run_status(walk, backend, "--json", "--out", str(out), "--samples", "2", "--interval", "3")
    finally:
        stop.set()
        traffic.join(30)
    print(result.stdout, result.stderr, sep="\n--- stderr:\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    body = json.loads(result.stdout)

    assert body["phase"] == "replicating"
    assert body["nextStep"] == {"phase": "bidirectional", "producerWaves": 0, "consumerWaves": 0}
    assert [g["gate"] for g in body["gates"]] == BIDIRECTIONAL_GATES
    for gate in body["gates"]:
        assert gate["status"] in {"PASS", "FAIL", "FORCED"}, gate
        assert gate["summary"], gate
    assert gate_by(body, "mm2-healthy")["status"] == "PASS", gate_by(body, "mm2-healthy")
    assert gate_by(body, "source-intact")["status"] == "PASS"

    assert list(body["flows"]) == ["A->B"]
    flow = body["flows"]["A->B"]
    assert flow["error"] is None
    assert set(flow["partitions"]) == {"orders:0", "orders:1", "orders:2", "payments:0", "payments:1", "audit.events:0"}
    assert flow["maxLagRecords"] is not None and flow["connectors"]
    assert {name: (c["cluster"], c["source"]) for name, c in body["clients"].items()} == {
        "orders-service": ("A", "document"),
        "payments-service": ("A", "document"),
        "billing": ("A", "document"),
        "auditor": ("A", "document"),
    }
    assert body["errors"] == []

    # Two samples of this run: blue's end offsets grew with the traffic, green's with MM2's copies.
    assert body["samples"]["count"] == 2
    assert body["throughput"]["A"] > 0, body["throughput"]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [set(s["endOffsets"]) for s in samples] == [{"A", "B"}, {"A", "B"}]
    assert all("A->B" in s["flows"] for s in samples)
    assert [Path(p).name for p in body["plots"]] == ["lag.png", "throughput.png", "phase-timeline.png"]
    for plot in body["plots"]:
        assert Path(plot).stat().st_size > 0

    table = run_status(walk, backend, "--out", str(out))
    print(table.stdout, table.stderr, sep="\n--- stderr:\n")
    assert table.returncode == 0, table.stderr
    for expected in (
        "Stack walk-bidirectional",
        "Gates guarding bidirectional",
        *BIDIRECTIONAL_GATES,
        "A->B",
        "billing",
    ):
        assert expected in table.stdout, expected
    assert "Traceback" not in table.stderr


def gate_by(body: dict, name: str) -> dict:
    return next(g for g in body["gates"] if g["gate"] == name)
