"""The routing document: one model, its committed JSON Schema, and what `from_json` refuses."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jsonschema
import pytest

from kafka_migration.config.clients import ClientRole
from kafka_migration.planning.handoff_decision import paused
from kafka_migration.planning.phases import config_steps
from kafka_migration.planning.routing import RoutingDocument, routing_table
from kafka_migration.planning.routing_schema import SCHEMA_PATH, render
from tests.unit.builders import make_config

BILLING = RoutingDocument(
    client_group="billing",
    role=ClientRole.CONSUMER,
    cluster="B",
    bootstrap_servers="green-1:9092",
    security_protocol="SASL_SSL",
    topics={"orders": "orders", "A.orders": "orders"},
    group_id="billing",
)


def published_documents() -> list[dict[str, Any]]:
    """Every document the library publishes over a whole migration, both strategies."""
    docs = []
    for strategy in ("bidirectional", "one-way"):
        cfg = make_config(strategy=strategy)
        for step in config_steps(cfg):
            docs.extend(d.to_json() for d in routing_table(cfg, step).values())
    return docs


def test_the_committed_schema_is_the_one_the_model_generates() -> None:
    # If this fails, the model changed: run `python -m kafka_migration.planning.routing_schema` and commit the file.
    assert SCHEMA_PATH.read_text() == render()


def test_every_published_document_is_valid_against_the_schema_and_reads_back() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    docs = published_documents()
    consumers_on_green = [d for d in docs if d["role"] == "consumer" and d["cluster"] == "B"]

    assert docs and consumers_on_green
    for doc in docs:
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
        assert RoutingDocument.from_json(doc).to_json() == doc


def test_the_json_shape_and_revision_are_the_published_format() -> None:
    body = {
        "version": 1,
        "clientGroup": "billing",
        "role": "consumer",
        "cluster": "B",
        "bootstrapServers": "green-1:9092",
        "securityProtocol": "SASL_SSL",
        "topics": {"A.orders": "orders", "orders": "orders"},
        "groupId": "billing",
        "paused": False,
    }
    revision = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    assert BILLING.to_json() == {**body, "revision": revision}
    assert list(BILLING.to_json()) == [*body, "revision"]
    assert BILLING.revision == revision


def test_the_handoffs_pause_is_accepted_and_validated_by_the_schema() -> None:
    pause = paused(BILLING.to_json())

    jsonschema.validate(pause, json.loads(SCHEMA_PATH.read_text()), cls=jsonschema.Draft202012Validator)
    assert RoutingDocument.from_json(pause) == BILLING.model_copy(update={"paused": True})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"revision": "0123456789abcdef"}, "'revision'"),
        ({"version": 2}, "'version'"),
        ({"paused": "false"}, "'paused'"),
        ({"role": "admin"}, "'role'"),
        ({"topics": {}}, "'topics'"),
        ({"bootstrapServers": 9092}, "'bootstrapServers'"),
        ({"partitioner": "murmur2"}, "'partitioner'"),
    ],
)
def test_a_malformed_document_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RoutingDocument.from_json({**BILLING.to_json(), **change})


def test_a_document_missing_a_field_or_not_an_object_is_refused() -> None:
    missing = {k: v for k, v in BILLING.to_json().items() if k != "groupId"}

    with pytest.raises(ValueError, match=r"missing field.*'groupId'"):
        RoutingDocument.from_json(missing)
    with pytest.raises(ValueError, match="JSON object"):
        RoutingDocument.from_json([BILLING.to_json()])


def test_an_edited_document_fails_its_revision_check() -> None:
    edited = {**BILLING.to_json(), "cluster": "A", "bootstrapServers": "blue-1:9092"}

    with pytest.raises(ValueError, match=r"'revision'.*edited or damaged"):
        RoutingDocument.from_json(edited)


def test_a_document_carried_through_pulumi_properties_is_restored_to_its_published_form() -> None:
    """Pulumi drops null fields and turns integers into floats; the published file must still validate."""
    from kafka_migration.planning.routing import published_form

    producer = BILLING.model_copy(update={"group_id": None, "role": ClientRole.PRODUCER}).to_json()
    carried = {k: (1.0 if k == "version" else v) for k, v in producer.items() if v is not None}
    assert published_form(carried) == producer
    assert RoutingDocument.from_json(published_form(carried)).to_json() == producer
