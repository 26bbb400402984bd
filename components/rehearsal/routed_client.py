"""How a rehearsal client follows its routing document: published atomically, re-read, followed by a thread.

Each client re-reads `<routing dir>/<client-group>.json` (a `RoutingDocument.to_json()`)
every `REFRESH_S` and reconnects when it changes, the way an application's deployment
tooling would. `RoutedClient` is the thread the producer and consumer clients share.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.identities import ClientCredentials
from kafka_migration.rehearsal.ledger import Ledger

log = logging.getLogger(__name__)

REFRESH_S = 0.2
"""How often clients re-read their routing document."""


@dataclass(frozen=True)
class Route:
    """A routing document as read, with the revision its publisher computed."""

    revision: str
    doc: RoutingDocument


def read_route(path: Path) -> Route | None:
    """The routing document at `path`, None if there is none yet (the client waits).

    Raises:
        json.JSONDecodeError: The file is not (yet) complete JSON.
        ValueError: The JSON is not a valid routing document (`RoutingDocument.from_json`).
    """
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    doc = RoutingDocument.from_json(body)
    return Route(str(body["revision"]), doc)


def write_route(routing_dir: Path, doc: RoutingDocument) -> Path:
    """Publish `doc` as `<routing_dir>/<client-group>.json`, atomically (readers never see half a file)."""
    routing_dir.mkdir(parents=True, exist_ok=True)
    path = routing_dir / f"{doc.client_group}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc.to_json(), indent=2))
    os.replace(tmp, path)
    return path


class _RouteWatcher:
    """Re-reads one routing document at most every `REFRESH_S`; cheap, it compares revisions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.route: Route | None = None
        self._next_read = 0.0

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next_read:
            return False
        self._next_read = now + REFRESH_S
        try:
            route = read_route(self.path)
        except json.JSONDecodeError:
            return False  # written in place by someone else: read it again next time
        if _revision(route) == _revision(self.route):
            return False
        self.route = route
        return True


def _revision(route: Route | None) -> str | None:
    return route.revision if route else None


class RoutedClient(ABC):
    """A thread that follows one routing document until `stop()`."""

    def __init__(
        self,
        name: str,
        routing_dir: Path,
        ledger: Ledger,
        client_group: str | None = None,
        credentials: ClientCredentials | None = None,
    ) -> None:
        self.name = name
        """This client's own name (logs, `client.id`, the ledger)."""
        self.client_group = client_group or name
        """The client group whose routing document it follows (several clients may share one)."""
        self.error: BaseException | None = None
        """Why the thread died, if it did (`Workload.stop` raises it)."""
        self._ledger = ledger
        self._credentials = dict(credentials or {})
        self._watch = _RouteWatcher(Path(routing_dir) / f"{self.client_group}.json")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"rehearsal-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 120) -> None:
        """Ask the thread to finish (flush or commit, then close) and wait for it."""
        self._stopping.set()
        if self._thread.ident is None:
            return  # never started
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            frame = sys._current_frames().get(self._thread.ident)
            where = "".join(traceback.format_stack(frame)[-8:]) if frame else "(no frame)\n"
            raise TimeoutError(f"client {self.name} did not stop within {timeout_s}s; its thread is at:\n{where}")

    def credentials_on(self, cluster: str) -> dict[str, Any]:
        """The identity this client brings to `cluster` (a routing document carries none); {} for none."""
        return dict(self._credentials.get(cluster, {}))

    def _main(self) -> None:
        try:
            try:
                while not self._stopping.is_set():
                    if self._watch.changed():
                        self._follow(self._watch.route)
                    self._step()
            finally:
                self._shutdown()
        except BaseException as err:  # kept for Workload.stop to raise in the caller's thread
            log.exception("client %s failed", self.name)
            self.error = err

    @abstractmethod
    def _follow(self, route: Route | None) -> None:
        """Apply a new (or vanished) routing document."""

    @abstractmethod
    def _step(self) -> None:
        """One turn of work; returns within about `REFRESH_S`."""

    @abstractmethod
    def _shutdown(self) -> None:
        """Flush or commit, then close."""
