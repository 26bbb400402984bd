"""confluent-kafka client settings for a configured cluster."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from kafka_migration.config.clusters import ClusterSpec


def client_config(cluster: ClusterSpec, **extra: Any) -> dict[str, Any]:
    """Librdkafka settings (bootstrap, security) for `cluster`, plus `extra`."""
    sec = cluster.security
    conf: dict[str, Any] = {
        "bootstrap.servers": cluster.resolved_bootstrap_servers,
        "security.protocol": sec.protocol,
        # librdkafka logs every failed connection attempt (hundreds of lines for an unreachable
        # cluster) to stderr, which Pulumi shows before the one line that matters; errors
        # reach us as exceptions and failed futures, which name the cause.
        "log_level": 0,
    }
    if sec.sasl_mechanism:
        conf["sasl.mechanism"] = sec.sasl_mechanism
        conf["sasl.username"] = sec.username
        conf["sasl.password"] = sec.password.get_secret_value() if sec.password else None
    if sec.ca_file:
        conf["ssl.ca.location"] = sec.ca_file
    conf.update(extra)
    return conf


def admin(cluster: ClusterSpec) -> AdminClient:
    """An admin client for `cluster`."""
    return AdminClient(client_config(cluster))


def committed_reader(conf: dict[str, Any], purpose: str, **extra: Any) -> Consumer:
    """A consumer that reads what applications (and MM2) see: committed records only, never committing itself.

    It reports each partition's end (`enable.partition.eof`), so a read can tell "nothing
    more" from "not yet"; `extra` overrides (for example `auto.offset.reset`). A fetch at a
    partition's end waits at most 10 ms for new records (`fetch.wait.max.ms`; the default 500
    made every read that reached an end take a second, B4 in the README).
    """
    return Consumer(
        {
            **conf,
            "group.id": f"kafka-migration-{purpose}-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
            **extra,
        }
    )
