"""Stopping MirrorMaker 2 while something still writes to blue: refused, so nothing written there is lost."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from pulumi import automation as auto

from kafka_migration.config.model import Strategy
from kafka_migration.planning.phases import steps
from tests.helpers import wait_for
from tests.integration.conftest import green_bootstrap
from tests.integration.estate import stack_config

pytestmark = pytest.mark.integration
GATE_WAIT_S = 90
WINDOW_S = 12


class StrayProducer:
    """A client left on blue that writes one record every few seconds."""

    def __init__(self, bootstrap: str, every_s: float = 3.0) -> None:
        self.sent: list[str] = []
        self._producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = f"stray-{len(self.sent)}"
            self._producer.produce("orders", key=b"stray", value=value)
            assert self._producer.flush(10) == 0
            self.sent.append(value)
            self._stop.wait(self._every_s)

    def __enter__(self) -> StrayProducer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(20)


def values_on(bootstrap: str, topic: str) -> set[str]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe", "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out, idle = set(), time.monotonic()
        while time.monotonic() - idle < 4:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.add(msg.value().decode())
                idle = time.monotonic()
        return out
    finally:
        consumer.close()


def test_mm2_is_not_stopped_while_a_stray_producer_still_writes_to_blue(walk) -> None:
    gates = {**stack_config(walk.blue, walk.routing_dir, "one-way")["gates"], "idleWindowSeconds": WINDOW_S}
    stack, config = walk.make("one-way", gates=gates)
    order = steps(Strategy.ONE_WAY, 2, 2)
    mm2_stopped = next(s for s in order if s.phase.value == "mm2-stopped")
    for step in order[1 : order.index(mm2_stopped)]:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S)

    stack.goto(mm2_stopped.phase.value, mm2_stopped.producer_waves, mm2_stopped.consumer_waves)
    with StrayProducer(walk.blue.bootstrap_servers) as stray:
        time.sleep(4)
        with pytest.raises(auto.CommandError) as refused:
            stack.up()
        assert "blue-idle" in str(refused.value) and "orders" in str(refused.value)
    assert stack.outputs()["step"]["phase"] == "verified"

    # The stray stopped: once MM2 copied what it wrote and the window passed, MM2 may stop.
    green = green_bootstrap(config)
    wait_for(lambda: set(stray.sent) <= values_on(green, "orders"), 60, "MM2 copying the stray records")
    time.sleep(WINDOW_S)
    stack.up_when_gates_pass(GATE_WAIT_S)
    assert stack.outputs()["step"]["phase"] == "mm2-stopped"
    assert set(stray.sent) <= values_on(green, "orders")
