"""The rehearsal's loss/duplicate/order checker on hand-made ledgers, its ledger, routing files and PNG charts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError

from kafka_migration.charts import plot_consumer_pauses, plot_lag, plot_phase_timeline
from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.checker import (
    AttemptedRecord,
    ConsumedRecord,
    ConsumerPause,
    LedgerData,
    ProducedRecord,
    ProducerResult,
    check,
)
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import ProducerClient
from kafka_migration.rehearsal.routed_client import read_route, write_route
from tests.unit.test_rehearsal_transactions import client as transactional_client
from tests.unit.test_rehearsal_transactions import transact

WRITER = ClientGroup(name="orders-writer", role=ClientRole.PRODUCER, wave=1, topics=["orders"])
BILLING = ClientGroup(name="billing", role=ClientRole.CONSUMER, wave=1, topics=["orders"])


def produced(seq: int, cluster: str = "A", key: str = "k0") -> ProducedRecord:
    return ProducedRecord(
        id=f"{cluster}-{key}-{seq}",
        producer=WRITER.name,
        cluster=cluster,
        topic="orders",
        key=key,
        seq=seq,
        partition=0,
        offset=seq,
        produced_at=1000.0 + seq,
        acked_at=1000.1 + seq,
    )


def delivery(record: ProducedRecord, cluster: str = "A", physical: str = "orders", at: float = 0.0) -> ConsumedRecord:
    return ConsumedRecord(
        group=BILLING.name,
        cluster=cluster,
        physical_topic=physical,
        topic="orders",
        partition=record.partition,
        offset=record.offset,
        id=record.id,
        producer=record.producer,
        key=record.key,
        seq=record.seq,
        consumed_at=at or record.acked_at + 0.5,
    )


def attempt(record: ProducedRecord) -> AttemptedRecord:
    return AttemptedRecord(record.id, record.producer, record.topic)


RECORDS = [produced(s) for s in range(5)]


def test_clean_run_counts_every_record_once() -> None:
    data = LedgerData(RECORDS, [delivery(r) for r in RECORDS], attempts=5)

    result = check(data, [WRITER, BILLING])

    row = result.row("billing", "orders")
    assert (row.produced, row.consumed, row.lost, row.duplicates, row.order_violations) == (5, 5, 0, 0, 0)
    assert row.produced_by_cluster == {"A": 5}
    assert row.lost_by_cluster == {}
    assert result.clean
    assert [g.group for g in result.groups] == ["billing"]  # producer groups are not judged


def test_a_record_never_consumed_is_lost() -> None:
    on_b = produced(0, cluster="B")
    data = LedgerData([*RECORDS, on_b], [delivery(r) for r in RECORDS])

    result = check(data, [BILLING])

    row = result.row("billing", "orders")
    assert (row.lost, row.lost_by_cluster, row.lost_sample) == (1, {"B": 1}, (on_b.id,))
    assert result.totals.lost == 1
    assert not result.clean


def test_a_second_delivery_is_a_duplicate_not_a_new_record() -> None:
    deliveries = [delivery(r) for r in RECORDS] + [delivery(RECORDS[3], cluster="B", physical="A.orders")]

    result = check(LedgerData(RECORDS, deliveries), [BILLING])

    row = result.row("billing", "orders")
    assert (row.consumed, row.lost, row.duplicates, row.order_violations) == (5, 0, 1, 0)
    assert not result.clean


def test_a_record_first_delivered_after_a_higher_seq_breaks_order() -> None:
    order = [0, 1, 3, 2, 4]
    deliveries = [delivery(RECORDS[s]) for s in order]

    result = check(LedgerData(RECORDS, deliveries), [BILLING])

    assert result.row("billing", "orders").order_violations == 1
    assert result.row("billing", "orders").lost == 0


def test_order_is_per_key() -> None:
    other_key = [produced(s, key="k1") for s in range(2)]
    deliveries = [delivery(r) for r in RECORDS[:3]] + [delivery(r) for r in other_key]

    result = check(LedgerData(RECORDS[:3] + other_key, deliveries), [BILLING])

    assert result.row("billing", "orders").order_violations == 0


def test_a_record_read_under_its_remote_name_is_the_same_record() -> None:
    # Read orders on A up to seq 2, then the rest as A.orders on green, then green's own orders.
    on_b = produced(0, cluster="B", key="k9")
    deliveries = [delivery(r) for r in RECORDS[:3]]
    deliveries += [delivery(r, cluster="B", physical="A.orders") for r in RECORDS[3:]]
    deliveries += [delivery(on_b, cluster="B")]

    result = check(LedgerData([*RECORDS, on_b], deliveries), [BILLING])

    row = result.row("billing", "orders")
    assert (row.produced, row.consumed, row.lost, row.duplicates) == (6, 6, 0, 0)
    assert row.produced_by_cluster == {"A": 5, "B": 1}


def test_max_pause_and_json() -> None:
    pauses = [ConsumerPause("billing", 1000.0, 1.5), ConsumerPause("billing", 1010.0, 4.0), ConsumerPause("x", 1, 9)]
    data = LedgerData(RECORDS, [delivery(r) for r in RECORDS], pauses)

    result = check(data, [BILLING])

    assert result.groups[0].max_consumer_pause_s == 4.0
    assert result.totals.max_consumer_pause_s == 4.0
    body = json.loads(json.dumps(result.to_json()))
    assert body["clean"] is True
    assert body["totals"]["produced"] == 5
    assert body["groups"][0]["topics"][0]["group"] == "billing"


def test_a_group_reading_nothing_loses_everything() -> None:
    result = check(LedgerData(RECORDS, []), [BILLING])

    assert (result.totals.lost, result.totals.consumed, result.totals.max_consumer_pause_s) == (5, 0, 0.0)


def test_ledger_traffic_is_zero_filled_per_cluster_and_dumps_as_json_lines(tmp_path: Path) -> None:
    ledger = Ledger()
    for record in (produced(0), produced(1), produced(0, cluster="B")):
        ledger.add_attempt(attempt(record))
        ledger.add_produced(record)
    ledger.add_consumed(delivery(RECORDS[0]))
    ledger.add_pause(ConsumerPause("billing", 1000.0, 2.0))

    # produced(s) is acknowledged at 1000.1 + s
    assert ledger.traffic() == {"A": [(1000.0, 1), (1001.0, 1)], "B": [(1000.0, 1), (1001.0, 0)]}
    ledger.dump_jsonl(tmp_path / "ledger.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["attempted"] * 3 + ["produced"] * 3 + ["consumed", "pause", "summary"]
    assert lines[0] == {"kind": "attempted", **vars(attempt(RECORDS[0]))}
    assert lines[3]["id"] == RECORDS[0].id and lines[-1]["attempts"] == 3
    assert check(ledger.snapshot(), [BILLING]).totals.produced == 3


def test_routing_documents_round_trip_through_their_file(tmp_path: Path) -> None:
    doc = RoutingDocument(
        client_group="billing",
        role=ClientRole.CONSUMER,
        cluster="B",
        bootstrap_servers="127.0.0.1:1",
        security_protocol="PLAINTEXT",
        topics={"A.orders": "orders"},
        group_id="billing",
    )

    assert read_route(tmp_path / "billing.json") is None  # not published yet: the client waits
    path = write_route(tmp_path, doc)
    route = read_route(path)

    assert path == tmp_path / "billing.json"
    assert route is not None and route.doc == doc and route.revision == doc.to_json()["revision"]


def is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(b"\x89PNG")


def test_plots_write_pngs(tmp_path: Path) -> None:
    phases = [
        {"name": "replicating", "start": 1000.0, "end": 1030.0},
        {"name": "producers-switched", "start": 1030.0, "end": 1060.0},
    ]
    traffic = {
        "A": [(1000.0 + s, 20 if s < 30 else 0) for s in range(60)],
        "B": [(1000.0 + s, 0 if s < 30 else 20) for s in range(60)],
    }

    plot_phase_timeline(phases, traffic, tmp_path / "timeline.png")
    plot_lag(
        {"A->B": [(1000.0 + s, 60 - s) for s in range(60)], "B->A": [(1000.0, 0), (1060.0, 0)]}, tmp_path / "lag.png"
    )
    plot_consumer_pauses(
        {"billing": [(1031.0, 1.2)], "analytics": [(1040.0, 3.4), (1050.0, 0.5)]}, tmp_path / "pauses.png"
    )

    assert all(is_png(tmp_path / name) for name in ("timeline.png", "lag.png", "pauses.png"))


def test_plots_without_data_still_write_pngs(tmp_path: Path) -> None:
    plot_phase_timeline([], {}, tmp_path / "timeline.png")
    plot_lag({}, tmp_path / "lag.png")
    plot_consumer_pauses({}, tmp_path / "pauses.png")

    assert all(is_png(tmp_path / name) for name in ("timeline.png", "lag.png", "pauses.png"))


def test_records_consumed_by_any_member_of_a_group_count_for_the_group() -> None:
    members = ("billing.1", "billing.2")
    consumed = [replace(delivery(r), member=members[r.seq % 2]) for r in RECORDS]

    result = check(LedgerData(RECORDS, consumed), [WRITER, BILLING])

    row = result.row("billing", "orders")
    assert (row.produced, row.consumed, row.lost, row.duplicates) == (5, 5, 0, 0)
    assert [g.group for g in result.groups] == ["billing"]
    assert {c.member for c in consumed} == set(members)


def test_a_record_of_an_aborted_transaction_read_by_a_group_is_counted_and_fails_the_check() -> None:
    in_aborted = produced(7)  # written in a transaction its producer aborted: never acknowledged
    data = LedgerData(
        RECORDS, [delivery(r) for r in [*RECORDS, in_aborted]], aborted=frozenset({in_aborted.id, "never-read"})
    )

    result = check(data, [BILLING])

    row = result.row("billing", "orders")
    assert (row.produced, row.consumed, row.lost, row.aborted_read) == (5, 6, 0, 1)
    assert result.totals.aborted_read == 1
    assert not result.clean
    assert json.loads(json.dumps(result.to_json()))["totals"]["aborted_read"] == 1


def test_aborted_records_nobody_read_keep_the_check_clean() -> None:
    data = LedgerData(RECORDS, [delivery(r) for r in RECORDS], aborted=frozenset({"x1", "x2"}))

    result = check(data, [BILLING])

    assert result.row("billing", "orders").aborted_read == 0
    assert result.totals.aborted_read == 0 and result.clean


def test_the_ledger_keeps_aborted_ids_and_dumps_them(tmp_path: Path) -> None:
    ledger = Ledger()
    ledger.add_produced(produced(0))
    ledger.add_aborted(["x2", "x1"])
    ledger.add_aborted(iter(["x1"]))

    assert ledger.snapshot().aborted == frozenset({"x1", "x2"})
    ledger.dump_jsonl(tmp_path / "ledger.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert [(line["kind"], line.get("id")) for line in lines[1:]] == [
        ("aborted", "x1"),
        ("aborted", "x2"),
        ("summary", None),
    ]


COUNTS = ("lost", "duplicates", "order_violations", "aborted_read", "phantom", "unacknowledged")
"""Every count of the checker that fails the check."""
UNACKNOWLEDGED = produced(5)
"""Attempted, never acknowledged: in no ledger's `produced`."""
IN_ABORTED = produced(6)
MADE_UP = produced(0, key="k7")
"""A record no producer attempted (its own key, so it breaks no order)."""


def clean_ledger(**changes: object) -> LedgerData:
    """Every record attempted, acknowledged and read once, in order; `changes` inject one fault."""
    data = LedgerData(RECORDS, [delivery(r) for r in RECORDS], attempts=5, attempted=[attempt(r) for r in RECORDS])
    return replace(data, **changes)


FAULTS: dict[str, Callable[[], LedgerData]] = {
    "lost": lambda: clean_ledger(consumed=[delivery(r) for r in RECORDS if r.seq != 2]),
    "duplicates": lambda: clean_ledger(consumed=[delivery(r) for r in [*RECORDS, RECORDS[3]]]),
    "order_violations": lambda: clean_ledger(consumed=[delivery(RECORDS[s]) for s in (0, 1, 3, 2, 4)]),
    "aborted_read": lambda: clean_ledger(
        consumed=[delivery(r) for r in [*RECORDS, IN_ABORTED]],
        attempted=[attempt(r) for r in [*RECORDS, IN_ABORTED]],
        aborted=frozenset({IN_ABORTED.id}),
    ),
    "phantom": lambda: clean_ledger(consumed=[delivery(r) for r in [*RECORDS, MADE_UP]]),
    "unacknowledged": lambda: clean_ledger(attempted=[attempt(r) for r in [*RECORDS, UNACKNOWLEDGED]]),
}


def test_a_clean_ledger_counts_nothing() -> None:
    result = check(clean_ledger(), [WRITER, BILLING])

    assert {count: getattr(result.totals, count) for count in COUNTS} == dict.fromkeys(COUNTS, 0)
    assert result.row("billing", "orders").phantom == 0
    assert result.producers == (ProducerResult(WRITER.name, "orders", 5, 5, 0, 0, 0),)
    assert result.clean


@pytest.mark.parametrize("fault", COUNTS)
def test_each_count_can_fail_the_check(fault: str) -> None:
    result = check(FAULTS[fault](), [WRITER, BILLING])

    assert {count: getattr(result.totals, count) for count in COUNTS} == {c: int(c == fault) for c in COUNTS}
    assert not result.clean
    assert json.loads(json.dumps(result.to_json()))["totals"][fault] == 1


def test_a_record_no_producer_attempted_is_phantom_and_listed() -> None:
    result = check(FAULTS["phantom"](), [BILLING])

    row = result.row("billing", "orders")
    assert (row.consumed, row.lost, row.phantom, row.phantom_sample) == (6, 0, 1, (MADE_UP.id,))


def test_an_attempt_never_acknowledged_nor_read_is_producer_side_loss_of_its_producer_and_topic() -> None:
    elsewhere = replace(produced(0), id="other-0", producer="audit-writer", topic="audit")
    data = clean_ledger(attempted=[attempt(r) for r in [*RECORDS, UNACKNOWLEDGED, elsewhere]])

    result = check(data, [BILLING])

    assert result.producers == (
        ProducerResult("audit-writer", "audit", 1, 0, 0, 0, 1, ("other-0",)),
        ProducerResult(WRITER.name, "orders", 6, 5, 0, 0, 1, (UNACKNOWLEDGED.id,)),
    )
    assert result.totals.unacknowledged == 2
    assert result.row("billing", "orders").lost == 0  # a group only answers for acknowledged records
    assert json.loads(json.dumps(result.to_json()))["producers"][1]["unacknowledged_sample"] == [UNACKNOWLEDGED.id]


def test_an_attempt_never_acknowledged_but_read_is_neither_lost_nor_phantom() -> None:
    # The broker has it (a group read it): only the acknowledgement went missing.
    data = clean_ledger(
        attempted=[attempt(r) for r in [*RECORDS, UNACKNOWLEDGED]],
        consumed=[delivery(r) for r in [*RECORDS, UNACKNOWLEDGED]],
    )

    result = check(data, [BILLING])

    assert result.producers == (ProducerResult(WRITER.name, "orders", 6, 5, 0, 1, 0),)
    assert (result.totals.unacknowledged, result.totals.phantom, result.totals.lost) == (0, 0, 0)
    assert result.clean


def test_records_aborted_on_purpose_are_not_producer_side_loss() -> None:
    data = clean_ledger(attempted=[attempt(r) for r in [*RECORDS, IN_ABORTED]], aborted=frozenset({IN_ABORTED.id}))

    result = check(data, [BILLING])

    assert result.producers == (ProducerResult(WRITER.name, "orders", 6, 5, 1, 0, 0),)
    assert result.clean


class FakeProducer:
    """What ProducerClient calls on a confluent_kafka.Producer: the first `full` calls find the queue full."""

    def __init__(self, full: int = 0) -> None:
        self.full = full
        self.reports: list[Callable[[KafkaError | None, object], None]] = []

    def produce(self, topic: str, key: bytes, value: bytes, headers: list, on_delivery: Callable) -> None:
        if self.full:
            self.full -= 1
            raise BufferError
        self.reports.append(on_delivery)

    def report(self, *errors: KafkaError | None) -> None:
        """Answer the oldest outstanding deliveries, one error (None: acknowledged) each."""
        for err in errors:
            self.reports.pop(0)(err, SimpleNamespace(partition=lambda: 0, offset=lambda: 0))


def test_the_ledger_keeps_each_attempted_id_once_and_counts_the_produce_calls_the_producer_took(tmp_path: Path) -> None:
    ledger = Ledger()
    fake = FakeProducer(full=1)
    c = ProducerClient(WRITER.name, tmp_path, ["k0"], 10.0, ledger)
    c._producer, c._target = fake, ("A", "a:9092", "PLAINTEXT")
    c._doc = RoutingDocument(
        client_group=WRITER.name,
        role=ClientRole.PRODUCER,
        cluster="A",
        bootstrap_servers="a:9092",
        security_protocol="PLAINTEXT",
        topics={"orders": "orders"},
    )
    c._next_due["orders"] = time.monotonic() - 2.5 * c._interval
    c._produce_due()  # 3 records: the first finds the queue full and waits in _failed
    fake.report(None, KafkaError(KafkaError._MSG_TIMED_OUT))

    data = ledger.snapshot()
    assert (data.attempts, len(data.attempted), len(data.produced)) == (2, 3, 1)
    assert {a.producer for a in data.attempted} == {WRITER.name} and {a.topic for a in data.attempted} == {"orders"}
    assert check(data, []).producers == (
        ProducerResult(WRITER.name, "orders", 3, 1, 0, 0, 2, tuple(sorted(r.id for r in c._failed))),
    )

    c._resend_failed()  # the same ids again
    fake.report(None, None)

    data = ledger.snapshot()
    assert (data.attempts, len(data.attempted), len(data.produced)) == (4, 3, 3)
    assert check(data, []).producers == (ProducerResult(WRITER.name, "orders", 3, 3, 0, 0, 0),)
    assert check(data, []).clean


def test_a_transaction_whose_commit_failed_is_producer_side_loss_until_re_sent(tmp_path: Path) -> None:
    c = transactional_client(tmp_path, {"abortable_commits": 1})

    transact(c, 2)  # the commit fails: aborted, its records wait to be re-sent
    assert check(c._ledger.snapshot(), []).totals.unacknowledged == 2

    transact(c, 0)  # re-sent and committed

    data = c._ledger.snapshot()
    assert (data.attempts, len(data.attempted)) == (4, 2)
    assert check(data, []).producers == (ProducerResult("ledger-writer", "payments", 2, 2, 0, 0, 0),)


def test_a_transaction_aborted_on_purpose_loses_nothing(tmp_path: Path) -> None:
    c = transactional_client(tmp_path, abort_every=1)

    transact(c, 2)

    result = check(c._ledger.snapshot(), [])
    assert result.producers == (ProducerResult("ledger-writer", "payments", 2, 0, 2, 0, 0),)
    assert result.clean
