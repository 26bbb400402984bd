"""The platform team's part of a secured rehearsal: users and grants that no stack creates.

Blue is the users' existing cluster: its users, its applications' ACLs and the grants the
README lists for the stack's identities are there before the migration starts. Green's
admin and MM2 users come from the stack (its local runtime); the applications' users on
green are the platform team's to create (SCRAM credentials cannot be copied from blue),
once green exists. Their ACLs on green are the stack's: mirrored from blue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.evidence.clients import admin
from kafka_migration.local_runtime import kafka
from kafka_migration.planning.grants import blue_grants
from kafka_migration.planning.phases import Step
from kafka_migration.rehearsal.identities import ClientCredentials, Identities


@dataclass
class SecuredEstate:
    """A secured rehearsal's identities, and what the platform team does with them along the walk."""

    identities: Identities
    cfg: MigrationConfig
    apps_on_green: bool = field(default=False, init=False)
    """Whether the applications' users exist on green yet."""

    def grant_blue(self, blue: kafka.KafkaNode, migrated: list[str]) -> None:
        """Grant blue exactly what the README lists for the stack's admin identity and MM2 (`blue_grants`)."""
        kafka.grant(blue, blue_grants(self.cfg, migrated))

    def after_up(self, step: Step) -> None:
        """After a step's `pulumi up`: the applications' users on green, once it exists (before any client moves)."""
        if self.apps_on_green or step.phase is Phase.BLUE_ONLY:
            return
        green = self.cfg.green
        kafka.upsert_scram_credentials(admin(green), self.identities.applications, f"green ({green.alias})")
        self.apps_on_green = True

    def credentials(self, group: ClientGroup) -> ClientCredentials:
        """A client group's identity on blue and on green."""
        return self.identities.credentials(group, (self.cfg.blue.alias, self.cfg.green.alias))

    def writer_of(self, topic: str, bootstrap_servers: str) -> dict[str, Any]:
        """Settings that log in as a producer group that writes `topic` (a stray client is one of them).

        Raises:
            ValueError: No producer group writes `topic`.
        """
        for group in self.cfg.clients_of(ClientRole.PRODUCER):
            if topic in group.topics:
                user = self.identities.app_users[group.name]
                return {"bootstrap.servers": bootstrap_servers, **self.identities.settings(user)}
        raise ValueError(f"no producer group in clients writes {topic}")
