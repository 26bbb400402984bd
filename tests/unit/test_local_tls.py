"""A secure local Kafka node: its CA and certificate files, and a broker config with no anonymous access.

No JVM runs: certificates are checked with `cryptography`, the config with the `Properties`
reader of `tests/unit/java_readers.py`, and `kafka.start` with the process layer replaced.
"""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kafka_migration.local_runtime import kafka, process, tls
from kafka_migration.planning.local_processes import KafkaNode, NodeTls, server_config, server_properties
from tests.unit.java_readers import load_properties


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


# --- The CA -----------------------------------------------------------------------------------------------------


def test_the_ca_is_a_self_signed_ca_with_its_key_beside_it_0600(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca" / "ca.crt"
    tls.ensure_ca(ca_file)
    cert = x509.load_pem_x509_certificate(ca_file.read_bytes())
    key_file = tmp_path / "ca" / "ca.key"
    assert tls.ca_key_file(ca_file) == key_file
    assert mode(key_file) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert cert.public_key() == key.public_key()
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650


def test_an_existing_ca_is_never_replaced(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.crt"
    tls.ensure_ca(ca_file)
    before = (ca_file.read_bytes(), tls.ca_key_file(ca_file).read_bytes())
    tls.ensure_ca(ca_file)
    assert (ca_file.read_bytes(), tls.ca_key_file(ca_file).read_bytes()) == before
    tls.ca_key_file(ca_file).unlink()  # even a CA whose key is gone stays: clients trust that file
    tls.ensure_ca(ca_file)
    assert ca_file.read_bytes() == before[0]
    assert not tls.ca_key_file(ca_file).exists()
    with pytest.raises(FileNotFoundError, match="CA key"):
        tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")


def test_a_key_left_without_its_certificate_is_reused(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.crt"
    tls.ensure_ca(ca_file)
    key = tls.ca_key_file(ca_file).read_bytes()
    ca_file.unlink()  # as if the process died between the key's write and the certificate's
    tls.ensure_ca(ca_file)
    assert tls.ca_key_file(ca_file).read_bytes() == key
    loaded = serialization.load_pem_private_key(key, password=None)
    assert x509.load_pem_x509_certificate(ca_file.read_bytes()).public_key() == loaded.public_key()


def test_a_ca_file_cannot_be_its_own_key_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="its own key file"):
        tls.ensure_ca(tmp_path / "ca.key")


# --- A node certificate -----------------------------------------------------------------------------------------


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca" / "ca.crt"
    tls.ensure_ca(path)
    return path


def test_a_node_certificate_is_a_tls_server_and_client_for_loopback(tmp_path: Path, ca_file: Path) -> None:
    issued = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    assert issued.issued
    assert (issued.cert_file, issued.key_file, issued.keystore_file) == (
        tmp_path / "node" / "node.crt",
        tmp_path / "node" / "node.key",
        tmp_path / "node" / "node-keystore.pem",
    )
    cert, ca = chain(issued.cert_file)
    assert ca.public_bytes(serialization.Encoding.PEM) == ca_file.read_bytes()
    cert.verify_directly_issued_by(ca)
    assert cert.subject.rfc4514_string() == "CN=kafkamig-node-A"  # Kafka's principal: User:CN=kafkamig-node-A
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["kafkamig-node-A"]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ekus) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_the_node_key_is_unencrypted_pkcs8_0600_and_the_keystore_holds_key_then_chain(
    tmp_path: Path, ca_file: Path
) -> None:
    issued = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    assert mode(issued.key_file) == 0o600 and mode(issued.keystore_file) == 0o600
    key_pem = issued.key_file.read_text()
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8: what Kafka's PEM keystore parses
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert chain(issued.cert_file)[0].public_key() == key.public_key()
    assert issued.keystore_file.read_text() == key_pem + issued.cert_file.read_text()
    assert "PRIVATE KEY" not in issued.cert_file.read_text()


def test_a_node_certificate_is_kept_while_it_is_still_right(tmp_path: Path, ca_file: Path) -> None:
    first = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    files = (first.cert_file.read_bytes(), first.key_file.read_bytes(), first.keystore_file.read_bytes())
    again = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    assert not again.issued
    assert (again.cert_file.read_bytes(), again.key_file.read_bytes(), again.keystore_file.read_bytes()) == files


def test_a_node_certificate_is_reissued_when_the_ca_changes(tmp_path: Path, ca_file: Path) -> None:
    first = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    old_cert = chain(first.cert_file)[0]
    other_ca = tmp_path / "other" / "ca.crt"
    tls.ensure_ca(other_ca)
    again = tls.issue_node_certificate(other_ca, tmp_path / "node", "kafkamig-node-A")
    assert again.issued
    cert, ca = chain(again.cert_file)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(other_ca.read_bytes()))
    assert ca.public_bytes(serialization.Encoding.PEM) == other_ca.read_bytes()
    assert cert.serial_number != old_cert.serial_number


@pytest.mark.parametrize("damage", ["cert", "key", "keystore", "swap-key", "cn"])
def test_a_node_certificate_is_reissued_when_missing_or_unusable(tmp_path: Path, ca_file: Path, damage: str) -> None:
    first = tls.issue_node_certificate(ca_file, tmp_path / "node", "kafkamig-node-A")
    cn = "kafkamig-node-A"
    if damage == "cert":
        first.cert_file.unlink()
    elif damage == "key":
        first.key_file.unlink()
    elif damage == "keystore":
        first.keystore_file.unlink()
    elif damage == "swap-key":
        other = tls.issue_node_certificate(ca_file, tmp_path / "other", cn)
        first.key_file.write_bytes(other.key_file.read_bytes())
    else:
        cn = "kafkamig-node-B"
    again = tls.issue_node_certificate(ca_file, tmp_path / "node", cn)
    assert again.issued
    cert = chain(again.cert_file)[0]
    assert cert.subject.rfc4514_string() == f"CN={cn}"
    assert cert.public_key() == serialization.load_pem_private_key(again.key_file.read_bytes(), None).public_key()
    assert again.keystore_file.read_text() == again.key_file.read_text() + again.cert_file.read_text()


# --- The secured broker config ----------------------------------------------------------------------------------


def secure_node(tmp_path: Path, name: str = "A") -> KafkaNode:
    return KafkaNode(
        name, tmp_path / f"kafka-{name}", 19092, 19093, tls=NodeTls(tmp_path / "ca" / "ca.crt", tmp_path / "tls")
    )


def test_a_plaintext_node_is_unchanged(tmp_path: Path) -> None:
    node = KafkaNode("A", tmp_path / "kafka", 19092, 19093)
    assert not node.secure
    props = server_config(node)
    assert server_config(node, internal_port=20000) == props  # the port means nothing without TLS
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["allow.everyone.if.no.acl.found"] == "true"
    assert "super.users" not in props
    assert not any(k.startswith(("ssl.", "sasl.", "listener.name.")) for k in props)


def test_a_secure_node_has_sasl_ssl_for_clients_and_mtls_inside(tmp_path: Path) -> None:
    node = secure_node(tmp_path)
    props = server_config(node, internal_port=20001)
    assert props["listeners"] == "CLIENT://127.0.0.1:19092,INTERNAL://127.0.0.1:20001,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "CLIENT://127.0.0.1:19092,INTERNAL://127.0.0.1:20001"
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    assert props["listener.name.internal.ssl.client.auth"] == "required"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert "ScramLoginModule required" in props["listener.name.client.scram-sha-512.sasl.jaas.config"]
    assert props["ssl.keystore.type"] == "PEM" and props["ssl.truststore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str((tmp_path / "tls" / "node-keystore.pem").resolve())
    assert props["ssl.truststore.location"] == str((tmp_path / "ca" / "ca.crt").resolve())
    assert "ssl.key.password" not in props and "ssl.keystore.password" not in props  # unencrypted PKCS#8
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["auto.create.topics.enable"] == "false"


def test_a_secure_node_has_one_super_user_its_certificate_and_nothing_anonymous(tmp_path: Path) -> None:
    node = secure_node(tmp_path, "green-B")
    props = server_config(node, internal_port=20001)
    assert node.common_name == "kafkamig-node-green-B"
    assert props["super.users"] == "User:CN=kafkamig-node-green-B" == node.node_principal
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert "ANONYMOUS" not in server_properties(node, 20001)
    assert "PLAINTEXT" not in props["listeners"] + props["listener.security.protocol.map"]
    assert load_properties(server_properties(node, 20001)) == props


def test_a_secure_node_needs_its_internal_port_and_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="INTERNAL"):
        server_config(secure_node(tmp_path))
    with pytest.raises(ValueError, match="CN"):
        secure_node(tmp_path, "a,b")  # would be escaped in the certificate's DN: no longer the super user


def test_kafka_node_keeps_its_positional_arguments(tmp_path: Path) -> None:
    node = KafkaNode("A", tmp_path / "k", 1, 2, 384)
    assert (node.heap_mb, node.tls) == (384, None)
    tls_paths = NodeTls(Path("relative/ca.crt"), Path("relative/tls"))
    assert tls_paths.ca_file.is_absolute() and tls_paths.cert_file.is_absolute()


# --- kafka.start for a secure node (process layer replaced) ----------------------------------------------------


@pytest.fixture
def no_jvm(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Nothing is spawned and no client connects: what `start` asks of the layers below is recorded."""
    state: dict[str, Any] = {"running": set(), "started": 0, "formatted": [], "users": [], "granted": 0}

    def start_java(workdir: Path, *args: Any, **kwargs: Any) -> int:
        state["running"].add(workdir.resolve())
        state["started"] += 1
        return 4242

    monkeypatch.setattr(process, "start_java", start_java)
    monkeypatch.setattr(process, "run_java", lambda main, args, timeout_s=0: state["formatted"].append(args) or "")
    monkeypatch.setattr(process, "running_pid", lambda d: 4242 if Path(d).resolve() in state["running"] else None)
    monkeypatch.setattr(process, "stop", lambda d, timeout_s=0: state["running"].discard(Path(d).resolve()))
    monkeypatch.setattr(kafka, "wait_ready", lambda node, timeout_s: None)
    monkeypatch.setattr(kafka, "upsert_scram_users", lambda node, users: state["users"].append(dict(users)))
    monkeypatch.setattr(kafka, "grant_local_principal", lambda node: state.__setitem__("granted", 1))
    yield state


def test_start_secures_a_node_without_granting_anonymous(tmp_path: Path, no_jvm: dict[str, Any]) -> None:
    node = secure_node(tmp_path)
    assert node.tls is not None
    kafka.start(node, "cluster-id-1", users={"app": "apppw"})
    assert no_jvm["started"] == 1 and no_jvm["granted"] == 0
    assert no_jvm["users"] == [{"app": "apppw"}]
    assert node.tls.ca_file.exists() and node.tls.keystore_file.exists()
    assert mode(node.config_file) == 0o600
    port = kafka.internal_port(node)
    assert port is not None
    props = load_properties(node.config_file.read_text())
    assert props["listeners"].split(",")[1] == f"INTERNAL://127.0.0.1:{port}"
    assert "apppw" not in node.config_file.read_text()
    assert "apppw" not in repr(no_jvm["formatted"])
    config = kafka.operator_config(node)
    assert config["bootstrap.servers"] == f"127.0.0.1:{port}" and config["security.protocol"] == "SSL"
    assert config["ssl.certificate.location"] == str(node.tls.cert_file)
    assert config["ssl.key.location"] == str(node.tls.key_file)
    assert config["ssl.ca.location"] == str(node.tls.ca_file)
    kafka.start(node, "cluster-id-1")  # running: reused, same INTERNAL port
    assert no_jvm["started"] == 1 and kafka.internal_port(node) == port
    kafka.stop(node)
    assert kafka.internal_port(node) is None


def test_a_running_secure_node_restarts_when_its_certificate_is_reissued(
    tmp_path: Path, no_jvm: dict[str, Any]
) -> None:
    node = secure_node(tmp_path)
    assert node.tls is not None
    kafka.start(node, "cluster-id-1")
    node.tls.key_file.unlink()
    kafka.start(node, "cluster-id-1")
    assert no_jvm["started"] == 2


def test_a_plaintext_node_has_no_users(tmp_path: Path, no_jvm: dict[str, Any]) -> None:
    node = KafkaNode("A", tmp_path / "kafka", 19092, 19093)
    with pytest.raises(ValueError, match="PLAINTEXT"):
        kafka.start(node, "cluster-id-1", users={"app": "apppw"})
    kafka.start(node, "cluster-id-1")
    assert no_jvm["granted"] == 1
    assert kafka.operator_config(node) == {"bootstrap.servers": "127.0.0.1:19092", "log_level": 0}
