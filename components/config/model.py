"""The whole stack config (`MigrationConfig`), with the phases and strategies it moves through.

Its parts have their own modules: `clusters` (blue and green, runtimes, security),
`selection` (topics and ACLs), `clients` (client groups and waves) and `settings` (MM2,
gates, routing); `base` says what every model shares (camelCase keys, frozen, no unknown keys).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from kafka_migration.config.base import ConfigModel
from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.config.clusters import ClusterSpec, RuntimeKind
from kafka_migration.config.patterns import check_patterns
from kafka_migration.config.selection import AclMirrorSpec, TopicSelection
from kafka_migration.config.settings import GateSettings, Mm2Settings, RoutingSettings


class Phase(StrEnum):
    """The migration's phases, named as in the stack config (`phase: producers-switched`)."""

    BLUE_ONLY = "blue-only"
    GREEN_PROVISIONED = "green-provisioned"
    REPLICATING = "replicating"
    BIDIRECTIONAL = "bidirectional"
    PRODUCERS_SWITCHED = "producers-switched"
    CONSUMERS_SWITCHED = "consumers-switched"
    REVERSE_DISABLED = "reverse-disabled"
    VERIFIED = "verified"
    MM2_STOPPED = "mm2-stopped"
    DECOMMISSIONED = "decommissioned"


class Strategy(StrEnum):
    """How records cross over.

    `bidirectional`: the article's plan. A->B and B->A with MM2's default replication
    policy (remote topics are prefixed: `orders` on blue is `A.orders` on green);
    producers move first, consumers read both the local and the remote topic.
    `one-way`: A->B only, with identity topic names (`orders` stays `orders`);
    consumers move first, then producers. No prefixed names, no loop risk.
    """

    BIDIRECTIONAL = "bidirectional"
    ONE_WAY = "one-way"


def _addresses(bootstrap_servers: str) -> set[str]:
    """The `host:port` entries of a bootstrap list, lower-cased."""
    return {a.strip().lower() for a in bootstrap_servers.split(",") if a.strip()}


PHASES_BIDIRECTIONAL_ONLY = (Phase.BIDIRECTIONAL, Phase.REVERSE_DISABLED)


class MigrationConfig(ConfigModel):
    """The whole migration, as one stack describes it."""

    phase: Phase = Phase.BLUE_ONLY
    producer_waves: int = Field(default=0, ge=0)
    """How many producer waves are switched (meaningful from `producers-switched` on)."""
    consumer_waves: int = Field(default=0, ge=0)
    strategy: Strategy = Strategy.BIDIRECTIONAL
    blue: ClusterSpec
    green: ClusterSpec
    topics: TopicSelection = TopicSelection()
    consumer_groups: list[str] = Field(default=[".*"])
    """Regexes of blue's consumer groups whose offsets MM2 checkpoints (MM2's `groups`; see `patterns.py`)."""
    acls: AclMirrorSpec = AclMirrorSpec()
    clients: list[ClientGroup] = Field(default=[])
    mm2: Mm2Settings = Mm2Settings()
    gates: GateSettings = GateSettings()
    routing: RoutingSettings = RoutingSettings()
    force: dict[str, str] = Field(default={})
    """Gate name -> the operator's reason, to override that one gate for this step (recorded in outputs)."""
    allow_destroy: bool = False
    """Protect green's cluster and topics unless this is true (rollback to blue-only, teardown of a rehearsal)."""
    production: bool = False
    """A production stack: the policy pack applies its stricter rules (replication factors, soak >= 24 h)."""

    @field_validator("consumer_groups")
    @classmethod
    def _group_patterns(cls, patterns: list[str]) -> list[str]:
        """Patterns in the subset Java (MM2's `groups`) and Python read alike (`patterns.py`)."""
        return check_patterns(patterns, "consumerGroups")

    @model_validator(mode="after")
    def _consistent(self) -> MigrationConfig:
        if self.blue.alias == self.green.alias:
            raise ValueError(
                f"blue.alias and green.alias are both {self.blue.alias!r}; give green its own alias (e.g. B)"
            )
        shared = _addresses(self.blue.resolved_bootstrap_servers) & _addresses(self.green.resolved_bootstrap_servers)
        if shared:
            raise ValueError(
                f"green.bootstrapServers {self.green.resolved_bootstrap_servers!r} names blue's broker(s) "
                f"{', '.join(sorted(shared))}: green must be another cluster, or the migration would copy blue "
                "into itself; point green.bootstrapServers at the new cluster"
            )
        if self.strategy is Strategy.ONE_WAY and self.phase in PHASES_BIDIRECTIONAL_ONLY:
            raise ValueError(
                f"phase {self.phase.value} does not exist in the one-way strategy; "
                "its order is blue-only, green-provisioned, replicating, consumers-switched, producers-switched, "
                "verified, mm2-stopped, decommissioned"
            )
        if self.green.runtime is RuntimeKind.DOCKER and self.mm2.local_workers > 1:
            raise ValueError(
                f"mm2.workers is {self.mm2.workers} but green.runtime docker runs one Connect container; "
                "set mm2.workers to 1 (or remove it), or run green on the local or kubernetes runtime"
            )
        self._check_clients()
        self._check_waves()
        self._check_mm2_principal()
        return self

    @property
    def mm2_principal_on_green(self) -> str:
        """The principal MM2 is on green (`mm2_principal`)."""
        return self.mm2_principal(self.green)

    def mm2_principal(self, cluster: ClusterSpec) -> str:
        """The principal MM2 is on `cluster`: its SASL user there, else `acls.mm2Principal`."""
        user = cluster.security.mm2_username
        return f"User:{user}" if user is not None else self.acls.mm2_principal

    def _check_mm2_principal(self) -> None:
        user = self.green.security.mm2_username
        if user is None or "mm2_principal" not in self.acls.model_fields_set:
            return
        if self.acls.mm2_principal != f"User:{user}":
            where = "green.security.mm2.username" if self.green.security.mm2 else "green.security.username"
            raise ValueError(
                f"acls.mm2Principal is {self.acls.mm2_principal!r}, but MM2 authenticates to green as {user!r} "
                f"({where}), so its ACLs would name a principal nobody logs in as; set acls.mm2Principal: "
                f"User:{user}, or remove it (it is derived from the credential)"
            )

    def _check_clients(self) -> None:
        names = [c.name for c in self.clients]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"clients has duplicate names {duplicates}; every client group needs its own name")
        for client in self.clients:
            unselected = [t for t in client.topics if not self.topics.selects(t)]
            if unselected:
                raise ValueError(
                    f"clients[{client.name}].topics uses {unselected}, which topics.include/exclude do not migrate; "
                    "add them to topics.include or remove them from the client"
                )

    def _check_waves(self) -> None:
        for role, done in ((ClientRole.PRODUCER, self.producer_waves), (ClientRole.CONSUMER, self.consumer_waves)):
            waves = sorted({c.wave for c in self.clients if c.role is role})
            if waves and waves != list(range(1, len(waves) + 1)):
                raise ValueError(f"{role.value} waves are {waves}; number them 1..N without gaps")
            if done > len(waves):
                field = "producerWaves" if role is ClientRole.PRODUCER else "consumerWaves"
                raise ValueError(
                    f"{field} is {done} but the clients define {len(waves)} {role.value} wave(s); lower {field}"
                )

    def wave_count(self, role: ClientRole) -> int:
        return len({c.wave for c in self.clients if c.role is role})

    def clients_of(self, role: ClientRole) -> list[ClientGroup]:
        return [c for c in self.clients if c.role is role]
