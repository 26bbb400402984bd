"""data-parity: which records of a partition are compared, what the comparison shows, and the verdict (pure)."""

from __future__ import annotations

from kafka_migration.config.model import Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.gate_evidence import Evidence, ParitySample
from kafka_migration.planning.gates import Gate, Verdict, evaluate
from kafka_migration.planning.offsets import OffsetSync, RecordId
from kafka_migration.planning.parity_comparison import (
    EMPTY,
    Comparison,
    Difference,
    Window,
    combine,
    compare_in_order,
    plan_windows,
)
from kafka_migration.planning.phases import Step
from tests.unit.builders import make_config


def rec(n: int, value: str | None = None) -> RecordId:
    return RecordId(f"k{n}".encode(), (value or f"v{n}").encode(), (("seq", str(n).encode()),), 1_000 + n)


def at(offsets: list[int], records: list[RecordId]) -> list[tuple[int, RecordId]]:
    return list(zip(offsets, records, strict=True))


def syncs(*upstreams: int) -> list[OffsetSync]:
    return [OffsetSync(u, u) for u in upstreams]


# --- which records ----------------------------------------------------------------------------


def test_nothing_planned_when_disabled_or_without_syncs() -> None:
    assert plan_windows(syncs(0, 5), 0) == []
    assert plan_windows([], 20) == []


def test_a_range_within_the_budget_is_compared_whole_from_the_oldest_sync() -> None:
    assert plan_windows(syncs(3, 10, 22), 20) == [Window(OffsetSync(3, 3), 20, None)]


def test_a_larger_range_shares_the_budget_between_oldest_middle_and_newest_records() -> None:
    # An offset-sync for every record (offsetLagMax 0): the last window ends at the newest sync.
    windows = plan_windows(syncs(*range(100)), 20)
    assert [(w.anchor.upstream, w.records, w.stop_before) for w in windows] == [(0, 7, 47), (47, 7, 94), (94, 6, None)]


def test_sparse_syncs_start_each_window_at_the_sync_before_its_place() -> None:
    windows = plan_windows(syncs(*range(0, 1000, 10)), 20)
    assert [(w.anchor.upstream, w.records, w.stop_before) for w in windows] == [
        (0, 7, 490),
        (490, 7, 980),
        (980, 6, None),
    ]


def test_a_small_budget_still_reaches_the_newest_records() -> None:
    history = syncs(0, 100, 200)
    assert [(w.anchor.upstream, w.records) for w in plan_windows(history, 1)] == [(200, 1)]
    assert [(w.anchor.upstream, w.records) for w in plan_windows(history, 2)] == [(0, 1), (200, 1)]


def test_two_syncs_far_apart_give_the_oldest_and_the_newest() -> None:
    windows = plan_windows(syncs(0, 500), 20)
    assert [(w.anchor.upstream, w.records, w.stop_before) for w in windows] == [(0, 14, 500), (500, 6, None)]


# --- what the comparison shows --------------------------------------------------------------------


def test_records_between_syncs_are_compared_in_order() -> None:
    records = [rec(n) for n in range(6)]
    result = compare_in_order(at(list(range(6)), records), at(list(range(6)), records), limit=20)
    assert result == Comparison(compared=6)


def test_the_limit_caps_the_records_compared() -> None:
    records = [rec(n) for n in range(6)]
    assert compare_in_order(at(list(range(6)), records), at(list(range(6)), records), limit=4).compared == 4


def test_offsets_a_read_committed_consumer_skips_upstream_are_not_differences() -> None:
    # Upstream offsets 2 and 5 were a commit marker and an aborted record; MM2 copied the rest back to back.
    records = [rec(n) for n in range(4)]
    result = compare_in_order(at([0, 1, 3, 4], records), at([10, 11, 12, 13], records), limit=20)
    assert result == Comparison(compared=4)


def test_a_record_that_is_not_its_copy_is_a_difference_and_ends_the_comparison() -> None:
    originals = [rec(0), rec(1), rec(2), rec(3)]
    copies = [rec(0), rec(1), rec(2, value="tampered"), rec(3)]
    result = compare_in_order(at([0, 1, 2, 3], originals), at([50, 51, 52, 53], copies), limit=20)
    assert result == Comparison(compared=3, difference=Difference(2, 52, ("value",)))
    assert result.difference is not None
    assert result.difference.describe() == "upstream offset 2 differs from downstream offset 52 (value)"


def test_every_field_of_a_record_counts() -> None:
    original = rec(0)
    copy = RecordId(b"other", original.value, (), original.timestamp_ms + 1)
    result = compare_in_order(at([0], [original]), at([0], [copy]), limit=5)
    assert result.difference == Difference(0, 0, ("key", "headers", "timestamp"))


def test_a_record_written_on_the_target_between_copies_is_a_difference() -> None:
    # Nothing at an offset-sync differs: the intruder sits between the synced records.
    originals = [rec(0), rec(1), rec(2)]
    copies = [rec(0), rec(1), rec(99, value="not from the source"), rec(2)]
    result = compare_in_order(at([0, 1, 2], originals), at([0, 1, 2, 3], copies), limit=20)
    assert result.difference == Difference(2, 2, ("key", "value", "headers", "timestamp"))


def test_a_missing_copy_is_a_difference() -> None:
    originals = [rec(0), rec(1), rec(2)]
    result = compare_in_order(at([0, 1, 2], originals), at([0, 1], [rec(0), rec(2)]), limit=20)
    assert result.difference == Difference(1, 1, ("key", "value", "headers", "timestamp"))


def test_copies_delivered_again_are_skipped() -> None:
    originals = [rec(n) for n in range(5)]
    # MM2 restarted after copying 0..3 and copied 2..3 again (at least once), then went on.
    copies = [rec(0), rec(1), rec(2), rec(3), rec(2), rec(3), rec(4)]
    result = compare_in_order(at(list(range(5)), originals), at(list(range(7)), copies), limit=20)
    assert result == Comparison(compared=5, repeated=2)


def test_a_copy_again_of_records_before_the_window_ends_it_without_a_verdict() -> None:
    originals = [rec(n) for n in range(5, 9)]
    # Copies of 5..6, then MM2 copied again from upstream 3 (before what was read): a sync says so.
    copies = [rec(5), rec(6), rec(3), rec(4), rec(5)]
    result = compare_in_order(at([5, 6, 7, 8], originals), at([5, 6, 7, 8, 9], copies), limit=20, copy_of={7: 3})
    assert result == Comparison(compared=2)


def test_a_copy_again_of_records_before_the_window_without_a_sync_is_skipped_once_they_are_known() -> None:
    originals = [rec(n) for n in range(5, 8)]
    # Copies of 5, then MM2 copied again from upstream 3 and its sync for 3 was never written.
    copies = at([5, 6, 7, 8, 9, 10], [rec(5), rec(3), rec(4), rec(5), rec(6), rec(7)])
    unexplained = compare_in_order(at([5, 6, 7], originals), copies, limit=20)
    assert unexplained.difference == Difference(6, 6, ("key", "value", "headers", "timestamp"))
    # The source's records before the window (evidence/parity.py reads them from the copy's timestamp).
    known = compare_in_order(at([5, 6, 7], originals), copies, limit=20, earlier={rec(3), rec(4)})
    assert known == Comparison(compared=3, repeated=3)
    # A record the source never held is still a difference.
    intruder = at([5, 6, 7], [rec(5), rec(99), rec(6)])
    assert compare_in_order(at([5, 6, 7], originals), intruder, limit=20, earlier={rec(3)}).difference is not None


def test_records_compacted_on_either_side_are_skipped_in_a_compacted_topic() -> None:
    originals = [rec(0), rec(1), rec(2), rec(4)]  # blue compacted 3 away
    copies = [rec(0), rec(2), rec(3), rec(4)]  # green compacted 1 away
    result = compare_in_order(at([0, 1, 2, 4], originals), at([0, 2, 3, 4], copies), limit=20, compacted=True)
    assert result == Comparison(compared=3, compacted=2)
    # The same records in a topic that is not compacted: a copy is missing.
    plain = compare_in_order(at([0, 1, 2, 4], originals), at([0, 2, 3, 4], copies), limit=20)
    assert plain.difference == Difference(1, 2, ("key", "value", "headers", "timestamp"))


def test_a_copy_whose_synced_original_the_source_compacted_away_is_skipped() -> None:
    # The window starts at the sync 10 -> 0; blue compacted 10 and 11 away, green still holds their copies.
    originals = at([12, 13], [rec(12), rec(13)])
    copies = at([0, 1, 2, 3], [rec(10), rec(11), rec(12), rec(13)])
    result = compare_in_order(originals, copies, limit=20, compacted=True, copy_of={0: 10}, start=10)
    assert result == Comparison(compared=2, compacted=2)
    # Without compaction the same sync means MM2 copied records before the window again: no verdict.
    assert compare_in_order(originals, copies, limit=20, copy_of={0: 10}, start=10) == Comparison()


def test_thousands_of_values_one_side_still_holds_are_skipped_in_one_step() -> None:
    superseded = [rec(n) for n in range(5000)]
    newest = [rec(5000 + n) for n in range(3)]
    originals = at([5000, 5001, 5002], newest)
    copies = at(list(range(5003)), superseded + newest)
    result = compare_in_order(originals, copies, limit=20, compacted=True)
    assert result == Comparison(compared=3, compacted=5000)


def test_a_tampered_record_in_a_compacted_topic_is_still_a_difference() -> None:
    originals = [rec(0), rec(1), rec(2)]
    copies = [rec(0), rec(1, value="tampered"), rec(2)]
    result = compare_in_order(at([0, 1, 2], originals), at([0, 1, 2], copies), limit=20, compacted=True)
    assert result.difference == Difference(1, 1, ("value",))


def test_the_comparison_ends_where_either_side_ends() -> None:
    records = [rec(n) for n in range(4)]
    # The last two are not copied yet: not a difference.
    assert compare_in_order(at(list(range(4)), records), at([0, 1], records[:2]), limit=20) == Comparison(compared=2)


def test_windows_combine_into_one_partition_result() -> None:
    first = Comparison(compared=5, repeated=1)
    second = Comparison(compared=2, compacted=1, difference=Difference(9, 9, ("value",)))
    third = Comparison(compared=1, difference=Difference(20, 20, ("key",)))
    assert combine([first, second, third]) == Comparison(8, 1, 1, Difference(9, 9, ("value",)))


# --- the verdict ----------------------------------------------------------------------------------


def verdict(samples: list[ParitySample], **overrides: object) -> Verdict:
    cfg = make_config(**overrides)
    blue = ClusterInventory("blue-id", 3, {})
    evidence = Evidence(now=0.0, blue=blue, parity=tuple(samples))
    verdicts = evaluate(cfg, Step(Phase.REPLICATING), Step(Phase.BIDIRECTIONAL), evidence)
    return next(v for v in verdicts if v.gate is Gate.DATA_PARITY)


def test_the_verdict_names_every_partition_compared_and_the_empty_ones() -> None:
    samples = [
        ParitySample("A->B", "audit.events", 0, compared=20),
        ParitySample("A->B", "orders", 0, compared=20, repeated_copies=2),
        ParitySample("A->B", "orders", 1, compared=7),
        ParitySample("A->B", "orders", 2, unsampled=EMPTY),
        ParitySample("B->A", "orders", 0, compared=3),
    ]
    v = verdict(samples)
    assert v.passed
    assert v.summary == (
        "identical: A->B 47 record(s) in 3 partition(s) of 2 topic(s) (empty: orders:2); "
        "B->A 3 record(s) in 1 partition(s) of 1 topic(s)"
    )
    assert v.figures["A->B"] == {
        "topics": 2,
        "partitions": 3,
        "recordsCompared": 47,
        "perPartition": {"audit.events:0": 20, "orders:0": 20, "orders:1": 7, "orders:2": "empty"},
        "different": {},
        "repeatedCopies": 2,
        "compactedAway": 0,
    }
    assert v.figures["B->A"]["perPartition"] == {"orders:0": 3}


def test_a_difference_fails_the_gate_naming_flow_and_partition() -> None:
    difference = "upstream offset 14 differs from downstream offset 14 (value)"
    samples = [
        ParitySample("A->B", "orders", 0, compared=15, difference=difference),
        ParitySample("A->B", "payments", 0, compared=20),
    ]
    v = verdict(samples)
    assert not v.passed
    assert v.summary.startswith(f"A->B orders:0: {difference}; compared A->B 35 record(s) in 2 partition(s)")
    assert v.figures["A->B"]["different"] == {"orders:0": difference}


def test_a_partition_with_records_and_nothing_compared_fails_the_gate() -> None:
    reason = "records on the source, but no offset-sync of any of them yet"
    samples = [
        ParitySample("A->B", "orders", 0, compared=20),
        ParitySample("A->B", "payments", 1, unsampled=reason),
    ]
    v = verdict(samples)
    assert not v.passed
    assert v.summary.startswith(f"A->B payments:1 not sampled: {reason}; compared A->B 20 record(s)")
    assert v.figures["A->B"]["perPartition"]["payments:1"] == f"not sampled: {reason}"
    assert v.figures["A->B"]["topics"] == 1


def test_many_problems_are_counted_in_the_summary() -> None:
    samples = [ParitySample("A->B", "orders", p, unsampled="cannot be read: timed out") for p in range(7)]
    assert "(and 2 more)" in verdict(samples).summary


def test_nothing_to_sample_fails_and_zero_disables_sampling() -> None:
    assert not verdict([]).passed
    disabled = verdict([], gates={"dataParitySample": 0})
    assert disabled.passed and disabled.summary == "sampling disabled (gates.dataParitySample: 0)"
