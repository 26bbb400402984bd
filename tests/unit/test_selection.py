"""A topic selection or a client's topics that do not fit blue are refused, naming the field, the value and blue's topics."""

from __future__ import annotations

from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import selection_refusal
from tests.unit.builders import make_config

BLUE = ClusterInventory(
    "blue-id", 1, {n: TopicInfo(n, 3, 1) for n in ("orders", "payments", "audit.events", "audit.logins")}, ()
)


def test_the_builders_selection_fits_blue() -> None:
    assert selection_refusal(make_config(), BLUE) is None


def test_an_include_pattern_that_selects_nothing_is_refused() -> None:
    refusal = selection_refusal(make_config(topics={"include": ["ordrs", "orders", "payments", "audit.*"]}), BLUE)
    assert refusal is not None
    assert "topics.include pattern 'ordrs' selects none of blue's topics" in refusal
    assert "audit.events, audit.logins, orders, payments" in refusal


def test_a_client_topic_blue_does_not_have_is_refused() -> None:
    clients = [{"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders", "invoices"]}]
    refusal = selection_refusal(make_config(topics={"include": [".*"]}, clients=clients), BLUE)
    assert refusal is not None and "clients['billing'].topics names 'invoices', which blue does not have" in refusal
