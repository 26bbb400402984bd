from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kafka_migration.planning.offsets import (
    OffsetSync,
    SyncHistory,
    SyncKey,
    Translation,
    decode_sync,
    encode_sync,
    translate_downstream,
    translate_upstream,
)


def test_sync_layout_round_trips() -> None:
    key, value = encode_sync(SyncKey("orders", 7), OffsetSync(1234, 99))
    assert key == b"\x00\x06orders\x00\x00\x00\x07"
    assert decode_sync(key, value) == (SyncKey("orders", 7), OffsetSync(1234, 99))


def test_exact_when_a_sync_covers_the_last_record_read() -> None:
    h = SyncHistory([OffsetSync(0, 10), OffsetSync(5, 15), OffsetSync(9, 19)])
    t = translate_downstream(h, 10)
    assert (t.offset, t.exact, t.reread_bound) == (20, True, 0)
    # An exact hit on a sync's upstream offset.
    t = translate_downstream(h, 5)
    assert (t.offset, t.exact) == (15, True)


def test_between_syncs_rereads_never_skips() -> None:
    h = SyncHistory([OffsetSync(0, 10), OffsetSync(5, 15)])
    t = translate_downstream(h, 9)
    assert (t.offset, t.exact, t.reread_bound) == (16, False, 3)


def test_no_sync_at_or_below_means_no_translation() -> None:
    assert translate_downstream(SyncHistory([OffsetSync(5, 15)]), 3) is None


def test_upstream_translation_is_the_inverse_for_a_hand_back() -> None:
    h = SyncHistory([OffsetSync(100, 0), OffsetSync(104, 4)])
    t = translate_upstream(h, 5)
    assert (t.offset, t.exact) == (105, True)


def test_later_resend_of_a_sync_wins() -> None:
    h = SyncHistory([OffsetSync(5, 15), OffsetSync(5, 16)])
    assert h.syncs == [OffsetSync(5, 16)]


@st.composite
def contiguous_copy(draw):
    """A topic copied record by record (downstream = upstream + shift), with syncs for some records."""
    n = draw(st.integers(min_value=1, max_value=200))
    shift = draw(st.integers(min_value=0, max_value=1000))
    synced = draw(st.sets(st.integers(min_value=0, max_value=n - 1), min_size=1))
    committed = draw(st.integers(min_value=min(synced), max_value=n))
    # In the order MM2 writes them: one run copies records in order.
    return [OffsetSync(u, u + shift) for u in sorted(synced)], shift, committed


@given(contiguous_copy())
def test_translation_never_skips_a_record(case) -> None:
    syncs, shift, committed = case
    t = translate_downstream(SyncHistory(syncs), committed)
    assert t is not None
    ideal = committed + shift
    assert t.offset <= ideal
    assert ideal - t.offset == t.reread_bound
    back = translate_upstream(SyncHistory(syncs), t.offset)
    assert back is not None and back.offset <= committed


def test_nearest_sync_below_either_way() -> None:
    from kafka_migration.planning.offsets import nearest_sync_below

    h = SyncHistory([OffsetSync(10, 100), OffsetSync(20, 105), OffsetSync(30, 130)])
    assert nearest_sync_below(h, 25, forward=True) == (20, 105)
    assert nearest_sync_below(h, 9, forward=True) is None
    assert nearest_sync_below(h, 120, forward=False) == (105, 20)
    assert nearest_sync_below(None, 5, forward=True) is None


def test_match_copies_skips_repeats_and_stops_at_unknown_records() -> None:
    from kafka_migration.planning.offsets import RecordId, match_copies

    def r(v: str) -> RecordId:
        return RecordId(b"k", v.encode(), (), 0)

    originals = [r("a"), r("b"), r("c")]
    # MM2 copied "b" twice (at-least-once): the group continues after the copy of "c".
    assert match_copies(originals, [(7, r("a")), (8, r("b")), (9, r("b")), (10, r("c")), (11, r("d"))]) == 11
    # Not copied that far yet.
    assert match_copies(originals, [(7, r("a")), (8, r("b"))]) is None
    import pytest

    with pytest.raises(ValueError, match="not a copy"):
        match_copies(originals, [(7, r("x"))])


def test_syncs_of_an_earlier_replication_are_dropped() -> None:
    """Rollback to blue-only destroyed green; the new run copies from blue's new log start into a new log."""
    from kafka_migration.planning.offsets import current_run

    old_run = [OffsetSync(u, u) for u in range(0, 3000, 100)]
    new_run = [OffsetSync(2500, 0), OffsetSync(2600, 100)]
    assert current_run(old_run + new_run) == new_run
    h = SyncHistory(old_run + new_run)
    # Without the cut, 2900 -> 2900 would put the group 2,300 records past what it read.
    assert translate_downstream(h, 2900) == Translation(101, False, 299)


def test_a_restart_within_one_run_keeps_its_syncs() -> None:
    """MM2 re-copies from its last committed source offset: upstream goes back, downstream keeps growing."""
    from kafka_migration.planning.offsets import current_run

    syncs = [OffsetSync(0, 0), OffsetSync(50, 50), OffsetSync(40, 60), OffsetSync(45, 65), OffsetSync(45, 65)]
    assert current_run(syncs) == syncs
