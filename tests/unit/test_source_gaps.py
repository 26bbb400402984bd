"""Skipped upstream offsets: markers, aborted and compacted records are no gap; records MM2 never copied are."""

from __future__ import annotations

from kafka_migration.config.model import Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory
from kafka_migration.planning.gate_evidence import Evidence, SourceGap
from kafka_migration.planning.gates import Gate, blocking, evaluate
from kafka_migration.planning.offsets import OffsetSync, SyncKey
from kafka_migration.planning.phases import Step
from kafka_migration.planning.skipped_offsets import (
    Skip,
    checked_through,
    describe,
    figures,
    find_skips,
    judge,
    newest_synced,
    readable,
)
from tests.unit.builders import make_config

ORDERS0 = SyncKey("orders", 0)


def syncs(*pairs: tuple[int, int]) -> list[OffsetSync]:
    return [OffsetSync(u, d) for u, d in pairs]


def gaps_of(
    written: list[OffsetSync],
    log_start: int = 0,
    compacted: frozenset[str] = frozenset(),
    committed: dict[tuple[int, int], int] | None = None,
) -> list[SourceGap]:
    """Judge one partition of `orders`; `committed` maps a range (first, last) to what read_committed found."""
    skips = find_skips({ORDERS0: written})
    found = {s: committed[(s.first, s.last)] for s in skips if committed and (s.first, s.last) in committed}
    return judge("A->B", "blue", skips, {("orders", 0): log_start}, compacted, found)


def test_contiguous_syncs_skip_nothing() -> None:
    assert find_skips({ORDERS0: syncs((0, 0), (1, 1), (2, 2), (3, 3))}) == []


def test_coalesced_syncs_of_contiguous_records_skip_nothing() -> None:
    # MM2 coalesces syncs queued faster than it sends them: far apart, but as far downstream.
    assert find_skips({ORDERS0: syncs((0, 0), (50, 50), (120, 120))}) == []


def test_a_commit_marker_is_a_skip_that_blue_shows_harmless() -> None:
    written = syncs((0, 0), (1, 1), (2, 2), (4, 3))  # offset 3: the commit marker
    (skip,) = find_skips({ORDERS0: written})
    assert (skip.first, skip.last, skip.skipped, skip.copied_between) == (3, 3, 1, 0)
    assert gaps_of(written, committed={(3, 3): 0}) == []


def test_aborted_records_and_their_marker_are_no_gap() -> None:
    written = syncs((2, 2), (7, 3))  # 3..5 aborted, 6 the abort marker
    assert gaps_of(written, committed={(3, 6): 0}) == []


def test_committed_records_blue_still_has_that_mm2_did_not_copy_are_a_gap() -> None:
    (gap,) = gaps_of(syncs((2, 2), (7, 3)), committed={(3, 6): 4})
    assert (gap.verifiable, gap.missing, gap.downstream) == (True, 4, (2, 3))
    assert describe(gap) == "A->B orders:0: MM2 skipped 4 committed record(s) blue still has (offsets 3..6)"
    assert figures(gap)["missingRecords"] == 4


def test_what_mm2_wrote_downstream_in_between_counts_as_copied() -> None:
    # Coalesced syncs around a marker: 9 offsets, 8 records written downstream in between.
    written = syncs((0, 0), (10, 9))
    assert gaps_of(written, committed={(1, 9): 8}) == []
    (gap,) = gaps_of(written, committed={(1, 9): 9})
    assert gap.missing == 1


def test_a_range_blue_deleted_is_reported_on_a_non_compacted_topic() -> None:
    # MM2 was down, blue's retention deleted 13..22, MM2 reset to the new log start 23.
    written = syncs((11, 11), (12, 12), (23, 13), (24, 14))
    (gap,) = gaps_of(written, log_start=23)
    assert (gap.first, gap.last, gap.skipped, gap.verifiable, gap.missing) == (13, 22, 10, False, None)
    assert describe(gap) == (
        "A->B orders:0: offsets 13..22 were skipped and blue deleted them (log start 23): deleted before MM2 "
        "copied them, unless they were only transaction markers or aborted records"
    )
    assert figures(gap) == {
        "flow": "A->B",
        "topic": "orders",
        "partition": 0,
        "offsets": [13, 22],
        "skippedOffsets": 10,
        "downstreamAround": [12, 13],
        "logStart": 23,
        "verifiable": False,
        "missingRecords": None,
    }


def test_a_range_partly_below_the_log_start_cannot_be_verified() -> None:
    written = syncs((12, 12), (30, 20))  # 7 records written in between, 10 offsets skipped
    skip = find_skips({ORDERS0: written})[0]
    assert not readable(skip, {("orders", 0): 20})
    (gap,) = gaps_of(written, log_start=20, committed={(13, 29): 0})
    assert not gap.verifiable
    assert describe(gap).startswith("A->B orders:0: 10 of offsets 13..29 were skipped and blue deleted them")


def test_compacted_topics_are_not_reported_for_ranges_they_no_longer_have() -> None:
    written = syncs((12, 12), (23, 13))
    assert gaps_of(written, log_start=23, compacted=frozenset({"orders"})) == []
    # What a compacted topic still has is checked like any other.
    (gap,) = gaps_of(written, log_start=0, compacted=frozenset({"orders"}), committed={(13, 22): 2})
    assert gap.missing == 2


def test_a_range_not_read_back_in_time_is_reported() -> None:
    (gap,) = gaps_of(syncs((2, 2), (7, 3)))
    assert (gap.verifiable, gap.missing) == (True, None)
    assert "could not be read back from blue" in describe(gap)


def test_an_mm2_restart_that_rewinds_is_no_skip() -> None:
    # The task restarted from its last committed offset 5 and copied 5..20 again.
    assert find_skips({ORDERS0: syncs((10, 10), (20, 20), (5, 21), (15, 31), (25, 41))}) == []


def test_a_resent_copy_can_only_hide_a_skip_never_make_one_up() -> None:
    # Offsets 11..14 skipped, but 2 duplicates written downstream in between: 2 skipped at least.
    (skip,) = find_skips({ORDERS0: syncs((10, 10), (15, 13))})
    assert skip.skipped == 2


def test_only_the_current_run_counts() -> None:
    # A skip in a replication that green's rollback destroyed; the new run starts at downstream 0.
    written = syncs((0, 0), (10, 1), (0, 0), (1, 1), (2, 2))
    assert find_skips({ORDERS0: written}) == []


def test_a_partition_the_source_no_longer_has_is_left_to_the_topic_id_check() -> None:
    skips = find_skips({ORDERS0: syncs((12, 12), (23, 13))})
    assert judge("A->B", "blue", skips, {}, frozenset(), {}) == []


def test_skips_are_found_per_partition() -> None:
    found = find_skips({SyncKey("orders", 1): syncs((0, 0), (3, 1)), ORDERS0: syncs((0, 0), (1, 1))})
    assert found == [Skip("orders", 1, OffsetSync(0, 0), OffsetSync(3, 1))]


def test_source_intact_names_every_gap_and_is_not_forced() -> None:
    cfg = make_config(strategy="one-way", force={"source-intact": "we know"})
    gap = gaps_of(syncs((12, 12), (23, 13)), log_start=23)[0]
    evidence = Evidence(now=0.0, blue=ClusterInventory("blue", 1, {}), source_gaps=(gap,))
    verdicts = evaluate(cfg, Step(Phase.REPLICATING), Step(Phase.CONSUMERS_SWITCHED, 0, 1), evidence)
    (verdict,) = [v for v in verdicts if v.gate is Gate.SOURCE_INTACT]
    assert not verdict.passed
    assert verdict.summary == describe(gap)
    assert verdict.figures["gaps"] == [figures(gap)]
    assert blocking([verdict], cfg.force) == ([verdict], {})
    clean = evaluate(cfg, Step(Phase.REPLICATING), Step(Phase.CONSUMERS_SWITCHED, 0, 1), Evidence(0.0, evidence.blue))
    assert [v.passed for v in clean if v.gate is Gate.SOURCE_INTACT] == [True]


def test_skips_an_earlier_passing_check_covered_are_not_judged_again() -> None:
    key = SyncKey("orders", 0)
    history = syncs((9, 9), (11, 10), (20, 19), (30, 20))  # a marker at 10, then 21..29 skipped
    assert [s.first for s in find_skips({key: history})] == [10, 21]
    assert [s.first for s in find_skips({key: history}, {"orders:0": 20})] == [21]
    assert find_skips({key: history}, {"orders:0": 30}) == []


def test_what_was_checked_comes_from_the_history_since_the_last_blue_only() -> None:
    checked = {"A->B": {"orders:0": 20}}
    history = [
        {"phase": "replicating", "sourceChecked": {"A->B": {"orders:0": 99}}},
        {"phase": "blue-only"},
        {"phase": "green-provisioned"},
        {"phase": "bidirectional", "sourceChecked": checked},
        {"phase": "producers-switched"},
    ]
    assert checked_through(history, "A->B") == {"orders:0": 20}
    assert checked_through(history, "B->A") == {}
    assert checked_through(history[:3], "A->B") == {}, "a replication before blue-only says nothing about the next"


def test_newest_synced_is_what_a_passing_check_covers() -> None:
    assert newest_synced({SyncKey("orders", 1): syncs((5, 5), (8, 6))}) == {"orders:1": 8}
