"""A client group's routing document, published as a file; consumer groups are handed over on a switch."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from operations.handoff import HandoffRequest, hand_off
from planning.handoff import OffsetMove


def write_document(path: Path, document: dict[str, Any]) -> None:
    """Atomically replace the document (clients never read a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read_document(path: Path) -> dict[str, Any] | None:
    """The published document, or None if there is none (or it is being replaced)."""
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return None


def _content(document: dict[str, Any] | None) -> dict[str, Any]:
    """The document without its derived revision, for comparisons."""
    return {k: v for k, v in (document or {}).items() if k != "revision"}


def _paused(document: dict[str, Any]) -> dict[str, Any]:
    body = {**_content(document), "paused": True}
    return {**body, "revision": document.get("revision", "") + "-paused"}


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
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        changed = _content(olds.get("document")) != _content(news.get("document"))
        return DiffResult(changes=changed or bool(replaces), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        path = Path(news["path"])
        old_doc, new_doc = olds["document"], news["document"]
        report = olds.get("last_handoff")
        handoff = news.get("handoff")
        if handoff and old_doc.get("cluster") != new_doc.get("cluster"):
            to_green = new_doc["cluster"] == handoff["greenAlias"]
            moves = [OffsetMove.from_json(m) for m in handoff["toGreen" if to_green else "toBlue"]]
            request = HandoffRequest(
                group_id=handoff["groupId"],
                from_alias=old_doc["cluster"],
                to_alias=new_doc["cluster"],
                moves=moves,
                client_configs=handoff["clientConfigs"],
                timeout_s=float(handoff["timeoutSeconds"]),
            )
            write_document(path, _paused(old_doc))
            try:
                report = hand_off(request).to_json()
            except Exception:
                # Clients go back to where they were: a failed step changes nothing.
                write_document(path, old_doc)
                raise
        write_document(path, new_doc)
        return UpdateResult({**news, "last_handoff": report})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class RoutingDocument(Resource, module="kafkamig", name="RoutingDocument"):
    """One client group's routing document (`<dir>/<client-group>.json`)."""

    document: pulumi.Output[dict[str, Any]]
    """What the clients follow (see planning/routing.py for the fields)."""
    last_handoff: pulumi.Output[dict[str, Any] | None]
    """The last consumer handoff: offsets committed on the target and the re-read bound."""

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
