"""Who connects as whom in a secured rehearsal (`--secure`): SCRAM users on both clusters, one CA.

Blue and green run SASL_SSL (SCRAM-SHA-512 over TLS) and enforce ACLs, with nobody
anonymous. Both clusters' certificates chain to one CA that the local runtime generates
in the run's folder. Every identity has one random password, the same on blue and green:

- each application's (a client group's principal), handed to its clients, never written
  to a routing document;
- the stack's admin identity and MM2's, set as secrets in the stack's config.

The rehearsal plays the platform team: it creates the users on blue, grants blue what the
README lists (`planning.grants.blue_grants`), and creates the applications' users on green
once green exists. Green's application ACLs are the stack's own: mirrored from blue.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_migration.config.clients import ClientGroup

ADMIN_USER = "migration-admin"
"""The stack's admin identity on both clusters."""
MM2_USER = "mm2"
"""MirrorMaker 2's identity on both clusters."""
PROTOCOL = "SASL_SSL"
MECHANISM = "SCRAM-SHA-512"

Connection = str | Mapping[str, Any]
"""How a rehearsal helper reaches a cluster: its bootstrap servers (PLAINTEXT), or librdkafka settings."""

ClientCredentials = Mapping[str, Mapping[str, Any]]
"""Cluster alias -> the librdkafka settings a client adds there (its identity); nothing for an alias not named."""


def client_settings(connection: Connection) -> dict[str, Any]:
    """The librdkafka settings for `connection` (a bootstrap string: PLAINTEXT, as anyone)."""
    return {"bootstrap.servers": connection} if isinstance(connection, str) else dict(connection)


def app_user(client: ClientGroup) -> str:
    """The SCRAM user name of a client group: its principal without `User:`.

    Raises:
        ValueError: The group has no `User:` principal (a secured rehearsal needs one for each).
    """
    principal = client.principal or ""
    if not principal.startswith("User:"):
        raise ValueError(
            f"clients[{client.name}].principal is {principal or 'not set'}: a secured rehearsal logs every client "
            "in as its principal; set it to User:<name>"
        )
    return principal.removeprefix("User:")


@dataclass(frozen=True)
class Identities:
    """The secured estate's users and the CA their clusters' certificates chain to."""

    ca_file: Path
    passwords: Mapping[str, str] = field(repr=False)
    """User name -> password (the same on blue and green)."""
    app_users: Mapping[str, str] = field(default_factory=dict)
    """Client group name -> its user."""

    @classmethod
    def generate(cls, ca_file: Path, clients: Iterable[ClientGroup]) -> Identities:
        """A random password for the admin, MM2 and every client group's principal."""
        app_users = {c.name: app_user(c) for c in clients}
        users = sorted({ADMIN_USER, MM2_USER, *app_users.values()})
        return cls(ca_file.resolve(), {u: secrets.token_urlsafe(18) for u in users}, app_users)

    @property
    def applications(self) -> dict[str, str]:
        """The applications' users -> passwords (what the platform team creates on green)."""
        return {u: self.passwords[u] for u in sorted(set(self.app_users.values()))}

    def settings(self, user: str) -> dict[str, Any]:
        """The librdkafka settings that log `user` in (SCRAM-SHA-512 over TLS, the run's CA trusted)."""
        return {
            "security.protocol": PROTOCOL,
            "sasl.mechanism": MECHANISM,
            "sasl.username": user,
            "sasl.password": self.passwords[user],
            "ssl.ca.location": str(self.ca_file),
        }

    def credentials(self, client: ClientGroup, aliases: Iterable[str]) -> ClientCredentials:
        """What a client group's clients bring to each cluster: their own user on every one of `aliases`."""
        user = self.app_users[client.name]
        return {alias: self.settings(user) for alias in aliases}

    def security_config(self) -> dict[str, Any]:
        """A cluster's `security` object in the stack config, without its passwords (those are secrets)."""
        return {
            "protocol": PROTOCOL,
            "saslMechanism": MECHANISM,
            "username": ADMIN_USER,
            "caFile": str(self.ca_file),
            "mm2": {"username": MM2_USER},
        }

    def secret_config(self, sides: Iterable[str] = ("blue", "green")) -> dict[str, str]:
        """Config path -> password, for `pulumi config set --secret --path` (admin's and MM2's, per cluster)."""
        out = {}
        for side in sides:
            out[f"{side}.security.password"] = self.passwords[ADMIN_USER]
            out[f"{side}.security.mm2.password"] = self.passwords[MM2_USER]
        return out


def secured_config(raw: Mapping[str, Any], identities: Identities) -> dict[str, Any]:
    """The stack config `raw` with blue and green secured (`Identities.security_config`), passwords left out."""
    out = copy.deepcopy(dict(raw))
    for side in ("blue", "green"):
        out[side] = {**out[side], "security": identities.security_config()}
    return out


def with_secrets(raw: Mapping[str, Any], secret_paths: Mapping[str, str]) -> dict[str, Any]:
    """The stack config as the program sees it: `raw` with each dotted path's secret put in place."""
    out = copy.deepcopy(dict(raw))
    for path, value in secret_paths.items():
        *parents, leaf = path.split(".")
        node = out
        for key in parents:
            node = node[key]
        node[leaf] = value
    return out
