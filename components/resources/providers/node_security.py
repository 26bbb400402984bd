"""A secured node that runs elsewhere (a Docker container): its certificate and its SCRAM users, as Pulumi resources.

The local runtime makes a secure node's CA, certificate and SCRAM users inside its own
cluster resource (`providers.local_cluster`), because it runs the JVM too. A node in a
container is run by the Docker provider, so what the local runtime does around the JVM is
two resources of its own here, both on the machine running Pulumi:

- `NodeCertificate`: the CA at `ca_file` (made once, never replaced: `local_runtime.tls`)
  and the node's certificate, key and PEM keystore in `folder`, re-issued only when they
  are no longer right (missing, another CA, near expiry). Its outputs are the CA's
  certificate (public) and the keystore (a secret), which the container gets as uploads.
- `ScramUsers`: SCRAM-SHA-512 credentials for the cluster's identities (green's admin and
  MM2's), set once the node answers, through its INTERNAL listener with the node's own
  certificate (its only super user), and the admin identity's owner grants
  (`planning.grants.owner_grants`, as on a local cluster). The passwords travel in the
  admin request only; in Pulumi's state they are secrets.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pulumi
from confluent_kafka.admin import AdminClient
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.local_runtime import kafka, tls
from kafka_migration.local_runtime.private_files import remove_private
from kafka_migration.operations.engine_watch import bound_to_engine
from kafka_migration.planning.grants import owner_grants
from kafka_migration.planning.local_processes import NODE_CERT_FILE, NODE_KEY_FILE, NODE_KEYSTORE_FILE, NodeTls

REACH_TIMEOUT_S = 60
"""How long `ScramUsers` waits for the node to answer on INTERNAL before it gives up (create, update)."""
DELETE_TIMEOUT_S = 15


def _certificate_outputs(props: dict[str, Any]) -> dict[str, Any]:
    """The CA and node certificate in place (made or re-issued if needed), as the resource's outputs."""
    ca_file, folder = Path(props["ca_file"]), Path(props["folder"])
    tls.ensure_ca(ca_file)
    cert = tls.issue_node_certificate(ca_file, folder, props["common_name"])
    chain = cert.cert_file.read_bytes()
    return {
        **props,
        "ca_pem": ca_file.read_text(),
        "keystore_pem": cert.keystore_file.read_text(),
        "chain_sha256": hashlib.sha256(chain).hexdigest(),
    }


def _certificate_current(props: dict[str, Any]) -> bool:
    """Whether the files on disk are still the ones the state records (same chain, still valid from this CA)."""
    folder = Path(props["folder"])
    if not tls.node_certificate_current(Path(props["ca_file"]), folder, props["common_name"]):
        return False
    try:
        chain = (folder / NODE_CERT_FILE).read_bytes()
    except OSError:
        return False
    return hashlib.sha256(chain).hexdigest() == props.get("chain_sha256")


@bound_to_engine
class NodeCertificateProvider(ResourceProvider):
    """Makes the CA (once) and the node's certificate on this machine; re-issues a certificate that went wrong."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["folder"], _certificate_outputs(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if _certificate_current(props):
            return ReadResult(id_, props)
        return ReadResult(id_, {**props, "chain_sha256": None})  # gone or changed: the next up re-issues it

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("folder",) if olds.get(k) != news.get(k)]
        changes = [k for k in ("ca_file", "common_name") if olds.get(k) != news.get(k)]
        if not replaces and not changes and not _certificate_current(olds):
            changes.append("chain_sha256")
        return DiffResult(changes=bool(replaces or changes), replaces=replaces, delete_before_replace=True)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_certificate_outputs(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """The node's key, keystore and certificate go; the CA stays (clients trust it, and it is never replaced)."""
        folder = Path(props["folder"])
        for name in (NODE_KEY_FILE, NODE_KEYSTORE_FILE):
            remove_private(folder / name)
        (folder / NODE_CERT_FILE).unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


class NodeCertificate(Resource, module="kafkamig", name="NodeCertificate"):
    """A node's certificate from the CA at `ca_file` (made if missing), on the machine running Pulumi."""

    ca_pem: pulumi.Output[str]
    """The CA's certificate (PEM), what the node and every client trust."""
    keystore_pem: pulumi.Output[str]
    """The node's key then its chain (PEM), a secret: Kafka's PEM keystore."""
    chain_sha256: pulumi.Output[str]

    def __init__(
        self, name: str, ca_file: str, folder: str, common_name: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "ca_file": ca_file,
            "folder": folder,
            "common_name": common_name,
            "ca_pem": None,
            "keystore_pem": None,
            "chain_sha256": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["keystore_pem"]))
        super().__init__(NodeCertificateProvider(), name, props, opts)


def _admin(props: dict[str, Any]) -> AdminClient:
    """The node itself, on its INTERNAL listener (its certificate is the cluster's only super user)."""
    node_tls = NodeTls(Path(props["ca_file"]), Path(props["folder"]))
    return AdminClient(kafka.mtls_config(props["bootstrap"], node_tls))


def _reachable(admin: AdminClient, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=5)
            return True
        except Exception:  # noqa: BLE001 - not answering (yet)
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def _set_users(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """The credentials and the admin's grants as `news` says; users and grants `olds` had but `news` drops go."""
    admin = _admin(news)
    where = f"Kafka {news['cluster']} ({news['bootstrap']})"
    if not _reachable(admin, REACH_TIMEOUT_S):
        raise TimeoutError(f"{where} did not answer on its INTERNAL listener within {REACH_TIMEOUT_S}s")
    users = dict(news.get("users") or {})
    kafka.delete_scram_credentials(admin, set(olds.get("users") or {}) - set(users))
    old_admin, new_admin = olds.get("admin_user"), news.get("admin_user")
    if old_admin and old_admin != new_admin:
        kafka.revoke_through(admin, owner_grants(old_admin))
    kafka.upsert_scram_credentials(admin, users, where)
    if new_admin:
        kafka.grant_through(admin, owner_grants(new_admin))
    return {**news, "present": sorted(users)}


def _present(props: dict[str, Any]) -> list[str] | None:
    """Which of the users have a credential on the node now; None when it does not answer."""
    admin = _admin(props)
    if not _reachable(admin, 5):
        return None
    return kafka.scram_users_present(admin, props.get("users") or {})


@bound_to_engine
class ScramUsersProvider(ResourceProvider):
    """Sets, observes and removes SCRAM-SHA-512 users on a node, as the node itself (mTLS on INTERNAL)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props['cluster']}-scram-users", _set_users({}, props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        present = _present(props)
        return ReadResult(id_, {**props, "present": props.get("present") if present is None else present})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("cluster", "bootstrap", "ca_file", "folder", "users", "admin_user", "chain_sha256")
        changes = [k for k in keys if olds.get(k) != news.get(k)]
        if not changes:
            present = _present(olds)
            if present is not None and present != sorted(olds.get("users") or {}):
                changes.append("present")  # a credential was removed behind the stack's back (or the volume went)
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_set_users(olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Remove the credentials and the admin's grants; a node that no longer answers took them with it.

        (The credentials live in the node's metadata log, on its data volume: a node that
        is gone, volume and all, holds none; a stopped one keeps them until it is removed.)
        """
        admin = _admin(props)
        if not _reachable(admin, DELETE_TIMEOUT_S):
            pulumi.log.warn(f"Kafka {props['cluster']} does not answer: its SCRAM users were not removed")
            return
        kafka.delete_scram_credentials(admin, props.get("users") or {})
        if props.get("admin_user"):
            kafka.revoke_through(admin, owner_grants(props["admin_user"]))


class ScramUsers(Resource, module="kafkamig", name="ScramUsers"):
    """SCRAM-SHA-512 credentials (name -> password, a secret) on a node reached over mTLS, and its admin's grants."""

    present: pulumi.Output[list[str]]
    """The users the node had a credential for when last read."""

    def __init__(
        self,
        name: str,
        cluster: str,
        bootstrap: str,
        node_tls: NodeTls,
        users: pulumi.Input[dict[str, str]],
        admin_user: str | None,
        chain_sha256: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "cluster": cluster,
            "bootstrap": bootstrap,
            "ca_file": node_tls.ca_file.as_posix(),
            "folder": node_tls.folder.as_posix(),
            "users": pulumi.Output.secret(users),
            "admin_user": admin_user,
            "chain_sha256": chain_sha256,
            "present": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["users"]))
        super().__init__(ScramUsersProvider(), name, props, opts)
