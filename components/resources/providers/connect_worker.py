"""A local Kafka Connect worker (running MirrorMaker 2's connectors) as a Pulumi resource.

The resource exists from `green-provisioned` on and carries the desired `running`
status, so that stopping MM2 is an update that happens *before* the cleanup of MM2's
internal topics (Pulumi runs deletions last, updates in dependency order). A worker that
is not to run (before `replicating`, from `mm2-stopped` on) and a deleted one are retired:
the JVM stopped and the secrets file removed. `config_digest` (a hash of the worker's
properties file) restarts a running worker when this package changes what it writes there
(as it did for `allowed.paths`), so a security setting never waits for the next reboot.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.local_runtime import connect
from kafka_migration.operations.engine_watch import bound_to_engine
from kafka_migration.planning.local_processes import worker_properties

_RESTART_KEYS = ("bootstrap_servers", "storage_replication_factor", "heap_mb", "secrets", "config_digest")


def config_digest(worker: connect.ConnectWorker) -> str:
    """SHA-256 of the worker's properties file as this version of the package writes it."""
    return hashlib.sha256(worker_properties(worker).encode()).hexdigest()


def _worker(props: dict[str, Any]) -> connect.ConnectWorker:
    return connect.ConnectWorker(
        name=props["name"],
        data_dir=Path(props["data_dir"]),
        bootstrap_servers=props["bootstrap_servers"],
        rest_port=int(props["rest_port"]),
        metrics_port=int(props["metrics_port"]),
        storage_replication_factor=int(props["storage_replication_factor"]),
        heap_mb=int(props["heap_mb"]),
        secrets=dict(props.get("secrets") or {}),
        client_properties=dict(props.get("client_properties") or {}),
        shared_rest_auth_dir=Path(props["shared_rest_auth_dir"]) if props.get("shared_rest_auth_dir") else None,
    )


def _converge(props: dict[str, Any], restart: bool) -> dict[str, Any]:
    worker = _worker(props)
    if not props["running"]:
        connect.retire(worker)
    elif restart:
        connect.stop(worker)
    pid = connect.start(worker) if props["running"] else None
    return {**props, "url": worker.url, "metrics_url": worker.metrics_url, "pid": pid, "observed_running": bool(pid)}


@bound_to_engine
class LocalConnectWorkerProvider(ResourceProvider):
    """Starts, observes and stops a distributed-mode Connect worker on 127.0.0.1."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["data_dir"], _converge(props, restart=False))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {**props, "observed_running": connect.is_healthy(_worker(props))})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        identity = ("name", "data_dir", "rest_port", "metrics_port", "shared_rest_auth_dir")
        replaces = [k for k in identity if olds.get(k) != news.get(k)]
        changes = [k for k in (*_RESTART_KEYS, "running") if olds.get(k) != news.get(k)]
        # A dead worker that should run (or a live one that should not) is drift to repair.
        if connect.is_healthy(_worker(olds)) != bool(news.get("running")):
            changes.append("observed_running")
        return DiffResult(changes=bool(replaces or changes), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        restart = any(olds.get(k) != news.get(k) for k in _RESTART_KEYS)
        return UpdateResult(_converge(news, restart))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        worker = _worker(props)
        # The secrets file first, and not under rmtree's ignore_errors: a failure to remove it must show.
        connect.retire(worker)
        shutil.rmtree(worker.data_dir, ignore_errors=True)


class LocalConnectWorker(Resource, module="kafkamig", name="LocalConnectWorker"):
    """A Connect worker JVM whose storage topics live on green; outlives `pulumi up`."""

    url: pulumi.Output[str]
    """REST API of the worker."""
    metrics_url: pulumi.Output[str]
    """Prometheus endpoint (JMX exporter agent) of the worker."""
    observed_running: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        worker: connect.ConnectWorker,
        running: bool,
        secrets: pulumi.Input[dict[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": worker.name,
            "data_dir": worker.data_dir.as_posix(),
            "bootstrap_servers": worker.bootstrap_servers,
            "rest_port": worker.rest_port,
            "metrics_port": worker.metrics_port,
            "storage_replication_factor": worker.storage_replication_factor,
            "heap_mb": worker.heap_mb,
            "secrets": secrets or {},
            "client_properties": worker.client_properties,
            "shared_rest_auth_dir": worker.shared_rest_auth_dir.as_posix() if worker.shared_rest_auth_dir else None,
            "config_digest": config_digest(worker),
            "running": running,
            "url": None,
            "metrics_url": None,
            "pid": None,
            "observed_running": None,
        }
        super().__init__(LocalConnectWorkerProvider(), name, props, opts)
