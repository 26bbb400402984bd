"""`kafka-migration status --stack NAME`: where the migration stands, what comes next, and whether it could go now.

Exit code 0 whatever the verdicts (it is a report); 2 when the stack cannot be read
(no such stack, invalid config, toolchain missing) or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from kafka_migration.errors import ConfigError
from kafka_migration.status.decisions import latest_rates, make_sample, step_of, throughput_series
from kafka_migration.status.live_reader import LiveReader, read_report, read_sample
from kafka_migration.status.pulumi_stack import StackError, cli_env, read_stack
from kafka_migration.status.render import render, write_plots
from kafka_migration.status.report_data import append_sample, read_samples

SAMPLES_FILE = "samples.jsonl"
USAGE_ERROR = 2


PROG = "kafka-migration status"
DESCRIPTION = (
    "Show a migration stack's applied phase, the next step and each of its gates' verdicts with their "
    "figures, lag per replication flow and where each client group is; append a sample to "
    "<out>/samples.jsonl and draw lag.png, throughput.png and phase-timeline.png from all samples."
)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options, added to `p` (its own parser, or `kafka-migration status`)."""
    p.add_argument("--stack", required=True, help="the Pulumi stack, e.g. dev")
    p.add_argument(
        "--project-dir",
        type=Path,
        default=Path(),
        help="folder of Pulumi.yaml (default: the current folder); the backend is PULUMI_BACKEND_URL, "
        "else file://<project-dir>/.pulumi-state",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--out", type=Path, default=Path("status-report"), help="folder of samples and plots")
    p.add_argument("--samples", type=int, default=1, help="readings to take (default 1); the last one has the gates")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between readings (default 10)")


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _progress(quiet: bool, total: int) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet or total < 1,
    )


def _sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.samples < 1:
        cli.error("--samples must be at least 1")
    if args.interval < 0:
        cli.error("--interval must not be negative")
    project_dir: Path = args.project_dir.resolve()
    out_dir: Path = args.out.resolve()
    if not project_dir.is_dir():
        return _error(f"--project-dir {project_dir} is not a folder")
    quiet = args.json
    spinner = Console(stderr=True).status("reading the stack", spinner="dots") if not quiet else nullcontext()
    try:
        with spinner:
            stack = read_stack(args.stack, project_dir, cli_env(project_dir))
    except (StackError, ConfigError) as err:
        return _error(str(err))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return _error(f"cannot create --out {out_dir}: {err}")

    # Relative paths in the config (CA files, routing folder) mean what they mean to `pulumi up`.
    os.chdir(project_dir)
    samples_file = out_dir / SAMPLES_FILE
    try:
        reader = LiveReader(stack.config, project_dir)
    except ValueError as err:  # a config no runtime can name MM2's endpoints for (the message names the fix)
        return _error(str(err))
    applied = step_of(stack.outputs.get("step"))
    try:
        with _progress(quiet, args.samples) as progress:
            task = progress.add_task("reading blue", total=args.samples)
            blue, blue_error = reader.blue()
            start = time.monotonic()
            for i in range(args.samples - 1):
                _sleep_until(start + i * args.interval)
                progress.update(task, description=f"sample {i + 1}/{args.samples}")
                reading = read_sample(reader, applied, blue)
                append_sample(samples_file, make_sample(args.stack, reading.at, reading.flows, reading.end_offsets))
                progress.advance(task)
            _sleep_until(start + (args.samples - 1) * args.interval)
            progress.update(task, description="reading gates, flows and routing")
            report, reading = read_report(reader, args.stack, stack.outputs, blue, blue_error)
            append_sample(samples_file, make_sample(args.stack, reading.at, reading.flows, reading.end_offsets))
            progress.advance(task)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

    samples = read_samples(samples_file, args.stack)
    plots = write_plots(out_dir, samples, report.history, report.clusters, report.generated_at)
    report = replace(
        report,
        throughput=latest_rates(throughput_series(samples)),
        samples_file=str(samples_file),
        sample_count=len(samples),
        plots=tuple(str(p) for p in plots),
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, allow_nan=False, default=str))
    else:
        render(report, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
