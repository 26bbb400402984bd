"""pulumi_kafka providers built from a configured cluster (bootstrap, TLS, SASL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kafka

from kafka_migration.config.clusters import ClusterSpec

SASL_MECHANISMS = {"PLAIN": "plain", "SCRAM-SHA-256": "scram-sha256", "SCRAM-SHA-512": "scram-sha512"}


def kafka_provider(
    name: str,
    cluster: ClusterSpec,
    bootstrap_servers: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    ca_ready: pulumi.Output[Any] | None = None,
) -> pulumi_kafka.Provider:
    """A provider talking to `cluster` with the migration's own credentials (secrets stay secrets).

    `ca_ready`: an output known once the CA file exists (a local green's, which the runtime
    generates when it creates the cluster); the file is read then, not when the program starts.
    """
    sec = cluster.security
    args: dict[str, object] = {
        "bootstrap_servers": pulumi.Output.from_input(bootstrap_servers).apply(lambda s: s.split(",")),
        "tls_enabled": sec.protocol in ("SSL", "SASL_SSL"),
    }
    if sec.sasl_mechanism:
        args["sasl_mechanism"] = SASL_MECHANISMS[sec.sasl_mechanism]
        args["sasl_username"] = sec.username
        args["sasl_password"] = pulumi.Output.secret(sec.password.get_secret_value() if sec.password else "")
    if sec.ca_file:
        ca_file = Path(sec.ca_file)
        args["ca_cert"] = ca_ready.apply(lambda _: ca_file.read_text()) if ca_ready else ca_file.read_text()
    return pulumi_kafka.Provider(name, opts=opts, **args)  # type: ignore[call-overload]
