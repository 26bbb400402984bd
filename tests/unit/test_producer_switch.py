"""Which producer moves wait for MM2, and what they wait for."""

from __future__ import annotations

from kafka_migration.planning.producer_switch_plan import ProducerSwitch, producer_switch, still_to_copy
from tests.unit.builders import make_config


def writer(cfg):
    return next(c for c in cfg.clients if c.name == "orders-writer")


def test_one_way_producers_wait_for_their_topics_to_be_copied_before_green() -> None:
    cfg = make_config(strategy="one-way", gates={"producerFlushSeconds": 3})
    switch = producer_switch(cfg, writer(cfg))
    assert switch is not None
    assert switch.topics == ("orders",)
    assert switch.syncs_topic == "mm2-offset-syncs.B.internal"
    assert switch.flush_seconds == 3
    assert switch.applies("A", "B")
    assert not switch.applies("B", "A"), "a rollback to blue has nothing to wait for: no flow back"
    assert not switch.applies("A", "A")
    assert ProducerSwitch.from_json(switch.to_json()) == switch


def test_bidirectional_producers_do_not_wait() -> None:
    cfg = make_config()
    assert producer_switch(cfg, writer(cfg)) is None


def test_what_is_left_to_copy_names_each_partition_behind() -> None:
    assert still_to_copy({("orders", 0): 0, ("orders", 1): 0}) == {}
    assert still_to_copy({("orders", 1): 4, ("orders", 0): 0}) == {"orders:1": 4}
