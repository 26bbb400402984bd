"""A force answers for one step: the history records it with that step, and it does not carry over."""

from __future__ import annotations

from kafka_migration.config.model import Phase
from kafka_migration.planning.gates import Gate, Verdict, blocking, spent_forces, stale_force_note
from kafka_migration.planning.phases import Step

VERIFIED = Step(Phase.VERIFIED, 2, 2)
MM2_STOPPED = Step(Phase.MM2_STOPPED, 2, 2)
REASON = "a commit marker ends orders:0"
DRAINED_FAILS = [Verdict(Gate.REPLICATION_DRAINED, False, "still to copy: A->B orders:0 1")]


def history_forced_at(step: Step) -> list[dict]:
    return [{**step.as_output(), "at": "2026-12-01T10:00:00+00:00", "forced": {"replication-drained": REASON}}]


def test_a_force_applies_to_the_step_it_is_given_for() -> None:
    failed, used = blocking(DRAINED_FAILS, {"replication-drained": REASON}, spent_forces([], VERIFIED))
    assert failed == [] and used == {"replication-drained": REASON}


def test_the_same_force_left_in_the_config_does_not_let_a_later_step_in() -> None:
    spent = spent_forces(history_forced_at(VERIFIED), MM2_STOPPED)
    failed, used = blocking(DRAINED_FAILS, {"replication-drained": REASON}, spent)
    assert [v.gate for v in failed] == [Gate.REPLICATION_DRAINED] and used == {}
    note = stale_force_note("replication-drained", {"replication-drained": REASON}, spent)
    assert "used for an earlier step" in note and "new reason" in note


def test_a_new_reason_forces_the_later_step() -> None:
    spent = spent_forces(history_forced_at(VERIFIED), MM2_STOPPED)
    _failed, used = blocking(DRAINED_FAILS, {"replication-drained": "checked by hand at 11:02"}, spent)
    assert used == {"replication-drained": "checked by hand at 11:02"}


def test_re_entering_the_step_after_a_rollback_keeps_its_force() -> None:
    spent = spent_forces(history_forced_at(VERIFIED), VERIFIED)
    _failed, used = blocking(DRAINED_FAILS, {"replication-drained": REASON}, spent)
    assert used == {"replication-drained": REASON}


def test_source_intact_is_never_forced() -> None:
    verdicts = [Verdict(Gate.SOURCE_INTACT, False, "orders was re-created")]
    failed, used = blocking(verdicts, {"source-intact": "sure"})
    assert failed == verdicts and used == {}
