"""Configurations a user gets wrong, refused through `pulumi up` with what to fix, changing nothing."""

from __future__ import annotations

import socket

import pytest
from pulumi import automation as auto

from kafka_migration.config.model import Phase
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.planning.phases import Step
from tests.integration.conftest import connectors

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90


def test_a_topic_pattern_matching_nothing_and_an_unreachable_blue_are_refused_in_a_few_lines(walk) -> None:
    stack, _config = walk.make("one-way", topics={"include": ["ordrs", "orders", "payments", "audit\\..*"]})
    stack.goto("green-provisioned")
    with pytest.raises(auto.CommandError) as refused:
        stack.up()
    message = str(refused.value)
    assert "topics.include pattern 'ordrs' selects none of blue's topics (audit.events, orders, payments)" in message, (
        message
    )
    assert stack.outputs() == {}  # nothing applied

    (dead_port,) = free_ports(1)
    stack.configure({"blue": {"alias": "A", "runtime": "external", "bootstrapServers": f"127.0.0.1:{dead_port}"}})
    lines: list[str] = []
    with pytest.raises(auto.CommandError) as unreachable:
        stack.up(on_output=lines.append)
    text = str(unreachable.value)
    assert "gate blue-reachable failed" in text
    noise = [line for line in text.splitlines() + lines if "Connect to ipv4" in line or "|FAIL|" in line]
    assert noise == []


def test_changing_strategy_after_replication_is_refused_naming_the_step_to_roll_back_to(walk) -> None:
    stack, config = walk.make("one-way")
    for phase in (Phase.GREEN_PROVISIONED, Phase.REPLICATING):
        stack.goto(Step(phase).phase.value)
        stack.up_when_gates_pass(GATE_WAIT_S)
    before = connectors(config, walk.data_root)

    stack.configure({"strategy": "bidirectional"})
    for command in (stack.preview, stack.up):
        with pytest.raises(auto.CommandError) as refused:
            command()
        assert "strategy changed from one-way to bidirectional after MirrorMaker 2 replicated" in str(refused.value)
        assert "roll back to phase blue-only" in str(refused.value)
    assert connectors(config, walk.data_root) == before
    assert stack.outputs()["strategy"] == "one-way"


def test_a_failed_up_does_not_record_its_step(walk) -> None:
    """MM2's worker cannot start (its REST port is taken) late in the update: the stack keeps its previous step."""
    stack, config = walk.make("one-way")
    stack.goto("green-provisioned")
    stack.up_when_gates_pass(GATE_WAIT_S)

    taken = socket.socket()
    taken.bind(("127.0.0.1", config["mm2"]["connectRestPort"]))
    taken.listen()
    try:
        stack.goto("replicating")
        with pytest.raises(auto.CommandError):
            stack.up()
    finally:
        taken.close()
    outputs = stack.outputs()
    assert outputs["step"]["phase"] == "green-provisioned"
    assert [entry["phase"] for entry in outputs["history"]] == ["green-provisioned"]

    stack.up_when_gates_pass(GATE_WAIT_S)
    assert [entry["phase"] for entry in stack.outputs()["history"]] == ["green-provisioned", "replicating"]
