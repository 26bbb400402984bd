"""A small blue estate and a stack config around it, for the phase-walk tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from local_runtime.kafka import KafkaNode
from local_runtime.ports import free_ports
from tests.helpers import create_topic

TOPICS = {
    "orders": (3, {"retention.ms": "604800000"}),
    "payments": (2, {}),
    "audit.events": (1, {"cleanup.policy": "compact"}),
}
CLIENTS = [
    {"name": "orders-service", "role": "producer", "wave": 1, "topics": ["orders"]},
    {"name": "payments-service", "role": "producer", "wave": 2, "topics": ["payments", "audit.events"]},
    {"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders", "payments"]},
    {"name": "auditor", "role": "consumer", "wave": 2, "topics": ["audit.events"]},
]


@dataclass
class Estate:
    blue: KafkaNode
    config: dict[str, Any]
    routing_dir: Path


def seed_blue(blue: KafkaNode, records_per_topic: int = 40) -> None:
    """Topics with configs, an application ACL, records, and a consumer group with committed offsets."""
    for name, (partitions, config) in TOPICS.items():
        create_topic(blue.bootstrap_servers, name, partitions, config)
    admin = AdminClient({"bootstrap.servers": blue.bootstrap_servers})
    acl = AclBinding(
        ResourceType.TOPIC,
        "orders",
        ResourcePatternType.LITERAL,
        "User:billing",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([acl]).values():
        future.result(timeout=30)
    producer = Producer({"bootstrap.servers": blue.bootstrap_servers})
    for i in range(records_per_topic):
        for topic in TOPICS:
            producer.produce(topic, key=f"k{i % 7}", value=f"{topic}-{i}", headers=[("n", str(i).encode())])
    producer.flush()
    consume_and_commit(blue, "billing", ["orders", "payments"], records_per_topic)


def consume_and_commit(cluster: KafkaNode, group: str, topics: list[str], count: int) -> dict[tuple[str, int], int]:
    """Read `count` records as `group`, commit, and return the committed offsets."""
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap_servers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    read = 0
    while read < count:
        msg = consumer.poll(1)
        if msg is not None and not msg.error():
            read += 1
    consumer.commit(asynchronous=False)
    assignment = consumer.assignment()
    committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(assignment, timeout=10)}
    consumer.close()
    return committed


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


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
        "gates": {"soakSeconds": 0, "idleWindowSeconds": 2, "handoffTimeoutSeconds": 60, "maxLagSeconds": 30},
        "routing": {"directory": str(routing_dir)},
        "allowDestroy": True,
    }
