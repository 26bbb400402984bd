"""The workload's producer clients: keyed records at a steady rate, following their routing document.

A record that fails is re-sent unchanged (same id) on whatever cluster the producer uses
next, so the checker can tell a loss from a re-send; the transactional producer also aborts
transactions on purpose, whose records a read_committed consumer must never see.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.checker import AttemptedRecord, ProducedRecord
from kafka_migration.rehearsal.identities import ClientCredentials
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.routed_client import REFRESH_S, Route, RoutedClient, Routes

log = logging.getLogger(__name__)

MESSAGE_TIMEOUT_MS = 30_000
"""Default for a delivery not acknowledged by then to fail and be re-sent (librdkafka's is 5 minutes)."""
DEFAULT_RECORD_BYTES = 1024
"""Default size a producer pads each record's value to."""
TRANSACTION_S = 0.5
"""A transactional producer starts a transaction at most this often (a few records each)."""
TRANSACTION_TIMEOUT_S = 30.0
"""Bound on `init_transactions`, commit and abort calls."""


@dataclass(frozen=True)
class _Outgoing:
    """A record before its acknowledgement; a re-send reuses it unchanged."""

    id: str
    producer: str
    topic: str
    key: str
    seq: int
    produced_at: float
    size: int
    """The value is padded to this many bytes (no padding when its fields alone are as long)."""

    def value(self) -> bytes:
        """JSON: id, producer, key, seq, ts, and a `pad` of hex digits derived from the id (the same on a re-send)."""
        ts = int(self.produced_at * 1000)
        body = {"id": self.id, "producer": self.producer, "key": self.key, "seq": self.seq, "ts": ts}
        text = json.dumps(body)
        room = self.size - len(text) - len(', "pad": ""')
        if room <= 0:
            return text.encode()
        pad = hashlib.shake_128(self.id.encode()).hexdigest((room + 1) // 2)[:room]
        return json.dumps({**body, "pad": pad}).encode()


class ProducerClient(RoutedClient):
    """Produces keyed records of about `record_bytes` to every topic of its document, `rate_per_s` per topic.

    On a change of cluster, or when paused, it flushes until every record is acknowledged
    or failed, then closes and reconnects. Failed records are re-sent, unchanged, on
    whatever cluster the producer uses next.
    """

    def __init__(
        self,
        name: str,
        routing_dir: Routes,
        keys: Sequence[str],
        rate_per_s: float,
        ledger: Ledger,
        *,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        message_timeout_ms: int = MESSAGE_TIMEOUT_MS,
        stop_timeout_s: float = 60,
        credentials: ClientCredentials | None = None,
    ) -> None:
        super().__init__(name, routing_dir, ledger, credentials=credentials)
        if not keys or rate_per_s <= 0:
            raise ValueError(f"producer {name} needs keys and a positive rate, got {keys!r} at {rate_per_s}/s")
        if record_bytes < 0:
            raise ValueError(f"producer {name}: record_bytes must be 0 (no padding) or positive, not {record_bytes}")
        self._keys = tuple(keys)
        self._interval = 1 / rate_per_s
        self._record_bytes = record_bytes
        self._message_timeout_ms = message_timeout_ms
        self._stop_timeout_s = stop_timeout_s
        self._producer: Producer | None = None
        self._target: tuple[str, str, str] | None = None
        self._doc: RoutingDocument | None = None
        self._next_due: dict[str, float] = {}
        self._sent: Counter[str] = Counter()
        self._seq: Counter[tuple[str, str]] = Counter()
        self._failed: deque[_Outgoing] = deque()

    def _follow(self, route: Route | None) -> None:
        doc = route.doc if route else None
        target = None if doc is None or doc.paused else (doc.cluster, doc.bootstrap_servers, doc.security_protocol)
        if target != self._target:
            self._disconnect()
            self._target = target
            if target is not None:
                self._producer = self._connect(target)
                self._next_due.clear()
        self._doc = doc

    def kafka_config(self, bootstrap_servers: str, security_protocol: str) -> dict[str, Any]:
        """The librdkafka settings this client connects with."""
        return {
            "bootstrap.servers": bootstrap_servers,
            "security.protocol": security_protocol,
            "client.id": self.name,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": self._message_timeout_ms,
        }

    def _connect(self, target: tuple[str, str, str]) -> Producer:
        """A producer on `target` (cluster alias, bootstrap servers, security protocol)."""
        return Producer({**self.kafka_config(target[1], target[2]), **self.credentials_on(target[0])})

    def _step(self) -> None:
        if self._producer is None or self._doc is None:
            time.sleep(REFRESH_S / 2)
            return
        self._resend_failed()
        self._produce_due()
        self._producer.poll(0.02)

    def _produce_due(self) -> None:
        """Send the records that are due on every topic of the document."""
        assert self._doc is not None
        now = time.monotonic()
        for physical, logical in self._doc.topics.items():
            due = self._next_due.setdefault(physical, now)
            while due <= now:
                self._send(self._next_record(logical), physical)
                due += self._interval
            self._next_due[physical] = due

    def _next_record(self, topic: str) -> _Outgoing:
        key = self._keys[self._sent[topic] % len(self._keys)]
        self._sent[topic] += 1
        seq = self._seq[(topic, key)]
        self._seq[(topic, key)] += 1
        return _Outgoing(uuid.uuid4().hex, self.name, topic, key, seq, time.time(), self._record_bytes)

    def _send(self, record: _Outgoing, physical: str) -> bool:
        """Hand `record` to the producer; False if its queue was full (the record waits in `_failed`)."""
        assert self._producer is not None and self._target is not None
        try:
            self._producer.produce(
                physical,
                key=record.key.encode(),
                value=record.value(),
                headers=[("producer", self.name.encode())],
                on_delivery=partial(self._delivered, record, self._target[0]),
            )
        except BufferError:
            self._failed.append(record)  # local queue full: try again on the next step
            queued = False
        else:
            queued = True
        self._ledger.add_attempt(AttemptedRecord(record.id, self.name, record.topic), queued=queued)
        return queued

    def _delivered(self, record: _Outgoing, cluster: str, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            log.warning("producer %s: record %s failed on %s (%s); re-sending it", self.name, record.id, cluster, err)
            self._failed.append(record)
            return
        self._ledger.add_produced(self._acknowledged(record, cluster, msg))

    def _acknowledged(self, record: _Outgoing, cluster: str, msg: Message) -> ProducedRecord:
        return ProducedRecord(
            id=record.id,
            producer=self.name,
            cluster=cluster,
            topic=record.topic,
            key=record.key,
            seq=record.seq,
            partition=msg.partition() or 0,
            offset=msg.offset() or 0,
            produced_at=record.produced_at,
            acked_at=time.time(),
        )

    def _resend_failed(self) -> int:
        """Re-send failed records whose topic the document still has; returns how many."""
        assert self._doc is not None
        physical_of = {logical: physical for physical, logical in self._doc.topics.items()}
        waiting = [r for r in self._failed if r.topic not in physical_of]
        ready = [r for r in self._failed if r.topic in physical_of]
        self._failed = deque(waiting)
        for record in ready:
            self._send(record, physical_of[record.topic])
        return len(ready)

    def _flush(self) -> None:
        assert self._producer is not None
        while self._producer.flush(1.0) > 0:
            pass

    def _disconnect(self) -> None:
        if self._producer is None:
            return
        self._flush()
        self._producer.close()
        self._producer = None

    def _shutdown(self) -> None:
        """Flush, re-sending failures on the current cluster until acknowledged or out of time."""
        deadline = time.monotonic() + self._stop_timeout_s
        while self._producer is not None and time.monotonic() < deadline:
            self._flush()
            if not self._resend_failed():
                break
        self._disconnect()
        if self._failed:
            log.warning("producer %s stopped with %d unacknowledged record(s)", self.name, len(self._failed))


class TransactionalProducerClient(ProducerClient):
    """A `ProducerClient` that writes in transactions and aborts every `abort_every`-th on purpose.

    Each step is one whole transaction: begin, send the records that are due (failed ones
    first), flush, then commit or abort. Delivery reports are held until the outcome: a
    commit records them as produced; an abort on purpose records their ids as aborted (a
    read_committed consumer must never see them; they are not re-sent, later records have
    new ids); a failed delivery aborts the transaction and every record of it is re-sent,
    unchanged, in the next one. A step never leaves a transaction open, so a routing change
    (read between steps) flushes and closes like `ProducerClient`.

    `transactional.id` is the client's name on every connection. A move closes the
    producer only after its transaction ended, so the next `init_transactions` (on either
    cluster; transaction state is per cluster and MM2 does not copy it) fences nothing but
    a closed predecessor and finds nothing to abort.
    """

    def __init__(
        self,
        name: str,
        routing_dir: Routes,
        keys: Sequence[str],
        rate_per_s: float,
        ledger: Ledger,
        *,
        abort_every: int = 0,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        stop_timeout_s: float = 60,
        credentials: ClientCredentials | None = None,
    ) -> None:
        super().__init__(
            name,
            routing_dir,
            keys,
            rate_per_s,
            ledger,
            record_bytes=record_bytes,
            stop_timeout_s=stop_timeout_s,
            credentials=credentials,
        )
        if abort_every < 0:
            raise ValueError(f"producer {name}: abort_every must be 0 (never) or positive, not {abort_every}")
        self.abort_every = abort_every
        self.committed = 0
        """Transactions committed."""
        self.aborted = 0
        """Transactions aborted on purpose."""
        self._in_transaction: list[_Outgoing] = []
        self._held: list[ProducedRecord] = []
        self._delivery_failed = False
        self._next_transaction = 0.0

    def kafka_config(self, bootstrap_servers: str, security_protocol: str) -> dict[str, Any]:
        return {**super().kafka_config(bootstrap_servers, security_protocol), "transactional.id": self.name}

    def _connect(self, target: tuple[str, str, str]) -> Producer:
        producer = super()._connect(target)
        producer.init_transactions(TRANSACTION_TIMEOUT_S)
        return producer

    def _step(self) -> None:
        if self._producer is None or self._doc is None:
            time.sleep(REFRESH_S / 2)
            return
        wait = self._next_transaction - time.monotonic()
        if wait > 0:
            time.sleep(min(REFRESH_S / 2, wait))
            return
        self._next_transaction = time.monotonic() + TRANSACTION_S
        self._transact(produce_due=True)

    def _transact(self, *, produce_due: bool) -> int:
        """One transaction: re-sends, then (if `produce_due`) the due records; returns how many were sent."""
        assert self._producer is not None
        self._producer.begin_transaction()
        resent = self._resend_failed()
        if produce_due:
            self._produce_due()
        self._flush()  # every record on the broker before the outcome (an abort would purge unsent ones)
        on_purpose = not resent and self.abort_every > 0 and (self.committed + self.aborted + 1) % self.abort_every == 0
        committed = self._end_transaction(commit=not (on_purpose or self._delivery_failed))
        sent = len(self._in_transaction)
        if committed:
            now = time.time()
            for record in self._held:
                self._ledger.add_produced(replace(record, acked_at=now))
            self.committed += 1
        elif on_purpose and not self._delivery_failed:
            self._ledger.add_aborted(r.id for r in self._in_transaction)
            self.aborted += 1
        else:
            self._failed = deque([*self._in_transaction, *self._failed])
        self._in_transaction, self._held, self._delivery_failed = [], [], False
        return sent

    def _end_transaction(self, *, commit: bool) -> bool:
        """Commit (or abort) the open transaction; True if it committed.

        Retriable errors are retried; a commit the producer can only abort is aborted.

        Raises:
            KafkaException: A fatal error (the producer cannot go on).
        """
        assert self._producer is not None
        while True:
            try:
                if commit:
                    self._producer.commit_transaction(TRANSACTION_TIMEOUT_S)
                else:
                    self._producer.abort_transaction(TRANSACTION_TIMEOUT_S)
                return commit
            except KafkaException as err:
                error: KafkaError = err.args[0]
                if error.retriable():
                    continue
                if commit and error.txn_requires_abort():
                    log.warning("producer %s: commit failed (%s); aborting, then re-sending", self.name, error)
                    commit = False
                    continue
                raise

    def _send(self, record: _Outgoing, physical: str) -> bool:
        sent = super()._send(record, physical)
        if sent:
            self._in_transaction.append(record)
        return sent

    def _delivered(self, record: _Outgoing, cluster: str, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            log.warning("producer %s: record %s failed on %s (%s); aborting", self.name, record.id, cluster, err)
            self._delivery_failed = True
            return
        self._held.append(self._acknowledged(record, cluster, msg))

    def _shutdown(self) -> None:
        """Re-send failed records in transactions on the current cluster until none is left or out of time."""
        deadline = time.monotonic() + self._stop_timeout_s
        while self._producer is not None and self._failed and time.monotonic() < deadline:
            if not self._transact(produce_due=False):
                break
        self._disconnect()
        if self._failed:
            log.warning("producer %s stopped with %d unacknowledged record(s)", self.name, len(self._failed))
