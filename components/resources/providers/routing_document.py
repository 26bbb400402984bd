"""A client group's routing document, published as a file; consumer groups are handed over on a switch."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.config.clients import OffsetReset
from kafka_migration.operations.engine_watch import EngineGone, bound_to_engine, require_engine
from kafka_migration.operations.handoff import HandoffRequest, hand_off
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


def _hand_off(request: HandoffRequest, sink: FileSink) -> dict[str, Any]:
    return hand_off(request, sink).to_json()


@bound_to_engine
class RoutingDocumentProvider(ResourceProvider):
    """Create/update write the document; a consumer group changing cluster is handed over first."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        write_document(Path(props["path"]), props["document"])
        return CreateResult(props["path"], {**props, "last_handoff": None})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        document = read_document(Path(id_))
        if document is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "document": document})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compares the wanted document with the stored one and with the one clients read now.

        After an interrupted update the published document can differ from the state
        (a group left paused, or already moved): the next `pulumi up` must see that.
        """
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        wanted = document_content(published_form(news["document"]))
        published = read_document(Path(news["path"])) if not replaces else None
        changed = document_content(published_form(olds["document"])) != wanted or (
            published is not None and document_content(published) != wanted
        )
        return DiffResult(changes=changed or bool(replaces), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Publishes the new document; a group that changes cluster is moved first.

        A consumer group is handed over (operations/handoff.py); under one-way, a producer
        group waits for MM2 to copy its blue records (operations/producer_switch.py).

        The published document (not the stored one) says where the clients are: a crash
        between the steps of an earlier handoff is resumed from there. A refusal or a
        timeout puts the clients back on the document of the last completed update;
        a vanished engine stops everything as it is.
        """
        sink = FileSink(Path(news["path"]))
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
            require_engine(f"publishing {news['path']}")
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
        Path(id_).unlink(missing_ok=True)


class RoutingDocument(Resource, module="kafkamig", name="RoutingDocument"):
    """One client group's routing document (`<dir>/<client-group>.json`)."""

    document: pulumi.Output[dict[str, Any]]
    """What the clients follow (see planning/routing.py for the fields)."""
    last_handoff: pulumi.Output[dict[str, Any] | None]
    """The last move that waited: a consumer handoff (offsets committed on the target and the re-read
    bound) or a one-way producer switch (how long the producer was paused, and why)."""

    def __init__(
        self,
        name: str,
        path: str,
        document: dict[str, Any],
        handoff: pulumi.Input[dict[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"path": path, "document": document, "handoff": handoff, "last_handoff": None}
        super().__init__(RoutingDocumentProvider(), name, props, opts)
