"""B3 and B6 from one rehearsal walk: a handoff's consumer pause, and the whole migration's wall time.

One one-way rehearsal (`rehearsal.run.rehearse`, no rollback drill, no fault) walks every step
from `blue-only` to `decommissioned` under its live traffic, with its clients, its seeded
history and its gates, as `make rehearsal` does. After `replicating`, before any handoff,
every consumer client restarts once on blue (`RehearsalOptions.restart_drill`: commit, close,
join again): that gap is B3's baseline, the same clients' gap when their wave hands them to
green its measured side. B6 compares the walk's wall time with what it cannot avoid: copying
the seeded backlog at B1's rate and the waits the configuration asks for.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kafka_migration.bench.ratios import Ratio
from kafka_migration.config.model import Phase, Strategy
from kafka_migration.operations.handoff import STABLE_FOR_S
from kafka_migration.rehearsal.checker import ConsumerPause
from kafka_migration.rehearsal.estate import DEFAULT_TOPICS
from kafka_migration.rehearsal.run import PhaseSpan, RehearsalOptions, RunResult, dev_stack_config, rehearse

RESTART = "plain restart on blue"
HANDOFF = "handoff to green"


@dataclass(frozen=True)
class MigrationRun:
    """What the walk measured, and what it was configured to wait."""

    phases: Sequence[PhaseSpan]
    pauses: Sequence[ConsumerPause]
    lost: int
    dwell_s: float
    soak_s: float
    idle_window_s: float
    backlog: int
    """Records on blue before the migration started (the seeded history MM2 must copy)."""

    @property
    def wall_s(self) -> float:
        return self.phases[-1].end - self.phases[0].start

    @property
    def waits_s(self) -> float:
        """The rehearsal's dwell after every step, the soak window and the blue-idle window."""
        return self.dwell_s * len(self.phases) + self.soak_s + self.idle_window_s

    def ups_s(self) -> list[float]:
        """Each step's own time: its span without the dwell that follows its `pulumi up`."""
        return [max(0.0, p.end - p.start - self.dwell_s) for p in self.phases]

    def pause_samples(self) -> dict[str, list[float]]:
        """Seconds of every plain restart and every handoff pause (a pause begun during a consumer wave's step)."""
        waves = [p for p in self.phases if p.name.startswith(Phase.CONSUMERS_SWITCHED.value)]
        handoffs = [
            p.seconds for p in self.pauses if p.cause == "move" and any(w.start <= p.start < w.end for w in waves)
        ]
        return {RESTART: [p.seconds for p in self.pauses if p.cause == "restart"], HANDOFF: handoffs}


def run(work_dir: Path, say: Callable[[str], None]) -> MigrationRun:
    """The one-way walk to `decommissioned` with the restart drill; RuntimeError if the walk did not finish clean."""
    options = RehearsalOptions(Strategy.ONE_WAY, work_dir, rollback_drill=False, restart_drill=True, stray_drill=False)
    result: RunResult = rehearse(options, say)
    if result.error or result.check is None or result.check.totals.lost:
        raise RuntimeError(f"the migration walk B3 and B6 measure did not finish clean: {_unclean(result)}")
    gates = dev_stack_config()["gates"]
    return MigrationRun(
        phases=result.phases,
        pauses=result.ledger.snapshot().pauses if result.ledger else (),
        lost=result.check.totals.lost,
        dwell_s=options.dwell_s,
        soak_s=float(gates["soakSeconds"]),
        idle_window_s=float(gates["idleWindowSeconds"]),
        backlog=sum(t.history.records for t in DEFAULT_TOPICS),
    )


def _unclean(result: RunResult) -> str:
    """Why a walk is not clean: its error, else each (group, topic) that lost records, with a sample of their ids."""
    if result.error or result.check is None:
        return result.error or "the walk ended without a check of its records"
    rows = [row for group in result.check.groups for row in group.topics if row.lost]
    return "; ".join(
        f"{row.group} lost {row.lost} of {row.produced} {row.topic} records (by cluster {row.lost_by_cluster}, "
        f"e.g. {', '.join(row.lost_sample[:3])})"
        for row in rows
    )


def b3_ratio(run: MigrationRun) -> Ratio:
    """B3: the median handoff pause over the median plain-restart pause of the same consumer clients."""
    samples = run.pause_samples()
    restarts, handoffs = samples[RESTART], samples[HANDOFF]
    if not restarts or not handoffs:
        raise RuntimeError(
            f"B3 needs both kinds of pause; the walk recorded {len(restarts)} restart(s), {len(handoffs)} handoff(s)"
        )
    restart, handoff = statistics.median(restarts), statistics.median(handoffs)
    ratio = Ratio(
        "B3",
        "a consumer's pause in a handoff (last read on blue to first on green) / in a plain restart on blue, medians",
        handoff,
        restart,
        1.2,
        False,
        {
            "handoff_pauses": len(handoffs),
            "handoff_median_s": round(handoff, 2),
            "handoff_max_s": round(max(handoffs), 2),
            "restart_pauses": len(restarts),
            "restart_median_s": round(restart, 2),
            "restart_max_s": round(max(restarts), 2),
        },
    )
    if ratio.met is not False:
        return ratio
    return replace(
        ratio,
        cause=f"a handoff pauses the group for the handoff itself (median {handoff:.1f} s, at most "
        f"{max(handoffs):.1f} s): the routing document says paused, the program waits until the group has no "
        f"member and its committed offsets stay unchanged for {STABLE_FOR_S:g} s, reads the offset-syncs, places "
        "and commits every partition on green and publishes green's document, and the clients join green; a plain "
        "restart only "
        f"leaves the group and joins it again ({restart:.1f} s median)",
    )


def b6_ratio(run: MigrationRun, b1_rate: float) -> Ratio:
    """B6: the walk's wall time over copying the backlog at B1's rate plus the configured waits."""
    copy_s = run.backlog / b1_rate
    ups = run.ups_s()
    ratio = Ratio(
        "B6",
        "a full migration's wall time (blue-only to decommissioned) / (backlog / B1's MM2 rate + configured waits)",
        run.wall_s,
        copy_s + run.waits_s,
        1.2,
        False,
        {
            "wall_s": round(run.wall_s, 1),
            "steps": len(run.phases),
            "backlog_records": run.backlog,
            "b1_mm2_records_per_s": round(b1_rate),
            "backlog_copy_s": round(copy_s, 1),
            "waits_s": round(run.waits_s, 1),
            "waits": f"dwell {run.dwell_s:g} s x {len(run.phases)} steps, soak {run.soak_s:g} s, "
            f"blue-idle window {run.idle_window_s:g} s",
            "steps_own_time_s": round(sum(ups), 1),
            "step_median_s": round(statistics.median(ups), 1),
            "slowest_step": max(run.phases, key=lambda p: p.end - p.start).name,
        },
    )
    if ratio.met is not False:
        return ratio
    return replace(
        ratio,
        cause=f"the {len(ups)} steps' own time ({sum(ups):.0f} s, median {statistics.median(ups):.0f} s a step) is "
        "outside the baseline: each is a `pulumi up` with its gates (evidence read from both clusters) and, at "
        f"the consumer waves, the handoff; copying the backlog takes {copy_s:.1f} s and the waits {run.waits_s:.0f} s",
    )
