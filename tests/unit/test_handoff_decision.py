"""The consumer handoff's decisions over recorded snapshots, including every point a crash can leave it at."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kafka_migration.config.clients import OffsetReset
from kafka_migration.planning.handoff_decision import (
    Commit,
    Done,
    GroupView,
    HandoffSnapshot,
    Publish,
    Refuse,
    Wait,
    decide,
    paused,
    reread_bound,
)
from kafka_migration.planning.handoff_offsets import Direction, OffsetMove
from kafka_migration.planning.offsets import OffsetSync, SyncHistory
from kafka_migration.planning.placement import (
    Anchor,
    Basis,
    Placement,
    SearchOutcome,
    SearchRequest,
    Watermark,
    placement_from_search,
    plan_placement,
)

BLUE_DOC = {"cluster": "A", "topics": {"orders": "orders"}, "groupId": "billing", "paused": False, "revision": "r1"}
GREEN_DOC = {"cluster": "B", "topics": {"orders": "orders"}, "groupId": "billing", "paused": False, "revision": "r2"}
MOVE = OffsetMove("orders", "orders", "A", "mm2-offset-syncs.B.internal", "orders", Direction.FORWARD)
EXACT = Placement(30, True, 0, Basis.SYNC)


def snapshot(**changes) -> HandoffSnapshot:
    """Billing, drained and pinned on blue (2 partitions), placements known, nothing yet on green."""
    base = HandoffSnapshot(
        group_id="billing",
        from_alias="A",
        to_alias="B",
        published=paused(BLUE_DOC),
        target=GREEN_DOC,
        moves=(MOVE,),
        reset=OffsetReset.EARLIEST,
        source=GroupView(0, (), {("orders", 0): 40, ("orders", 1): 10}),
        destination=GroupView(),
        source_stable=True,
        source_partitions={("orders", 0): Watermark(0, 50), ("orders", 1): Watermark(0, 10)},
        destination_partitions={("orders", 0): Watermark(0, 45), ("orders", 1): Watermark(0, 10)},
        placements={("orders", 0): EXACT, ("orders", 1): Placement(10, True, 0, Basis.SYNC)},
    )
    return replace(base, **changes)


def test_a_running_group_is_paused_first() -> None:
    assert decide(snapshot(published=BLUE_DOC)) == Publish(
        paused(BLUE_DOC), "pause billing on A before handing it over"
    )


def test_members_still_on_blue_are_waited_for_and_static_ones_named() -> None:
    action = decide(snapshot(source=GroupView(2, ("billing-0",), {})))
    assert isinstance(action, Wait)
    assert "2 member(s) of billing still on A" in action.why and "static members billing-0" in action.why


def test_offsets_still_moving_without_members_mean_an_assign_consumer() -> None:
    action = decide(snapshot(source_stable=False))
    assert isinstance(action, Wait) and "assign()" in action.why


def test_a_member_on_green_while_routed_to_blue_is_refused() -> None:
    action = decide(snapshot(destination=GroupView(1, (), {})))
    assert isinstance(action, Refuse) and "ignores its routing document" in action.why


@pytest.mark.parametrize(("reset", "expected"), [(OffsetReset.EARLIEST, 3), (OffsetReset.LATEST, 9)])
def test_partitions_never_committed_get_an_explicit_offset_on_blue_first(reset, expected) -> None:
    s = snapshot(
        reset=reset,
        source=GroupView(0, (), {("orders", 0): 40}),
        source_partitions={("orders", 0): Watermark(0, 50), ("orders", 1): Watermark(3, 9)},
        placements={},
    )
    action = decide(s)
    assert isinstance(action, Commit)
    assert (action.cluster, action.offsets) == ("A", {("orders", 1): expected})


def test_placements_are_committed_on_green_then_the_group_is_routed_there() -> None:
    action = decide(snapshot())
    assert action == Commit("B", {("orders", 0): 30, ("orders", 1): 10}, "commit billing's positions on B")
    committed = snapshot(destination=GroupView(0, (), {("orders", 0): 30, ("orders", 1): 10}))
    assert decide(committed) == Publish(GREEN_DOC, "billing's offsets are committed on B: route it there")


def test_green_partitions_blue_lacks_start_at_their_log_start() -> None:
    s = snapshot(destination_partitions={**snapshot().destination_partitions, ("orders", 2): Watermark(5, 8)})
    action = decide(s)
    assert isinstance(action, Commit) and action.offsets[("orders", 2)] == 5


def test_a_position_deleted_by_green_retention_is_refused_not_reset() -> None:
    s = snapshot(destination_partitions={("orders", 0): Watermark(35, 45), ("orders", 1): Watermark(0, 10)})
    action = decide(s)
    assert isinstance(action, Refuse) and "5 record(s) it has not read were deleted by retention on B" in action.why


def test_a_position_past_greens_end_is_refused() -> None:
    s = snapshot(placements={**snapshot().placements, ("orders", 0): Placement(60, True, 0, Basis.SYNC)})
    action = decide(s)
    assert isinstance(action, Refuse) and "past the end" in action.why


def test_an_improvable_placement_waits_for_mm2_until_settled() -> None:
    late = Placement(21, False, 8, Basis.SYNC_REREAD, improvable=True)
    s = snapshot(placements={**snapshot().placements, ("orders", 0): late})
    assert isinstance(decide(s), Wait)
    assert isinstance(decide(replace(s, settle=True)), Commit)


# Crash points: each snapshot is what a later `pulumi up` finds after a `kill -9`.


def test_crash_after_publishing_green_is_done_without_committing_again() -> None:
    moved_on = GroupView(1, (), {("orders", 0): 44})  # clients already consume on green
    s = snapshot(published=GREEN_DOC, destination=moved_on, source=GroupView(0, (), {("orders", 0): 40}))
    assert isinstance(decide(s), Done)


def test_crash_after_committing_on_green_publishes() -> None:
    s = snapshot(destination=GroupView(0, (), {("orders", 0): 30, ("orders", 1): 10}))
    assert isinstance(decide(s), Publish)


def test_crash_while_paused_then_rolled_back_unpauses_on_blue() -> None:
    assert decide(snapshot(target=BLUE_DOC)) == Publish(
        BLUE_DOC, "the group stays on its cluster: nothing to hand over"
    )


def test_reread_bound_is_absent_when_any_partition_is_unknown() -> None:
    known = {("o", 0): Placement(1, False, 4, Basis.SYNC_REREAD), ("o", 1): EXACT}
    assert reread_bound(known) == 4
    assert reread_bound({**known, ("o", 2): Placement(0, False, None, Basis.LOG_START)}) is None


# Placements.

HISTORY = SyncHistory([OffsetSync(10, 110), OffsetSync(20, 120)])


def test_a_sync_at_the_offset_is_exact() -> None:
    assert plan_placement(20, HISTORY, True, Watermark(0, 30), Watermark(100, 130)) == Placement(
        120, True, 0, Basis.SYNC
    )


def test_between_syncs_the_records_are_compared() -> None:
    planned = plan_placement(25, HISTORY, True, Watermark(0, 30), Watermark(100, 130))
    assert planned == SearchRequest(Anchor(20, 120), 25)
    assert placement_from_search(planned, 125) == Placement(125, True, 0, Basis.RECORDS)
    assert placement_from_search(planned, SearchOutcome.UNDECIDABLE) == Placement(121, False, 4, Basis.SYNC_REREAD)
    not_yet = placement_from_search(planned, SearchOutcome.NOT_COPIED_YET)
    assert not_yet.improvable and not_yet.offset == 121


def test_below_the_log_start_the_copies_green_still_has_are_not_skipped() -> None:
    """Blue's retention deleted records the group had not read; green may still hold their copies."""
    exact = SyncHistory([OffsetSync(0, 100), OffsetSync(3, 103), OffsetSync(20, 120)])
    assert plan_placement(3, exact, True, Watermark(15, 30), Watermark(100, 130)) == Placement(103, True, 0, Basis.SYNC)
    # The anchor's record is gone on blue: nothing to compare, the sync's conservative position.
    assert plan_placement(12, HISTORY, True, Watermark(15, 30), Watermark(100, 130)) == Placement(
        111, False, 1, Basis.SYNC_REREAD
    )
    # Below every sync and below the log start: green's log start, no bound claimed.
    assert plan_placement(3, HISTORY, True, Watermark(15, 30), Watermark(105, 130)) == Placement(
        105, False, None, Basis.LOG_START
    )


def test_no_sync_of_this_run_compares_from_both_log_starts_and_claims_no_bound_without_a_match() -> None:
    planned = plan_placement(5, None, True, Watermark(0, 30), Watermark(7, 30))
    assert planned == SearchRequest(Anchor(0, 7, from_sync=False), 5)
    assert placement_from_search(planned, 12) == Placement(12, True, 0, Basis.RECORDS)
    assert placement_from_search(planned, SearchOutcome.UNDECIDABLE) == Placement(7, False, None, Basis.LOG_START)
    nothing_read = plan_placement(0, None, True, Watermark(0, 30), Watermark(7, 30))
    assert nothing_read == Placement(7, False, None, Basis.LOG_START)
    empty = plan_placement(0, None, True, Watermark(0, 0), Watermark(0, 0))
    assert empty == Placement(0, True, 0, Basis.LOG_START)


def test_the_hand_back_uses_the_syncs_the_other_way() -> None:
    assert plan_placement(120, HISTORY, False, Watermark(100, 130), Watermark(0, 30)) == Placement(
        20, True, 0, Basis.SYNC
    )
