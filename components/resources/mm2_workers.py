"""MirrorMakerWorkers: where MM2's connectors run (a local Connect worker, or your Connect cluster)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.local_processes import local_workers
from kafka_migration.planning.mm2 import mm2_secrets
from kafka_migration.resources.providers.connect_worker import LocalConnectWorker

TYPE = "kafkamig:index:MirrorMakerWorkers"


@dataclass(frozen=True)
class MirrorMakerWorkersArgs:
    """What the workers need: config, green's address, data folder, desired status."""

    config: MigrationConfig
    green_bootstrap_servers: str
    data_root: Path
    running: bool
    """False before `replicating` and from `mm2-stopped` on."""


class MirrorMakerWorkers(pulumi.ComponentResource):
    """The Connect worker(s) running MM2. Local: a JVM owned by the stack. External: a URL you run."""

    connect_url: pulumi.Output[str]
    """REST API the connectors are managed through."""
    metrics_url: pulumi.Output[str | None]
    """Prometheus endpoint with MM2's metrics."""
    secrets_file: str
    """Path, on the workers, of the properties file connectors read passwords from."""
    rest_credentials_file: str | None
    """The local worker's REST credentials file (None: a worker of your own, without our basic auth)."""

    def __init__(self, name: str, args: MirrorMakerWorkersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        cfg = args.config
        if cfg.mm2.connect_url is None:  # a local or external green: a Connect group on this machine
            spec, *members = local_workers(cfg, args.green_bootstrap_servers, args.data_root)
            secrets = pulumi.Output.secret(mm2_secrets(cfg))
            first = LocalConnectWorker(
                f"{name}-connect",
                spec,
                running=args.running,
                secrets=secrets,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secrets"]),
            )
            # Members start after the first (they share its REST credentials) and stop before it.
            for index, member in enumerate(members, 2):
                LocalConnectWorker(
                    f"{name}-connect-{index}",
                    member,
                    running=args.running,
                    secrets=secrets,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[first], additional_secret_outputs=["secrets"]),
                )
            self.resource: pulumi.Resource | None = first
            # Plain, known values (the worker's address is decided by config), so that a
            # worker update does not make every connector's input unknown in preview.
            self.connect_url = pulumi.Output.from_input(spec.url)
            self.metrics_url = pulumi.Output.from_input(spec.metrics_url)
            self.secrets_file = spec.secrets_file.as_posix()
            self.rest_credentials_file: str | None = spec.rest_credentials_file.as_posix()
        else:
            self.resource = None
            self.connect_url = pulumi.Output.from_input(cfg.mm2.connect_url)
            self.metrics_url = pulumi.Output.from_input(cfg.mm2.metrics_url)
            self.secrets_file = "/opt/kafka/external-configuration/mm2-secrets/mm2-secrets.properties"
            self.rest_credentials_file = None
        self.register_outputs({"connectUrl": self.connect_url, "metricsUrl": self.metrics_url})
