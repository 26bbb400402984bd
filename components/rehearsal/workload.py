"""A live workload: real producers and consumers that follow their routing documents.

Each client re-reads `<routing dir>/<client-group>.json` (a `RoutingDocument.to_json()`)
every `REFRESH_S` and reconnects when it changes, the way an application's deployment
tooling would. Everything the clients do lands in a `Ledger`, which `rehearsal.checker`
judges afterwards.

The clients are in `producers` and `consumers`, the routing documents they follow in
`routed_client`; this module runs a set of client groups together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.rehearsal.consumers import ConsumerClient
from kafka_migration.rehearsal.identities import ClientCredentials
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.producers import DEFAULT_RECORD_BYTES, ProducerClient, TransactionalProducerClient
from kafka_migration.rehearsal.routed_client import REFRESH_S, Routes

DEFAULT_KEYS = ("k0", "k1", "k3", "k5")
"""Keys that spread over 3 partitions under librdkafka's default (CRC32) partitioner."""


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
    routing_dir: Routes,
    keys: Sequence[str],
    rate_per_s: float,
    ledger: Ledger,
    *,
    record_bytes: int = DEFAULT_RECORD_BYTES,
    credentials: ClientCredentials | None = None,
) -> ProducerClient:
    """The client of one producer client group, following the group's document, `rate_per_s` per topic."""
    if spec.transactional:
        return TransactionalProducerClient(
            group.name,
            routing_dir,
            keys,
            rate_per_s,
            ledger,
            abort_every=spec.abort_every,
            record_bytes=record_bytes,
            credentials=credentials,
        )
    return ProducerClient(
        group.name, routing_dir, keys, rate_per_s, ledger, record_bytes=record_bytes, credentials=credentials
    )


def consumer_clients(
    group: ClientGroup,
    spec: ConsumerSpec,
    routing_dir: Routes,
    ledger: Ledger,
    *,
    ignore_committed: bool = False,
    credentials: ClientCredentials | None = None,
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
            credentials=credentials,
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
        routing_dir: Routes,
        ledger: Ledger | None = None,
        *,
        keys: Sequence[str] = DEFAULT_KEYS,
        total_rate_per_s: float = 20.0,
        record_bytes: int = DEFAULT_RECORD_BYTES,
        drain_s: float = 30.0,
        consumers_ignore_committed: bool = False,
        consumer_specs: Mapping[str, ConsumerSpec] | None = None,
        producer_specs: Mapping[str, ProducerSpec] | None = None,
        credentials: Callable[[ClientGroup], ClientCredentials] | None = None,
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
            credentials: What a client group's clients bring to each cluster (their identity);
                None: nothing (PLAINTEXT clusters).

        Raises:
            ValueError: `consumer_specs` (`producer_specs`) names a group that is not a consumer
                (producer) group of `clients`.
        """
        self.ledger = ledger or Ledger()
        self.drain_s = drain_s
        clients = list(clients)
        identity = credentials or (lambda _group: {})
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
                credentials=identity(c),
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
                credentials=identity(c),
            )
        ]
        self._stopped = False

    def start(self) -> None:
        for client in (*self.consumers, *self.producers):
            client.start()

    def restart_consumers(self) -> None:
        """Every consumer client restarts once where it reads (`ConsumerClient.request_restart`)."""
        for consumer in self.consumers:
            consumer.request_restart()

    def stop(self, drain_s: float | None = None) -> None:
        """Stop the producers, let consumers catch up (`drain_finished`, with `drain_s` as its bound), stop them.

        Raises:
            RuntimeError: A client's thread failed (the first failure is the cause).
        """
        if self._stopped:
            return
        self._stopped = True
        for producer in self.producers:
            producer.stop()
        drained_from = time.monotonic()
        bound = self.drain_s if drain_s is None else drain_s
        while True:
            lagging = [c.read_at for c in self.consumers if not c.caught_up(drained_from)]
            if drain_finished(time.monotonic(), drained_from, bound, lagging):
                break
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


DRAIN_CAP = 10
"""A drain ends at `DRAIN_CAP` times its bound even while a lagging consumer still reads."""


def drain_finished(now: float, started: float, bound_s: float, lagging_read_at: Sequence[float]) -> bool:
    """Whether a drain that began at `started` (monotonic) is over.

    Over when no consumer lags; else when none of the lagging ones (`lagging_read_at`: when
    each last read records) has read for `bound_s` since the drain began; else at `DRAIN_CAP`
    times the bound. A consumer still reading is not stuck: fraud-check reads blue's history at
    100 records/s, and a walk whose steps run quickly ends before it is through (its records
    would be counted lost, though nothing was).
    """
    if not lagging_read_at:
        return True
    if now - started >= DRAIN_CAP * bound_s:
        return True
    return now - max(started, *lagging_read_at) >= bound_s
