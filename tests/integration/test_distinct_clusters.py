"""Green must be another cluster, and the stack never deletes what green had before it."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from pulumi import automation as auto

from kafka_migration.config.clients import ClientGroup
from kafka_migration.rehearsal.estate import grant_clients
from tests.integration.estate import CLIENTS

pytestmark = pytest.mark.integration
ANY_ACL = AclBindingFilter(
    ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
)


def acls(bootstrap: str) -> set[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # alive until the result is in
    bindings = admin.describe_acls(ANY_ACL, request_timeout=10).result(timeout=15)
    return {f"{b.principal} {b.operation.name} {b.restype.name}:{b.name}" for b in bindings}


def topics(bootstrap: str) -> set[str]:
    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)


def test_green_pointing_at_blue_is_refused_at_preview_and_nothing_is_created_on_blue(walk) -> None:
    stack, _config = walk.make("bidirectional")
    blue = walk.blue.bootstrap_servers
    topics_before, acls_before = topics(blue), acls(blue)
    stack.goto("green-provisioned")

    stack.configure({"green": {"alias": "B", "runtime": "external", "bootstrapServers": blue}})
    for command in (stack.preview, stack.up):
        with pytest.raises(auto.CommandError) as refused:
            command()
        assert f"green.bootstrapServers {blue!r} names blue's broker" in str(refused.value)

    # Another name for the same cluster: only the cluster id tells.
    port = blue.rsplit(":", 1)[1]
    stack.configure({"green": {"alias": "B", "runtime": "external", "bootstrapServers": f"localhost:{port}"}})
    for command in (stack.preview, stack.up):
        with pytest.raises(auto.CommandError) as refused:
            command()
        message = str(refused.value)
        assert "gate distinct-clusters failed" in message and "green.bootstrapServers" in message

    assert topics(blue) == topics_before
    assert acls(blue) == acls_before
    assert stack.outputs() == {}


def test_an_acl_green_had_before_the_stack_is_still_there_after_destroy(walk, kafka_cluster) -> None:
    green = kafka_cluster("B")
    billing = ClientGroup.model_validate(next(c for c in CLIENTS if c["name"] == "billing"))
    grant_clients(green.bootstrap_servers, [billing])  # the same ACLs blue has, there before the stack
    before = acls(green.bootstrap_servers)
    assert before

    stack, _config = walk.make(
        "one-way", green={"alias": "B", "runtime": "external", "bootstrapServers": green.bootstrap_servers}
    )
    stack.goto("green-provisioned")
    stack.up()
    stack.destroy()
    assert acls(green.bootstrap_servers) == before
