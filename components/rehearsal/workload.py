"""A live workload: real producers and consumers that follow their routing documents.

Each client re-reads `<routing dir>/<client-group>.json` (a `RoutingDocument.to_json()`)
every `REFRESH_S` and reconnects when it changes, the way an application's deployment
tooling would. Everything the clients do lands in a `Ledger`, which `rehearsal.checker`
judges afterwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from confluent_kafka import (
    OFFSET_END,
    OFFSET_STORED,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from kafka_migration.config.model import ClientGroup, ClientRole, OffsetReset
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.checker import (
    AttemptedRecord,
    ConsumedRecord,
    ConsumerPause,
    LedgerData,
    ProducedRecord,
    per_second,
)

log = logging.getLogger(__name__)

REFRESH_S = 0.2
"""How often clients re-read their routing document."""
DEFAULT_KEYS = ("k0", "k1", "k3", "k5")
"""Keys that spread over 3 partitions under librdkafka's default (CRC32) partitioner."""
MESSAGE_TIMEOUT_MS = 30_000
"""Default for a delivery not acknowledged by then to fail and be re-sent (librdkafka's is 5 minutes)."""
DEFAULT_RECORD_BYTES = 1024
"""Default size a producer pads each record's value to."""
LAG_CHECK_INTERVAL_S = 0.5
STATIC_SESSION_TIMEOUT_MS = 10_000
"""`session.timeout.ms` of static members: a handoff waits this long after they close (librdkafka's is 45 s)."""
ASSIGN_REFRESH_S = 3.0
"""How often an `assign()` client looks for partitions of its topics it has not assigned yet (`B.orders` appears)."""
TRANSACTION_S = 0.5
"""A transactional producer starts a transaction at most this often (a few records each)."""
TRANSACTION_TIMEOUT_S = 30.0
"""Bound on `init_transactions`, commit and abort calls."""


@dataclass(frozen=True)
class Route:
    """A routing document as read, with the revision its publisher computed."""

    revision: str
    doc: RoutingDocument


def read_route(path: Path) -> Route | None:
    """The routing document at `path`, None if there is none yet (the client waits).

    Raises:
        json.JSONDecodeError: The file is not (yet) complete JSON.
        ValueError: The JSON is not a valid routing document (`RoutingDocument.from_json`).
    """
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    doc = RoutingDocument.from_json(body)
    return Route(str(body["revision"]), doc)


def write_route(routing_dir: Path, doc: RoutingDocument) -> Path:
    """Publish `doc` as `<routing_dir>/<client-group>.json`, atomically (readers never see half a file)."""
    routing_dir.mkdir(parents=True, exist_ok=True)
    path = routing_dir / f"{doc.client_group}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc.to_json(), indent=2))
    os.replace(tmp, path)
    return path


class _RouteWatcher:
    """Re-reads one routing document at most every `REFRESH_S`; cheap, it compares revisions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.route: Route | None = None
        self._next_read = 0.0

    def changed(self) -> bool:
        now = time.monotonic()
        if now < self._next_read:
            return False
        self._next_read = now + REFRESH_S
        try:
            route = read_route(self.path)
        except json.JSONDecodeError:
            return False  # written in place by someone else: read it again next time
        if _revision(route) == _revision(self.route):
            return False
        self.route = route
        return True


def _revision(route: Route | None) -> str | None:
    return route.revision if route else None


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


class _Client(ABC):
    """A thread that follows one routing document until `stop()`."""

    def __init__(self, name: str, routing_dir: Path, ledger: Ledger, client_group: str | None = None) -> None:
        self.name = name
        """This client's own name (logs, `client.id`, the ledger)."""
        self.client_group = client_group or name
        """The client group whose routing document it follows (several clients may share one)."""
        self.error: BaseException | None = None
        """Why the thread died, if it did (`Workload.stop` raises it)."""
        self._ledger = ledger
        self._watch = _RouteWatcher(Path(routing_dir) / f"{self.client_group}.json")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"rehearsal-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 120) -> None:
        """Ask the thread to finish (flush or commit, then close) and wait for it."""
        self._stopping.set()
        if self._thread.ident is None:
            return  # never started
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            frame = sys._current_frames().get(self._thread.ident)
            where = "".join(traceback.format_stack(frame)[-8:]) if frame else "(no frame)\n"
            raise TimeoutError(f"client {self.name} did not stop within {timeout_s}s; its thread is at:\n{where}")

    def _main(self) -> None:
        try:
            try:
                while not self._stopping.is_set():
                    if self._watch.changed():
                        self._follow(self._watch.route)
                    self._step()
            finally:
                self._shutdown()
        except BaseException as err:  # kept for Workload.stop to raise in the caller's thread
            log.exception("client %s failed", self.name)
            self.error = err

    @abstractmethod
    def _follow(self, route: Route | None) -> None:
        """Apply a new (or vanished) routing document."""

    @abstractmethod
    def _step(self) -> None:
        """One turn of work; returns within about `REFRESH_S`."""

    @abstractmethod
    def _shutdown(self) -> None:
        """Flush or commit, then close."""


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


class ProducerClient(_Client):
    """Produces keyed records of about `record_bytes` to every topic of its document, `rate_per_s` per topic.

    On a change of cluster, or when paused, it flushes until every record is acknowledged
    or failed, then closes and reconnects. Failed records are re-sent, unchanged, on
    whatever cluster the producer uses next.
    """

    def __init__(
        self,
        name: str,
        routing_dir: Path,
        keys: Sequence[str],
        rate_per_s: float,
        ledger: Ledger,
        *,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        message_timeout_ms: int = MESSAGE_TIMEOUT_MS,
        stop_timeout_s: float = 60,
    ) -> None:
        super().__init__(name, routing_dir, ledger)
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
        return Producer(self.kafka_config(target[1], target[2]))

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
        routing_dir: Path,
        keys: Sequence[str],
        rate_per_s: float,
        ledger: Ledger,
        *,
        abort_every: int = 0,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        stop_timeout_s: float = 60,
    ) -> None:
        super().__init__(
            name, routing_dir, keys, rate_per_s, ledger, record_bytes=record_bytes, stop_timeout_s=stop_timeout_s
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


def _workload_body(value: bytes | None) -> dict | None:
    """The JSON body of a record a ProducerClient wrote, or None for any other record."""
    try:
        body = json.loads(value or b"")
    except ValueError:
        return None
    return body if isinstance(body, dict) and {"id", "producer", "key", "seq"} <= body.keys() else None


class _Target(NamedTuple):
    """Where a consumer client reads: what a routing document says, paused excepted."""

    cluster: str
    bootstrap_servers: str
    security_protocol: str
    group_id: str
    topics: tuple[str, ...]


def unassigned_partitions(
    topics: Iterable[str], partitions_of: Mapping[str, int], assigned: Iterable[tuple[str, int]]
) -> list[tuple[str, int]]:
    """Partitions of `topics` that exist (`partitions_of`: topic -> partition count) and are not in `assigned`.

    A topic the cluster does not have yet (MM2 creates `B.orders` on blue a little after
    the document names it) contributes nothing until it exists.
    """
    done = set(assigned)
    return [
        (topic, partition)
        for topic in sorted(set(topics))
        for partition in range(partitions_of.get(topic, 0))
        if (topic, partition) not in done
    ]


class ConsumerClient(_Client):
    """Consumes every topic of its document in `doc.groupId`, committing after each batch.

    Paused: commit, close (leave the group) and wait. New cluster or topics: commit,
    close, and subscribe again there with the same group id, starting from the offsets
    committed there (the migration commits translated offsets before flipping).

    With `assign_mode` it is not a group member: it assigns itself every partition of the
    document's topics (from the group's committed offsets, else its `auto.offset.reset`)
    and commits under the same group id; paused, it commits once more, then stops
    committing and closes, as the handoff's drain expects of `assign()` users.
    """

    def __init__(
        self,
        name: str,
        routing_dir: Path,
        ledger: Ledger,
        *,
        client_group: str | None = None,
        auto_offset_reset: OffsetReset | str = OffsetReset.EARLIEST,
        group_instance_id: str | None = None,
        assign_mode: bool = False,
        ignore_committed: bool = False,
        history_per_s: float | None = None,
    ) -> None:
        """A consumer client.

        Args:
            name: This client's name (logs, `client.id`, the ledger's `member`).
            routing_dir: Folder of the routing documents.
            ledger: Where consumed records and pauses are recorded.
            client_group: The client group whose document it follows and under which its
                records are judged; default `name`. Members of one group share it.
            auto_offset_reset: `auto.offset.reset`, as the client group's `autoOffsetReset` says.
            group_instance_id: Static membership (`group.instance.id`), with a
                `STATIC_SESSION_TIMEOUT_MS` session: the member stays in the group that long
                after it closes, and the handoff waits for it.
            assign_mode: Use `assign()` on every partition instead of `subscribe()`.
            ignore_committed: A fault that proves the checker can fail: start at the end on
                every cluster, like a consumer that ignores the offsets the migration handed over.
            history_per_s: Read records the workload did not write (blue's seeded history) at
                most this fast, its own records as they come; None: everything as it comes.

        Raises:
            ValueError: `assign_mode` with a `group_instance_id` (an `assign()` client is no
                member), an `auto_offset_reset` that is neither earliest nor latest, or a
                `history_per_s` that is not positive.
        """
        super().__init__(name, routing_dir, ledger, client_group)
        if assign_mode and group_instance_id:
            raise ValueError(f"consumer {name}: an assign() client is not a group member, it cannot be static")
        if history_per_s is not None and history_per_s <= 0:
            raise ValueError(f"consumer {name}: history_per_s must be positive (or None), not {history_per_s}")
        self.auto_offset_reset = OffsetReset(auto_offset_reset)
        self.group_instance_id = group_instance_id
        self.assign_mode = assign_mode
        self.ignore_committed = ignore_committed
        self.history_per_s = history_per_s
        self._history_read = 0
        """Records read that the workload did not write."""
        self._history_resume_at = 0.0
        """Monotonic time before which a throttled client reads nothing more (`history_per_s`)."""
        self._consumer: Consumer | None = None
        self._target: _Target | None = None
        self._doc: RoutingDocument | None = None
        self._pending: dict[tuple[str, int], int] = {}
        self._assigned: set[tuple[str, int]] = set()
        self._next_assign_check = 0.0
        self._last_consumed_at: float | None = None
        self._pause_from: float | None = None
        self._next_lag_check = 0.0
        self._caught_up_at: float | None = None
        self._fatal: KafkaError | None = None
        """A fatal error the consumer reported: it is unusable and is replaced (`_restart`)."""

    def caught_up(self, since: float) -> bool:
        """Whether a lag check started after monotonic time `since` found every assigned partition consumed."""
        return self._caught_up_at is not None and self._caught_up_at >= since

    def kafka_config(self, bootstrap_servers: str, security_protocol: str, group_id: str) -> dict[str, Any]:
        """The librdkafka settings this client connects with."""
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "security.protocol": security_protocol,
            "group.id": group_id,
            "client.id": self.name,
            "enable.auto.commit": False,
            "auto.offset.reset": "latest" if self.ignore_committed else self.auto_offset_reset.value,
            # isolation.level stays librdkafka's default, read_committed: records of aborted
            # transactions are never delivered (the checker's `aborted_read` proves it).
            # Remote topics (B.orders) appear while subscribed; notice them within seconds.
            "topic.metadata.refresh.interval.ms": 3000,
            "on_commit": self._committed,
        }
        if self.group_instance_id:
            conf["group.instance.id"] = self.group_instance_id
            conf["session.timeout.ms"] = STATIC_SESSION_TIMEOUT_MS
        return conf

    def _follow(self, route: Route | None) -> None:
        doc = route.doc if route else None
        target = None
        if doc is not None and not doc.paused:
            group = doc.group_id or doc.client_group
            target = _Target(
                doc.cluster, doc.bootstrap_servers, doc.security_protocol, group, tuple(sorted(doc.topics))
            )
        if target != self._target:
            if self._consumer is not None and self._pause_from is None:
                self._pause_from = self._last_consumed_at
            if target is not None and self._only_topics_change(target):
                # Commit, then subscribe to the new set in place (docs/client-contract.md). Closing and
                # re-joining instead would leave a static member with its old assignment: the
                # coordinator hands a static member that re-joins a stable group what it had.
                self._commit()
                self._caught_up_at = None
                self._subscribe(target.topics)
            else:
                self._disconnect()
                if target is not None:
                    self._connect(target)
            self._target = target
        self._doc = doc

    def _only_topics_change(self, target: _Target) -> bool:
        """Whether a subscribing client stays on its cluster and group and only its topics change."""
        if self.assign_mode or self._consumer is None or self._target is None:
            return False
        return target._replace(topics=()) == self._target._replace(topics=())

    def _connect(self, target: _Target) -> None:
        self._consumer = Consumer(
            self.kafka_config(target.bootstrap_servers, target.security_protocol, target.group_id)
        )
        if self.assign_mode:
            self._assign_new_partitions(target.topics)
        else:
            self._subscribe(target.topics)

    def _subscribe(self, topics: Sequence[str]) -> None:
        assert self._consumer is not None
        self._consumer.subscribe(
            list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )

    def _step(self) -> None:
        if self._consumer is None:
            time.sleep(REFRESH_S / 2)
            return
        wait = self._history_resume_at - time.monotonic()
        if wait > 0:
            time.sleep(min(REFRESH_S / 2, wait))
            return
        if self.assign_mode and self._target is not None and time.monotonic() >= self._next_assign_check:
            self._assign_new_partitions(self._target.topics)
        history_before = self._history_read
        recorded = [self._record(m) for m in self._consumer.consume(num_messages=500, timeout=REFRESH_S)]
        if self._fatal is not None:
            self._restart()
            return
        if self.history_per_s is not None:
            self._history_resume_at = time.monotonic() + (self._history_read - history_before) / self.history_per_s
        if any(recorded):
            self._caught_up_at = None
            self._commit(asynchronous=True)
        elif time.monotonic() >= self._next_lag_check:
            self._check_lag()

    def _restart(self) -> None:
        """Replace a consumer that reported a fatal error, as a supervisor restarts a crashed client.

        A static member whose JoinGroup the broker saw twice (a request retried across a frozen
        broker) is fenced by its own retry: librdkafka reports `_FATAL` and the instance never
        consumes again. What it read since its last commit is read again by the new instance
        (duplicates, which the checker counts; nothing is skipped).
        """
        assert self._consumer is not None and self._target is not None
        log.warning("consumer %s: fatal error (%s); closing it and connecting again", self.name, self._fatal)
        if self._pause_from is None:
            self._pause_from = self._last_consumed_at
        self._disconnect()  # its commit is skipped: a fatal consumer commits nothing
        self._fatal = None
        self._pending.clear()
        self._connect(self._target)

    def _assign_new_partitions(self, topics: Sequence[str]) -> None:
        """Assign (incrementally) every existing partition of `topics` not assigned yet, from committed offsets."""
        assert self._consumer is not None
        self._next_assign_check = time.monotonic() + ASSIGN_REFRESH_S
        try:
            metadata = self._consumer.list_topics(timeout=5)
        except KafkaException as err:
            log.info("consumer %s: metadata not read (%s); trying again", self.name, err)
            return
        counts = {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}
        new = unassigned_partitions(topics, counts, self._assigned)
        if not new:
            return
        # OFFSET_STORED: the group's committed offset, or auto.offset.reset where it has none.
        start = OFFSET_END if self.ignore_committed else OFFSET_STORED
        self._consumer.incremental_assign([TopicPartition(t, p, start) for t, p in new])
        self._assigned.update(new)
        log.info("consumer %s: assigned %s", self.name, ", ".join(f"{t}:{p}" for t, p in new))

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Subscribe mode: start where the group committed (or at the end, for the `ignore_committed` fault)."""
        if self.ignore_committed:
            for tp in partitions:
                tp.offset = OFFSET_END
        consumer.assign(partitions)

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what was processed of partitions another member is about to get, then forget them."""
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._commit(revoked)
        for tp in revoked:
            self._pending.pop(tp, None)  # not committed: the next owner reads them again (duplicates, not losses)

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Partitions lost without a revoke (session expired): their offsets cannot be committed any more."""
        for tp in partitions:
            self._pending.pop((tp.topic, tp.partition), None)

    def _record(self, msg: Message) -> bool:
        assert self._doc is not None and self._target is not None
        err = msg.error()
        if err is not None:
            log.warning("consumer %s: %s", self.name, err)
            self._note_fatal(err)
            return False
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        self._pending[(topic, partition)] = offset + 1
        body = _workload_body(msg.value())
        if body is None:
            self._history_read += 1
            return True  # history written before the rehearsal: consumed and committed, not checked
        now = time.time()
        self._ledger.add_consumed(
            ConsumedRecord(
                group=self.client_group,
                cluster=self._target.cluster,
                physical_topic=topic,
                topic=self._doc.topics.get(topic, topic),
                partition=partition,
                offset=offset,
                id=body["id"],
                producer=body["producer"],
                key=body["key"],
                seq=body["seq"],
                consumed_at=now,
                member=self.name,
            )
        )
        if self._pause_from is not None:
            self._ledger.add_pause(ConsumerPause(self.client_group, self._pause_from, now - self._pause_from))
            self._pause_from = None
        self._last_consumed_at = now
        return True

    def _commit(self, only: set[tuple[str, int]] | None = None, *, asynchronous: bool = False) -> None:
        """Commit the processed offsets (of the partitions in `only`, if given).

        Synchronous where the next step needs the commit done (a revoke, before a close);
        asynchronous while reading, since librdkafka's synchronous commit has no timeout and
        was seen never to return after a frozen broker resumed. An asynchronous result arrives
        in `_committed` during a later `consume`; a failed one is retried with the next batch.
        """
        pending = {tp: o for tp, o in self._pending.items() if only is None or tp in only}
        if self._consumer is None or not pending or self._fatal is not None:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in pending.items()]
        try:
            done = self._consumer.commit(offsets=offsets, asynchronous=asynchronous)
        except KafkaException as err:
            log.warning("consumer %s: commit failed (%s); retrying with the next batch", self.name, err)
            self._note_fatal(err.args[0])
            return
        if done is not None:
            self._committed(None, done)

    def _committed(self, err: KafkaError | None, offsets: list[TopicPartition]) -> None:
        """Forget the pending offsets a commit stored (unless a later record moved them on)."""
        if err is not None:
            log.info("consumer %s: commit failed (%s); retrying with the next batch", self.name, err)
            self._note_fatal(err)
        for tp in offsets:
            key = (tp.topic, tp.partition)
            if tp.error is None and self._pending.get(key) == tp.offset:
                del self._pending[key]

    def _note_fatal(self, err: KafkaError) -> None:
        """Remember a fatal error (librdkafka reports one as `_FATAL`, flagged or not) for `_step` to restart."""
        if err.fatal() or err.code() == KafkaError._FATAL:
            self._fatal = err

    def _check_lag(self) -> None:
        assert self._consumer is not None
        started = time.monotonic()
        self._next_lag_check = started + LAG_CHECK_INTERVAL_S
        assignment = self._consumer.assignment()
        if not assignment:
            return
        try:
            # The position passes a trailing transaction marker, the committed offset (last record + 1) does not.
            positions = {(tp.topic, tp.partition): tp.offset for tp in self._consumer.position(assignment)}
            for tp in self._consumer.committed(assignment, timeout=5):
                low, high = self._consumer.get_watermark_offsets(tp, timeout=5)
                if high > max(tp.offset, positions.get((tp.topic, tp.partition), -1), low):
                    return
        except KafkaException as err:
            log.info("consumer %s: lag check failed (%s)", self.name, err)
            return
        self._caught_up_at = started

    def _disconnect(self) -> None:
        if self._consumer is None:
            return
        self._commit()
        try:
            self._consumer.close()
        except KafkaException as err:  # nothing to do about it: the instance is dropped either way
            log.info("consumer %s: close failed (%s)", self.name, err)
        self._consumer = None
        self._assigned.clear()
        self._caught_up_at = None

    def _shutdown(self) -> None:
        self._disconnect()


@dataclass(frozen=True)
class ConsumerSpec:
    """How a consumer client group's clients are run: what a stack config does not say about them.

    Their `auto.offset.reset` is not here: it is the client group's `autoOffsetReset`.
    """

    members: int = 1
    """Clients in the group, each its own thread named `<group>.<n>` (just `<group>` when alone)."""
    static: bool = False
    """Static members: each sets `group.instance.id` to its name."""
    assign: bool = False
    """Not a group member: one client that uses `assign()` on every partition of its topics."""
    history_per_s: float | None = None
    """Each client reads blue's seeded history at most this fast (records/s), the workload's records as they
    come: a group still part-way through a long history when its wave hands it over, that keeps up with the
    live traffic at any `--rate`. None: no limit."""

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ValueError(f"a consumer group needs at least one member, not {self.members}")
        if self.history_per_s is not None and self.history_per_s <= 0:
            raise ValueError(f"history_per_s must be positive (or None for no limit), not {self.history_per_s}")
        if self.assign and (self.static or self.members > 1):
            raise ValueError("an assign() consumer is one client and no group member: no members, no static id")


@dataclass(frozen=True)
class ProducerSpec:
    """How a producer client group's client runs: what a stack config does not say about it."""

    transactional: bool = False
    """A `TransactionalProducerClient` (one transaction per step) instead of a `ProducerClient`."""
    abort_every: int = 0
    """Abort every n-th transaction on purpose (0: never)."""

    def __post_init__(self) -> None:
        if self.abort_every < 0:
            raise ValueError(f"abort_every must be 0 (never) or positive, not {self.abort_every}")
        if self.abort_every and not self.transactional:
            raise ValueError("only a transactional producer aborts transactions")


def producer_client(
    group: ClientGroup,
    spec: ProducerSpec,
    routing_dir: Path,
    keys: Sequence[str],
    rate_per_s: float,
    ledger: Ledger,
    *,
    record_bytes: int = DEFAULT_RECORD_BYTES,
) -> ProducerClient:
    """The client of one producer client group, following the group's document, `rate_per_s` per topic."""
    if spec.transactional:
        return TransactionalProducerClient(
            group.name, routing_dir, keys, rate_per_s, ledger, abort_every=spec.abort_every, record_bytes=record_bytes
        )
    return ProducerClient(group.name, routing_dir, keys, rate_per_s, ledger, record_bytes=record_bytes)


def consumer_clients(
    group: ClientGroup,
    spec: ConsumerSpec,
    routing_dir: Path,
    ledger: Ledger,
    *,
    ignore_committed: bool = False,
) -> list[ConsumerClient]:
    """The clients of one consumer client group: `spec.members` of them, all following the group's document."""
    names = [group.name] if spec.members == 1 else [f"{group.name}.{n}" for n in range(1, spec.members + 1)]
    return [
        ConsumerClient(
            name,
            routing_dir,
            ledger,
            client_group=group.name,
            auto_offset_reset=group.auto_offset_reset,
            group_instance_id=name if spec.static else None,
            assign_mode=spec.assign,
            ignore_committed=ignore_committed,
            history_per_s=spec.history_per_s,
        )
        for name in names
    ]


class Workload:
    """Producer and consumer clients for a set of client groups, started and stopped together.

    Use it as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self,
        clients: Iterable[ClientGroup],
        routing_dir: Path,
        ledger: Ledger | None = None,
        *,
        keys: Sequence[str] = DEFAULT_KEYS,
        total_rate_per_s: float = 20.0,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        drain_s: float = 30.0,
        consumers_ignore_committed: bool = False,
        consumer_specs: Mapping[str, ConsumerSpec] | None = None,
        producer_specs: Mapping[str, ProducerSpec] | None = None,
    ) -> None:
        """Clients for `clients`, not started.

        Args:
            clients: The client groups (producer and consumer groups).
            routing_dir: Folder of their routing documents.
            ledger: Where they record; a new one by default.
            keys: Record keys the producers cycle through.
            total_rate_per_s: Records per second in all, split evenly over every (producer, topic)
                stream, transactional producers' included.
            record_bytes: Each record's value padded to about this size.
            drain_s: Default for how long `stop()` lets consumers catch up.
            consumers_ignore_committed: The fault of `ConsumerClient`'s `ignore_committed`, for every consumer.
            consumer_specs: Consumer client group name -> how its clients run; one plain
                subscribing client for a group not named.
            producer_specs: Producer client group name -> how its client runs; a plain
                (idempotent, not transactional) `ProducerClient` for a group not named.

        Raises:
            ValueError: `consumer_specs` (`producer_specs`) names a group that is not a consumer
                (producer) group of `clients`.
        """
        self.ledger = ledger or Ledger()
        self.drain_s = drain_s
        clients = list(clients)
        specs = dict(consumer_specs or {})
        writers = dict(producer_specs or {})
        for role, named in ((ClientRole.CONSUMER, specs), (ClientRole.PRODUCER, writers)):
            unknown = sorted(set(named) - {c.name for c in clients if c.role is role})
            if unknown:
                raise ValueError(f"{role.value} specs for groups that are no {role.value} group: {', '.join(unknown)}")
        producers = [c for c in clients if c.role is ClientRole.PRODUCER]
        rate_per_s = total_rate_per_s / max(1, sum(len(c.topics) for c in producers))
        self.producers = [
            producer_client(
                c,
                writers.get(c.name, ProducerSpec()),
                routing_dir,
                keys,
                rate_per_s,
                self.ledger,
                record_bytes=record_bytes,
            )
            for c in producers
        ]
        self.consumers = [
            client
            for c in clients
            if c.role is ClientRole.CONSUMER
            for client in consumer_clients(
                c,
                specs.get(c.name, ConsumerSpec()),
                routing_dir,
                self.ledger,
                ignore_committed=consumers_ignore_committed,
            )
        ]
        self._stopped = False

    def start(self) -> None:
        for client in (*self.consumers, *self.producers):
            client.start()

    def stop(self, drain_s: float | None = None) -> None:
        """Stop the producers, let consumers catch up for at most `drain_s`, stop them.

        Raises:
            RuntimeError: A client's thread failed (the first failure is the cause).
        """
        if self._stopped:
            return
        self._stopped = True
        for producer in self.producers:
            producer.stop()
        drained_from = time.monotonic()
        deadline = drained_from + (self.drain_s if drain_s is None else drain_s)
        while time.monotonic() < deadline and not all(c.caught_up(drained_from) for c in self.consumers):
            time.sleep(REFRESH_S)
        for consumer in self.consumers:
            consumer.stop()
        failed = [c for c in (*self.producers, *self.consumers) if c.error is not None]
        if failed:
            names = ", ".join(c.name for c in failed)
            raise RuntimeError(f"workload client(s) failed: {names}") from failed[0].error

    def __enter__(self) -> Workload:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(drain_s=0 if exc_type else None)
