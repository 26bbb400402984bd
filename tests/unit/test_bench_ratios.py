"""The benchmark's arithmetic and how it reads Kafka's perf tools: a ratio's bound, the steady window, the tools'
summary lines (as Kafka 4.1 prints them)."""

from __future__ import annotations

import math

import pytest

from kafka_migration.bench.cpu import CpuTicks, CpuUse, cpu_use, parse_machine_ticks, parse_process_ticks
from kafka_migration.bench.gate_suite import GateTiming, b4_ratios
from kafka_migration.bench.latency import Latencies, LatencyRun, b2_ratio
from kafka_migration.bench.migration_suite import HANDOFF, RESTART, MigrationRun, b3_ratio, b6_ratio
from kafka_migration.bench.perf_tools import parse_consumer_output, parse_producer_output
from kafka_migration.bench.preview_suite import b5_cause
from kafka_migration.bench.ratios import Ratio, crossing_time, harmonic_bound, interval_rates, sustained_rate
from kafka_migration.rehearsal.checker import ConsumerPause
from kafka_migration.rehearsal.run import PhaseSpan

PRODUCER_OUT = """\
412345 records sent, 82469.0 records/sec (40.27 MB/sec), 310.2 ms avg latency, 802.0 ms max latency.
1500000 records sent, 95057.034221 records/sec (46.41 MB/sec), 288.31 ms avg latency, 902.00 ms max latency, \
250 ms 50th, 700 ms 95th, 850 ms 99th, 890 ms 99.9th.
"""

CONSUMER_OUT = """\
WARNING: some log line, with, commas
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, \
fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-03 03:20:00:000, 2026-12-03 03:20:15:000, 732.4219, 48.8281, 1500000, 100000.0000, 3000, 12000, \
61.0352, 125000.0000
"""


def test_the_bound_of_a_copy_is_the_harmonic_combination_of_producing_and_consuming() -> None:
    assert harmonic_bound(100_000, 100_000) == pytest.approx(50_000)
    assert harmonic_bound(60_000, 120_000) == pytest.approx(40_000)
    with pytest.raises(ValueError, match="rates must be positive"):
        harmonic_bound(0, 1)


def test_the_sustained_rate_leaves_out_the_start_and_the_tail() -> None:
    # 20 s of nothing (connectors starting), then 10,000 records/s, then a slow tail.
    progress = [(0.0, 0), (20.0, 0), (30.0, 100_000), (40.0, 200_000), (60.0, 210_000)]
    assert crossing_time(progress, 50_000) == pytest.approx(25.0)
    assert sustained_rate(progress, 200_000, 0.1, 0.9) == pytest.approx(10_000)
    with pytest.raises(ValueError, match="never reached 300,000"):
        crossing_time(progress, 300_000)


def test_a_ratio_is_measured_over_baseline_and_met_against_its_direction() -> None:
    assert Ratio("B1", "copy", 46_000, 96_000, 0.8, True).met is False
    assert Ratio("B3", "pause", 1.1, 1.0, 1.2, False).met is True
    assert math.isnan(Ratio("B5", "preview", 1.0, 0.0, 1.2, False).value)


def test_interval_rates_are_records_per_second_between_samples() -> None:
    assert interval_rates([(0.0, 0), (2.0, 1000), (2.0, 1000), (4.0, 5000)]) == [(2.0, 500.0), (4.0, 2000.0)]


def test_the_producer_tools_last_summary_line_is_its_result() -> None:
    rate = parse_producer_output(PRODUCER_OUT)
    assert (rate.records, rate.records_per_s, rate.mb_per_s) == (1_500_000, pytest.approx(95057.034221), 46.41)
    with pytest.raises(ValueError, match="no summary line"):
        parse_producer_output("Exception in thread main")


def test_the_consumer_tools_fetch_rate_leaves_out_the_group_join() -> None:
    rate = parse_consumer_output(CONSUMER_OUT)
    assert (rate.records, rate.records_per_s, rate.mb_per_s) == (1_500_000, 125_000.0, pytest.approx(61.0352))
    with pytest.raises(ValueError, match="no statistics"):
        parse_consumer_output("start.time, end.time\n")


def test_cpu_use_counts_busy_cores_and_each_process_share() -> None:
    busy, total = parse_machine_ticks("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n")
    assert (busy, total) == (150, 1000)
    assert parse_process_ticks("4242 (java main) S 1 2 3 4 5 6 7 8 9 10 300 45 0 0 20 0") == 345
    before = CpuTicks(150, 1000, {"connect-1": 345, "gone": 10})
    after = CpuTicks(150 + 180, 1000 + 200, {"connect-1": 345 + 90, "gone": 0})  # 100 ticks per core elapsed
    use = cpu_use(before, after, cores=2)
    assert use.busy_cores == pytest.approx(1.8) and use.saturated
    assert use.process_cores == {"connect-1": pytest.approx(0.9), "gone": 0}
    assert use.describe().startswith("1.80 of 2 cores busy (connect-1 0.90")
    with pytest.raises(ValueError, match="same moment"):
        cpu_use(before, before, cores=2)


def test_b5_says_how_many_resources_each_preview_registers_and_the_time_per_resource() -> None:
    ratio = Ratio("B5", "preview", measured=70.0, baseline=10.0, target=1.2, higher_is_better=False)
    cause = b5_cause(ratio, {"migration": 7000, "bare": 1000})
    assert "registers 7,000 resources against 1,000" in cause and "takes 1.00x the bare program's" in cause


BUSY = CpuUse(2, 30.0, 1.95, {"connect": 0.9})


def test_b2_is_the_latency_mm2_adds_at_p99_against_its_producer_linger() -> None:
    blue = Latencies(tuple(float(n % 50) for n in range(1000)))  # p99 49 ms
    green = Latencies(tuple(float(n % 50) + 30 for n in range(1000)))  # 30 ms more on every record
    ratio = b2_ratio(LatencyRun(1000, 30.0, 1000, blue, green, BUSY), mm2_linger_ms=20)
    assert ratio.difference and ratio.value == pytest.approx(30.0) and ratio.target == 40.0
    assert ratio.met is True and ratio.cause == ""
    slow = Latencies(tuple(float(n % 50) + (900 if n % 50 == 49 else 30) for n in range(1000)))
    missed = b2_ratio(LatencyRun(1000, 30.0, 1000, blue, slow, BUSY), mm2_linger_ms=20)
    assert missed.met is False and "30 ms at the median" in missed.cause and "1.95 of 2 cores busy" in missed.cause
    assert math.isnan(Latencies((1.0,) * 99).p99)  # fewer records than a percentile needs


def walk(pauses: list[ConsumerPause]) -> MigrationRun:
    phases = [
        PhaseSpan("replicating", 0.0, 100.0),
        PhaseSpan("consumers-switched (consumerWaves=1)", 100.0, 150.0),
        PhaseSpan("decommissioned", 150.0, 190.0),
    ]
    return MigrationRun(phases, pauses, 0, dwell_s=4.0, soak_s=30.0, idle_window_s=5.0, backlog=48_000)


def test_b3_sets_handoff_pauses_during_consumer_waves_against_plain_restarts() -> None:
    run = walk(
        [
            ConsumerPause("billing", 50.0, 1.0, "restart"),
            ConsumerPause("analytics", 51.0, 3.0, "restart"),
            ConsumerPause("billing", 110.0, 4.0, "move"),
            ConsumerPause("analytics", 112.0, 6.0, "move"),
            ConsumerPause("billing", 60.0, 9.0, "crash"),  # neither kind
            ConsumerPause("billing", 160.0, 9.0, "move"),  # not during a consumer wave
        ]
    )
    assert run.pause_samples() == {RESTART: [1.0, 3.0], HANDOFF: [4.0, 6.0]}
    ratio = b3_ratio(run)
    assert (ratio.measured, ratio.baseline, ratio.value) == (5.0, 2.0, 2.5)
    assert ratio.met is False and "median 5.0 s, at most 6.0 s" in ratio.cause
    with pytest.raises(RuntimeError, match="0 restart"):
        b3_ratio(walk([ConsumerPause("billing", 110.0, 4.0, "move")]))


def test_b6_sets_the_walk_against_copying_the_backlog_and_the_configured_waits() -> None:
    run = walk([])
    # 190 s of walk; 48,000 records at 48,000/s is 1 s; waits: 4 s x 3 steps + 30 s soak + 5 s idle window.
    ratio = b6_ratio(run, b1_rate=48_000)
    assert (ratio.measured, ratio.baseline) == (190.0, 48.0)
    assert ratio.met is False and "178 s, median 46 s a step" in ratio.cause


def test_b4_reads_the_ratio_at_the_largest_size_and_growth_against_the_partitions() -> None:
    small = GateTiming(1_000, 10.0, 2.0, {"data parity": 6.0}, {"records": 1.0, "offsets": 1.0}, 40, 30.0, 1_000)
    large = GateTiming(
        10_000,
        150.0,
        10.0,
        {"data parity": 120.0, "flows (lag, heartbeats, MM2)": 25.0},
        {"records": 6.0},
        40,
        90.0,
        9_990,
    )
    b4, growth = b4_ratios([small, large])
    assert (b4.value, b4.met) == (15.0, False)
    assert b4.cause.startswith("the gates' slowest reads: data parity 120.0 s, flows (lag, heartbeats, MM2) 25.0 s")
    assert "the raw reads of the same data: records 6.0 s" in b4.cause
    assert b4.raw["gates data parity s"] == 120.0
    assert (growth.value, growth.met) == (1.5, False)  # 15x the time for 10x the partitions
    fast = GateTiming(10_000, 12.0, 10.0, {}, {}, 40, 90.0, 10_000)
    b4, growth = b4_ratios([small, fast])
    assert (b4.met, b4.cause, growth.met) == (True, "", True)
