"""`data-parity` compares every partition of every topic, record by record, also between MM2's offset-syncs.

Both flows of the bidirectional strategy are sampled in the bidirectional phase walk.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.conftest import green_bootstrap
from tests.integration.estate import PARTITIONS, produce, wait_until_copied

pytestmark = pytest.mark.integration
GATE_WAIT_S = 120
SAMPLE = 50
"""Records compared per partition: more than any partition of the estate holds, so every record is compared."""


def test_every_partition_sampled_and_records_between_syncs_compared(walk) -> None:
    stack, config = walk.make("one-way")
    # MM2's own default: an offset-sync every 100 records at most, so most records lie between syncs.
    stack.configure(
        {
            "gates": {**config["gates"], "dataParitySample": SAMPLE},
            "mm2": {**config["mm2"], "offsetLagMax": 100},
        }
    )
    green = green_bootstrap(config)
    for phase in ("blue-only", "green-provisioned", "replicating"):
        stack.goto(phase)
        stack.up_when_gates_pass(GATE_WAIT_S)
    wait_until_copied(walk.blue.bootstrap_servers, green)

    # A record on green's orders:0 that MM2 did not write, then one MM2 copies after it: green's
    # partition is no longer a copy of blue's, though every record at an offset-sync still is.
    produce(green, "orders", 0, "not from blue")
    produce(walk.blue.bootstrap_servers, "orders", 0, "copied after the intruder")
    blue_ends = wait_until_copied(walk.blue.bootstrap_servers, green)

    stack.goto("consumers-switched", 0, 1)
    message = ""
    deadline = time.monotonic() + GATE_WAIT_S
    while "data-parity" not in message:
        assert time.monotonic() < deadline, f"data-parity never refused the step: {message}"
        with pytest.raises(Exception) as refusal:
            stack.up()
        message = str(refusal.value)
    assert "A->B orders:0" in message, message

    # Forced by an operator, the step goes ahead and the verdict records what was compared.
    stack.configure({"force": {"data-parity": "test: the intruder on green is known"}})
    stack.up_when_gates_pass(GATE_WAIT_S)
    verdict = {g["gate"]: g for g in stack.outputs()["gates"]}["data-parity"]
    print(verdict["summary"])
    assert not verdict["passed"]
    figures = verdict["figures"]["A->B"]
    assert figures["topics"] == len(PARTITIONS)
    assert figures["partitions"] == sum(PARTITIONS.values())
    per_partition = figures["perPartition"]
    assert set(per_partition) == set(blue_ends)
    assert set(figures["different"]) == {"orders:0"}
    for name, end in blue_ends.items():
        if name == "orders:0":
            # Every record up to the intruder is identical; the intruder is where the comparison stops.
            assert per_partition[name] == end, (name, per_partition)
        else:
            # Every record of the partition was compared, not only those at offset-syncs.
            assert per_partition[name] == (end if end else "empty"), (name, per_partition)
    assert figures["recordsCompared"] == sum(v for v in per_partition.values() if isinstance(v, int))
