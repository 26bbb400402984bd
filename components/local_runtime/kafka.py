"""A single-node KRaft Kafka cluster (broker and controller in one JVM) on 127.0.0.1.

A node runs in one of two modes (`planning.local_processes.server_config`):

- PLAINTEXT (`node.tls` None): clients are User:ANONYMOUS, which `start` grants everything
  through wildcard ACLs.
- Secure (`node.tls` set): clients authenticate with SCRAM-SHA-512 over TLS on the broker
  port; the controller listener and an INTERNAL listener (a free loopback port picked at
  each start, recorded in `INTERNAL_PORT_FILE`) require a certificate from the node's CA.
  The runtime itself talks to the node over INTERNAL with the node's own certificate, the
  only super user (`operator_admin`); nobody is anonymous and nothing is granted by default.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from kafka_migration.evidence.inventory import acl_binding
from kafka_migration.local_runtime import ports, process, tls
from kafka_migration.local_runtime.private_files import write_private
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.planning.local_processes import KafkaNode, NodeTls, server_properties

BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


INTERNAL_PORT_FILE = "internal.port"
"""In a secure node's folder: the INTERNAL listener's port of the process started last (the operator's way in)."""
SCRAM_ITERATIONS = 8192


def format_storage(node: KafkaNode, cluster_id: str, internal_port: int | None = None) -> None:
    """Write the config and format the log dir with cluster_id (once; a formatted dir is kept).

    A secure node's config names its key file and is written 0600 (`write_private`);
    `internal_port` is then required (its INTERNAL listener).
    """
    node.data_dir.mkdir(parents=True, exist_ok=True)
    if node.tls is None:
        node.config_file.write_text(server_properties(node))
    else:
        write_private(node.config_file, server_properties(node, internal_port))
    if (node.log_dir / "meta.properties").exists():
        return
    process.run_java(STORAGE_TOOL, ["format", "-t", cluster_id, "-c", str(node.config_file)])


def formatted_cluster_id(node: KafkaNode) -> str | None:
    """The cluster id the node's storage was formatted with, if formatted."""
    meta = node.log_dir / "meta.properties"
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    return None


def start(node: KafkaNode, cluster_id: str, users: Mapping[str, str] | None = None, timeout_s: float = 90) -> int:
    """Format (first time only), start and wait until the cluster answers. Returns the pid.

    PLAINTEXT node: User:ANONYMOUS is then granted everything (`grant_local_principal`) and
    `users` must be empty (there is no SASL to log in with).

    Secure node: the CA and the node's certificate are made first if missing
    (`tls.ensure_ca`, `tls.issue_node_certificate`), then SCRAM-SHA-512 credentials are
    upserted for every `users` name -> password through the operator's admin client (the
    passwords travel only in that request: never on a command line, in a file or a log).
    Nobody gets any ACL here. A running process is reused, unless its certificate was just
    re-issued (a new CA): it is restarted so that it presents the new one.
    """
    if node.tls is None:
        if users:
            raise ValueError(f"Kafka {node.name} is a PLAINTEXT node: it has no SASL users to create")
        format_storage(node, cluster_id)
        if process.running_pid(node.data_dir) is not None:
            wait_ready(node, timeout_s)
            return process.running_pid(node.data_dir) or 0
        pid = process.start_java(node.data_dir, BROKER_MAIN, [str(node.config_file.resolve())], node.heap_mb)
        wait_ready(node, timeout_s)
        grant_local_principal(node)
        return pid
    pid = _start_secure(node, node.tls, cluster_id, timeout_s)
    if users:
        upsert_scram_users(node, users)
    return pid


def _start_secure(node: KafkaNode, node_tls: NodeTls, cluster_id: str, timeout_s: float) -> int:
    tls.ensure_ca(node_tls.ca_file)
    cert = tls.issue_node_certificate(node_tls.ca_file, node_tls.folder, node.common_name)
    pid = process.running_pid(node.data_dir)
    if pid is not None and cert.issued:
        stop(node)
        pid = None
    if pid is not None and internal_port(node) is not None:
        wait_ready(node, timeout_s)
        return process.running_pid(node.data_dir) or 0
    if pid is not None:  # running, but its INTERNAL port is unknown: restart it so it is ours to reach again
        stop(node)
    port = ports.free_ports(1)[0]
    format_storage(node, cluster_id, port)
    (node.data_dir / INTERNAL_PORT_FILE).write_text(f"{port}\n")
    pid = process.start_java(node.data_dir, BROKER_MAIN, [str(node.config_file.resolve())], node.heap_mb)
    wait_ready(node, timeout_s)
    return pid


def internal_port(node: KafkaNode) -> int | None:
    """The INTERNAL listener's port of a secure node's last start, if recorded."""
    try:
        return int((node.data_dir / INTERNAL_PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def operator_config(node: KafkaNode) -> dict[str, str | int | float | bool]:
    """The librdkafka settings through which the runtime itself reaches the node.

    PLAINTEXT node: the broker port, as User:ANONYMOUS. Secure node: the INTERNAL listener
    (SSL) with the node's own certificate, i.e. as the super user `node.node_principal`.
    Raises RuntimeError when a secure node's INTERNAL port is not known (never started).
    """
    if node.tls is None:
        return {"bootstrap.servers": node.bootstrap_servers, "log_level": 0}
    port = internal_port(node)
    if port is None:
        raise RuntimeError(f"Kafka {node.name}: no INTERNAL port recorded in {node.data_dir}; start it first")
    return mtls_config(f"127.0.0.1:{port}", node.tls)


def mtls_config(bootstrap: str, node_tls: NodeTls) -> dict[str, str | int | float | bool]:
    """The librdkafka settings of a client that is the node itself: SSL to `bootstrap` with the node's certificate."""
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SSL",
        "ssl.ca.location": str(node_tls.ca_file),
        "ssl.certificate.location": str(node_tls.cert_file),
        "ssl.key.location": str(node_tls.key_file),
        "log_level": 0,
    }


def operator_admin(node: KafkaNode) -> AdminClient:
    """An admin client for the runtime's own work on the node (for a secure node: its mTLS super user)."""
    return AdminClient(operator_config(node))


def upsert_scram_users(node: KafkaNode, users: Mapping[str, str], timeout_s: float = 30) -> None:
    """Create or update a SCRAM-SHA-512 credential for every name -> password (secure nodes only), as the operator."""
    if node.tls is None:
        raise ValueError(f"Kafka {node.name} is a PLAINTEXT node: it has no SCRAM users")
    upsert_scram_credentials(operator_admin(node), users, f"Kafka {node.name}", timeout_s)


def upsert_scram_credentials(admin: AdminClient, users: Mapping[str, str], where: str, timeout_s: float = 30) -> None:
    """Create or update a SCRAM-SHA-512 credential for every name -> password through `admin`.

    Returns once the broker lists every user, so a client may log in right after (the
    credential reaches the broker through the metadata log). Errors name the user and
    `where` (the cluster), never the password.
    """
    if not users:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(name, info, password.encode()) for name, password in users.items()
    ]
    for name, future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except Exception as exc:  # noqa: BLE001 - rethrown with the user's name only
            raise RuntimeError(f"{where}: could not set the SCRAM credential of {name!r}: {exc}") from None
    deadline = time.monotonic() + timeout_s
    missing = sorted(users)
    while missing:
        futures = admin.describe_user_scram_credentials(missing, request_timeout=5)
        assert isinstance(futures, dict)  # a list of users gives one future per user
        missing = [name for name, future in futures.items() if not _succeeds(future)]
        if missing and time.monotonic() > deadline:
            raise TimeoutError(f"{where}: SCRAM users {missing} not visible after {timeout_s}s")
        if missing:
            time.sleep(0.2)


def _succeeds(future: Future[Any]) -> bool:
    try:
        future.result(timeout=10)
    except Exception:  # noqa: BLE001 - not visible yet (or not reachable): asked again
        return False
    return True


def wait_ready(node: KafkaNode, timeout_s: float) -> None:
    """Block until the cluster answers a metadata request, or raise with the log's tail.

    A secure node is asked over its INTERNAL listener as the operator (`operator_config`).
    """
    deadline = time.monotonic() + timeout_s
    admin = operator_admin(node)
    while True:
        if not process.running_pid(node.data_dir) is not None:
            raise RuntimeError(f"Kafka {node.name} exited during start-up\n{process.log_tail(node.data_dir)}")
        try:
            admin.list_topics(timeout=2)
            return
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Kafka {node.name} not ready on {operator_config(node)['bootstrap.servers']} after {timeout_s}s\n"
                    f"{process.log_tail(node.data_dir)}"
                ) from None
            time.sleep(0.5)


LOCAL_PRINCIPAL = "User:ANONYMOUS"
_WILDCARD_RESOURCES = (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.BROKER, ResourceType.TRANSACTIONAL_ID)


def grant_local_principal(node: KafkaNode) -> None:
    """Allow User:ANONYMOUS everything, through wildcard ACLs (idempotent). PLAINTEXT nodes only."""
    if node.tls is not None:
        raise ValueError(f"Kafka {node.name} is secure: User:ANONYMOUS is granted nothing there")
    admin = AdminClient({"bootstrap.servers": node.bootstrap_servers, "log_level": 0})
    bindings = [
        AclBinding(
            rtype,
            "kafka-cluster" if rtype is ResourceType.BROKER else "*",
            ResourcePatternType.LITERAL,
            LOCAL_PRINCIPAL,
            "*",
            AclOperation.ALL,
            AclPermissionType.ALLOW,
        )
        for rtype in _WILDCARD_RESOURCES
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)


def grant(node: KafkaNode, acls: Iterable[AclEntry]) -> None:
    """Create `acls` on the node as the operator (idempotent: Kafka keeps one copy of each binding)."""
    grant_through(operator_admin(node), acls)


def grant_through(admin: AdminClient, acls: Iterable[AclEntry]) -> None:
    """Create `acls` through `admin` (idempotent: Kafka keeps one copy of each binding)."""
    bindings = [acl_binding(a) for a in acls]
    if bindings:
        for future in admin.create_acls(bindings).values():
            future.result(timeout=30)


def revoke_through(admin: AdminClient, acls: Iterable[AclEntry]) -> None:
    """Delete exactly `acls` through `admin` (absent ones are fine)."""
    bindings = [acl_binding(a) for a in acls]
    # Each filter matches exactly its binding.
    filters = [
        AclBindingFilter(
            b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
        )
        for b in bindings
    ]
    if filters:
        for future in admin.delete_acls(filters).values():
            future.result(timeout=30)


def scram_users_present(admin: AdminClient, names: Iterable[str], timeout_s: float = 10) -> list[str]:
    """Which of `names` have a SCRAM credential on the cluster (raises when the cluster does not answer)."""
    wanted = sorted(names)
    if not wanted:
        return []
    futures = admin.describe_user_scram_credentials(wanted, request_timeout=timeout_s)
    assert isinstance(futures, dict)  # a list of users gives one future per user
    present = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.RESOURCE_NOT_FOUND:
                raise
            continue
        present.append(name)
    return sorted(present)


def delete_scram_credentials(admin: AdminClient, names: Iterable[str], timeout_s: float = 30) -> None:
    """Remove the SCRAM-SHA-512 credential of every user in `names` that has one."""
    present = scram_users_present(admin, names)
    deletions: list[UserScramCredentialAlteration] = [
        UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512) for name in present
    ]
    if deletions:
        for future in admin.alter_user_scram_credentials(deletions, request_timeout=timeout_s).values():
            future.result(timeout=timeout_s)


def is_healthy(node: KafkaNode, timeout_s: float = 5) -> bool:
    """Process alive and answering metadata requests (a secure node's over INTERNAL, as the operator)."""
    if not process.running_pid(node.data_dir) is not None:
        return False
    try:
        operator_admin(node).list_topics(timeout=timeout_s)
        return True
    except Exception:  # noqa: BLE001
        return False


def stop(node: KafkaNode) -> None:
    """Stop the node; its data stays (a later start resumes it, on a new INTERNAL port if secure)."""
    process.stop(node.data_dir)
    (node.data_dir / INTERNAL_PORT_FILE).unlink(missing_ok=True)
