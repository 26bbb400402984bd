"""A Kafka Connect worker (distributed mode) that runs the MirrorMaker 2 connectors.

Distributed mode rather than the dedicated `MirrorMaker` driver: each flow's
connectors (source, checkpoint, heartbeat) are created, changed and deleted one by one
through the REST API, which is what lets a phase step show "add flow B->A" as a diff
of its own, and what Strimzi's KafkaMirrorMaker2 does under the hood too.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_migration.local_runtime import process
from kafka_migration.local_runtime.paths import jmx_agent_jar

CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
SECRETS_FILE = "mm2-secrets.properties"

# What the JMX exporter publishes: MM2's own metrics, connector/task states and errors.
JMX_EXPORTER_CONFIG = """\
lowercaseOutputName: true
includeObjectNames:
  - "kafka.connect.mirror:*"
  - "kafka.connect:type=connector-metrics,*"
  - "kafka.connect:type=connector-task-metrics,*"
  - "kafka.connect:type=task-error-metrics,*"
  - "kafka.connect:type=source-task-metrics,*"
  - "kafka.connect:type=connect-worker-metrics"
"""


@dataclass(frozen=True)
class ConnectWorker:
    """Where one local Connect worker lives and listens."""

    name: str
    data_dir: Path
    bootstrap_servers: str
    """Kafka cluster holding the worker's own config/offset/status topics (green, near the target)."""
    rest_port: int
    metrics_port: int
    """Prometheus JMX exporter's HTTP port."""
    storage_replication_factor: int = 1
    heap_mb: int = 768
    secrets: dict[str, str] = field(default_factory=dict)
    """Values connectors reference as `${file:<secrets file>:<key>}` (SASL passwords), kept out of connector configs."""

    def __post_init__(self) -> None:
        # The JVM runs inside data_dir: every path it is given must be absolute.
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / SECRETS_FILE

    @property
    def storage_topics(self) -> tuple[str, str, str]:
        """The worker's config, offset and status topics (cleaned up at `mm2-stopped`)."""
        return (
            f"mm2-configs.{self.name}.internal",
            f"mm2-offsets.{self.name}.internal",
            f"mm2-status.{self.name}.internal",
        )


def worker_properties(worker: ConnectWorker) -> str:
    """The distributed worker's configuration (REST on loopback, byte converters, overrides allowed)."""
    configs, offsets, status = worker.storage_topics
    rf = str(worker.storage_replication_factor)
    props = {
        "bootstrap.servers": worker.bootstrap_servers,
        "group.id": f"mm2-{worker.name}",
        "listeners": f"http://127.0.0.1:{worker.rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(worker.rest_port),
        "config.storage.topic": configs,
        "offset.storage.topic": offsets,
        "status.storage.topic": status,
        "config.storage.replication.factor": rf,
        "offset.storage.replication.factor": rf,
        "status.storage.replication.factor": rf,
        "offset.storage.partitions": "5",
        "status.storage.partitions": "1",
        "key.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "header.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        "offset.flush.interval.ms": "1000",
        "connector.client.config.override.policy": "All",
        "scheduled.rebalance.max.delay.ms": "0",
        "plugin.discovery": "service_load",
        # Connectors reference credentials as ${file:...}; the REST API never shows them.
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def start(worker: ConnectWorker, timeout_s: float = 120) -> int:
    """Start the worker (if not running) and wait until its REST API answers. Returns the pid."""
    worker.data_dir.mkdir(parents=True, exist_ok=True)
    config = worker.data_dir / "connect-distributed.properties"
    config.write_text(worker_properties(worker))
    worker.secrets_file.touch(mode=0o600, exist_ok=True)
    worker.secrets_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(worker.secrets.items())))
    exporter = worker.data_dir / "jmx-exporter.yaml"
    exporter.write_text(JMX_EXPORTER_CONFIG)
    pid = process.running_pid(worker.data_dir)
    if pid is None:
        agent = f"-javaagent:{jmx_agent_jar()}=127.0.0.1:{worker.metrics_port}:{exporter}"
        pid = process.start_java(worker.data_dir, CONNECT_MAIN, [str(config.resolve())], worker.heap_mb, [agent])
    wait_ready(worker, timeout_s)
    return pid or 0


def wait_ready(worker: ConnectWorker, timeout_s: float) -> None:
    """Block until the REST API answers, or raise with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not process.running_pid(worker.data_dir) is not None:
            raise RuntimeError(
                f"Connect worker {worker.name} exited during start-up\n{process.log_tail(worker.data_dir)}"
            )
        try:
            ConnectClient(worker.url).list_connectors()
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
        ConnectClient(worker.url).list_connectors()
        return True
    except (OSError, ConnectError):
        return False


def stop(worker: ConnectWorker) -> None:
    """Stop the worker; its connectors and offsets live on in its storage topics."""
    process.stop(worker.data_dir, timeout_s=45)


class ConnectError(RuntimeError):
    """The Connect REST API answered with an error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Connect REST API answered {status}: {message}")
        self.status = status


class ConnectClient:
    """The few calls of Kafka Connect's REST API that the migration needs."""

    def __init__(self, url: str, timeout_s: float = 30) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - http(s) URL of the Connect REST API
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail).get("message", detail)
            raise ConnectError(err.code, detail) from None
        return json.loads(payload) if payload else None

    def list_connectors(self) -> list[str]:
        return list(self._call("GET", "/connectors"))

    def get_config(self, name: str) -> dict[str, str] | None:
        """The connector's config, or None when it does not exist."""
        try:
            return dict(self._call("GET", f"/connectors/{_quote(name)}/config"))
        except ConnectError as err:
            if err.status == 404:
                return None
            raise

    def put_config(self, name: str, config: dict[str, str]) -> None:
        """Create or update a connector (idempotent)."""
        self._call("PUT", f"/connectors/{_quote(name)}/config", config)

    def status(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"/connectors/{_quote(name)}/status"))
        except ConnectError as err:
            if err.status == 404:
                return None
            raise

    def delete(self, name: str) -> None:
        try:
            self._call("DELETE", f"/connectors/{_quote(name)}")
        except ConnectError as err:
            if err.status != 404:
                raise

    def restart(self, name: str) -> None:
        self._call("POST", f"/connectors/{_quote(name)}/restart?includeTasks=true&onlyFailed=true")


def _quote(name: str) -> str:
    return urllib.request.quote(name, safe="")
