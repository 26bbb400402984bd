"""`make rehearsal`: the whole migration rehearsed on two local clusters under live traffic, both strategies.

`--faults all` (or `--faults NAME,...`) runs the fault campaign instead: one walk per named
fault, injected at its step under traffic, each judged survived, refused as expected, or failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from kafka_migration.config.model import Strategy
from kafka_migration.local_runtime.pulumi_cli import require_toolchain
from kafka_migration.rehearsal.fault_model import Outcome
from kafka_migration.rehearsal.faults import FAULTS, faults_named
from kafka_migration.rehearsal.report import print_summary, write_report
from kafka_migration.rehearsal.run import RehearsalOptions, rehearse
from kafka_migration.rehearsal.scenarios import print_campaign, run_campaign

PROG = "kafka-migration rehearsal"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options, added to `parser` (its own, or `kafka-migration rehearsal`)."""
    parser.add_argument("--strategy", choices=[s.value for s in Strategy], action="append", help="default: both")
    parser.add_argument("--out", type=Path, default=Path("rehearsal-report"))
    parser.add_argument(
        "--rate",
        type=float,
        default=RehearsalOptions.total_rate_per_s,
        help="records/s in all, split evenly over every producer and topic (default: %(default)s)",
    )
    parser.add_argument(
        "--record-bytes",
        type=int,
        default=RehearsalOptions.record_bytes,
        help="each record's value padded to about this size (default: %(default)s)",
    )
    parser.add_argument("--soak-seconds", type=int, default=20, help="shortened soak window (production: 86400)")
    parser.add_argument(
        "--secure",
        action="store_true",
        help="both clusters SASL_SSL (SCRAM-SHA-512, a generated CA) with ACLs enforced, every client its own user",
    )
    parser.add_argument(
        "--faults",
        metavar="all|NAME,...",
        help=f"run the fault campaign (one-way unless --strategy says otherwise): {', '.join(FAULTS)}",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the rehearsal or the campaign; exit status 1 if a check failed (a record lost, a scenario failed, ...)."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.faults is not None:
        try:
            faults = faults_named(args.faults)
            RehearsalOptions(Strategy.ONE_WAY, args.out, faults=tuple(faults), secure=args.secure)  # refused early
        except ValueError as err:
            parser.error(str(err))
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 170)  # logs and CI: keep the summary table whole
    require_toolchain()
    if args.faults is not None:
        strategy = Strategy((args.strategy or [Strategy.ONE_WAY.value])[0])
        base = RehearsalOptions(
            strategy,
            args.out / "work",
            total_rate_per_s=args.rate,
            record_bytes=args.record_bytes,
            soak_seconds=args.soak_seconds,
            secure=args.secure,
        )
        results = run_campaign(faults, base, args.out, lambda line: console.log(line))
        print_campaign(results, console)
        failed = [r.name for r in results if r.outcome == Outcome.FAILED.value]
        if failed:
            console.print(f"[bold red]failed: {', '.join(failed)}[/]")
            return 1
        console.print("[green]every scenario survived with nothing lost, or was refused as designed[/]")
        return 0
    runs = []
    for strategy in args.strategy or [s.value for s in Strategy]:
        console.rule(f"strategy {strategy}")
        options = RehearsalOptions(
            Strategy(strategy),
            args.out / "work",
            total_rate_per_s=args.rate,
            record_bytes=args.record_bytes,
            soak_seconds=args.soak_seconds,
            secure=args.secure,
        )
        runs.append(rehearse(options, lambda line: console.log(line)))
    report = write_report(runs, args.out)
    print_summary(runs, report, console)
    figures = [r.to_json() for r in runs]
    problems = [
        f"{total} {what}"
        for key, what in (
            ("lost", "record(s) lost"),
            ("aborted_read", "record(s) of aborted transactions read"),
            ("phantom", "record(s) read that no producer wrote"),
            ("unacknowledged", "record(s) a producer sent, never acknowledged and never read"),
        )
        if (total := sum(f[key] for f in figures))
    ]
    problems += [f"{r.strategy} walk stopped {r.error}" for r in runs if r.error]
    # A walk that stopped early never reached mm2-stopped: its error is the problem reported.
    unrefused = [r.strategy for r in runs if (r.stray is None and not r.error) or (r.stray and not r.stray.refused)]
    if unrefused:
        problems.append(f"mm2-stopped not refused with a stray producer on blue: {', '.join(unrefused)}")
    for problem in problems:
        console.print(f"[bold red]{problem}[/]", soft_wrap=True)
    if problems:
        return 1
    console.print("[green]no record lost, phantom or unacknowledged, no aborted record read, the stray refused[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
