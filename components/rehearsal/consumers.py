"""The workload's consumer clients: group members (or `assign()` users) that follow their routing document.

On a move they commit, close and start again on the new cluster from the offsets committed
there, which is what the migration's offset handoff must get right. Every record they read
lands in the ledger, and the gap a move left between two reads as a `ConsumerPause`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from confluent_kafka import (
    OFFSET_END,
    OFFSET_STORED,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from kafka_migration.config.clients import OffsetReset
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.checker import ConsumedRecord, ConsumerPause
from kafka_migration.rehearsal.identities import ClientCredentials
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.routed_client import REFRESH_S, Route, RoutedClient, Routes

log = logging.getLogger(__name__)

LAG_CHECK_INTERVAL_S = 0.5
STATIC_SESSION_TIMEOUT_MS = 10_000
"""`session.timeout.ms` of static members: a handoff waits this long after they close (librdkafka's is 45 s)."""
ASSIGN_REFRESH_S = 3.0
"""How often an `assign()` client looks for partitions of its topics it has not assigned yet (`B.orders` appears)."""


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


class ConsumerClient(RoutedClient):
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
        routing_dir: Routes,
        ledger: Ledger,
        *,
        client_group: str | None = None,
        auto_offset_reset: OffsetReset | str = OffsetReset.EARLIEST,
        group_instance_id: str | None = None,
        assign_mode: bool = False,
        ignore_committed: bool = False,
        history_per_s: float | None = None,
        credentials: ClientCredentials | None = None,
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
            credentials: The identity it brings to each cluster (`RoutedClient.credentials_on`).

        Raises:
            ValueError: `assign_mode` with a `group_instance_id` (an `assign()` client is no
                member), an `auto_offset_reset` that is neither earliest nor latest, or a
                `history_per_s` that is not positive.
        """
        super().__init__(name, routing_dir, ledger, client_group, credentials)
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
        self.read_at = time.monotonic()
        """Monotonic time of the last read that returned records (history included): whether a drain progresses."""
        self._pause_from: float | None = None
        self._pause_cause = "move"
        self._restart_requested = threading.Event()
        self._next_lag_check = 0.0
        self._caught_up_at: float | None = None
        self._fatal: KafkaError | None = None
        """A fatal error the consumer reported: it is unusable and is replaced (`_restart`)."""

    def request_restart(self) -> None:
        """Restart once where it reads now (commit, close, connect again with the same group): a plain restart.

        The gap it leaves is recorded as a `ConsumerPause` with cause `restart`, the baseline
        a handoff's pause is measured against (`make bench`, B3).
        """
        self._restart_requested.set()

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
                self._pause_from, self._pause_cause = self._last_consumed_at, "move"
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
            {
                **self.kafka_config(target.bootstrap_servers, target.security_protocol, target.group_id),
                **self.credentials_on(target.cluster),
            }
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
        if self._restart_requested.is_set() and self._target is not None:
            self._restart_requested.clear()
            if self._pause_from is None:
                self._pause_from, self._pause_cause = self._last_consumed_at, "restart"
            self._disconnect()
            self._connect(self._target)
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
        if recorded:
            self.read_at = time.monotonic()
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
            self._pause_from, self._pause_cause = self._last_consumed_at, "crash"
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
            self._ledger.add_pause(
                ConsumerPause(self.client_group, self._pause_from, now - self._pause_from, self._pause_cause)
            )
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
            if asynchronous:
                done = self._consumer.commit(offsets=offsets, asynchronous=True)
            else:
                done = self._consumer.commit(offsets=offsets, asynchronous=False)
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
