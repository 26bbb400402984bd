"""Faults that change blue's data under a live walk: records deleted before MM2 copied them, a topic added.

The first must make the next step's gate refuse (`source-intact`); after the second, the
migration must carry the new topic and partition to green (`verify`).
"""

from __future__ import annotations

import time
import uuid
from typing import ClassVar

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from pulumi import automation as auto

from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.evidence.groups import committed_offsets
from kafka_migration.planning.naming import remote_topic
from kafka_migration.planning.phases import Step
from kafka_migration.rehearsal.fault_model import AfterUpFault, Outcome, Up, WalkHandles, first_line, wave_step
from kafka_migration.rehearsal.process_faults import kill9


class RetentionWhileMm2Down(AfterUpFault):
    """Blue deletes records MM2 has not copied while MM2 is down; the next step must be refused."""

    name = "retention-while-mm2-down"
    reads_clusters = True
    expected = Outcome.REFUSED
    refusal_gate = "source-intact"
    topic: ClassVar[str] = "orders"

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        pid = kill9(h.connect_dir())
        time.sleep(10)
        deleted = delete_read_records(h, self.topic)
        return (
            f"kill -9 of the Connect worker (pid {pid}); 10s later blue deleted {deleted} record(s) of "
            f"{self.topic} that every group had read and MM2 had not copied (deleteRecords: what retention does)"
        )

    def recover(self, h: WalkHandles, up: Up) -> str:
        up()
        return "`pulumi up` at the same step restarted MM2; the next step's `pulumi up` must be refused"


def delete_read_records(h: WalkHandles, topic: str) -> int:
    """Advance blue's log start of `topic` to the lowest offset any consumer group committed; returns how many."""
    conf: dict[str, str | int | float | bool] = {"bootstrap.servers": h.blue.bootstrap_servers}
    admin = AdminClient(conf)
    readers = [c.name for c in h.cfg.clients_of(ClientRole.CONSUMER) if topic in c.topics]
    committed = [committed_offsets(admin, g, [topic], 30) for g in readers]
    partitions = admin.list_topics(topic, timeout=30).topics[topic].partitions
    targets, deleted = [], 0
    probe = Consumer({**conf, "group.id": f"fault-probe-{uuid.uuid4().hex[:6]}"})
    try:
        for p in partitions:
            low, _high = probe.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            upto = min((c.get((topic, p), 0) for c in committed), default=0)
            if upto > low:
                targets.append(TopicPartition(topic, p, upto))
                deleted += upto - low
    finally:
        probe.close()
    if targets:
        for future in admin.delete_records(targets, request_timeout=30).values():
            future.result(timeout=30)
    return deleted


class TopicAndPartitionAdded(AfterUpFault):
    """A topic created and a partition added on blue mid-migration."""

    name = "blue-topic-and-partition-added"
    reads_clusters = True
    new_topic: ClassVar[str] = "audit.late-arrivals"
    """Matches the dev stack's `audit\\..*` include, so the migration must carry it."""
    grown_topic: ClassVar[str] = "orders"
    records: ClassVar[int] = 300

    def step(self, cfg: MigrationConfig) -> Step:
        return wave_step(cfg, Phase.REPLICATING, 0)

    def inject(self, h: WalkHandles) -> str:
        admin = AdminClient({"bootstrap.servers": h.blue.bootstrap_servers})
        for future in admin.create_topics([NewTopic(self.new_topic, 2, 1)]).values():
            future.result(timeout=30)
        count = len(admin.list_topics(self.grown_topic, timeout=30).topics[self.grown_topic].partitions)
        for future in admin.create_partitions([NewPartitions(self.grown_topic, count + 1)]).values():
            future.result(timeout=30)
        producer = Producer({"bootstrap.servers": h.blue.bootstrap_servers, "enable.idempotence": True})
        for i in range(self.records):
            producer.produce(self.new_topic, key=f"k{i % 7}", value=f"late-{i}")
        if producer.flush(60):
            raise RuntimeError(f"{self.name}: records to {self.new_topic} not acknowledged")
        return (
            f"created {self.new_topic} (2 partitions) with {self.records} records and grew "
            f"{self.grown_topic} from {count} to {count + 1} partitions on blue"
        )

    def recover(self, h: WalkHandles, up: Up) -> str:
        try:
            up()
        except auto.CommandError as err:
            # MM2 may create the topic or the partition on green before pulumi-kafka does (README).
            cause = next((x.strip() for x in str(err).splitlines() if "kafka server:" in x), first_line(str(err)))
            h.say(f"fault {self.name}: `pulumi up` failed: {cause}; `pulumi refresh`, then `pulumi up`")
            h.stack.stack.refresh()
            up()
            return (
                f"`pulumi up` at the same step failed ({cause}): MM2 had grown or created the topic on green "
                "first; `pulumi refresh --yes`, then `pulumi up` adopted them"
            )
        return "`pulumi up` at the same step: the new topic and partition are in the plan (the preview lists them)"

    def verify(self, h: WalkHandles) -> str | None:
        green = remote_topic(h.cfg.strategy, h.cfg.blue.alias, self.new_topic)
        found = read_all_values(green_bootstrap(h), green)
        missing = {f"late-{i}" for i in range(self.records)} - found
        return (
            f"{len(missing)} of {self.records} records of {self.new_topic} missing on green ({green})"
            if missing
            else None
        )


def green_bootstrap(h: WalkHandles) -> str:
    """Green's bootstrap servers, from the stack's outputs."""
    return h.stack.outputs()["greenBootstrapServers"]


def read_all_values(bootstrap: str, topic: str, idle_s: float = 10.0) -> set[str]:
    """Every value of `topic`, read from the beginning until nothing new arrives for `idle_s`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"fault-verify-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
        }
    )
    values: set[str] = set()
    try:
        consumer.subscribe([topic])
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            msg = consumer.poll(0.5)
            value = msg.value() if msg is not None and msg.error() is None else None
            if value is not None:
                values.add(value.decode())
                last = time.monotonic()
    finally:
        consumer.close()
    return values
