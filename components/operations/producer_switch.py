"""The one-way producer switch: pause, let the producer flush, wait for MM2 to copy its records, publish green.

Run by a producer group's routing resource (see planning/producer_switch_plan.py). Every step
reads what is true, so a crash resumes: a `pulumi up` that finds the document paused on
blue runs the switch again from the pause. A timeout puts the unpaused blue document back.
"""

from __future__ import annotations

import time
from typing import Any

from kafka_migration.evidence.lag import stable_ends, uncopied_below
from kafka_migration.operations.engine_watch import require_engine
from kafka_migration.operations.handoff import DocumentSink
from kafka_migration.planning.producer_switch_plan import ProducerSwitch, still_to_copy

POLL_S = 1.0
READ_TIMEOUT_S = 15.0
GATE = "producer-switch"


class ProducerSwitchError(RuntimeError):
    """MM2 did not copy the producer's blue records within the timeout."""


def switch_producer(
    switch: ProducerSwitch,
    blue_conf: dict[str, Any],
    sink: DocumentSink,
    paused: dict[str, Any],
    target: dict[str, Any],
) -> dict[str, Any]:
    """Publish `paused`, wait for the flush and the copy, publish `target`; returns what it waited for."""
    started = time.monotonic()
    require_engine("pausing a producer group")
    sink.write(paused)
    time.sleep(switch.flush_seconds)
    ends = stable_ends(blue_conf, set(switch.topics), READ_TIMEOUT_S)
    deadline = time.monotonic() + switch.timeout_seconds
    while left := still_to_copy(uncopied_below(blue_conf, switch.syncs_topic, ends, READ_TIMEOUT_S)):
        if time.monotonic() > deadline:
            raise ProducerSwitchError(
                f"gate {GATE} failed: MirrorMaker 2 did not copy the producer's records on blue within "
                f"{switch.timeout_seconds:g}s (still to copy: {left}); the producer is back on blue, unpaused. "
                "Check MM2 (`kafka-migration status`) and run `pulumi up` again"
            )
        time.sleep(POLL_S)
    copied_s = time.monotonic() - started
    require_engine("publishing a producer group's green document")
    sink.write(target)
    return {
        "pausedSeconds": round(time.monotonic() - started, 2),
        "waitedForCopySeconds": round(copied_s - switch.flush_seconds, 2),
        "copiedThrough": {f"{t}:{p}": end for (t, p), end in sorted(ends.items())},
    }
