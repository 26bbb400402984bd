"""When the rehearsal's workload stops waiting for its consumers: never while a lagging one still reads."""

from __future__ import annotations

from kafka_migration.rehearsal.workload import DRAIN_CAP, drain_finished


def test_a_drain_is_over_at_once_when_no_consumer_lags() -> None:
    assert drain_finished(now=100.0, started=100.0, bound_s=90.0, lagging_read_at=[])


def test_a_lagging_consumer_that_still_reads_keeps_the_drain_going_past_its_bound() -> None:
    # fraud-check, 200 s into the drain, read records 5 s ago: it is reading blue's history, not stuck.
    assert not drain_finished(now=300.0, started=100.0, bound_s=90.0, lagging_read_at=[295.0])


def test_a_lagging_consumer_that_read_nothing_for_the_bound_ends_the_drain() -> None:
    assert not drain_finished(now=180.0, started=100.0, bound_s=90.0, lagging_read_at=[50.0])
    assert drain_finished(now=190.0, started=100.0, bound_s=90.0, lagging_read_at=[50.0])
    assert drain_finished(now=300.0, started=100.0, bound_s=90.0, lagging_read_at=[295.0, 200.0]) is False
    assert drain_finished(now=300.0, started=100.0, bound_s=90.0, lagging_read_at=[205.0, 200.0])


def test_a_drain_ends_at_its_cap_even_while_a_consumer_reads() -> None:
    cap = 100.0 + DRAIN_CAP * 90.0
    assert drain_finished(now=cap, started=100.0, bound_s=90.0, lagging_read_at=[cap - 1])


def test_a_drain_without_a_bound_ends_at_once() -> None:
    assert drain_finished(now=100.0, started=100.0, bound_s=0.0, lagging_read_at=[100.0])
