"""Routing documents: what each client group is told to do at a step.

Clients are not Pulumi resources, so the migration publishes one document per client
group, and the clients (or their deployment tooling) follow it. The document is plain
JSON with camelCase keys. `RoutingDocument` below is its only definition: the library
publishes `to_json()`, clients and the status command read it back with `from_json()`,
and `schemas/routing-document.v1.json` is generated from it (`python -m
kafka_migration.planning.routing_schema`). What a client must do with each field is in
`docs/client-contract.md`. A document changes only when its clients must act, so a
phase step touches only the documents of the groups it moves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator
from pydantic.alias_generators import to_camel

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.config.model import MigrationConfig, Strategy
from kafka_migration.config.redact import scrub_message, shown_value
from kafka_migration.planning.naming import remote_topic
from kafka_migration.planning.phases import Step, reverse_flow_active

ROUTING_FORMAT_VERSION: Final = 1
"""The document format this library publishes and reads; a new format gets a new number and schema file."""
REVISION_PATTERN: Final = r"^[0-9a-f]{16}$"


def published_form(document: Mapping[str, Any]) -> dict[str, Any]:
    """A document as published, whatever carried it.

    Pulumi's property values drop `null` fields and turn integers into floats, so a document
    passed through a resource's inputs is restored here (`version` an integer, `groupId`
    present) and its revision recomputed over the restored body.
    """
    body = {k: v for k, v in document.items() if k != "revision"}
    body["version"] = int(body.get("version", ROUTING_FORMAT_VERSION))
    body.setdefault("groupId", None)
    body.setdefault("paused", False)
    return {**body, "revision": revision_of(body)}


def revision_of(body: Mapping[str, Any]) -> str:
    """The revision of a document body (every key but `revision`): 16 hex chars of its sha256."""
    content = {k: v for k, v in body.items() if k != "revision"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


class RoutingDocument(BaseModel):
    """Where one client group connects and which topics it uses (routing document, format version 1).

    Published as JSON with camelCase keys, one document per client group. A client detects a
    change by comparing `revision` with the one it acts on now; see docs/client-contract.md.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        json_schema_serialization_defaults_required=True,
        field_title_generator=lambda name, _info: to_camel(name),
    )

    version: Literal[1] = ROUTING_FORMAT_VERSION
    """Format version, always 1 here. A client must refuse a document whose version it does not know
    (and keep following the last document it accepted)."""
    client_group: str = Field(min_length=1)
    """The client group this document is for. A client must check it is its own group."""
    role: ClientRole = Field(strict=False)
    """`producer` or `consumer`: which half of docs/client-contract.md applies."""
    cluster: str = Field(min_length=1)
    """Alias of the cluster to use (blue's or green's). A change of cluster is a move: producers
    flush and re-send what failed there, consumers commit and close before reconnecting."""
    bootstrap_servers: str = Field(min_length=1)
    """Comma-separated host:port list of `cluster`: the client's `bootstrap.servers`."""
    security_protocol: str = Field(min_length=1)
    """The client's `security.protocol` on `cluster` (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL).
    Credentials are never in the document: the client brings its own for that cluster."""
    topics: dict[str, str] = Field(min_length=1)
    """Physical topic on `cluster` -> the logical (blue) topic it carries. Producers write a
    logical topic's records to the key that maps to it (one per logical topic); consumers
    subscribe to every key and treat records of all of them as the logical topic's."""
    group_id: str | None = None
    """Consumers: the `group.id` to use, the same on both clusters (its committed offsets are
    handed over). Null for producers."""
    paused: bool = False
    """True only while a consumer group is being handed over. Consumers: stop polling, commit what
    was processed, close (leave the group) and wait for the next document. Producers: stop
    producing, flush, and wait."""

    @field_validator("topics")
    @classmethod
    def _sorted_topics(cls, topics: dict[str, str]) -> dict[str, str]:
        return dict(sorted(topics.items()))

    @computed_field(json_schema_extra={"pattern": REVISION_PATTERN})  # type: ignore[prop-decorator]
    @property
    def revision(self) -> str:
        """Identifies the document's content; compare it for equality only.

        A revision different from the one the client acts on is a new document to act on. It is the
        first 16 hex chars of the sha256 of the sorted-keys JSON of every other field.
        """
        return revision_of(self.model_dump(mode="json", by_alias=True, exclude={"revision"}))

    def to_json(self) -> dict[str, object]:
        """The document as published: camelCase keys, topics sorted, `revision` last."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, body: object) -> RoutingDocument:
        """Read a published document back, refusing anything this library would not have published.

        Args:
            body: The parsed JSON of one document.

        Returns:
            The document; its `revision` recomputes to the published one.

        Raises:
            ValueError: `body` is not a version-1 document with valid fields and a matching
                revision; the message names the offending field.
        """
        if not isinstance(body, Mapping):
            raise ValueError(f"a routing document is a JSON object, got {type(body).__name__}")
        _require_fields(body)
        version = body["version"]
        if isinstance(version, bool) or version != ROUTING_FORMAT_VERSION:
            raise ValueError(
                f"routing document field 'version' is {version!r}; this client reads version "
                f"{ROUTING_FORMAT_VERSION} only (schemas/routing-document.v{ROUTING_FORMAT_VERSION}.json)"
            )
        try:
            doc = cls.model_validate({k: v for k, v in body.items() if k != "revision"})
        except ValidationError as err:
            raise ValueError(_describe(err)) from err
        if body["revision"] != doc.revision:
            raise ValueError(
                f"routing document field 'revision' is {body['revision']!r} but its content hashes to "
                f"{doc.revision!r}: the document was edited or damaged after it was published"
            )
        return doc


def _require_fields(body: Mapping[str, Any]) -> None:
    """Refuse a document missing a key the library always publishes."""
    expected = [f.alias or name for name, f in RoutingDocument.model_fields.items()] + ["revision"]
    if missing := [key for key in expected if key not in body]:
        raise ValueError(f"routing document is missing field(s) {', '.join(repr(k) for k in missing)}")


def _describe(err: ValidationError) -> str:
    """One line per invalid field: `field 'x': why (got value)`, a value that may be a secret redacted."""
    problems = []
    for e in err.errors(include_url=False):
        loc, got = tuple(e["loc"]), e.get("input")
        problems.append(
            f"field {'.'.join(str(part) for part in loc)!r}: {scrub_message(e['msg'], loc, got)} "
            f"(got {shown_value(loc, got)})"
        )
    return "routing document refused: " + "; ".join(problems)


def on_green(client: ClientGroup, step: Step) -> bool:
    """Whether the client group's wave is switched at this step."""
    done = step.producer_waves if client.role is ClientRole.PRODUCER else step.consumer_waves
    return client.wave <= done


def routing_document(cfg: MigrationConfig, client: ClientGroup, step: Step) -> RoutingDocument:
    """The document for `client` at `step`.

    Consumers under the bidirectional strategy read the local topic and the remote copy
    of the other side: on blue `orders` + `B.orders` while B->A runs (so records from
    producers already on green reach them), on green `orders` + `A.orders` (history and
    anything producers still on blue write). Under one-way, names never change.
    """
    green = on_green(client, step)
    cluster = cfg.green if green else cfg.blue
    other = cfg.blue if green else cfg.green
    topics: dict[str, str] = {}
    for logical in client.topics:
        topics[logical] = logical
        if client.role is ClientRole.CONSUMER and cfg.strategy is Strategy.BIDIRECTIONAL:
            carries_other_side = green or reverse_flow_active(cfg, step)
            if carries_other_side:
                topics[remote_topic(cfg.strategy, other.alias, logical)] = logical
    return RoutingDocument(
        client_group=client.name,
        role=client.role,
        cluster=cluster.alias,
        bootstrap_servers=cluster.resolved_bootstrap_servers,
        security_protocol=cluster.security.protocol,
        topics=topics,
        group_id=client.consumer_group_id if client.role is ClientRole.CONSUMER else None,
    )


def routing_table(cfg: MigrationConfig, step: Step) -> dict[str, RoutingDocument]:
    """Every client group's document at `step`."""
    return {c.name: routing_document(cfg, c, step) for c in cfg.clients}
