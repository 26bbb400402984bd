"""Kafka Connect's REST API: the few calls the migration makes, over HTTP, each bounded by a timeout.

The gates read connectors and their status through it (`evidence.collect`); the connector
provider writes configs through it, and the local runtime asks it whether a worker is up.

A worker protected by Kafka Connect's basic-auth REST extension (the local runtime's) is
called with the user and password of its credentials file (`user=password`, the format of
the extension's `PropertyFileLoginModule`), read at each call: the password is passed to
nobody as a value, only the file's path.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


class ConnectError(RuntimeError):
    """The Connect REST API answered with an error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Connect REST API answered {status}: {message}")
        self.status = status


def basic_authorization(credentials_file: Path) -> str:
    """The `Authorization` header for the first `user=password` line of a credentials file."""
    for line in credentials_file.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", "!")):
            user, _, password = line.partition("=")
            token = base64.b64encode(f"{user.strip()}:{password.strip()}".encode()).decode()
            return f"Basic {token}"
    raise ConnectError(401, f"no user in the Connect REST credentials file {credentials_file}")


class ConnectClient:
    """The few calls of Kafka Connect's REST API that the migration needs."""

    def __init__(self, url: str, timeout_s: float = 30, credentials_file: str | Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.credentials_file = Path(credentials_file) if credentials_file else None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.credentials_file is not None:
            headers["Authorization"] = basic_authorization(self.credentials_file)
        request = urllib.request.Request(  # noqa: S310 - http(s) URL of the Connect REST API
            self.url + path, data=data, method=method, headers=headers
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

    def running_tasks_per_worker(self, connector_kind: str = "") -> dict[str, int]:
        """Worker (REST address) -> RUNNING tasks of the connectors whose name has `connector_kind`.

        Connect balances the count of connectors and tasks per worker, not the work: both source
        tasks (the copying) may land on one worker while the other runs the light connectors.
        """
        spread: dict[str, int] = {}
        for name in self.list_connectors():
            if connector_kind not in name:
                continue
            for task in (self.status(name) or {}).get("tasks", []):
                if task.get("state") == "RUNNING":
                    worker = str(task.get("worker_id"))
                    spread[worker] = spread.get(worker, 0) + 1
        return spread

    def delete(self, name: str) -> None:
        try:
            self._call("DELETE", f"/connectors/{_quote(name)}")
        except ConnectError as err:
            if err.status != 404:
                raise

    def restart(self, name: str) -> None:
        self._call("POST", f"/connectors/{_quote(name)}/restart?includeTasks=true&onlyFailed=true")


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
