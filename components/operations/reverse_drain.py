"""The reverse-flow drain of a rollback: read what the clusters say, decide, wait, read again.

Run by the rollback's `ReverseFlowDrain` resource after producers' documents point at
blue and before consumers' documents drop blue's copies and the flow stops (see
planning/rollback.py). It changes nothing on the clusters, so a crash or a timeout at
any point is resumed by the next `pulumi up`, which waits again from what is true then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient

from kafka_migration.evidence.groups import committed_offsets
from kafka_migration.evidence.lag import partition_lags, writes_since
from kafka_migration.evidence.topics import partition_watermarks
from kafka_migration.operations.engine_watch import require_engine
from kafka_migration.planning.gates import Verdict
from kafka_migration.planning.rollback import DrainSnapshot, ReverseDrain, drain_verdicts

POLL_S = 2.0
READ_TIMEOUT_S = 15.0


class DrainError(RuntimeError):
    """The drain's gates did not pass within the timeout."""


@dataclass(frozen=True)
class DrainClients:
    """Client configs of the two clusters."""

    green: dict[str, Any]
    blue: dict[str, Any]


def read_snapshot(drain: ReverseDrain, clients: DrainClients) -> DrainSnapshot:
    """Writes to green in the idle window, the flow's lag, and what blue's groups have not read of the copies."""
    since_ms = int((time.time() - drain.idle_window_seconds) * 1000)
    writes = writes_since(clients.green, drain.topics, since_ms, READ_TIMEOUT_S)
    lags = partition_lags(clients.green, drain.syncs_topic, drain.topics, READ_TIMEOUT_S)
    ends = partition_watermarks(clients.blue, set(drain.copies), READ_TIMEOUT_S)
    admin = AdminClient(clients.blue)
    unread = {}
    for group, copies in drain.groups.items():
        committed = committed_offsets(admin, group, copies, READ_TIMEOUT_S)
        unread[group] = {
            f"{topic}:{partition}": max(0, mark.high - committed.get((topic, partition), mark.low))
            for (topic, partition), mark in ends.items()
            if topic in copies
        }
    return DrainSnapshot(
        green_writes=writes,
        lag={f"{p.topic}:{p.partition}": p.lag_records for p in lags},
        unread=unread,
    )


def drain_reverse_flow(drain: ReverseDrain, clients: DrainClients) -> list[Verdict]:
    """Wait until every drain gate passes; returns their last verdicts, raises DrainError at the timeout."""
    deadline = time.monotonic() + drain.timeout_seconds
    while True:
        require_engine(f"draining {drain.flow}")
        verdicts = drain_verdicts(drain, read_snapshot(drain, clients))
        failed = [v for v in verdicts if not v.passed]
        if not failed:
            return verdicts
        if time.monotonic() > deadline:
            lines = "\n".join(f"  {v.gate.value}: {v.summary}" for v in failed)
            raise DrainError(
                f"rollback stopped before {drain.flow} stops: producers' documents point at blue, consumers' "
                f"documents and the flow are unchanged. Failed gates after {drain.timeout_seconds:g}s:\n{lines}\n"
                "Make the clients follow their documents and run `pulumi up` again (it waits again), or override "
                "one named gate with `pulumi config set --path 'force.<gate>' '<reason>'`."
            )
        time.sleep(POLL_S)
