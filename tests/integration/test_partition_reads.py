"""Many partitions read at once (evidence/partition_reads.py) give what reading each alone gives, on a real broker.

The gates read thousands of partitions this way (B4 in the README): a read that stopped
early, took a record twice or ran past its bound would change a verdict.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import OffsetSpec

from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.partition_reads import ReadRequest, list_offsets, read_many, watermarks
from kafka_migration.evidence.records import offset_of
from kafka_migration.evidence.topics import partition_watermarks
from kafka_migration.planning.placement import Watermark
from tests.helpers import create_topic

pytestmark = pytest.mark.integration
PARTITIONS = 40


def test_reads_of_many_partitions_end_at_their_limit_stop_or_end_and_leave_out_what_the_cluster_cannot_answer(
    kafka_cluster,
) -> None:
    node = kafka_cluster("reads")
    conf = {"bootstrap.servers": node.bootstrap_servers}
    create_topic(node.bootstrap_servers, "wide", PARTITIONS)
    producer = Producer(conf)
    for p in range(PARTITIONS):
        for i in range(p % 7):  # partition p holds p % 7 records: some empty, none alike
            producer.produce("wide", value=f"{p}-{i}".encode(), partition=p)
    assert producer.flush(30) == 0
    keys = [("wide", p) for p in range(PARTITIONS)]

    marks = watermarks(conf, [*keys, ("missing", 0)], 10)
    assert marks == {key: Watermark(0, key[1] % 7) for key in keys}, "a missing topic is left out, not guessed"
    assert partition_watermarks(conf, {"wide", "missing"}) == marks
    assert list_offsets(conf, keys, OffsetSpec.latest(), 10) == {key: key[1] % 7 for key in keys}

    requests = [
        ReadRequest("wide", p, start=1, limit=3, stop=5 if p % 2 else None) for p in range(PARTITIONS) if p % 7
    ] + [ReadRequest("wide", 0, start=0, limit=0)]
    consumer = committed_reader(conf, "test")
    try:
        done = read_many(consumer, requests, 10)
        again = read_many(consumer, requests, 10)  # the same consumer, the same partitions: nothing left over
    finally:
        consumer.close()

    for result in (done, again):
        assert set(result) == set(requests), "every read finished: at its limit, its stop or the partition's end"
        for request, records in result.items():
            held = request.partition % 7
            last = min(held, request.stop or held, request.start + request.limit) if request.limit else request.start
            values = [(offset_of(m), (m.value() or b"").decode()) for m in records]
            assert values == [(o, f"{request.partition}-{o}") for o in range(request.start, last)], request
