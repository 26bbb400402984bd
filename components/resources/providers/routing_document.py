"""A client group's routing document, published as a file or a ConfigMap; consumer groups are handed over on a switch.

Both places go through the same provider: `path` names a file, `config_map` (namespace,
name, labels, kubeconfig context) a ConfigMap written through the API server
(`operations.configmap_document`). Create, read, diff, update and delete act on what is
published there, and a consumer group changing cluster is handed over first, either way.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.config.clients import OffsetReset
from kafka_migration.operations.engine_watch import EngineGone, bound_to_engine, require_engine
from kafka_migration.operations.handoff import DocumentSink, HandoffRequest, hand_off
from kafka_migration.operations.producer_switch import switch_producer
from kafka_migration.planning.handoff_decision import document_content
from kafka_migration.planning.handoff_offsets import OffsetMove
from kafka_migration.planning.producer_switch_plan import ProducerSwitch
from kafka_migration.planning.routing import published_form


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Atomically replace the document (clients never read a half-written file), in its published form."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(published_form(document), f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read_document(path: Path) -> dict[str, Any] | None:
    """The published document, or None if there is none (or it is being replaced)."""
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class FileSink:
    """A routing document published as a JSON file the clients watch."""

    path: Path

    def read(self) -> dict[str, Any] | None:
        return read_document(self.path)

    def write(self, document: dict[str, Any]) -> None:
        write_document(self.path, document)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class Sink(DocumentSink, Protocol):
    """A place a routing document is published that the provider can also remove."""

    def delete(self) -> None:
        """Remove the published document; a missing one is fine."""


def sink_of(props: dict[str, Any]) -> Sink:
    """Where the resource's document is published: its `config_map` (through the API server), else its `path`."""
    config_map = props.get("config_map")
    if config_map:
        # Imported here: the `kubernetes` client is loaded only where routing is published as ConfigMaps.
        from kafka_migration.operations.configmap_document import ConfigMapSink

        return ConfigMapSink(
            config_map["namespace"], config_map["name"], config_map.get("context"), dict(config_map.get("labels") or {})
        )
    return FileSink(Path(props["path"]))


def location(props: dict[str, Any]) -> str:
    """The resource's id: the file's path, or `configmap/<namespace>/<name>`."""
    config_map = props.get("config_map")
    if config_map:
        return f"configmap/{config_map['namespace']}/{config_map['name']}"
    return str(props["path"])


def location_props(props: dict[str, Any]) -> dict[str, Any]:
    """The props that say where the document is (none in an import's read)."""
    return {k: props[k] for k in ("path", "config_map") if props.get(k)}


def props_of_id(id_: str) -> dict[str, Any]:
    """Where the document of a resource id is (`location`'s inverse; the current kubeconfig context)."""
    kind, _, rest = id_.partition("/")
    namespace, _, name = rest.partition("/")
    if kind == "configmap" and namespace and name and "/" not in name:
        return {"config_map": {"namespace": namespace, "name": name}}
    return {"path": id_}


def handoff_request(handoff: dict[str, Any], from_alias: str, target: dict[str, Any]) -> HandoffRequest:
    """The handoff of a consumer group (routing resource input `handoff`) to the cluster of `target`."""
    to_green = target["cluster"] == handoff["greenAlias"]
    return HandoffRequest(
        group_id=handoff["groupId"],
        from_alias=from_alias,
        to_alias=target["cluster"],
        moves=[OffsetMove.from_json(m) for m in handoff["toGreen" if to_green else "toBlue"]],
        client_configs=handoff["clientConfigs"],
        target=target,
        reset=OffsetReset(handoff["autoOffsetReset"]),
        timeout_s=float(handoff["timeoutSeconds"]),
    )


def _hand_off(request: HandoffRequest, sink: DocumentSink) -> dict[str, Any]:
    return hand_off(request, sink).to_json()


@bound_to_engine
class RoutingDocumentProvider(ResourceProvider):
    """Create/update write the document; a consumer group changing cluster is handed over first."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        sink_of(props).write(props["document"])
        return CreateResult(location(props), {**props, "last_handoff": None})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        document = sink_of(props if location_props(props) else props_of_id(id_)).read()
        if document is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "document": document})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compares the wanted document with the stored one and with the one clients read now.

        After an interrupted update the published document can differ from the state
        (a group left paused, or already moved): the next `pulumi up` must see that.
        """
        moved = location(olds) != location(news)
        replaces = [k for k in ("path", "config_map") if moved and olds.get(k) != news.get(k)]
        wanted = document_content(published_form(news["document"]))
        published = sink_of(news).read() if not moved else None
        changed = document_content(published_form(olds["document"])) != wanted or (
            published is not None and document_content(published) != wanted
        )
        return DiffResult(changes=changed or moved, replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Publishes the new document; a group that changes cluster is moved first.

        A consumer group is handed over (operations/handoff.py); under one-way, a producer
        group waits for MM2 to copy its blue records (operations/producer_switch.py).

        The published document (not the stored one) says where the clients are: a crash
        between the steps of an earlier handoff is resumed from there. A refusal or a
        timeout puts the clients back on the document of the last completed update;
        a vanished engine stops everything as it is.
        """
        sink = sink_of(news)
        last_applied, target = published_form(olds["document"]), published_form(news["document"])
        before = sink.read() or last_applied
        report = olds.get("last_handoff")
        handoff = news.get("handoff") or {}
        switch = ProducerSwitch.from_json(handoff["producerSwitch"]) if "producerSwitch" in handoff else None
        move: Callable[[], dict[str, Any]] | None = None
        if switch is not None and switch.applies(before.get("cluster"), target.get("cluster")):
            move = partial(switch_producer, switch, handoff["blueConfig"], sink, {**before, "paused": True}, target)
        elif "groupId" in handoff and before.get("cluster") != target.get("cluster"):
            move = partial(_hand_off, handoff_request(handoff, before["cluster"], target), sink)
        if move is None:
            require_engine(f"publishing {location(news)}")
            sink.write(target)
            return UpdateResult({**news, "last_handoff": report})
        try:
            report = move()
        except EngineGone:
            raise
        except Exception:
            sink.write(last_applied if last_applied.get("cluster") == before.get("cluster") else before)
            raise
        return UpdateResult({**news, "last_handoff": report})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        sink_of(props).delete()


class RoutingDocument(Resource, module="kafkamig", name="RoutingDocument"):
    """One client group's routing document: `<dir>/<client-group>.json`, or `ConfigMap kafka-routing-<client-group>`."""

    document: pulumi.Output[dict[str, Any]]
    """What the clients follow (see planning/routing.py for the fields)."""
    last_handoff: pulumi.Output[dict[str, Any] | None]
    """The last move that waited: a consumer handoff (offsets committed on the target and the re-read
    bound) or a one-way producer switch (how long the producer was paused, and why)."""

    def __init__(
        self,
        name: str,
        path: str | None,
        document: dict[str, Any],
        handoff: pulumi.Input[dict[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        config_map: dict[str, Any] | None = None,
    ) -> None:
        """`path` names the file; with `config_map` (namespace, name, labels, context) the ConfigMap instead."""
        props: dict[str, Any] = {"path": path, "document": document, "handoff": handoff, "last_handoff": None}
        if config_map is not None:
            props["config_map"] = config_map
        super().__init__(RoutingDocumentProvider(), name, props, opts)
