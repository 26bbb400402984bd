"""Showing a StatusReport: rich tables for people, PNG plots from the recorded samples."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from kafka_migration.charts import plot_lag, plot_phase_timeline, plot_throughput
from kafka_migration.status.decisions import Rate, lag_series, phase_spans, rate_steps, throughput_series
from kafka_migration.status.report_data import GateState, Sample, Series, StatusReport, iso

VERDICT_STYLE = {
    GateState.PASS: "bold green",
    GateState.FAIL: "bold red",
    GateState.FORCED: "bold yellow",
    GateState.UNKNOWN: "bold magenta",
}
SIDE_STYLE = {"blue": "blue", "green": "green"}
LAG_PNG, THROUGHPUT_PNG, TIMELINE_PNG = "lag.png", "throughput.png", "phase-timeline.png"


# --- plots ------------------------------------------------------------------------------------


def _labelled(series: Mapping[str, Sequence[Rate]], clusters: Mapping[str, str]) -> dict[str, Series]:
    return {f"{alias} ({clusters.get(alias, '?')})": rate_steps(rates) for alias, rates in series.items()}


def write_plots(
    out_dir: Path,
    samples: Sequence[Sample],
    history: Sequence[Mapping[str, Any]],
    clusters: Mapping[str, str],
    now: float,
) -> list[Path]:
    """`lag.png`, `throughput.png` and `phase-timeline.png` in `out_dir`, from the samples and the history."""
    out_dir.mkdir(parents=True, exist_ok=True)
    throughput = _labelled(throughput_series(samples), clusters)
    paths = [out_dir / LAG_PNG, out_dir / THROUGHPUT_PNG, out_dir / TIMELINE_PNG]
    plot_lag(lag_series(samples), paths[0])
    plot_throughput(throughput, paths[1])
    plot_phase_timeline(phase_spans(history, now), throughput, paths[2])
    return paths


# --- tables ----------------------------------------------------------------------------------


def _short(value: Any, width: int = 40) -> str:
    if isinstance(value, float):
        text = f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_short(v, width) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _same_state(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) < 2:
        return False
    states = list(value.values())
    return all(isinstance(v, str) for v in states) and len(set(states)) == 1


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if _same_state(value):
        # Many names in one state (connectors RUNNING): counted, not listed.
        yield prefix, f"{len(value)}x {next(iter(value.values()))}"
        return
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif value not in ([], ()):
        yield prefix, value


def key_figures(figures: Mapping[str, Any], limit: int = 6) -> str:
    """A gate's figures on one line: `key=value` pairs (nested keys dotted), the first `limit` of them."""
    items = list(_flatten(figures))
    shown = [f"{key}={_short(value)}" if key else _short(value) for key, value in items[:limit]]
    if len(items) > limit:
        shown.append(f"(+{len(items) - limit} more)")
    return ", ".join(shown)


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)}{unit}"
    return f"{value:.1f}{unit}"


def _cluster(report: StatusReport, alias: str) -> Text:
    side = report.clusters.get(alias, "unknown")
    return Text(f"{alias} ({side})", style=SIDE_STYLE.get(side, ""))


def _overview(report: StatusReport) -> Table:
    table = Table(title=f"Stack {report.stack} ({report.strategy} strategy)", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    entered = report.history[-1].get("at") if report.history else None
    applied = report.applied.describe() if report.applied else f"{report.phase} (never updated)"
    table.add_row("Applied step", applied + (f"  since {entered}" if entered else ""))
    if report.high_water and report.high_water != report.applied:
        table.add_row("Furthest step", report.high_water.describe())
    table.add_row("Next step", report.next.describe() if report.next else "none: the migration is complete")
    for gate, reason in sorted(report.forced_gates.items()):
        table.add_row("Forced earlier", f"{gate}: {reason}")
    if report.throughput:
        rates = ", ".join(f"{alias} {rate:.1f}" for alias, rate in sorted(report.throughput.items()))
        table.add_row("Records/s appended", f"{rates} (between the last two samples)")
    return table


def _gates(report: StatusReport) -> Table | Text:
    if report.next is None:
        return Text("No step left to gate.")
    if not report.gates:
        return Text(f"No gate guards {report.next.describe()}.")
    table = Table(title=f"Gates guarding {report.next.describe()}", title_justify="left")
    table.add_column("Gate", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Summary", ratio=3)
    table.add_column("Key figures", ratio=2)
    for gate in report.gates:
        summary = gate.summary + (f" (forced: {gate.forced_reason})" if gate.forced_reason else "")
        verdict = Text(gate.state.value, style=VERDICT_STYLE[gate.state])
        table.add_row(gate.gate, verdict, summary, key_figures(gate.figures))
    return table


def _flows(report: StatusReport) -> Table | Text:
    if not report.flows:
        return Text("No replication flow runs at this step.")
    table = Table(title="Replication flows", title_justify="left")
    for name in ("Flow", "Max lag", "Oldest uncopied", "Record age", "Latency", "Bytes/s", "Heartbeat", "Connectors"):
        table.add_column(name, no_wrap=name == "Flow")
    for flow in report.flows.values():
        if flow.error:
            table.add_row(flow.name, Text(flow.error, style="red"))
            continue
        not_running = {n: s for n, s in flow.connectors.items() if s != "RUNNING"}
        connectors = (
            Text(f"{len(flow.connectors)} RUNNING", style="green")
            if flow.connectors and not not_running
            else Text(", ".join(f"{n} {s}" for n, s in not_running.items()) or "none", style="red")
        )
        table.add_row(
            flow.name,
            _number(flow.max_lag_records, " rec"),
            _number(flow.max_lag_seconds, " s"),
            _number(flow.record_age_ms, " ms"),
            _number(flow.replication_latency_ms, " ms"),
            _number(flow.byte_rate),
            _number(flow.heartbeat_age_s, " s"),
            connectors,
        )
    return table


def _partitions(report: StatusReport) -> Table | Text:
    behind = [(f, p) for f in report.flows.values() for p in f.partitions if p.lag_records]
    if not behind:
        counted = sum(len(f.partitions) for f in report.flows.values())
        if not counted:
            unread = any(f.error for f in report.flows.values())
            return Text("No partition lag could be read.", style="red") if unread else Text("No partition to copy.")
        return Text(f"Every partition copied ({counted} partition(s) across the running flows).", style="green")
    table = Table(title="Partitions behind", title_justify="left")
    for name in ("Flow", "Partition", "End offset", "Copied through", "Lag (records)", "Lag (s)"):
        table.add_column(name)
    for flow, p in behind:
        through = "-" if p.replicated_through is None else str(p.replicated_through)
        table.add_row(
            flow.name,
            f"{p.topic}:{p.partition}",
            str(p.end_offset),
            through,
            str(p.lag_records),
            f"{p.lag_seconds:.1f}",
        )
    return table


def _clients(report: StatusReport) -> Table | Text:
    if not report.clients:
        return Text("No client groups configured.")
    table = Table(title="Client groups", title_justify="left")
    for name in ("Group", "Role", "Wave", "Cluster", "Paused", "Source"):
        table.add_column(name)
    for client in report.clients.values():
        paused = Text("PAUSED", style="bold yellow") if client.paused else Text("no")
        wave = "-" if client.wave is None else str(client.wave)
        table.add_row(client.name, client.role or "-", wave, _cluster(report, client.cluster), paused, client.source)
    return table


def _footer(report: StatusReport) -> Group:
    lines = [Text(f"Problems reading the estate: {e}", style="bold red") for e in report.errors]
    if report.samples_file:
        lines.append(Text(f"Samples: {report.samples_file} ({report.sample_count} for this stack)", style="dim"))
    lines += [Text(f"Plot: {p}", style="dim") for p in report.plots]
    lines.append(Text(f"Read at {iso(report.generated_at)}", style="dim"))
    return Group(*lines)


def render(report: StatusReport, console: Console) -> None:
    """The report as tables: step, gates of the next step, flows and lag, client groups, problems, files."""
    for part in (
        _overview(report),
        _gates(report),
        _flows(report),
        *([_partitions(report)] if report.flows else []),
        _clients(report),
        _footer(report),
    ):
        console.print(part)
        console.print()
