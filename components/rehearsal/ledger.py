"""The ledger: everything the workload's clients do, recorded for `rehearsal.checker` to judge afterwards.

Producer and consumer threads write to one `Ledger` at the same time; the checker reads a
consistent `snapshot()` of it, and the report keeps it as JSON lines.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from kafka_migration.rehearsal.checker import (
    AttemptedRecord,
    ConsumedRecord,
    ConsumerPause,
    LedgerData,
    ProducedRecord,
    per_second,
)


class Ledger:
    """Thread-safe record of every attempted, acknowledged, consumed record and every consumer pause."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempted: dict[str, AttemptedRecord] = {}
        self._produced: list[ProducedRecord] = []
        self._consumed: list[ConsumedRecord] = []
        self._pauses: list[ConsumerPause] = []
        self._aborted: set[str] = set()
        self._attempts = 0

    def add_attempt(self, record: AttemptedRecord, *, queued: bool = True) -> None:
        """A produce call for `record` (a re-send keeps its id); `queued` False if the client refused it (queue full).

        A refused call still makes the record attempted, since the application wanted it
        sent, but is not counted in `attempts`, which counts what the producer took.
        """
        with self._lock:
            self._attempted.setdefault(record.id, record)
            if queued:
                self._attempts += 1

    def add_produced(self, record: ProducedRecord) -> None:
        with self._lock:
            self._produced.append(record)

    def add_consumed(self, record: ConsumedRecord) -> None:
        with self._lock:
            self._consumed.append(record)

    def add_pause(self, pause: ConsumerPause) -> None:
        with self._lock:
            self._pauses.append(pause)

    def add_aborted(self, ids: Iterable[str]) -> None:
        """Ids of records in a transaction their producer aborted on purpose (never re-sent)."""
        with self._lock:
            self._aborted.update(ids)

    def snapshot(self) -> LedgerData:
        """A consistent copy of everything recorded so far."""
        with self._lock:
            return LedgerData(
                tuple(self._produced),
                tuple(self._consumed),
                tuple(self._pauses),
                self._attempts,
                frozenset(self._aborted),
                tuple(self._attempted.values()),
            )

    def traffic(self) -> dict[str, list[tuple[float, float]]]:
        """Cluster alias -> (epoch second, acknowledged records), zero-filled over the whole run."""
        return per_second((p.cluster, p.acked_at) for p in self.snapshot().produced)

    def dump_jsonl(self, path: Path) -> None:
        """A JSON object per line, `kind` attempted, produced, consumed, pause or aborted (an id); then a summary."""
        data = self.snapshot()
        with path.open("w") as out:
            kinds = (
                ("attempted", data.attempted),
                ("produced", data.produced),
                ("consumed", data.consumed),
                ("pause", data.pauses),
            )
            for kind, records in kinds:
                for r in records:
                    out.write(json.dumps({"kind": kind, **asdict(r)}) + "\n")
            for record_id in sorted(data.aborted):
                out.write(json.dumps({"kind": "aborted", "id": record_id}) + "\n")
            out.write(json.dumps({"kind": "summary", "attempts": data.attempts}) + "\n")
