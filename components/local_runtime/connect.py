"""A Kafka Connect worker (distributed mode) that runs the MirrorMaker 2 connectors.

Distributed mode rather than the dedicated `MirrorMaker` driver: each flow's
connectors (source, checkpoint, heartbeat) are created, changed and deleted one by one
through the REST API, which is what lets a phase step show "add flow B->A" as a diff
of its own, and what Strimzi's KafkaMirrorMaker2 does under the hood too. What a worker is
and its properties are `planning.local_processes`'; its REST client is `evidence.connect_rest`.

The worker's secrets file (MM2's passwords, read through `${file:...}`) exists only while
the worker runs: `start` writes it 0600 (`local_runtime.private_files`), `retire` (the worker
stopped for good: MM2 stopped, or the worker deleted) stops the JVM and removes it.

Its REST API needs a user (Kafka Connect's basic-auth extension): `start` keeps one random
password per worker in `rest-auth/` (0600, outside what the file config provider may read),
and every client of this package reads it from there (`rest_client`).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from kafka_migration.evidence.connect_rest import ConnectClient, ConnectError
from kafka_migration.local_runtime import process
from kafka_migration.local_runtime.paths import jmx_agent_jar
from kafka_migration.local_runtime.private_files import remove_private, write_private
from kafka_migration.planning.local_processes import (
    JMX_EXPORTER_CONFIG,
    SECRETS_FILE,
    ConnectWorker,
    rest_credentials_text,
    rest_jaas_text,
    secrets_properties,
    worker_properties,
)

CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"

# What the JMX exporter publishes: MM2's own metrics, connector/task states and errors.


def start(worker: ConnectWorker, timeout_s: float = 120) -> int:
    """Start the worker (if not running) and wait until its REST API answers. Returns the pid."""
    worker.data_dir.mkdir(parents=True, exist_ok=True)
    config = worker.data_dir / "connect-distributed.properties"
    config.write_text(worker_properties(worker))
    # Before the JVM starts: its file config provider refuses an allowed.paths folder that does not exist.
    write_private(worker.secrets_file, secrets_properties(worker.secrets))
    remove_private(_legacy_secrets_file(worker))
    exporter = worker.data_dir / "jmx-exporter.yaml"
    exporter.write_text(JMX_EXPORTER_CONFIG)
    jvm_options = [f"-javaagent:{jmx_agent_jar()}=127.0.0.1:{worker.metrics_port}:{exporter}"]
    if worker.rest_basic_auth:
        _ensure_rest_credentials(worker)
        jvm_options.append(f"-Djava.security.auth.login.config={worker.rest_jaas_file}")
    pid = process.running_pid(worker.data_dir)
    if pid is None:
        pid = process.start_java(
            worker.data_dir, CONNECT_MAIN, [str(config.resolve())], worker.heap_mb, jvm_options, worker.lean_jvm
        )
    wait_ready(worker, timeout_s)
    return pid or 0


def _ensure_rest_credentials(worker: ConnectWorker) -> None:
    """The worker's REST password (kept across restarts, so running clients keep working) and its JAAS file."""
    if not worker.rest_credentials_file.exists():
        if not worker.owns_rest_credentials:
            raise RuntimeError(
                f"Connect worker {worker.data_dir} shares REST credentials that do not exist yet "
                f"({worker.rest_credentials_file}): start the worker that owns them first"
            )
        write_private(worker.rest_credentials_file, rest_credentials_text(secrets.token_hex(24)))
    write_private(worker.rest_jaas_file, rest_jaas_text(worker))


def rest_client(worker: ConnectWorker, timeout_s: float = 30) -> ConnectClient:
    """A REST client of the worker, with its credentials when it has basic auth."""
    credentials = worker.rest_credentials_file if worker.rest_basic_auth else None
    return ConnectClient(worker.url, timeout_s, credentials)


def wait_ready(worker: ConnectWorker, timeout_s: float) -> None:
    """Block until the REST API answers, or raise with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not process.running_pid(worker.data_dir) is not None:
            raise RuntimeError(
                f"Connect worker {worker.name} exited during start-up\n{process.log_tail(worker.data_dir)}"
            )
        try:
            rest_client(worker).list_connectors()
            return
        except (OSError, ConnectError):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Connect worker {worker.name} not ready on {worker.url} after {timeout_s}s\n"
                    f"{process.log_tail(worker.data_dir)}"
                ) from None
            time.sleep(1)


def is_healthy(worker: ConnectWorker) -> bool:
    """Process alive and REST API answering."""
    if not process.running_pid(worker.data_dir) is not None:
        return False
    try:
        rest_client(worker).list_connectors()
        return True
    except (OSError, ConnectError):
        return False


def stop(worker: ConnectWorker) -> None:
    """Stop the worker; its connectors and offsets live on in its storage topics (a restart reuses its secrets file)."""
    process.stop(worker.data_dir, timeout_s=45)


def retire(worker: ConnectWorker) -> None:
    """Stop the worker for good: the JVM, then its secrets file (which a later `start` writes again)."""
    stop(worker)
    remove_private(worker.secrets_file)
    remove_private(_legacy_secrets_file(worker))
    if worker.owns_rest_credentials:
        remove_private(worker.rest_credentials_file)
    remove_private(worker.rest_jaas_file)


def _legacy_secrets_file(worker: ConnectWorker) -> Path:
    """Where versions before the secrets folder kept the file (beside the worker's config): removed on sight."""
    return worker.data_dir / SECRETS_FILE
