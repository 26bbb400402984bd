"""The fault campaign: one walk per named fault, each judged against what the scenario expects.

`judge` is a pure function of the run's figures, so every verdict is unit-testable; the
campaign adds a plot per scenario (records produced and consumed per second per cluster,
with the fault marked) and a `scenarios` list to `report.json`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kafka_migration.charts import plot_fault_traffic
from kafka_migration.rehearsal.checker import LedgerData, per_second
from kafka_migration.rehearsal.fault_model import Fault, Outcome
from kafka_migration.rehearsal.report import print_findings, update_report
from kafka_migration.rehearsal.run import RehearsalOptions, RunResult, rehearse

Say = Callable[[str], None]
MUST_BE_ZERO = ("lost", "aborted_read", "unacknowledged", "phantom")
"""Counts a surviving scenario must keep at 0 (duplicates and order breaks are reported, see the README)."""


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario as the report shows it."""

    name: str
    summary: str
    step: str
    """The step the fault was injected at."""
    action: str
    recovery: str
    """What was done to recover (the operator's steps, per the README)."""
    outcome: str
    why: str
    """What made it fail, or the refusal that was expected; empty when it survived."""
    produced: int
    consumed: int
    lost: int
    duplicates: int
    order_violations: int
    aborted_read: int
    unacknowledged: int
    phantom: int
    max_consumer_pause_s: float
    records_per_s: float
    """Records acknowledged per second over the time producers ran."""
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def judge(fault: Fault, run: dict[str, Any], fault_problems: Sequence[str]) -> tuple[Outcome, str]:
    """Survived, refused as expected, or failed (and why), from a run's report entry."""
    if fault.expected is Outcome.REFUSED:
        if run["refusal"]:
            return Outcome.REFUSED, run["refusal"]
        return Outcome.FAILED, run["error"] or f"{fault.refusal_gate} did not refuse the step after the fault"
    problems = [f"{key} {run[key]}" for key in MUST_BE_ZERO if run[key]]
    if run["error"]:
        problems.append(f"walk stopped {run['error']}")
    if not run["faults"] and not run["error"]:
        problems.append("the fault was never injected (the walk did not reach its step)")
    if run["stray_producer_refused"] is False:
        problems.append("mm2-stopped was not refused with a stray producer on blue")
    problems.extend(fault_problems)
    return (Outcome.FAILED, "; ".join(problems)) if problems else (Outcome.SURVIVED, "")


def records_per_s(data: LedgerData) -> float:
    """Acknowledged records per second between the first and the last acknowledgement."""
    times = [p.acked_at for p in data.produced]
    if len(times) < 2:
        return 0.0
    return len(times) / max(max(times) - min(times), 1.0)


def scenario_result(fault: Fault, run: RunResult) -> ScenarioResult:
    """The report's row for one scenario's walk."""
    j = run.to_json()
    outcome, why = judge(fault, j, run.fault_problems)
    injection = run.injections[0] if run.injections else None
    return ScenarioResult(
        name=fault.name,
        summary=fault.summary(),
        step=injection.step if injection else "(not reached)",
        action=injection.action if injection else "",
        recovery=injection.recovery if injection else "",
        outcome=outcome.value,
        why=why,
        produced=j["produced"],
        consumed=j["consumed"],
        lost=j["lost"],
        duplicates=j["duplicates"],
        order_violations=j["order_violations"],
        aborted_read=j["aborted_read"],
        unacknowledged=j["unacknowledged"],
        phantom=j["phantom"],
        max_consumer_pause_s=j["max_consumer_pause_s"],
        records_per_s=round(records_per_s(run.ledger.snapshot()), 1) if run.ledger else 0.0,
        duration_s=j["duration_s"],
    )


def plot_scenario(fault: Fault, run: RunResult, path: Path) -> None:
    """Records produced and consumed per second per cluster across the walk, the fault's span shaded."""
    data = run.ledger.snapshot() if run.ledger else LedgerData()
    produced = per_second((p.cluster, p.acked_at) for p in data.produced)
    consumed = per_second((c.cluster, c.consumed_at) for c in data.consumed)
    marks = [(i.injected_at, i.recovered_at) for i in run.injections]
    where = f" at {run.injections[0].step}" if run.injections else ""
    plot_fault_traffic(f"{fault.name}{where}", produced, consumed, marks, path)


def run_campaign(faults: Sequence[Fault], base: RehearsalOptions, out: Path, say: Say) -> list[ScenarioResult]:
    """One walk per fault (no default rollback drills), each plotted and added to `out/report.json`."""
    results: list[ScenarioResult] = []
    out.mkdir(parents=True, exist_ok=True)
    for n, fault in enumerate(faults, 1):
        say(f"scenario {n}/{len(faults)} {fault.name}: {fault.summary()}")
        opts = replace(base, faults=(fault,), rollback_drill=False, work_dir=base.work_dir / fault.name)
        run = rehearse(opts, say)
        plot_scenario(fault, run, out / f"scenario-{fault.name}.png")
        if run.ledger:
            run.ledger.dump_jsonl(out / f"scenario-{fault.name}-ledger.jsonl")
        result = scenario_result(fault, run)
        say(f"scenario {fault.name}: {result.outcome}{': ' + result.why if result.why else ''}")
        print_findings(fault.name, run, Console())
        results.append(result)
        update_report(out, "scenarios", [r.to_json() for r in results])
    return results


def scenarios_table(results: Sequence[ScenarioResult]) -> Table:
    """One row per scenario: where the fault struck, the outcome, the checker's counts, the rate sustained."""
    table = Table(title="Fault campaign: each scenario injected into a walk under traffic, then checked")
    columns = ("scenario", "injected at", "outcome", "produced", "consumed", "lost", "dup", "order", "unacked")
    for column in (*columns, "phantom", "max pause", "rec/s", "time"):
        table.add_column(column, justify="left" if column in ("scenario", "injected at", "outcome") else "right")
    style = {Outcome.SURVIVED.value: "green", Outcome.REFUSED.value: "cyan", Outcome.FAILED.value: "bold red"}
    for r in results:
        table.add_row(
            r.name,
            r.step,
            f"[{style[r.outcome]}]{r.outcome}[/]",
            str(r.produced),
            str(r.consumed),
            str(r.lost),
            str(r.duplicates),
            str(r.order_violations),
            str(r.unacknowledged),
            str(r.phantom),
            f"{r.max_consumer_pause_s:.1f}s",
            f"{r.records_per_s:.0f}",
            f"{r.duration_s:.0f}s",
        )
    return table


def print_campaign(results: Sequence[ScenarioResult], console: Console) -> None:
    """The table, then per scenario what was done, how it recovered and why it failed or was refused."""
    console.print(scenarios_table(results))
    for r in results:
        console.print(f"  {r.name}: {escape(r.action)}", soft_wrap=True)
        console.print(f"    recovery: {escape(r.recovery)}", soft_wrap=True)
        if r.why:
            console.print(f"    {r.outcome}: {escape(r.why)}", soft_wrap=True)
