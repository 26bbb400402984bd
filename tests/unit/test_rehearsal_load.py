"""The rehearsal's load knobs without Kafka: total rate, record size, a group slow on the history, aged history."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.config.load import config_from_mapping
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal import consumers
from kafka_migration.rehearsal.consumers import ConsumerClient, _Target, _workload_body
from kafka_migration.rehearsal.estate import HOUR_MS, History, an_hour_old_between
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import _Outgoing
from kafka_migration.rehearsal.run import CONSUMER_MIX, dev_stack_config
from kafka_migration.rehearsal.workload import ConsumerSpec, Workload, consumer_clients

FRAUD = ClientGroup(name="fraud-check", role=ClientRole.CONSUMER, wave=1, topics=["payments"])


def test_the_total_rate_is_split_evenly_over_every_producer_and_topic(tmp_path: Path) -> None:
    cfg = config_from_mapping(dev_stack_config(), "rehearsal")
    streams = sum(len(c.topics) for c in cfg.clients_of(ClientRole.PRODUCER))

    workload = Workload(cfg.clients, tmp_path, total_rate_per_s=400, record_bytes=2048, consumer_specs=CONSUMER_MIX)

    assert streams == 4  # payments-service writes two topics; the transactional ledger-writer counts too
    assert [p._interval for p in workload.producers] == [pytest.approx(1 / 100)] * len(workload.producers)
    assert {p._record_bytes for p in workload.producers} == {2048}


@pytest.mark.parametrize("size", [300, 1024, 4096])
def test_a_record_value_is_padded_to_its_size_and_still_a_workload_record(size: int) -> None:
    record = _Outgoing("a" * 32, "orders-service", "orders", "k1", 7, 1_700_000_000.5, size)

    value = record.value()

    assert len(value) == size
    assert value == record.value()  # a re-send writes the same bytes
    body = _workload_body(value)
    assert body is not None
    assert (body["id"], body["producer"], body["key"], body["seq"], body["ts"]) == (
        "a" * 32,
        "orders-service",
        "k1",
        7,
        1_700_000_000_500,
    )


def test_a_record_smaller_than_its_fields_is_not_padded() -> None:
    value = _Outgoing("a" * 32, "orders-service", "orders", "k1", 7, 1.0, 10).value()

    assert "pad" not in json.loads(value)


def test_a_history_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="history_per_s"):
        ConsumerSpec(history_per_s=0)


def message(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(
        error=lambda: None, topic=lambda: "payments", partition=lambda: 0, offset=lambda: offset, value=lambda: value
    )


class FakeReader:
    """A consumer that hands out the given messages, at most `num_messages` per call."""

    def __init__(self, messages: list[SimpleNamespace]) -> None:
        self.messages = messages
        self.calls = 0

    def consume(self, num_messages: int, timeout: float) -> list[SimpleNamespace]:
        self.calls += 1
        batch, self.messages = self.messages[:num_messages], self.messages[num_messages:]
        return batch

    def commit(self, offsets: list, asynchronous: bool) -> None:
        pass


def slow_client(tmp_path: Path, fake: FakeReader) -> ConsumerClient:
    (client,) = consumer_clients(FRAUD, ConsumerSpec(history_per_s=50), tmp_path, Ledger())
    client._consumer = fake
    client._target = _Target("A", "A:9092", "PLAINTEXT", "fraud-check", ("payments",))
    client._doc = RoutingDocument(
        client_group="fraud-check",
        role=ClientRole.CONSUMER,
        cluster="A",
        bootstrap_servers="A:9092",
        security_protocol="PLAINTEXT",
        topics={"payments": "payments"},
        group_id="fraud-check",
    )
    return client


class FakeClock:
    """`time` for the consumer module: a monotonic clock that only `sleep` moves; wall time is real."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    @staticmethod
    def time() -> float:
        return time.time()


def test_a_group_slow_on_the_history_waits_after_history_but_not_after_its_own_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(consumers, "time", clock)
    live = _Outgoing("b" * 32, "payments-service", "payments", "k0", 0, time.time(), 256).value()
    fake = FakeReader([message(i, b"payments-history-%d" % i) for i in range(10)])
    client = slow_client(tmp_path, fake)

    client._step()  # ten history records: 50/s allows the next ones 0.2 s later
    waits_until = client._history_resume_at
    assert waits_until == pytest.approx(clock.now + 10 / 50)
    fake.messages = [message(10 + i, live) for i in range(600)]
    client._step()  # too early: waits a little, reads nothing

    assert fake.calls == 1 and clock.now < waits_until
    clock.now = waits_until
    client._step()  # the workload's own records, a full batch: no wait after them
    assert fake.calls == 2 and client._history_resume_at <= clock.now
    assert len(client._ledger.snapshot().consumed) == 500


def test_aged_history_turns_an_hour_old_within_the_window_after_seeding() -> None:
    history = History(3, an_hour_old_between(150, 270))

    stamps = [history.timestamp_ms(i, seeded_at=10_000.0) for i in range(3)]

    assert stamps == [10_000_000 + t - HOUR_MS for t in (150_000, 210_000, 270_000)]
    assert History(1).timestamp_ms(0, seeded_at=5.0) == 5_000
