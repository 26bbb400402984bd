"""B4: every gate evaluated over many partitions, against the raw admin and consumer calls that read the same data.

On a pair of single-node clusters started for it, MM2 (one Connect worker, the migration's
connector configs) copies topics of 100 partitions with a few records in each. Once every
partition is copied and synced, two things read the clusters:

- the gates: blue's inventory, then `Collector.collect` for every gate of `Gate`, then every
  step's verdicts judged from that evidence (what `pulumi preview` does at each step, all at once);
- the raw baseline: the same data read with as few calls as the client library allows (both
  inventories; every partition's log start, stable end and first offset by time in one
  `list_offsets` call each; the offset-syncs and heartbeats once; every partition's records in
  one pass of one consumer per cluster; the groups, connectors and metrics once).

Both run at 1,000 and 10,000 partitions: the ratio at 10,000, and how the gates' time grows.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from kafka_migration.bench.ratios import Ratio
from kafka_migration.bench.replication import STRATEGY, BenchClusters, CopySettings, connect_group, start_copy
from kafka_migration.config.clients import ClientRole
from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.clients import client_config
from kafka_migration.evidence.collect import Collector, timed
from kafka_migration.evidence.connect_rest import ConnectClient
from kafka_migration.evidence.inventory import read_inventory
from kafka_migration.evidence.metrics import scrape
from kafka_migration.evidence.partition_reads import list_offsets
from kafka_migration.evidence.records import offset_of, partition_of
from kafka_migration.evidence.topics import latest_timestamp_ms, read_offset_syncs
from kafka_migration.planning.gates import Gate, evaluate, known_topic_ids
from kafka_migration.planning.local_processes import Mm2Endpoints
from kafka_migration.planning.naming import ConnectorKind, connector_name, offset_syncs_topic, remote_topic
from kafka_migration.planning.phases import config_steps

PARTITIONS_PER_TOPIC = 100
RECORDS_PER_PARTITION = 10
SIZES = (1_000, 10_000)
CONSUMER_CLIENTS = 10
"""Consumer client groups in the benchmark's stack config (their groups are described on blue)."""
READ_TIMEOUT_S = 120.0
"""The gates' per-read bound; longer than a stack's default, so a slow read is measured, not cut off."""
COPY_TIMEOUT_S = 900.0
SYNCS_STEADY_S = 20.0


@dataclass(frozen=True)
class GateTiming:
    """One size: the gates' evaluation and the raw reads of the same data, each with its parts."""

    partitions: int
    gates_s: float
    raw_s: float
    gate_parts: dict[str, float]
    raw_parts: dict[str, float]
    verdicts: int
    copied_s: float
    """How long MM2 took to copy and sync every partition before the measurement (not measured by B4)."""
    synced: int
    """Partitions whose offset-syncs reached their last record (the gates read the rest as not yet copied)."""


def run(progress: Callable[[str], None], sizes: tuple[int, ...] = SIZES) -> list[GateTiming]:
    """B4's measurements, one per size, on clusters of their own."""
    clusters = BenchClusters()
    try:
        return [_measure(clusters, size, progress) for size in sizes]
    finally:
        clusters.close()


def _measure(clusters: BenchClusters, partitions: int, progress: Callable[[str], None]) -> GateTiming:
    prefix = f"b4-{partitions}-"
    topics = {f"{prefix}{i:03d}": PARTITIONS_PER_TOPIC for i in range(math.ceil(partitions / PARTITIONS_PER_TOPIC))}
    progress(f"B4 at {partitions:,} partitions: creating and seeding {len(topics)} topics")
    blue_conf = {"bootstrap.servers": clusters.blue.bootstrap_servers}
    green_conf = {"bootstrap.servers": clusters.green.bootstrap_servers}
    _create(blue_conf, topics)
    # The stack's topic mirror creates green's copies, one resource per topic. MM2 would create them all in one
    # request, which KRaft refuses beyond 10,000 partitions ("excessively large batch operation"), at every refresh.
    _create(green_conf, _copies(topics))
    _seed(blue_conf, topics)
    settings = CopySettings()
    with connect_group(clusters, f"bench-{prefix}", 1, settings) as [worker]:
        started = time.monotonic()
        start_copy(clusters, worker, f"{prefix}.*", settings)
        progress(f"B4 at {partitions:,} partitions: MM2 copying and syncing every partition")
        synced = _wait_copied(blue_conf, green_conf, topics)
        copied_s = time.monotonic() - started
        cfg = _stack_config(clusters, prefix, sorted(topics))
        endpoints = Mm2Endpoints(worker.url, (worker.metrics_url,), worker.rest_credentials_file)
        progress(f"B4 at {partitions:,} partitions: evaluating every gate")
        gates_s, gate_parts, verdicts = _time_gates(cfg, endpoints)
        progress(f"B4 at {partitions:,} partitions: the raw reads")
        raw_parts = _raw_reads(cfg, endpoints, blue_conf, green_conf, topics)
    raw_s = sum(raw_parts.values())
    return GateTiming(partitions, gates_s, raw_s, gate_parts, raw_parts, verdicts, copied_s, synced)


def _copies(topics: dict[str, int]) -> dict[str, int]:
    """Green's copy of each of blue's `topics` (`A.<topic>`), with its partitions."""
    return {remote_topic(STRATEGY, "A", t): n for t, n in topics.items()}


def _create(conf: dict[str, Any], topics: dict[str, int], per_request: int = 10) -> None:
    """Topics created `per_request` at a time (KRaft refuses a request of more than 10,000 records)."""
    admin = AdminClient(conf)
    names = sorted(topics)
    for chunk in (names[i : i + per_request] for i in range(0, len(names), per_request)):
        new = [NewTopic(name, topics[name], 1) for name in chunk]
        for future in admin.create_topics(new, request_timeout=300).values():
            future.result(timeout=300)


SeedRecord = tuple[str, int, int]
"""A seed record: topic, partition and its number in the partition."""


def _seed(conf: dict[str, Any], topics: dict[str, int], attempts: int = 5) -> None:
    """`RECORDS_PER_PARTITION` small records in every partition; records refused (a partition not known yet) again."""
    producer = Producer({**conf, "linger.ms": 20, "enable.idempotence": True, "log_level": 0})
    pending = [(t, p, n) for t, count in topics.items() for p in range(count) for n in range(RECORDS_PER_PARTITION)]
    refused: dict[SeedRecord, str] = {}
    for _ in range(attempts):
        refused.clear()
        for record in pending:
            topic, partition, n = record
            value = f"{topic}/{partition}/{n}".encode()
            try:
                producer.produce(topic, value, partition=partition, on_delivery=partial(_note_refusal, refused, record))
            except KafkaException as err:  # a topic created a moment ago, not yet in the producer's metadata
                refused[record] = str(err)
            producer.poll(0)
        if producer.flush(120) != 0:
            raise RuntimeError("B4's seed records were still unacknowledged after 120 s")
        if not refused:
            return
        pending = list(refused)
        time.sleep(2)
    raise RuntimeError(f"B4's seed: {len(refused):,} records refused {attempts} times: {sorted(set(refused.values()))}")


def _note_refusal(refused: dict[SeedRecord, str], record: SeedRecord, err: KafkaError | None, _msg: Message) -> None:
    if err is not None:
        refused[record] = str(err)


def _wait_copied(blue_conf: dict[str, Any], green_conf: dict[str, Any], topics: dict[str, int]) -> int:
    """Until green holds every record and blue's offset-syncs stop growing: the partitions synced to their end.

    MM2 fires at most a few offset-syncs at once and keeps the rest pending until its next
    records or offset commit, so once the copy is idle a few partitions may stay unsynced.
    """
    copies = _copies(topics)
    want = sum(topics.values()) * RECORDS_PER_PARTITION
    deadline = time.monotonic() + COPY_TIMEOUT_S
    synced, steady_since = -1, time.monotonic()
    while True:
        try:
            on_green = sum(_ends(green_conf, copies).values())
            syncs = read_offset_syncs(blue_conf, offset_syncs_topic("B"), READ_TIMEOUT_S)
        except KafkaException:  # copies created a moment ago may have no leader yet
            on_green, syncs = 0, {}
        last = RECORDS_PER_PARTITION - 1
        now_synced = sum(1 for k, h in syncs.items() if k.topic in topics and h.syncs[-1].upstream >= last)
        if now_synced != synced:
            synced, steady_since = now_synced, time.monotonic()
        steady = time.monotonic() - steady_since > SYNCS_STEADY_S
        if on_green >= want and (synced == sum(topics.values()) or steady):
            return synced
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"B4: after {COPY_TIMEOUT_S:.0f} s green held {on_green:,} of {want:,} records and "
                f"{synced:,} of {sum(topics.values()):,} partitions were synced to their end"
            )
        time.sleep(2)


def _partitions(topics: dict[str, int]) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t, n in sorted(topics.items()) for p in range(n)]


def _list_offsets(conf: dict[str, Any], topics: dict[str, int], spec: OffsetSpec) -> dict[tuple[str, int], int]:
    """One ListOffsets request set for every partition of `topics`, as a `read_committed` reader sees them."""
    return list_offsets(conf, [(tp.topic, tp.partition) for tp in _partitions(topics)], spec, READ_TIMEOUT_S)


def _ends(conf: dict[str, Any], topics: dict[str, int]) -> dict[tuple[str, int], int]:
    return _list_offsets(conf, topics, OffsetSpec.latest())


def _stack_config(clusters: BenchClusters, prefix: str, topics: list[str]) -> MigrationConfig:
    """A stack config naming the benchmark's clusters, topics and a few consumer clients."""
    clients = [
        {"name": f"reader-{i}", "role": ClientRole.CONSUMER.value, "wave": 1, "topics": [topics[i % len(topics)]]}
        for i in range(CONSUMER_CLIENTS)
    ]
    return MigrationConfig.model_validate(
        {
            "strategy": STRATEGY.value,
            "blue": {"alias": "A", "bootstrapServers": clusters.blue.bootstrap_servers, "brokers": 1},
            "green": {"alias": "B", "bootstrapServers": clusters.green.bootstrap_servers, "brokers": 1},
            "topics": {"include": [f"{prefix}.*"]},
            "clients": clients,
            "gates": {"readTimeoutSeconds": READ_TIMEOUT_S},
        }
    )


def _time_gates(cfg: MigrationConfig, endpoints: Mm2Endpoints) -> tuple[float, dict[str, float], int]:
    """Seconds to read blue, collect every gate's evidence and judge every step; the parts; the verdicts made."""
    started = time.perf_counter()
    blue = read_inventory(client_config(cfg.blue), READ_TIMEOUT_S)
    inventory_s = time.perf_counter() - started
    collector = Collector(cfg, endpoints)
    flows = [f"{cfg.blue.alias}->{cfg.green.alias}"]
    evidence = collector.collect(blue, list(Gate), flows, known_topic_ids(cfg, None, blue), [])
    judge_started = time.perf_counter()
    steps = config_steps(cfg)
    verdicts = sum(len(evaluate(cfg, a, b, evidence)) for a, b in itertools.pairwise(steps))
    elapsed = time.perf_counter() - started
    parts = {"blue inventory": inventory_s, **collector.read_seconds, "judging": time.perf_counter() - judge_started}
    return elapsed, parts, verdicts


def _raw_reads(
    cfg: MigrationConfig,
    endpoints: Mm2Endpoints,
    blue_conf: dict[str, Any],
    green_conf: dict[str, Any],
    topics: dict[str, int],
) -> dict[str, float]:
    """The data the gates read, each piece read once with the fewest calls; seconds per piece."""
    copies = _copies(topics)
    since_ms = int((time.time() - cfg.gates.idle_window_seconds) * 1000)
    parts: dict[str, float] = {}
    with timed(parts, "inventories"):
        read_inventory(blue_conf, READ_TIMEOUT_S)
        read_inventory(green_conf, READ_TIMEOUT_S)
    with timed(parts, "offsets"):
        for conf, names in ((blue_conf, topics), (green_conf, copies)):
            _list_offsets(conf, names, OffsetSpec.earliest())
            _list_offsets(conf, names, OffsetSpec.latest())
        _list_offsets(blue_conf, topics, OffsetSpec.for_timestamp(since_ms))
    with timed(parts, "offset-syncs and heartbeats"):
        read_offset_syncs(blue_conf, offset_syncs_topic("B"), READ_TIMEOUT_S)
        latest_timestamp_ms(green_conf, "A.heartbeats", READ_TIMEOUT_S)
    with timed(parts, "records"):
        _read_every_record(blue_conf, topics)
        _read_every_record(green_conf, copies)
    with timed(parts, "groups, connectors, metrics"):
        ids = [c.consumer_group_id for c in cfg.clients_of(ClientRole.CONSUMER)]
        admin = AdminClient(blue_conf)  # held while its futures resolve
        for future in admin.describe_consumer_groups(ids, request_timeout=READ_TIMEOUT_S).values():
            future.result(timeout=READ_TIMEOUT_S)
        client = ConnectClient(endpoints.connect_url, READ_TIMEOUT_S, endpoints.rest_credentials_file)
        for kind, (source, target) in itertools.product(ConnectorKind, [("A", "B")]):
            client.status(connector_name(source, target, kind))
        for url in endpoints.metrics_urls:
            scrape(url, READ_TIMEOUT_S)
    return parts


def _read_every_record(conf: dict[str, Any], topics: dict[str, int]) -> None:
    """Every committed record of every partition of `topics`, read by one consumer in one pass."""
    ends = _ends(conf, topics)
    consumer = Consumer(
        {**conf, "group.id": "kafkamig-bench-b4", "enable.auto.commit": False, "isolation.level": "read_committed"}
    )
    pending = {key for key, end in ends.items() if end > 0}
    try:
        consumer.assign([TopicPartition(t, p, 0) for t, p in sorted(ends)])
        deadline = time.monotonic() + READ_TIMEOUT_S
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"B4's raw read left {len(pending)} partitions unread after {READ_TIMEOUT_S:.0f} s")
            for msg in consumer.consume(10_000, timeout=1):
                if msg.error():
                    continue
                key = (msg.topic() or "", partition_of(msg))
                if offset_of(msg) + 1 >= ends.get(key, 0):
                    pending.discard(key)
    finally:
        consumer.close()


def b4_ratios(timings: list[GateTiming]) -> list[Ratio]:
    """B4 at the largest size (gates over raw reads) and the gates' growth from the smallest size to it."""
    small, large = timings[0], timings[-1]
    raw: dict[str, float | int | str] = {
        "partitions": large.partitions,
        "partitions_per_topic": PARTITIONS_PER_TOPIC,
        "records_per_partition": RECORDS_PER_PARTITION,
        "verdicts_judged": large.verdicts,
        "mm2_copy_and_sync_s": round(large.copied_s, 1),
        "partitions_synced_to_their_end": large.synced,
        **{f"gates {k} s": round(v, 2) for k, v in large.gate_parts.items()},
        **{f"raw {k} s": round(v, 2) for k, v in large.raw_parts.items()},
    }
    ratio = Ratio(
        "B4",
        f"every gate evaluated over {large.partitions:,} partitions / the raw calls reading the same data",
        large.gates_s,
        large.raw_s,
        1.5,
        False,
        raw,
    )
    ratio = replace(ratio, cause="" if ratio.met else b4_cause(large))
    scale = large.partitions / small.partitions
    growth = Ratio(
        "B4 growth",
        f"gates' time at {large.partitions:,} / at {small.partitions:,} partitions, over {scale:g} (1 = linear)",
        large.gates_s / small.gates_s,
        scale,
        1.2,
        False,
        {
            f"gates_s_at_{small.partitions}": round(small.gates_s, 2),
            f"gates_s_at_{large.partitions}": round(large.gates_s, 2),
            f"raw_s_at_{small.partitions}": round(small.raw_s, 2),
            f"raw_s_at_{large.partitions}": round(large.raw_s, 2),
        },
    )
    return [ratio, growth]


def b4_cause(timing: GateTiming, shown: int = 3) -> str:
    """Where the gates' time went (their slowest reads) against the raw reads of the same data."""
    slowest = sorted(timing.gate_parts.items(), key=lambda kv: -kv[1])[:shown]
    raw = ", ".join(f"{k} {v:.1f} s" for k, v in timing.raw_parts.items())
    return (
        "the gates' slowest reads: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in slowest)
        + f"; the raw reads of the same data: {raw}"
    )
