"""The rehearsal's consumer client mix without Kafka: how groups become clients and what each connects with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from confluent_kafka import OFFSET_END, OFFSET_STORED, TopicPartition

from kafka_migration.config.clients import ClientGroup, ClientRole, OffsetReset
from kafka_migration.config.load import config_from_mapping
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.consumers import (
    STATIC_SESSION_TIMEOUT_MS,
    ConsumerClient,
    _Target,
    unassigned_partitions,
)
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import ProducerClient, TransactionalProducerClient
from kafka_migration.rehearsal.routed_client import Route
from kafka_migration.rehearsal.run import CONSUMER_MIX, PRODUCER_MIX, dev_stack_config
from kafka_migration.rehearsal.workload import ConsumerSpec, ProducerSpec, Workload, consumer_clients

WRITER = ClientGroup(name="orders-writer", role=ClientRole.PRODUCER, wave=1, topics=["orders"])
SETTLEMENT = ClientGroup(name="settlement", role=ClientRole.CONSUMER, wave=1, topics=["orders"], group_id="settle")
FRAUD = ClientGroup(name="fraud-check", role=ClientRole.CONSUMER, wave=1, topics=["orders"], auto_offset_reset="latest")


def conf(client: ConsumerClient) -> dict:
    return client.kafka_config("127.0.0.1:1", "PLAINTEXT", "settle")


def test_a_group_of_two_members_becomes_two_clients_following_one_document(tmp_path: Path) -> None:
    workload = Workload([WRITER, SETTLEMENT], tmp_path, consumer_specs={"settlement": ConsumerSpec(members=2)})

    names = [c.name for c in workload.consumers]
    assert names == ["settlement.1", "settlement.2"]
    assert {c.client_group for c in workload.consumers} == {"settlement"}
    assert {c._watch.path for c in workload.consumers} == {tmp_path / "settlement.json"}
    assert [conf(c)["client.id"] for c in workload.consumers] == names
    assert all("group.instance.id" not in conf(c) and not c.assign_mode for c in workload.consumers)
    assert [p.name for p in workload.producers] == ["orders-writer"]


def test_a_group_without_a_spec_is_one_plain_client_named_after_the_group(tmp_path: Path) -> None:
    (client,) = Workload([SETTLEMENT], tmp_path).consumers

    assert (client.name, client.client_group, client.assign_mode, client.group_instance_id) == (
        "settlement",
        "settlement",
        False,
        None,
    )
    assert client._watch.path == tmp_path / "settlement.json"


def test_consumers_use_their_groups_auto_offset_reset(tmp_path: Path) -> None:
    (plain,) = consumer_clients(SETTLEMENT, ConsumerSpec(), tmp_path, Ledger())
    (latest,) = consumer_clients(FRAUD, ConsumerSpec(), tmp_path, Ledger())
    (faulty,) = consumer_clients(SETTLEMENT, ConsumerSpec(), tmp_path, Ledger(), ignore_committed=True)

    assert conf(plain)["auto.offset.reset"] == "earliest"
    assert latest.auto_offset_reset is OffsetReset.LATEST and conf(latest)["auto.offset.reset"] == "latest"
    assert conf(faulty)["auto.offset.reset"] == "latest"
    assert conf(plain)["enable.auto.commit"] is False and conf(plain)["group.id"] == "settle"


def test_a_static_member_names_itself_and_shortens_its_session(tmp_path: Path) -> None:
    members = consumer_clients(FRAUD, ConsumerSpec(members=2, static=True), tmp_path, Ledger())

    assert [conf(c)["group.instance.id"] for c in members] == ["fraud-check.1", "fraud-check.2"]
    assert {conf(c)["session.timeout.ms"] for c in members} == {STATIC_SESSION_TIMEOUT_MS} == {10_000}


def test_spec_and_client_refuse_what_assign_cannot_be(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="assign"):
        ConsumerSpec(assign=True, members=2)
    with pytest.raises(ValueError, match="assign"):
        ConsumerSpec(assign=True, static=True)
    with pytest.raises(ValueError, match="at least one"):
        ConsumerSpec(members=0)
    with pytest.raises(ValueError, match="static"):
        ConsumerClient("x", tmp_path, Ledger(), assign_mode=True, group_instance_id="x")
    with pytest.raises(ValueError):
        ConsumerClient("x", tmp_path, Ledger(), auto_offset_reset="smallest")


def test_specs_for_unknown_or_producer_groups_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="billing"):
        Workload([SETTLEMENT], tmp_path, consumer_specs={"billing": ConsumerSpec(members=2)})
    with pytest.raises(ValueError, match="orders-writer"):
        Workload([WRITER, SETTLEMENT], tmp_path, consumer_specs={"orders-writer": ConsumerSpec(members=2)})


def test_unassigned_partitions_are_those_of_existing_topics_not_assigned_yet() -> None:
    counts = {"orders": 3, "payments": 2, "other": 4}

    assert unassigned_partitions(["orders", "B.orders"], counts, []) == [("orders", 0), ("orders", 1), ("orders", 2)]
    assert unassigned_partitions(["orders", "B.orders"], {**counts, "B.orders": 2}, [("orders", 0), ("orders", 1)]) == [
        ("B.orders", 0),
        ("B.orders", 1),
        ("orders", 2),
    ]
    assert unassigned_partitions(["payments"], counts, [("payments", 0), ("payments", 1)]) == []


class FakeConsumer:
    """What ConsumerClient calls on a confluent_kafka.Consumer, recorded."""

    def __init__(self, topics: dict[str, int]) -> None:
        self.topics = topics
        self.assigned: list[TopicPartition] = []
        self.commits: list[list[tuple[str, int, int]]] = []

    def list_topics(self, timeout: float) -> SimpleNamespace:
        return SimpleNamespace(
            topics={t: SimpleNamespace(partitions=dict.fromkeys(range(n)), error=None) for t, n in self.topics.items()}
        )

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned += partitions

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert asynchronous is False
        self.commits.append(sorted((tp.topic, tp.partition, tp.offset) for tp in offsets))


def assign_client(tmp_path: Path, fake: FakeConsumer, *, ignore_committed: bool = False) -> ConsumerClient:
    group = ClientGroup(name="reconciler", role=ClientRole.CONSUMER, wave=1, topics=["orders"])
    (client,) = consumer_clients(
        group, ConsumerSpec(assign=True), tmp_path, Ledger(), ignore_committed=ignore_committed
    )
    client._consumer = fake
    return client


def test_an_assign_client_takes_every_partition_from_the_committed_offsets_and_later_the_new_topics(
    tmp_path: Path,
) -> None:
    fake = FakeConsumer({"orders": 2, "payments": 3})
    client = assign_client(tmp_path, fake)

    topics = ("B.orders", "orders")
    client._assign_new_partitions(topics)
    fake.topics["B.orders"] = 1  # MM2 created it since
    client._assign_new_partitions(topics)
    client._assign_new_partitions(topics)

    assert [(tp.topic, tp.partition, tp.offset) for tp in fake.assigned] == [
        ("orders", 0, OFFSET_STORED),
        ("orders", 1, OFFSET_STORED),
        ("B.orders", 0, OFFSET_STORED),
    ]
    assert client.assign_mode and "group.instance.id" not in conf(client)


def test_the_ignore_committed_fault_assigns_at_the_end(tmp_path: Path) -> None:
    fake = FakeConsumer({"orders": 1})
    assign_client(tmp_path, fake, ignore_committed=True)._assign_new_partitions(["orders"])

    assert [tp.offset for tp in fake.assigned] == [OFFSET_END]


def test_revoked_partitions_are_committed_and_forgotten_the_others_wait_for_the_batch(tmp_path: Path) -> None:
    fake = FakeConsumer({})
    (client,) = consumer_clients(SETTLEMENT, ConsumerSpec(members=1), tmp_path, Ledger())
    client._consumer = fake
    client._pending = {("orders", 0): 10, ("orders", 1): 20, ("orders", 2): 30}

    client._on_revoke(fake, [TopicPartition("orders", 0), TopicPartition("orders", 2)])
    assert fake.commits == [[("orders", 0, 10), ("orders", 2, 30)]]
    assert client._pending == {("orders", 1): 20}

    client._on_lost(fake, [TopicPartition("orders", 1)])
    assert client._pending == {}


def test_the_rehearsal_mix_covers_every_client_kind_and_stays_small(tmp_path: Path) -> None:
    cfg = config_from_mapping(dev_stack_config(), "rehearsal")
    workload = Workload(cfg.clients, tmp_path, consumer_specs=CONSUMER_MIX)

    groups = {c.name: c for c in cfg.clients_of(ClientRole.CONSUMER)}
    members = {name: [c for c in workload.consumers if c.client_group == name] for name in groups}
    assert any(g.auto_offset_reset is OffsetReset.LATEST for g in groups.values())
    assert all(c.auto_offset_reset is groups[c.client_group].auto_offset_reset for c in workload.consumers)
    assert any(len(m) == 2 for m in members.values())
    assert any(c.group_instance_id for c in workload.consumers)
    assert [c.name for c in workload.consumers if c.assign_mode] == ["reconciler"]
    assert len(workload.consumers) - len(groups) <= 1  # one thread per group, plus the second member


def document(cluster: str, topics: dict[str, str], paused: bool = False) -> Route:
    doc = RoutingDocument(
        client_group="fraud-check",
        role=ClientRole.CONSUMER,
        cluster=cluster,
        bootstrap_servers=f"{cluster}:9092",
        security_protocol="PLAINTEXT",
        topics=topics,
        group_id="fraud-check",
        paused=paused,
    )
    return Route(str(doc.to_json()["revision"]), doc)


class FakeSubscriber(FakeConsumer):
    def __init__(self) -> None:
        super().__init__({})
        self.subscriptions: list[list[str]] = []
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks) -> None:
        assert set(callbacks) == {"on_assign", "on_revoke", "on_lost"}
        self.subscriptions.append(topics)

    def close(self) -> None:
        self.closed = True


def test_new_topics_on_the_same_cluster_commit_then_subscribe_again_in_place(tmp_path: Path) -> None:
    """A static member that closed and re-joined would keep its old assignment: it re-subscribes instead."""
    (client,) = consumer_clients(FRAUD, ConsumerSpec(static=True), tmp_path, Ledger())
    fake = FakeSubscriber()
    client._consumer, client._pending = fake, {("payments", 0): 7}
    client._target = _Target("A", "A:9092", "PLAINTEXT", "fraud-check", ("payments",))

    client._follow(document("A", {"payments": "payments", "B.payments": "payments"}))

    assert fake.commits == [[("payments", 0, 7)]]
    assert fake.subscriptions == [["B.payments", "payments"]] and not fake.closed
    assert client._consumer is fake and client._target.topics == ("B.payments", "payments")

    client._follow(document("A", {"payments": "payments", "B.payments": "payments"}, paused=True))
    assert fake.closed and client._consumer is None  # paused: commit and close, as before


def test_a_transactional_spec_makes_a_transactional_client_named_after_its_group(tmp_path: Path) -> None:
    ledger_writer = ClientGroup(name="ledger-writer", role=ClientRole.PRODUCER, wave=1, topics=["payments"])
    workload = Workload(
        [WRITER, ledger_writer, SETTLEMENT],
        tmp_path,
        producer_specs={"ledger-writer": ProducerSpec(transactional=True, abort_every=3)},
    )

    plain, transactional = workload.producers
    assert type(plain) is ProducerClient and "transactional.id" not in plain.kafka_config("a:1", "PLAINTEXT")
    assert isinstance(transactional, TransactionalProducerClient) and transactional.abort_every == 3
    conf = transactional.kafka_config("a:1", "PLAINTEXT")
    assert conf["transactional.id"] == conf["client.id"] == "ledger-writer"
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"
    assert transactional._watch.path == tmp_path / "ledger-writer.json"


def test_producer_specs_for_unknown_or_consumer_groups_and_aborts_without_transactions_are_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="ledger-writer"):
        Workload([WRITER], tmp_path, producer_specs={"ledger-writer": ProducerSpec(transactional=True)})
    with pytest.raises(ValueError, match="settlement"):
        Workload([WRITER, SETTLEMENT], tmp_path, producer_specs={"settlement": ProducerSpec(transactional=True)})
    with pytest.raises(ValueError, match="transactional"):
        ProducerSpec(abort_every=3)
    with pytest.raises(ValueError, match="abort_every"):
        ProducerSpec(transactional=True, abort_every=-1)


def test_the_rehearsal_runs_a_transactional_producer_whose_topics_consumer_groups_read(tmp_path: Path) -> None:
    cfg = config_from_mapping(dev_stack_config(), "rehearsal")
    workload = Workload(cfg.clients, tmp_path, consumer_specs=CONSUMER_MIX, producer_specs=PRODUCER_MIX)

    transactional = [p for p in workload.producers if isinstance(p, TransactionalProducerClient)]
    assert [p.name for p in transactional] == list(PRODUCER_MIX) == ["ledger-writer"]
    assert all(p.abort_every > 0 for p in transactional)
    (group,) = [c for c in cfg.clients_of(ClientRole.PRODUCER) if c.name == "ledger-writer"]
    readers = {c.name for c in cfg.clients_of(ClientRole.CONSUMER) if set(group.topics) & set(c.topics)}
    assert {"billing", "settlement", "fraud-check", "reconciler"} <= readers
    assert group.wave == 1  # moved back to blue by the drills at producerWaves=1
