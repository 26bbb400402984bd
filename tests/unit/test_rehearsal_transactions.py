"""The rehearsal's transactional producer without Kafka: what it records as produced, aborted or re-sent."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

from confluent_kafka import KafkaError, KafkaException

from kafka_migration.config.clients import ClientRole
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import TransactionalProducerClient


class FakeTransactionalProducer:
    """What TransactionalProducerClient calls on a confluent_kafka.Producer, recorded.

    Deliveries are reported on flush; `fail` holds the indexes (over all produce calls) of
    deliveries that fail, `abortable_commits` how many commits fail with an abortable error.
    """

    def __init__(self, ledger: Ledger, fail: set[int] | None = None, abortable_commits: int = 0) -> None:
        self.ledger = ledger
        self.fail = fail or set()
        self.abortable_commits = abortable_commits
        self.calls: list[str] = []
        self.sent: list[str] = []
        self.produced_when_committing: list[int] = []
        self._queued: list[tuple[str, object]] = []

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, topic: str, key: bytes, value: bytes, headers: list, on_delivery: object) -> None:
        self.sent.append(json.loads(value)["id"])
        self._queued.append((topic, on_delivery))

    def flush(self, timeout: float) -> int:
        for index, (_topic, on_delivery) in enumerate(self._queued, len(self.sent) - len(self._queued)):
            err = KafkaError(KafkaError._MSG_TIMED_OUT) if index in self.fail else None
            on_delivery(err, SimpleNamespace(partition=lambda: 0, offset=lambda index=index: index))
        self._queued = []
        return 0

    def commit_transaction(self, timeout: float) -> None:
        self.produced_when_committing.append(len(self.ledger.snapshot().produced))
        if self.abortable_commits:
            self.abortable_commits -= 1
            raise KafkaException(KafkaError(KafkaError._FENCED, txn_requires_abort=True))
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


def client(tmp_path: Path, fake_args: dict | None = None, abort_every: int = 0) -> TransactionalProducerClient:
    ledger = Ledger()
    c = TransactionalProducerClient("ledger-writer", tmp_path, ["k0", "k1"], 10.0, ledger, abort_every=abort_every)
    c._producer = FakeTransactionalProducer(ledger, **(fake_args or {}))
    c._target = ("A", "a:9092", "PLAINTEXT")
    c._doc = RoutingDocument(
        client_group="ledger-writer",
        role=ClientRole.PRODUCER,
        cluster="A",
        bootstrap_servers="a:9092",
        security_protocol="PLAINTEXT",
        topics={"payments": "payments"},
    )
    return c


def transact(c: TransactionalProducerClient, records: int) -> None:
    """One transaction with `records` new records due."""
    c._next_due["payments"] = time.monotonic() - (records - 0.5) * c._interval
    c._transact(produce_due=True)


def fake(c: TransactionalProducerClient) -> FakeTransactionalProducer:
    assert isinstance(c._producer, FakeTransactionalProducer)
    return c._producer


def test_every_third_transaction_is_aborted_and_its_records_are_recorded_as_aborted_never_produced(
    tmp_path: Path,
) -> None:
    c = client(tmp_path, abort_every=3)

    for _ in range(3):
        transact(c, 2)

    data = c._ledger.snapshot()
    sent = fake(c).sent
    assert fake(c).calls == ["begin", "commit", "begin", "commit", "begin", "abort"]
    assert [p.id for p in data.produced] == sent[:4]
    assert data.aborted == frozenset(sent[4:])
    assert fake(c).produced_when_committing == [0, 2]  # delivery reports are held until the commit
    assert (c.committed, c.aborted, len(c._failed)) == (2, 1, 0)  # aborted records are not re-sent
    assert [(p.key, p.seq) for p in data.produced] == [("k0", 0), ("k1", 0), ("k0", 1), ("k1", 1)]


def test_a_failed_delivery_aborts_the_transaction_and_its_records_are_re_sent_unchanged_in_the_next(
    tmp_path: Path,
) -> None:
    c = client(tmp_path, {"fail": {1}}, abort_every=1)

    transact(c, 3)  # the second delivery fails: aborted, not "aborted on purpose"
    first = list(fake(c).sent)
    assert c._ledger.snapshot().produced == () and c._ledger.snapshot().aborted == frozenset()
    assert [r.id for r in c._failed] == first

    transact(c, 1)  # re-sends are never aborted on purpose, even when it is the turn of an abort
    transact(c, 1)  # this one is

    data = c._ledger.snapshot()
    assert fake(c).calls == ["begin", "abort", "begin", "commit", "begin", "abort"]
    assert fake(c).sent[3:6] == first
    assert [p.id for p in data.produced] == [*first, fake(c).sent[6]]
    assert data.aborted == frozenset(fake(c).sent[7:])
    assert (c.committed, c.aborted) == (1, 1)


def test_a_commit_that_can_only_abort_is_aborted_and_re_sent(tmp_path: Path) -> None:
    c = client(tmp_path, {"abortable_commits": 1})

    transact(c, 2)
    transact(c, 0)

    assert fake(c).calls == ["begin", "abort", "begin", "commit"]
    assert [p.id for p in c._ledger.snapshot().produced] == fake(c).sent[:2] == fake(c).sent[2:]
    assert c._ledger.snapshot().aborted == frozenset()


def test_shutdown_re_sends_failed_records_in_a_transaction_of_their_own(tmp_path: Path) -> None:
    c = client(tmp_path, {"fail": {0}})
    transact(c, 1)
    closed: list[bool] = []
    c._disconnect = lambda: closed.append(True)  # type: ignore[method-assign]

    c._shutdown()

    assert fake(c).calls == ["begin", "abort", "begin", "commit"]
    assert [p.id for p in c._ledger.snapshot().produced] == fake(c).sent[:1] and closed == [True]
