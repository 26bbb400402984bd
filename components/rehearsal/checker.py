"""Loss, duplicate and order checks over what the workload's clients produced and consumed.

Pure functions over plain records (no Kafka), so every verdict is unit-testable. A
record is identified by the id its producer put in the value: a record read under its
remote name (`A.orders` on green) is the same record as `orders` on blue.

Every attempted record ends in exactly one of these, judged in this order:

- acknowledged (in `LedgerData.produced`): each consumer group reading its topic must
  read it (else it is `lost` for that group);
- aborted on purpose (in `LedgerData.aborted`): no group may read it (`aborted_read`);
- unacknowledged but read by some group: the broker has it and only the acknowledgement
  went missing, so it is neither lost nor producer-side loss (`unacknowledged_read`);
- unacknowledged and read by no group: producer-side loss (`unacknowledged`), a record
  the application handed its producer that never reached anyone.

A record some group read that no producer attempted at all is `phantom`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from kafka_migration.config.clients import ClientGroup, ClientRole

LOST_SAMPLE = 10
"""How many lost, phantom or unacknowledged ids a row lists (the counts are always complete)."""


@dataclass(frozen=True)
class AttemptedRecord:
    """A record a producer called produce for (re-sends keep its id: one per id)."""

    id: str
    producer: str
    topic: str
    """Logical topic."""


@dataclass(frozen=True)
class ProducedRecord:
    """A record the cluster acknowledged."""

    id: str
    producer: str
    cluster: str
    """Alias of the cluster that acknowledged it."""
    topic: str
    """Logical topic (for producers the physical name is the logical one)."""
    key: str
    seq: int
    """Per (producer, topic, key) sequence, from 0."""
    partition: int
    offset: int
    produced_at: float
    """Epoch seconds when the record was first created (re-sends keep it)."""
    acked_at: float


@dataclass(frozen=True)
class ConsumedRecord:
    """One delivery of a record to a consumer client group."""

    group: str
    """Client group name: records any member of the group consumed count for the group."""
    cluster: str
    physical_topic: str
    topic: str
    """Logical topic, through the routing document's map (`A.orders` -> `orders`)."""
    partition: int
    offset: int
    id: str
    producer: str
    key: str
    seq: int
    consumed_at: float
    member: str = ""
    """The client (of the group's members) that consumed it; for diagnosis, never judged."""


@dataclass(frozen=True)
class ConsumerPause:
    """A gap in a group's consumption around a routing change."""

    group: str
    start: float
    """Epoch seconds of the last record consumed before the change."""
    seconds: float
    """Until the first record consumed after it."""
    cause: str = "move"
    """`move` (its routing document changed), `restart` (a plain restart on the same cluster,
    `ConsumerClient.request_restart`) or `crash` (a consumer replaced after a fatal error)."""


@dataclass(frozen=True)
class LedgerData:
    """Everything the workload recorded; `consumed` is in consumption order per group."""

    produced: Sequence[ProducedRecord] = ()
    consumed: Sequence[ConsumedRecord] = ()
    pauses: Sequence[ConsumerPause] = ()
    attempts: int = 0
    """Produce calls the producer took (not those refused, queue full), re-sends of failed deliveries included."""
    aborted: frozenset[str] = frozenset()
    """Ids of records written in transactions their producer aborted on purpose: no consumer may read one."""
    attempted: Sequence[AttemptedRecord] = ()
    """Every record a producer called produce for, acknowledged or not."""

    def attempted_ids(self) -> frozenset[str]:
        """Ids of every attempted record: `attempted`, plus the acknowledged and aborted ones (all were attempted)."""
        return frozenset(a.id for a in self.attempted) | {p.id for p in self.produced} | self.aborted


@dataclass(frozen=True)
class TopicResult:
    """What one consumer group saw of one logical topic."""

    group: str
    topic: str
    produced: int
    consumed: int
    """Distinct ids delivered to the group."""
    lost: int
    duplicates: int
    """Deliveries beyond the first, per id."""
    order_violations: int
    """First deliveries of a record after a higher seq of the same (producer, key) was delivered."""
    aborted_read: int = 0
    """Distinct ids delivered to the group that belong to an aborted transaction."""
    phantom: int = 0
    """Distinct ids delivered to the group that no producer attempted."""
    produced_by_cluster: dict[str, int] = field(default_factory=dict)
    lost_by_cluster: dict[str, int] = field(default_factory=dict)
    lost_sample: tuple[str, ...] = ()
    phantom_sample: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupResult:
    """One consumer client group: a row per logical topic it reads."""

    group: str
    topics: tuple[TopicResult, ...]
    max_consumer_pause_s: float


@dataclass(frozen=True)
class ProducerResult:
    """What one producer attempted on one logical topic, and how each record ended.

    `attempted == acknowledged + aborted + unacknowledged_read + unacknowledged`.
    """

    producer: str
    topic: str
    attempted: int
    """Distinct ids it called produce for (a re-send is the same id)."""
    acknowledged: int
    aborted: int
    """In transactions it aborted on purpose."""
    unacknowledged_read: int
    """Never acknowledged, yet read by some consumer group: only the acknowledgement went missing."""
    unacknowledged: int
    """Never acknowledged and read by no group: producer-side loss."""
    unacknowledged_sample: tuple[str, ...] = ()


@dataclass(frozen=True)
class Totals:
    """Sums over the (group, topic) rows (a topic read by two groups counts twice), `unacknowledged` over producers'."""

    produced: int
    consumed: int
    lost: int
    duplicates: int
    order_violations: int
    max_consumer_pause_s: float
    aborted_read: int = 0
    phantom: int = 0
    unacknowledged: int = 0
    """Producer-side loss, summed over the producer rows (each record once)."""


@dataclass(frozen=True)
class CheckResult:
    """The verdict over a whole workload run."""

    groups: tuple[GroupResult, ...]
    totals: Totals
    producers: tuple[ProducerResult, ...] = ()

    @property
    def clean(self) -> bool:
        """Nothing lost (by a group or by a producer), duplicated, reordered or made up, and nothing aborted read."""
        t = self.totals
        counts = (t.lost, t.duplicates, t.order_violations, t.aborted_read, t.phantom, t.unacknowledged)
        return not any(counts)

    def row(self, group: str, topic: str) -> TopicResult:
        """The result of `group` on `topic` (KeyError if the group does not read it)."""
        for g in self.groups:
            for r in g.topics:
                if (r.group, r.topic) == (group, topic):
                    return r
        raise KeyError((group, topic))

    def to_json(self) -> dict[str, object]:
        return {"clean": self.clean, **asdict(self)}


def order_violations(deliveries: Iterable[ConsumedRecord]) -> int:
    """Count first deliveries that come after a higher seq of the same (producer, topic, key)."""
    seen: set[str] = set()
    highest: dict[tuple[str, str, str], int] = {}
    violations = 0
    for d in deliveries:
        if d.id in seen:
            continue
        seen.add(d.id)
        stream = (d.producer, d.topic, d.key)
        if d.seq < highest.get(stream, -1):
            violations += 1
        else:
            highest[stream] = d.seq
    return violations


def check_topic(group: str, topic: str, data: LedgerData) -> TopicResult:
    """Compare the acknowledged records of `topic` with what `group` consumed of it."""
    produced = {p.id: p for p in data.produced if p.topic == topic}
    deliveries = [c for c in data.consumed if c.group == group and c.topic == topic]
    consumed_ids = {d.id for d in deliveries}
    lost = sorted(set(produced) - consumed_ids)
    phantom = sorted(consumed_ids - data.attempted_ids())
    return TopicResult(
        group=group,
        topic=topic,
        produced=len(produced),
        consumed=len(consumed_ids),
        lost=len(lost),
        duplicates=len(deliveries) - len(consumed_ids),
        order_violations=order_violations(deliveries),
        aborted_read=len(consumed_ids & data.aborted),
        phantom=len(phantom),
        produced_by_cluster=dict(Counter(p.cluster for p in produced.values())),
        lost_by_cluster=dict(Counter(produced[i].cluster for i in lost)),
        lost_sample=tuple(lost[:LOST_SAMPLE]),
        phantom_sample=tuple(phantom[:LOST_SAMPLE]),
    )


def check_producers(data: LedgerData) -> tuple[ProducerResult, ...]:
    """How every attempted record of every (producer, logical topic) ended, sorted by producer and topic."""
    acknowledged = {p.id for p in data.produced}
    read = {c.id for c in data.consumed}
    streams: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    attempted: list[AttemptedRecord | ProducedRecord] = [*data.attempted, *data.produced]
    for record in attempted:
        streams[(record.producer, record.topic)].add(record.id)
    rows = []
    for (producer, topic), ids in sorted(streams.items()):
        acked = ids & acknowledged
        aborted = (ids - acked) & data.aborted
        pending = ids - acked - aborted
        unacknowledged = sorted(pending - read)
        rows.append(
            ProducerResult(
                producer=producer,
                topic=topic,
                attempted=len(ids),
                acknowledged=len(acked),
                aborted=len(aborted),
                unacknowledged_read=len(pending & read),
                unacknowledged=len(unacknowledged),
                unacknowledged_sample=tuple(unacknowledged[:LOST_SAMPLE]),
            )
        )
    return tuple(rows)


def check(data: LedgerData, clients: Iterable[ClientGroup]) -> CheckResult:
    """Check every consumer client group on every logical topic it reads, and every producer in the ledger."""
    groups = []
    for client in clients:
        if client.role is not ClientRole.CONSUMER:
            continue
        pauses = [p.seconds for p in data.pauses if p.group == client.name]
        topics = tuple(check_topic(client.name, t, data) for t in client.topics)
        groups.append(GroupResult(client.name, topics, max(pauses, default=0.0)))
    rows = [r for g in groups for r in g.topics]
    producers = check_producers(data)
    totals = Totals(
        produced=sum(r.produced for r in rows),
        consumed=sum(r.consumed for r in rows),
        lost=sum(r.lost for r in rows),
        duplicates=sum(r.duplicates for r in rows),
        order_violations=sum(r.order_violations for r in rows),
        max_consumer_pause_s=max((g.max_consumer_pause_s for g in groups), default=0.0),
        aborted_read=sum(r.aborted_read for r in rows),
        phantom=sum(r.phantom for r in rows),
        unacknowledged=sum(p.unacknowledged for p in producers),
    )
    return CheckResult(tuple(groups), totals, producers)


def per_second(events: Iterable[tuple[str, float]]) -> dict[str, list[tuple[float, float]]]:
    """(cluster, epoch seconds) events -> cluster -> records per second, zero-filled over the whole span."""
    counts: dict[str, Counter[int]] = {}
    for cluster, t in events:
        counts.setdefault(cluster, Counter())[int(t)] += 1
    seconds = [s for c in counts.values() for s in c]
    if not seconds:
        return {}
    span = range(min(seconds), max(seconds) + 1)
    return {cluster: [(float(s), float(c[s])) for s in span] for cluster, c in sorted(counts.items())}
