"""The dynamic providers a Docker green's security rests on, on files only: the node certificate, the REST password."""

from __future__ import annotations

import stat
from pathlib import Path

from kafka_migration.evidence.connect_rest import basic_authorization
from kafka_migration.resources.providers.node_security import NodeCertificateProvider
from kafka_migration.resources.providers.rest_credentials import RestCredentialsProvider


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_node_certificate_is_made_once_kept_while_right_reissued_when_broken_and_removed_but_the_ca(
    tmp_path: Path,
) -> None:
    provider = NodeCertificateProvider()
    props = {"ca_file": str(tmp_path / "ca" / "ca.pem"), "folder": str(tmp_path / "B" / "tls"), "common_name": "n"}
    created = provider.create(props)
    outs = created.outs
    assert outs["ca_pem"] == (tmp_path / "ca" / "ca.pem").read_text()
    assert outs["keystore_pem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert mode(tmp_path / "B" / "tls" / "node-keystore.pem") == mode(tmp_path / "ca" / "ca.key") == 0o600
    # Right as it is: read gives the state back, diff sees nothing.
    assert provider.read(created.id, outs).outs == outs
    assert not provider.diff(created.id, outs, props).changes
    # A certificate that went missing is drift; the update re-issues it from the same CA.
    (tmp_path / "B" / "tls" / "node.crt").unlink()
    assert provider.read(created.id, outs).outs["chain_sha256"] is None
    assert provider.diff(created.id, outs, props).changes
    again = provider.update(created.id, outs, props).outs
    assert again["ca_pem"] == outs["ca_pem"] and again["chain_sha256"] != outs["chain_sha256"]
    provider.delete(created.id, again)
    assert not (tmp_path / "B" / "tls").exists()
    assert (tmp_path / "ca" / "ca.pem").exists()  # clients trust it: never removed nor replaced


def test_the_rest_password_is_random_kept_in_a_0600_file_rewritten_when_lost_and_removed(tmp_path: Path) -> None:
    provider = RestCredentialsProvider()
    file = tmp_path / "connect-migration" / "rest-auth" / "rest-credentials.properties"
    props = {"file": str(file), "password": None, "in_place": True}
    created = provider.create(props)
    password = created.outs["password"]
    assert len(password) == 48 and password != provider.create({"file": str(tmp_path / "other")}).outs["password"]
    assert mode(file) == 0o600
    assert basic_authorization(file).startswith("Basic ")
    assert provider.read(created.id, created.outs).outs == created.outs
    assert not provider.diff(created.id, created.outs, props).changes
    file.write_text("kafkamig=someone-elses\n")
    assert provider.read(created.id, created.outs).outs["in_place"] is False
    assert provider.diff(created.id, created.outs, props).changes
    assert provider.update(created.id, created.outs, props).outs["password"] == password  # the worker's, kept
    assert file.read_text() == f"kafkamig={password}\n" and mode(file) == 0o600
    provider.delete(created.id, created.outs)
    assert not file.exists()
