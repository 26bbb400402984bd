"""confluent-kafka client settings for a configured cluster."""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import AdminClient

from config.model import ClusterSpec


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
