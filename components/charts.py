"""PNG charts of the rehearsal and the status command: phases over traffic, MM2 lag, throughput, consumer pauses.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot state), so they are
safe to write from any thread and on machines without a display. Times are epoch
seconds, shown as UTC wall-clock time so the charts line up with each other and the logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import matplotlib
from matplotlib import dates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Series = Sequence[tuple[float, float]]
"""(epoch seconds, value) points."""


class PhaseSpan(TypedDict):
    """When one phase (or step) of the migration ran, in epoch seconds."""

    name: str
    start: float
    end: float


def _when(t: float) -> float:
    return float(dates.date2num(datetime.fromtimestamp(t, tz=UTC)))


def _figure(title: str, ylabel: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(11, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(dates.AutoDateLocator(tz=UTC, minticks=4, maxticks=8))
    ax.xaxis.set_major_formatter(dates.DateFormatter("%H:%M:%S", tz=UTC))
    ax.grid(alpha=0.3)
    return fig, ax


def _save(fig: Figure, ax: Axes, path: Path, empty_note: str) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        fig.legend(loc="outside right upper")
    else:
        ax.text(0.5, 0.5, empty_note, transform=ax.transAxes, ha="center", va="center", color="grey")
    fig.savefig(path, dpi=100)


def plot_phase_timeline(phases: Sequence[PhaseSpan], traffic: Mapping[str, Series], path: Path) -> None:
    """Phases as shaded bands behind the records acknowledged per second on each cluster."""
    fig, ax = _figure("Migration phases and produced records", "records acknowledged per second")
    palette = matplotlib.colormaps["tab20"]
    colors = [palette(i % 20) for i in range(len(phases))]
    for phase, color in zip(phases, colors, strict=True):
        ax.axvspan(_when(phase["start"]), _when(phase["end"]), color=color, alpha=0.15, label=phase["name"])
    for cluster, points in sorted(traffic.items()):
        ax.step([_when(t) for t, _ in points], [n for _, n in points], where="post", label=f"cluster {cluster}")
    _save(fig, ax, path, "no phases or traffic recorded")


def plot_lag(series: Mapping[str, Series], path: Path) -> None:
    """Records MM2 still has to copy, one line per flow (for example `A->B`)."""
    fig, ax = _figure("MirrorMaker 2 replication lag", "records behind the source")
    for flow, points in sorted(series.items()):
        ax.plot([_when(t) for t, _ in points], [n for _, n in points], marker=".", label=flow)
    _save(fig, ax, path, "no lag samples recorded")


def plot_throughput(series: Mapping[str, Series], path: Path) -> None:
    """Records appended per second to the migrated topics, one step line per cluster (`status`'s rate steps)."""
    fig, ax = _figure("Records appended to the migrated topics", "records per second")
    for cluster, points in sorted(series.items()):
        ax.step([_when(t) for t, _ in points], [r for _, r in points], where="post", label=cluster)
    ax.set_ylim(bottom=0)
    _save(fig, ax, path, "throughput needs two samples: run status again, or pass --samples")


def plot_consumer_pauses(pauses: Mapping[str, Series], path: Path) -> None:
    """How long each consumer group consumed nothing around a handoff, at the time the gap began."""
    fig, ax = _figure("Consumer pauses around routing changes", "pause (seconds)")
    for i, (group, points) in enumerate(sorted(pauses.items())):
        times, seconds = [_when(t) for t, _ in points], [s for _, s in points]
        ax.vlines(times, 0, seconds, color=f"C{i % 10}", alpha=0.4)
        ax.scatter(times, seconds, color=f"C{i % 10}", label=group, zorder=3)
    ax.set_ylim(bottom=0)
    _save(fig, ax, path, "no consumer pauses recorded")


def plot_pause_distribution(samples: Mapping[str, Sequence[float]], path: Path) -> None:
    """Each kind of consumer pause (a plain restart, a handoff) as a box over its individual pauses."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title("Consumer pauses: last record read to first record read again")
    ax.set_ylabel("pause (seconds)")
    ax.grid(alpha=0.3, axis="y")
    names = [name for name, seconds in samples.items() if seconds]
    if names:
        ax.boxplot([samples[n] for n in names], tick_labels=[f"{n} ({len(samples[n])})" for n in names])
        for i, name in enumerate(names, 1):
            ax.scatter([i] * len(samples[name]), samples[name], color=f"C{i - 1}", alpha=0.6, zorder=3)
    else:
        ax.text(0.5, 0.5, "no pauses recorded", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_ylim(bottom=0)
    fig.savefig(path, dpi=100)


def plot_fault_traffic(
    title: str,
    produced: Mapping[str, Series],
    consumed: Mapping[str, Series],
    faults: Sequence[tuple[float, float]],
    path: Path,
) -> None:
    """Records produced (solid) and consumed (dashed) per second per cluster; each fault from injection to recovery."""
    fig, ax = _figure(title, "records per second")
    for i, (start, end) in enumerate(faults):
        ax.axvspan(_when(start), _when(max(end, start + 1)), color="red", alpha=0.15, label="fault" if i == 0 else None)
        ax.axvline(_when(start), color="red", linewidth=1)
    for i, (cluster, points) in enumerate(sorted(produced.items())):
        ax.plot([_when(t) for t, _ in points], [n for _, n in points], color=f"C{i}", label=f"produced on {cluster}")
    for i, (cluster, points) in enumerate(sorted(consumed.items())):
        xs, ys = [_when(t) for t, _ in points], [n for _, n in points]
        ax.plot(xs, ys, color=f"C{i}", linestyle="--", alpha=0.7, label=f"consumed on {cluster} (all groups)")
    _save(fig, ax, path, "no traffic recorded")


def plot_copy_rates(series: Mapping[str, Series], bounds: Mapping[str, float], path: Path) -> None:
    """Records/s a copy reached over time (seconds since it started) against flat lines for its bounds."""
    fig = Figure(figsize=(11, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title("MM2 A->B copy rate against the machine's bound")
    ax.set_xlabel("seconds since the connectors were created")
    ax.set_ylabel("records per second")
    ax.grid(alpha=0.3)
    for i, (name, points) in enumerate(sorted(series.items())):
        ax.step([t for t, _ in points], [r for _, r in points], where="pre", color=f"C{i}", label=name)
    for i, (name, rate) in enumerate(sorted(bounds.items())):
        ax.axhline(rate, color="black", linestyle=("--", ":", "-.")[i % 3], linewidth=1, label=name)
    ax.set_ylim(bottom=0)
    _save(fig, ax, path, "no copy measured")
