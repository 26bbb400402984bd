"""How a rehearsal client follows its routing document: published atomically, re-read, followed by a thread.

Each client re-reads `<routing dir>/<client-group>.json` (a `RoutingDocument.to_json()`)
every `REFRESH_S` and reconnects when it changes, the way an application's deployment
tooling would. `RoutedClient` is the thread the producer and consumer clients share.

Where routing is published as ConfigMaps (`routing.kubernetesNamespace`), the clients are
given a `ConfigMapRoutes` instead of the folder: each re-reads its group's ConfigMap
through the Kubernetes API (a GET) at the same `REFRESH_S`.
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
from typing import Any, Protocol, runtime_checkable

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


class RouteUnavailable(RuntimeError):
    """The document could not be read this time (a server briefly unreachable); the client keeps its route."""


@runtime_checkable
class RouteSource(Protocol):
    """Where a client reads its group's routing document from (a folder, ConfigMaps)."""

    def read(self, client_group: str) -> Route | None:
        """The group's document now, None if there is none (raises RouteUnavailable or JSONDecodeError to retry)."""


@dataclass(frozen=True)
class DirectoryRoutes:
    """Documents as files `<directory>/<client-group>.json`."""

    directory: Path

    def read(self, client_group: str) -> Route | None:
        return read_route(self.directory / f"{client_group}.json")


Routes = Path | RouteSource
"""What clients are given to follow: a routing folder, or another `RouteSource`."""


def route_source(routes: Routes) -> RouteSource:
    """`routes` as a `RouteSource` (a folder becomes `DirectoryRoutes`)."""
    return routes if isinstance(routes, RouteSource) else DirectoryRoutes(Path(routes))


class _RouteWatcher:
    """Re-reads one routing document at most every `REFRESH_S`; cheap, it compares revisions."""

    def __init__(self, source: RouteSource, client_group: str) -> None:
        self.source = source
        self.client_group = client_group
        self.route: Route | None = None
        self._next_read = 0.0

    @property
    def path(self) -> Path | None:
        """The document's file, when it is read from a folder."""
        if isinstance(self.source, DirectoryRoutes):
            return self.source.directory / f"{self.client_group}.json"
        return None

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next_read:
            return False
        self._next_read = now + REFRESH_S
        try:
            route = self.source.read(self.client_group)
        except (json.JSONDecodeError, RouteUnavailable):
            return False  # written in place by someone else, or not reachable: read it again next time
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
        routing_dir: Routes,
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
        self._watch = _RouteWatcher(route_source(routing_dir), self.client_group)
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
