"""`read_many` refuses a batch that names a partition twice (one assignment holds one position per partition)."""

from __future__ import annotations

import pytest

from kafka_migration.evidence.clients import committed_reader
from kafka_migration.evidence.partition_reads import ReadRequest, read_many


def test_a_partition_asked_for_twice_in_one_read_is_refused() -> None:
    consumer = committed_reader({"bootstrap.servers": "127.0.0.1:9", "log_level": 0}, "test")
    try:
        with pytest.raises(ValueError, match="one request per partition"):
            read_many(consumer, [ReadRequest("t", 0, 0, 1), ReadRequest("t", 0, 5, 1)], 1)
    finally:
        consumer.close()
