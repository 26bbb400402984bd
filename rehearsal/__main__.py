"""`make rehearsal`: the whole migration rehearsed on two local clusters under live traffic, both strategies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from config.model import Strategy
from local_runtime.pulumi_cli import require_toolchain
from rehearsal.report import print_summary, write_report
from rehearsal.run import RehearsalOptions, rehearse


def main(argv: list[str] | None = None) -> int:
    """Run the rehearsal; exit status 1 if a record was lost, an aborted one read, or the stray producer let in."""
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument("--strategy", choices=[s.value for s in Strategy], action="append", help="default: both")
    parser.add_argument("--out", type=Path, default=Path("rehearsal-report"))
    parser.add_argument("--rate", type=float, default=8.0, help="records/s per producer and topic")
    parser.add_argument("--soak-seconds", type=int, default=20, help="shortened soak window (production: 86400)")
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)  # logs and CI: keep the summary table whole
    require_toolchain()
    runs = []
    for strategy in args.strategy or [s.value for s in Strategy]:
        console.rule(f"strategy {strategy}")
        options = RehearsalOptions(
            Strategy(strategy), args.out / "work", rate_per_s=args.rate, soak_seconds=args.soak_seconds
        )
        runs.append(rehearse(options, lambda line: console.log(line)))
    report = write_report(runs, args.out)
    print_summary(runs, report, console)
    lost = sum(r.to_json()["lost"] for r in runs)
    aborted_read = sum(r.to_json()["aborted_read"] for r in runs)
    unrefused = [r.strategy for r in runs if r.stray is None or not r.stray.refused]
    if lost:
        console.print(f"[bold red]{lost} record(s) lost[/]")
    if aborted_read:
        console.print(f"[bold red]{aborted_read} record(s) of aborted transactions read[/]")
    if unrefused:
        console.print(f"[bold red]mm2-stopped not refused with a stray producer on blue: {', '.join(unrefused)}[/]")
    if lost or aborted_read or unrefused:
        return 1
    console.print("[green]no record lost, no aborted record read, the stray producer refused[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
