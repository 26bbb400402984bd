"""A MirrorMaker 2 connector on a Connect worker, managed through the REST API.

The resource carries the desired `enabled` status: a flow switched off (B->A at
`reverse-disabled`, everything at `mm2-stopped`) is an update that deletes the
connector on the worker, so URNs stay stable and preview reads "enabled: true -> false".

Its `state` is the worker's view: the connector's state, or FAILED when one of its tasks
failed (the connector itself stays RUNNING then). A task fails when MM2 is refused
something, such as writing the copy of a topic created on blue since the last `pulumi up`
on a green that grants MM2 literally. `diff` asks the worker, so the next `pulumi up`
(which grants MM2 the new copy before it reaches the connectors) restarts failed tasks
without a `pulumi refresh` first.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.evidence.connect_rest import ConnectClient, ConnectError
from kafka_migration.operations.engine_watch import bound_to_engine

RUNNING_TIMEOUT_S = 60
RESTART_GRACE_S = 20
"""After a restart of failed tasks, how long a task may still read FAILED (the worker restarts asynchronously)."""
NO_TASK_GRACE_S = 5
ABSENT = "ABSENT"


def _wait_running(client: ConnectClient, name: str, failed_grace_s: float = 0) -> str:
    """Wait until the connector and all its tasks run; raise with the worker's trace if one fails.

    A checkpoint connector legitimately has no task while the source cluster has no
    consumer group to checkpoint, so "RUNNING with no task" is accepted once it has held
    for a few seconds.
    """
    deadline = time.monotonic() + RUNNING_TIMEOUT_S
    failed_counts_from = time.monotonic() + failed_grace_s
    running_since: float | None = None
    state = "UNKNOWN"
    while time.monotonic() < deadline:
        status = client.status(name) or {}
        state = status.get("connector", {}).get("state", "UNKNOWN")
        tasks = status.get("tasks", [])
        failed = _failed_tasks(status)
        if (state == "FAILED" or failed) and time.monotonic() >= failed_counts_from:
            trace = status.get("connector", {}).get("trace") or (failed[0].get("trace") if failed else "")
            raise RuntimeError(f"connector {name} failed: {(trace or '').splitlines()[:3]}")
        all_tasks_running = all(t.get("state") == "RUNNING" for t in tasks)
        if state == "RUNNING" and all_tasks_running:
            running_since = running_since or time.monotonic()
            if tasks or time.monotonic() - running_since >= NO_TASK_GRACE_S:
                return state
        else:
            running_since = None
        time.sleep(1)
    raise TimeoutError(f"connector {name} not RUNNING after {RUNNING_TIMEOUT_S}s (state {state})")


def _observe(props: dict[str, Any]) -> tuple[dict[str, str] | None, str]:
    """The connector's config and state on the worker (None, ABSENT when it is not there)."""
    client = _client(props)
    try:
        config = client.get_config(props["connector_name"])
    except OSError:
        return None, ABSENT  # the worker is down: nothing runs there
    if config is None:
        return None, ABSENT
    config.pop("name", None)
    status = client.status(props["connector_name"]) or {}
    if _failed_tasks(status):
        return config, "FAILED"
    return config, status.get("connector", {}).get("state", "UNKNOWN")


def _failed_tasks(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks a connector status (GET /connectors/<name>/status) reports FAILED."""
    return [t for t in status.get("tasks", []) if t.get("state") == "FAILED"]


def _fails_now(props: dict[str, Any]) -> bool:
    """Whether the worker reports the connector or one of its tasks FAILED now.

    False when it cannot say: the worker is down, or mid-rebalance (409/500).
    """
    try:
        status = _client(props).status(props["connector_name"]) or {}
    except (OSError, ConnectError):
        return False
    return status.get("connector", {}).get("state") == "FAILED" or bool(_failed_tasks(status))


def _client(props: dict[str, Any]) -> ConnectClient:
    """The worker's REST API, with the local worker's credentials file (a path: the password is read there)."""
    return ConnectClient(props["connect_url"], credentials_file=props.get("rest_credentials_file"))


def _converge(props: dict[str, Any], restart: bool) -> dict[str, Any]:
    client = _client(props)
    name = props["connector_name"]
    if not props["enabled"]:
        with contextlib.suppress(OSError):  # worker already stopped: the connector does not run
            client.delete(name)
        return {**props, "state": ABSENT}
    client.put_config(name, dict(props["config"]))
    if restart:
        client.restart(name)
    return {**props, "state": _wait_running(client, name, RESTART_GRACE_S if restart else 0)}


@bound_to_engine
class MirrorConnectorProvider(ResourceProvider):
    """Enabled: PUT the config and wait for RUNNING. Disabled: DELETE. Read: the worker's view."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["connector_name"], _converge(props, restart=False))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        config, state = _observe(props)
        observed = {**props, "state": state}
        if config is not None:
            observed["config"] = config
        return ReadResult(id_, observed)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("connector_name",) if olds.get(k) != news.get(k)]
        changes = [k for k in ("enabled", "connect_url", "rest_credentials_file") if olds.get(k) != news.get(k)]
        if news.get("enabled"):
            if olds.get("config") != news.get("config"):
                changes.append("config")
            if olds.get("state") != "RUNNING" or (not changes and _fails_now(olds)):
                changes.append("state")
        return DiffResult(changes=bool(changes or replaces), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        restart = olds.get("state") not in ("RUNNING", ABSENT, None)
        if news.get("enabled") and olds.get("enabled") and not restart:
            restart = _fails_now(olds)
        return UpdateResult(_converge(news, restart))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _converge({**props, "enabled": False}, restart=False)


class MirrorConnector(Resource, module="kafkamig", name="MirrorConnector"):
    """One MM2 connector (source, checkpoint or heartbeat) of a replication flow."""

    state: pulumi.Output[str]
    """Connector state as the worker reports it (RUNNING, PAUSED, FAILED, or ABSENT when disabled)."""

    def __init__(
        self,
        name: str,
        connect_url: pulumi.Input[str],
        connector_name: str,
        config: dict[str, str],
        enabled: bool,
        rest_credentials_file: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "connect_url": connect_url,
            "rest_credentials_file": rest_credentials_file,
            "connector_name": connector_name,
            "config": config,
            "enabled": enabled,
            "state": None,
        }
        super().__init__(MirrorConnectorProvider(), name, props, opts)
