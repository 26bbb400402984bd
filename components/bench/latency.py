"""B2: how long a record takes from blue to a reader on green, against a reader on blue itself.

One producer writes records stamped with their send time to a topic on blue at a fixed rate;
one consumer reads that topic on blue (the baseline: produce and read on blue alone) and one
reads MM2's copy on green, both at the same time, so both share whatever load the machine
carries. Each client runs in a process of its own (one interpreter each: a shared one would
put the GIL between them). A record's latency is the reader's clock at arrival minus the
stamp: one machine, one clock.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from multiprocessing.synchronize import Event

from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_migration.bench.cpu import CpuUse, cpu_use, read_ticks
from kafka_migration.bench.ratios import Ratio

SIDES = ("blue", "green")
WARM_UP_S = 5.0
"""Records sent in the first seconds are left out: the readers' first fetches and the producer's first batches."""


@dataclass(frozen=True)
class Latencies:
    """Milliseconds from send to arrival of every record a reader got after the warm-up."""

    ms: tuple[float, ...]

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.ms, n=100)[98] if len(self.ms) >= 100 else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")


@dataclass(frozen=True)
class LatencyRun:
    """B2's measurement: both readers' latencies, the rate and how many records were sent."""

    rate_per_s: int
    seconds: float
    sent: int
    on_blue: Latencies
    on_green: Latencies
    cpu: CpuUse
    """Where the CPU went while the producer sent."""


def measure(
    blue: str,
    green: str,
    topic: str,
    copy: str,
    partitions: int,
    rate: int,
    seconds: float,
    pids: Mapping[str, int],
) -> LatencyRun:
    """Send `rate` records/s to `topic` on blue for `seconds`, read them there and as `copy` on green.

    MM2 must already copy `topic` (its copy exists on green). Each reader starts at its
    partitions' ends and signals when it is assigned; the producer starts after both. The CPU
    of `pids` (the brokers, the Connect worker) and of the three clients is read around the send.
    """
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ready = [context.Event(), context.Event()]
    sent_total = int(rate * seconds)
    readers = [
        context.Process(target=_read, args=(side, bootstrap, name, partitions, sent_total, seconds, ready[k], results))
        for k, (side, bootstrap, name) in enumerate(zip(SIDES, (blue, green), (topic, copy), strict=True))
    ]
    for reader in readers:
        reader.start()
    try:
        for event in ready:
            if not event.wait(60):
                raise TimeoutError("a B2 reader was not assigned its partitions within 60 s")
        clients = {
            "B2 producer": os.getpid(),
            **{f"B2 reader {s}": r.pid or 0 for s, r in zip(SIDES, readers, strict=True)},
        }
        before = read_ticks({**pids, **clients})
        sent = _send(blue, topic, rate, seconds)
        cpu = cpu_use(before, read_ticks({**pids, **clients}))
        got = dict(results.get(timeout=seconds + 180) for _ in readers)
    finally:
        for reader in readers:
            reader.join(timeout=10)
            if reader.is_alive():
                reader.kill()
    return LatencyRun(rate, seconds, sent, Latencies(got["blue"]), Latencies(got["green"]), cpu)


def _send(bootstrap: str, topic: str, rate: int, seconds: float) -> int:
    """Records stamped with `time.time_ns()` at send, paced to `rate` per second; the count sent."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    started, sent = time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = min(int(elapsed * rate), int(rate * seconds))
        while sent < due:
            producer.produce(topic, value=b"%d" % time.time_ns())
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    if producer.flush(60) != 0:
        raise RuntimeError("B2's producer still had unacknowledged records 60 s after its last send")
    return sent


def _read(
    side: str, bootstrap: str, topic: str, partitions: int, expected: int, seconds: float, ready: Event, out: object
) -> None:
    """Read `topic` from its ends until `expected` records arrived (or the time is up); put (side, latencies)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"kafkamig-bench-b2-{side}"})
    latencies: list[float] = []
    try:
        ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)]
        consumer.assign([TopicPartition(topic, p, end) for p, end in enumerate(ends)])
        ready.set()
        first_counted = time.time_ns() + int(WARM_UP_S * 1e9)
        got, deadline = 0, time.monotonic() + seconds + 120
        while got < expected and time.monotonic() < deadline:
            # One record as soon as it arrives, then whatever is already fetched: a batch call with a
            # timeout would hold the first record until the batch is full.
            first = consumer.poll(0.5)
            for msg in [first, *consumer.consume(1000, timeout=0)] if first is not None else []:
                arrived = time.time_ns()
                value = msg.value()
                if msg.error() or value is None:
                    continue
                got += 1
                stamp = int(value)
                if stamp >= first_counted:
                    latencies.append((arrived - stamp) / 1e6)
    finally:
        consumer.close()
    out.put((side, tuple(latencies)))  # type: ignore[attr-defined]


def b2_ratio(run: LatencyRun, mm2_linger_ms: int) -> Ratio:
    """B2: p99 on green minus p99 on blue, against MM2's producer linger + 20 ms."""
    blue, green = run.on_blue, run.on_green
    ratio = Ratio(
        "B2",
        "p99 latency blue->green (through MM2) - p99 produce-and-read on blue alone, ms, at half B1's MM2 rate",
        green.p99,
        blue.p99,
        mm2_linger_ms + 20.0,
        False,
        {
            "rate_per_s": run.rate_per_s,
            "seconds": run.seconds,
            "records_sent": run.sent,
            "records_timed_on_blue": len(blue.ms),
            "records_timed_on_green": len(green.ms),
            "blue_p50_ms": round(blue.p50, 1),
            "blue_p99_ms": round(blue.p99, 1),
            "green_p50_ms": round(green.p50, 1),
            "green_p99_ms": round(green.p99, 1),
            "mm2_producer_linger_ms": mm2_linger_ms,
        },
        difference=True,
    )
    if ratio.met is not False:
        return ratio
    added = run.on_green.p50 - run.on_blue.p50
    return replace(
        ratio,
        cause=(
            f"MM2's hop adds {added:.0f} ms at the median (its producer's linger.ms={mm2_linger_ms} is most of it) and "
            f"{ratio.value:.0f} ms at p99; blue alone has a tail too (p99 {run.on_blue.p99:.0f} ms, median "
            f"{run.on_blue.p50:.0f} ms); while the records were sent: {run.cpu.describe()}"
        ),
    )
