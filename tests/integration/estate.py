"""A small blue estate and a stack config around it, for the phase-walk tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from kafka_migration.config.clients import ClientGroup
from kafka_migration.local_runtime.kafka import KafkaNode
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.rehearsal.estate import (
    History,
    TopicSeed,
    committed_offsets,
    consume_and_commit,
    create_topics,
    grant_clients,
    produce_history,
)

HISTORY = History(40)
TOPICS = (
    TopicSeed("orders", 3, {"retention.ms": "604800000"}, HISTORY),
    TopicSeed("payments", 2, history=HISTORY),
    TopicSeed("audit.events", 1, {"cleanup.policy": "compact"}, HISTORY),
)
CLIENTS = [
    {"name": "orders-service", "role": "producer", "wave": 1, "topics": ["orders"]},
    {"name": "payments-service", "role": "producer", "wave": 2, "topics": ["payments", "audit.events"]},
    {"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders", "payments"], "principal": "User:billing"},
    {"name": "auditor", "role": "consumer", "wave": 2, "topics": ["audit.events"]},
]

__all__ = [
    "PARTITIONS",
    "committed_offsets",
    "end_offsets",
    "produce",
    "seed_blue",
    "stack_config",
    "wait_until_copied",
]


def seed_blue(blue: KafkaNode) -> None:
    """Topics with configs, an application ACL, records, and a consumer group with committed offsets."""
    create_topics(blue.bootstrap_servers, TOPICS)
    grant_clients(blue.bootstrap_servers, [ClientGroup.model_validate(CLIENTS[2])])
    produce_history(blue.bootstrap_servers, TOPICS)
    consume_and_commit(blue.bootstrap_servers, "billing", ["orders", "payments"], HISTORY.records)


def stack_config(blue: KafkaNode, routing_dir: Path, strategy: str) -> dict[str, Any]:
    broker, controller, rest, metrics = free_ports(4)
    return {
        "phase": "blue-only",
        "producerWaves": "0",
        "consumerWaves": "0",
        "strategy": strategy,
        "blue": {"alias": "A", "runtime": "external", "bootstrapServers": blue.bootstrap_servers},
        "green": {
            "alias": "B",
            "runtime": "local",
            "local": {"brokerPort": broker, "controllerPort": controller, "heapMb": 384},
        },
        "topics": {"include": ["orders", "payments", "audit\\..*"]},
        "consumerGroups": ["billing", "auditor"],
        "clients": CLIENTS,
        "mm2": {
            "internalTopicReplicationFactor": 1,
            "connectRestPort": rest,
            "connectMetricsPort": metrics,
            "refreshTopicsIntervalSeconds": 5,
            "refreshGroupsIntervalSeconds": 5,
        },
        "gates": {
            "soakSeconds": 0,
            "idleWindowSeconds": 2,
            "handoffTimeoutSeconds": 60,
            "maxLagRecords": 0,
            "maxLagSeconds": 30,
        },
        "routing": {"directory": str(routing_dir)},
        "allowDestroy": True,
    }


PARTITIONS = {t.name: t.partitions for t in TOPICS}
"""Partitions per topic of the estate."""


def end_offsets(bootstrap: str, prefix: str = "") -> dict[str, int]:
    """`topic:partition` -> end offset of the estate's topics, named `<prefix><topic>` on that cluster."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "parity-test-reader"})
    try:
        out = {}
        for topic, count in PARTITIONS.items():
            for p in range(count):
                out[f"{topic}:{p}"] = consumer.get_watermark_offsets(TopicPartition(prefix + topic, p), timeout=10)[1]
        return out
    finally:
        consumer.close()


def wait_until_copied(source: str, target: str, prefix: str = "", timeout_s: float = 90) -> dict[str, int]:
    """The source's end offsets, once its copies on the target (`<prefix><topic>`) hold as many records."""
    deadline = time.monotonic() + timeout_s
    while True:
        wanted, copied = end_offsets(source), end_offsets(target, prefix)
        if all(copied.get(k, 0) >= v for k, v in wanted.items()):
            return wanted
        assert time.monotonic() < deadline, f"MM2 did not copy everything: source {wanted}, copies {copied}"
        time.sleep(1)


def produce(bootstrap: str, topic: str, partition: int, value: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"parity-test", value=value.encode(), partition=partition)
    assert producer.flush(30) == 0


def set_topic_config(bootstrap: str, topic: str, key: str, value: str) -> None:
    """Set one config of `topic` on that cluster (incrementally, as an operator would)."""
    entry = ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept: the futures fail once it is collected
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)
