"""A Connect worker's REST password, made on the machine running Pulumi, for a worker that runs elsewhere (Docker).

A local worker makes its own REST credentials when it starts (`local_runtime.connect`). A
worker in a container gets them as a secret upload, so they are made here first:
`RestCredentials` generates a random password once, writes `kafkamig=<password>` to `file`
(0600, `private_files`), which the stack, the gates and `status` read like a local
worker's, and outputs the password as a secret for the upload. The file is rewritten
(same password) when it goes missing or changes, and removed with the resource, which
exists exactly while the worker does.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.local_runtime.private_files import remove_private, write_private
from kafka_migration.operations.engine_watch import bound_to_engine
from kafka_migration.planning.local_processes import rest_credentials_text

PASSWORD_BYTES = 24


def _in_place(props: dict[str, Any]) -> bool:
    """Whether the file holds exactly this password."""
    try:
        return Path(props["file"]).read_text() == rest_credentials_text(props["password"])
    except (OSError, KeyError, TypeError):
        return False


def _write(props: dict[str, Any], password: str) -> dict[str, Any]:
    write_private(Path(props["file"]), rest_credentials_text(password))
    return {**props, "password": password}


@bound_to_engine
class RestCredentialsProvider(ResourceProvider):
    """A random REST password in a 0600 file of this machine; the password is also the resource's secret output."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["file"], _write(props, secrets.token_hex(PASSWORD_BYTES)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # The password is known from the state only; a file that lost it is drift the next `up` repairs.
        return ReadResult(id_, {**props, "in_place": _in_place(props)})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("file",) if olds.get(k) != news.get(k)]
        changes = [] if replaces or _in_place(olds) else ["in_place"]
        return DiffResult(changes=bool(replaces or changes), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**_write(news, olds["password"]), "in_place": True})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        remove_private(Path(props["file"]))


class RestCredentials(Resource, module="kafkamig", name="RestCredentials"):
    """`kafkamig=<random password>` in `file` (0600) on the machine running Pulumi."""

    password: pulumi.Output[str]
    """The password (a secret): what the worker's credentials upload holds."""

    def __init__(self, name: str, file: str, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"file": file, "password": None, "in_place": True}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(RestCredentialsProvider(), name, props, opts)
