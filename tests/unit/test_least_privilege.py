"""MM2 and the applications get on green only what they need: literal grants, MM2's gone when MM2 stops."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.planning.cluster_inventory import AclEntry, ClusterInventory, TopicInfo
from kafka_migration.planning.desired import application_acls, mm2_acls, plan_migration
from kafka_migration.planning.grants import blue_grants, group_names, handed_over_groups
from kafka_migration.planning.mm2 import flow_spec, mm2_secrets
from kafka_migration.planning.phases import Step
from tests.unit.builders import config_dict, make_config

TOPICS = ("orders", "payments", "audit.events", "internal-only")


def blue(*acls: AclEntry) -> ClusterInventory:
    return ClusterInventory("blue-id", 1, {n: TopicInfo(n, 3, 1) for n in TOPICS}, acls)


def allow(rtype: str, name: str, operation: str, pattern: str = "Literal", who: str = "User:app") -> AclEntry:
    return AclEntry(rtype, name, pattern, who, "*", operation, "Allow")


def sasl(username: str, mm2: dict[str, str] | None = None) -> dict[str, Any]:
    sec: dict[str, Any] = {
        "protocol": "SASL_SSL",
        "saslMechanism": "SCRAM-SHA-512",
        "username": username,
        "password": "admin-secret",
        "caFile": "/srv/kafka-ca/ca.pem",
    }
    if mm2 is not None:
        sec["mm2"] = mm2
    return sec


def secured(**overrides: Any) -> MigrationConfig:
    d = config_dict(**overrides)
    d["blue"]["security"] = sasl("blue-admin", {"username": "mm2-blue", "password": "mm2-blue-secret"})
    d["green"]["security"] = sasl("green-admin", {"username": "mm2-green", "password": "mm2-green-secret"})
    return MigrationConfig.model_validate(d)


@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_mm2s_grants_on_green_are_literal_and_name_each_migrated_and_internal_topic(strategy: str) -> None:
    cfg = secured(strategy=strategy)
    acls = mm2_acls(cfg, blue())
    assert acls, "MM2 needs grants on green"
    assert {a.pattern_type for a in acls} == {"Literal"}
    assert {a.principal for a in acls} == {"User:mm2-green"}
    topics = {a.resource_name for a in acls if a.resource_type == "Topic"}
    assert "*" not in topics
    prefix = "A." if strategy == "bidirectional" else ""
    copies = {f"{prefix}{t}" for t in ("orders", "payments", "audit.events")}
    assert copies <= topics
    assert "internal-only" not in topics and "A.internal-only" not in topics  # not selected
    assert {"heartbeats", "A.checkpoints.internal", "mm2-offsets.migration.internal"} <= topics
    writes = {a.resource_name for a in acls if a.operation == "Write"}
    if strategy == "bidirectional":
        assert "orders" not in writes, "MM2 only reads green's own orders (the B->A flow)"
        assert "mm2-offset-syncs.A.internal" in topics  # B->A's offset-syncs live on green


def test_mm2s_grants_leave_green_when_mm2_stops_and_the_applications_stay() -> None:
    cfg = secured(strategy="one-way")
    inventory = blue(allow("Topic", "orders", "Read"))
    running = plan_migration(cfg, Step(Phase.VERIFIED, 0, 0), inventory, 1).acls
    stopped = plan_migration(cfg, Step(Phase.MM2_STOPPED, 0, 0), inventory, 1).acls
    assert any(a.principal == "User:mm2-green" for a in running)
    assert not any(a.principal == "User:mm2-green" for a in stopped)
    assert allow("Topic", "orders", "Read") in stopped


def test_blues_readers_read_greens_copies_on_blue_while_green_to_blue_runs_and_no_longer() -> None:
    cfg = secured(strategy="bidirectional", consumerWaves=1, producerWaves=1)
    inventory = blue(
        allow("Topic", "orders", "Read", who="User:billing"),
        allow("Topic", "orders", "Describe", who="User:billing"),
        allow("Topic", "orders", "Write", who="User:orders-service"),
        allow("Topic", "internal-only", "Read", who="User:billing"),  # not migrated: no copy
        allow("Topic", "pay", "Read", pattern="Prefixed", who="User:billing"),  # covers whatever it covers
    )

    def copy_reads(phase: Phase, producers: int, consumers: int) -> set[tuple[str, str, str]]:
        plan = plan_migration(cfg, Step(phase, producers, consumers), inventory, 1)
        return {(a.resource_name, a.operation, a.principal) for a in plan.blue_copy_reads}

    expected = {("B.orders", "Read", "User:billing"), ("B.orders", "Describe", "User:billing")}
    assert copy_reads(Phase.REPLICATING, 0, 0) == set()
    assert copy_reads(Phase.BIDIRECTIONAL, 0, 0) == expected
    assert copy_reads(Phase.PRODUCERS_SWITCHED, 1, 0) == expected
    assert copy_reads(Phase.REVERSE_DISABLED, 1, 1) == set()
    one_way = secured(strategy="one-way")
    assert plan_migration(one_way, Step(Phase.PRODUCERS_SWITCHED, 1, 0), inventory, 1).blue_copy_reads == ()


def test_a_wildcard_write_on_blue_becomes_literal_writes_on_the_migrated_topics_only() -> None:
    cfg = make_config()  # bidirectional: MM2's copies are A.orders...
    acls = application_acls(
        cfg,
        blue(
            allow("Topic", "*", "Write"),
            allow("Topic", "*", "Read"),
            allow("Topic", "aud", "Create", pattern="Prefixed"),
            allow("Cluster", "kafka-cluster", "Alter"),
        ),
    )
    writes = sorted(a.resource_name for a in acls if a.operation == "Write")
    assert writes == ["audit.events", "orders", "payments"]
    assert allow("Topic", "*", "Read") in acls, "read-type grants keep their pattern"
    assert [a.resource_name for a in acls if a.operation == "Create"] == ["audit.events"]
    assert not [a for a in acls if a.resource_type == "Cluster"], "cluster-wide grants are not mirrored"


def test_mm2_authenticates_with_its_own_credential_and_the_secrets_file_holds_only_its_passwords() -> None:
    cfg = secured()
    flow = flow_spec(cfg, cfg.blue, cfg.green, "/w/secrets/mm2-secrets.properties")
    jaas = flow.source.client_properties["sasl.jaas.config"]
    assert 'username="mm2-blue"' in jaas and "admin" not in jaas
    assert "${file:/w/secrets/mm2-secrets.properties:A.password}" in jaas
    assert mm2_secrets(cfg) == {"A.password": "mm2-blue-secret", "B.password": "mm2-green-secret"}
    assert cfg.mm2_principal_on_green == "User:mm2-green"


def test_without_its_own_credential_mm2_is_the_admin_identity() -> None:
    d = config_dict()
    d["green"]["security"] = sasl("green-admin")
    cfg = MigrationConfig.model_validate(d)
    assert cfg.mm2_principal_on_green == "User:green-admin"
    assert mm2_secrets(cfg) == {"B.password": "admin-secret"}


@pytest.mark.parametrize(
    ("change", "field", "fix"),
    [
        (
            lambda d: d["acls"].update(mm2Principal="User:mm2"),
            "acls.mm2Principal is 'User:mm2', but MM2 authenticates to green as 'mm2-green'",
            "set acls.mm2Principal: User:mm2-green",
        ),
        (
            lambda d: d["green"]["security"]["mm2"].update(username="green-admin"),
            "mm2.username is 'green-admin', the admin identity's username too",
            "give MM2 its own user",
        ),
        (
            lambda d: d["blue"].update(security={"mm2": {"username": "m", "password": "p"}}),
            "mm2 credentials are set but protocol is PLAINTEXT",
            "use protocol SASL_SSL",
        ),
    ],
)
def test_an_mm2_identity_that_does_not_add_up_is_refused_with_the_field_and_the_fix(
    change: Any, field: str, fix: str
) -> None:
    d = config_dict(acls={})
    d["blue"]["security"] = sasl("blue-admin", {"username": "mm2-blue", "password": "mm2-blue-secret"})
    d["green"]["security"] = sasl("green-admin", {"username": "mm2-green", "password": "mm2-green-secret"})
    change(d)
    with pytest.raises(ValidationError) as err:
        MigrationConfig.model_validate(d)
    assert field in str(err.value) and fix in str(err.value)
    assert "secret" not in str(err.value)


def test_groups_named_plainly_are_granted_literally_and_a_regex_means_every_group() -> None:
    assert group_names(["billing", "auditor"]) == ["auditor", "billing"]
    assert group_names(["billing", "audit.*"]) == ["*"]


def test_the_admin_reads_every_handed_over_group_on_blue_not_only_those_mm2_checkpoints() -> None:
    # analytics is a consumer client outside consumerGroups: MM2 does not checkpoint it, the handoff still reads it.
    cfg = secured(strategy="one-way", consumerGroups=["billing"])
    admin = {(a.resource_name, a.operation) for a in blue_grants(cfg, ["orders"]) if a.principal == "User:blue-admin"}
    mm2 = {(a.resource_name, a.operation) for a in blue_grants(cfg, ["orders"]) if a.principal == "User:mm2-blue"}
    assert {("billing", "Read"), ("analytics", "Read"), ("analytics", "Describe")} <= admin
    assert ("analytics", "Describe") not in mm2
    assert handed_over_groups(secured(consumerGroups=["bill.*"])) == ["*"]


def test_on_blue_mm2_only_reads_the_migrated_topics_and_the_admin_never_writes_them() -> None:
    cfg = secured(strategy="one-way", consumerGroups=["billing"])
    grants = blue_grants(cfg, ["orders", "payments"])
    mm2 = {(a.resource_type, a.resource_name, a.operation) for a in grants if a.principal == "User:mm2-blue"}
    admin = {(a.resource_type, a.resource_name, a.operation) for a in grants if a.principal == "User:blue-admin"}
    assert {a.principal for a in grants} == {"User:mm2-blue", "User:blue-admin"}
    assert {a.pattern_type for a in grants if a.resource_type == "Topic"} == {"Literal"}
    assert ("Topic", "orders", "Read") in mm2 and ("Topic", "orders", "Write") not in mm2
    assert ("Topic", "mm2-offset-syncs.B.internal", "Write") in mm2  # offset-syncs live on the source
    assert ("Group", "billing", "Describe") in mm2
    assert not {op for rt, name, op in admin if rt == "Topic" and name == "orders"} & {"Write", "Create", "Delete"}
    assert ("Cluster", "kafka-cluster", "Alter") in admin  # the fence is a set of DENY ACLs
