"""The rehearsal report: report.json, PNG plots and a summary table."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kafka_migration.charts import PhaseSpan, plot_consumer_pauses, plot_lag, plot_phase_timeline
from kafka_migration.rehearsal.run import RunResult


def write_report(runs: list[RunResult], out: Path) -> Path:
    """report.json and three plots per run into `out`; returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    for run in runs:
        name = run.strategy
        phases = [PhaseSpan(name=p.name, start=p.start, end=p.end) for p in run.phases]
        traffic = run.ledger.traffic() if run.ledger else {}
        plot_phase_timeline(phases, traffic, out / f"{name}-timeline.png")
        plot_lag(run.lag, out / f"{name}-lag.png")
        pauses: dict[str, list[tuple[float, float]]] = {}
        for p in run.ledger.snapshot().pauses if run.ledger else ():
            pauses.setdefault(p.group, []).append((p.start, p.seconds))
        plot_consumer_pauses(pauses, out / f"{name}-pauses.png")
        if run.ledger:
            run.ledger.dump_jsonl(out / f"{name}-ledger.jsonl")
    return update_report(out, "runs", [r.to_json() for r in runs])


def update_report(out: Path, key: str, value: object) -> Path:
    """Set `key` of `out/report.json`, keeping what other runs wrote there (the walks' `runs`, the `scenarios`)."""
    report = out / "report.json"
    try:
        body = json.loads(report.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        body = {}
    report.write_text(json.dumps({**body, key: value}, indent=2))
    return report


def summary_table(runs: list[RunResult]) -> Table:
    """One row per strategy: the figures a reviewer looks at first."""
    table = Table(title="Rehearsal: every record produced, checked against every consumer group")
    for column in (
        "strategy",
        "security",
        "steps",
        "rollbacks",
        "produced",
        "consumed",
        "lost",
        "duplicates",
        "order breaks",
        "aborted read",
        "phantom",
        "unacked",
        "max pause",
        "time",
    ):
        table.add_column(column, justify="left" if column in ("strategy", "security") else "right")
    for r in runs:
        j = r.to_json()
        lost_style = "bold red" if j["lost"] else "green"
        aborted_style = "bold red" if j["aborted_read"] else "green"
        table.add_row(
            r.strategy,
            r.security,
            str(len(r.phases)),
            str(len(r.rollbacks)),
            str(j["produced"]),
            str(j["consumed"]),
            f"[{lost_style}]{j['lost']}[/]",
            str(j["duplicates"]),
            str(j["order_violations"]),
            f"[{aborted_style}]{j['aborted_read']}[/]",
            _flagged(j["phantom"]),
            _flagged(j["unacknowledged"]),
            f"{j['max_consumer_pause_s']:.1f}s",
            f"{j['duration_s']:.0f}s",
        )
    return table


def _flagged(count: int) -> str:
    return f"[{'bold red' if count else 'green'}]{count}[/]"


def print_findings(label: str, run: RunResult, console: Console) -> None:
    """Every group/topic that lost, duplicated, reordered or read an aborted or phantom record; producer-side loss."""
    if run.check is None:
        return
    for g in run.check.groups:
        for t in g.topics:
            if t.lost or t.duplicates or t.order_violations or t.aborted_read or t.phantom:
                console.print(
                    f"  {label} {g.group}/{t.topic}: lost {t.lost}, duplicates {t.duplicates}, "
                    f"order breaks {t.order_violations}, aborted read {t.aborted_read}, phantom {t.phantom}",
                    soft_wrap=True,
                )
    for p in run.check.producers:
        if p.unacknowledged:
            console.print(
                f"  {label} producer {p.producer}/{p.topic}: {p.unacknowledged} of {p.attempted} attempted "
                f"never acknowledged nor read, e.g. {', '.join(p.unacknowledged_sample)}",
                soft_wrap=True,
            )


def print_summary(runs: list[RunResult], report: Path, console: Console) -> None:
    """The table and every finding of the check; then the transactions and the stray producer."""
    console.print(summary_table(runs))
    for r in runs:
        print_findings(r.strategy, r, console)
    for r in runs:
        j = r.to_json()
        for name, t in r.transactions.items():
            console.print(
                f"  {r.strategy} {name}: {t['committed']} transactions committed, {t['aborted']} aborted on purpose "
                f"({j['aborted_records']} records), {j['aborted_read']} aborted record(s) read",
                soft_wrap=True,
            )
        if r.stray is not None:
            verdict = "refused" if r.stray.refused else "[bold red]NOT refused[/]"
            line = f"  {r.strategy} stray producer at mm2-stopped: {verdict}: {escape(r.stray.line)}"
            console.print(line, soft_wrap=True)
    console.print(f"report: {report}")
