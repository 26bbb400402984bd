"""The rehearsal's numbers are real: a short migration under live traffic loses nothing, and a broken handover is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_migration.config.model import Phase, Strategy
from kafka_migration.planning.phases import Step
from kafka_migration.rehearsal.process_faults import ConnectKilled, UpKilled
from kafka_migration.rehearsal.run import RehearsalOptions, rehearse

pytestmark = pytest.mark.integration


def short_run(tmp_path: Path, **overrides) -> dict:
    options = RehearsalOptions(
        Strategy.ONE_WAY,
        tmp_path / "work",
        stop_after=Step(Phase.CONSUMERS_SWITCHED, 0, 1),  # the first wave: groups on both clusters
        rollback_drill=False,
        dwell_s=3.0,
        drain_s=90.0,
        history_per_s=2000.0,  # the slow group's history in seconds, not the rehearsal's 4 minutes
        **{"total_rate_per_s": 100.0, **overrides},
    )
    lines: list[str] = []
    result = rehearse(options, lines.append)
    assert result.check is not None, lines
    return result.to_json()


def test_consumers_moved_under_traffic_survive_a_killed_connect_worker_and_a_killed_pulumi_up(
    toolchain, tmp_path: Path
) -> None:
    """The CI subset of the fault campaign, on secured clusters: MM2's worker killed while it replicates,
    `pulumi up` killed mid-wave. Every client logs in as its own user (SASL_SSL) and ACLs are enforced."""
    report = short_run(tmp_path, faults=(ConnectKilled(), UpKilled()), secure=True)
    assert report["error"] is None, report["error"]
    # Both clusters listen for clients on SASL_SSL only: every record produced and read was by a logged-in user.
    assert report["security"] == "SASL_SSL, ACLs"
    assert [f["fault"] for f in report["faults"]] == ["connect-kill-replicating", "up-kill-consumer-wave"]
    assert report["produced"] > 100
    assert report["lost"] == 0, report["groups"]
    assert report["unacknowledged"] == 0 and report["phantom"] == 0, report
    assert [p["name"] for p in report["phases"]][-1] == "consumers-switched (consumerWaves=1)"


@pytest.mark.long  # 3 minutes; the checker catching a skip is in make test too (test_workload.py)
def test_checker_reports_losses_when_consumers_ignore_the_handed_over_offsets(toolchain, tmp_path: Path) -> None:
    report = short_run(tmp_path, consumers_ignore_committed=True, total_rate_per_s=80.0)
    # Consumers that start at the end of green's topics skip what arrived between pause and resume.
    assert report["lost"] > 0, report["groups"]
