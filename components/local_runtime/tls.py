"""A local certificate authority and the certificates of secure local Kafka nodes (PEM files).

A secure node (`planning.local_processes.NodeTls`) proves who it is with a certificate its
CA signed: the controller and inter-broker listeners require one from every peer, and the
node's own certificate is the cluster's only super user. Clients on the SASL_SSL listener
check the broker against the same CA file.

- `ensure_ca` makes the CA once and never replaces it: every certificate issued so far, and
  every client that trusts the CA file, depends on it.
- `issue_node_certificate` (re)issues a node's certificate only when it is missing, unusable,
  or was not signed by the current CA, so restarts do not churn certificates.

Keys are EC P-256, written unencrypted as PKCS#8 (what Kafka 4.1's PEM keystore and librdkafka
read without a password) and only through `private_files.write_private` (0600 from the first byte).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kafka_migration.local_runtime.private_files import write_private
from kafka_migration.planning.local_processes import NODE_CERT_FILE, NODE_KEY_FILE, NODE_KEYSTORE_FILE

CA_COMMON_NAME = "kafkamig local CA"
CA_VALIDITY = datetime.timedelta(days=3650)
NODE_VALIDITY = datetime.timedelta(days=825)
RENEW_BEFORE = datetime.timedelta(days=30)
"""A node certificate this close to expiry is re-issued at the next start rather than left to lapse."""
_CLOCK_SKEW = datetime.timedelta(minutes=5)
"""notBefore is set this far in the past, so a peer whose clock is slightly behind accepts a fresh certificate."""
NODE_HOSTS = ("127.0.0.1", "localhost")
"""SANs of a node certificate: clients verify the broker's hostname (librdkafka and Kafka do by default)."""


@dataclass(frozen=True)
class NodeCertificate:
    """A node's certificate files, as `issue_node_certificate` left them."""

    cert_file: Path
    """The chain, PEM: the node's certificate then the CA's (what a client presents as `ssl.certificate.location`)."""
    key_file: Path
    """The node's private key, unencrypted PKCS#8 PEM, mode 0600."""
    keystore_file: Path
    """Key then chain in one file, mode 0600: Kafka's PEM keystore (`ssl.keystore.location`) reads both from it."""
    common_name: str
    issued: bool
    """True when this call wrote a new certificate (a running broker still holds the old one)."""


def ca_key_file(ca_file: Path) -> Path:
    """Where the CA's private key lives: beside its certificate, `<stem>.key`."""
    key = ca_file.with_suffix(".key")
    if key == ca_file:
        raise ValueError(f"the CA certificate file {ca_file} would be its own key file; name it e.g. ca.crt")
    return key


def ensure_ca(ca_file: Path) -> None:
    """Create a self-signed CA at `ca_file` (key beside it, 0600) unless a CA certificate is already there.

    An existing CA certificate is never replaced, even if its key is gone: the node
    certificates and the clients trusting that file rely on it, so replacing it would be a
    silent rotation. A key left without a certificate (a crash between the two writes: the
    key is written first) is reused rather than replaced.
    """
    if ca_file.exists():
        return
    key_path = ca_key_file(ca_file)
    key = _load_key(key_path) if key_path.exists() else None
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(key_path, _key_pem(key))
    now = _now()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(signs_certificates=True),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_public(ca_file, cert.public_bytes(serialization.Encoding.PEM).decode())


def _key_usage(signs_certificates: bool) -> x509.KeyUsage:
    """Digital signatures (TLS with EC keys), plus certificate and CRL signing for a CA."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def issue_node_certificate(ca_file: Path, folder: Path, common_name: str) -> NodeCertificate:
    """A certificate for `common_name` signed by the CA at `ca_file`, in `folder` (`NODE_*_FILE` names).

    The certificate's subject is `CN=<common_name>` only (Kafka reads it back as the principal
    `User:CN=<common_name>`), its SANs are 127.0.0.1 and localhost, and its extended key usage
    serverAuth plus clientAuth: the node is a TLS server on its listeners and a TLS client of
    its own controller listener. The files are kept when they are still right (present,
    signed by this CA, same CN, key matching, not near expiry): re-issuing on every start
    would be harmless but pointless, and a CA that changed must not leave a certificate
    nobody trusts.
    """
    ca_cert = _load_cert(ca_file)
    files = _node_files(folder, common_name)
    if _still_valid(files, ca_cert):
        return files
    ca_key = _load_key(ca_key_file(ca_file))
    if ca_key is None:
        raise FileNotFoundError(f"the CA key {ca_key_file(ca_file)} is missing: cannot issue a certificate")
    if ca_key.public_key() != ca_cert.public_key():
        raise ValueError(f"the CA key {ca_key_file(ca_file)} does not belong to the CA certificate {ca_file}")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(min(now + NODE_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(signs_certificates=False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(_sans()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = (
        cert.public_bytes(serialization.Encoding.PEM).decode()
        + ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    key_pem = _key_pem(key)
    # Key first: a certificate on disk always has its key (the check above tests the pair).
    write_private(files.key_file, key_pem)
    write_private(files.keystore_file, key_pem + chain)
    _write_public(files.cert_file, chain)
    return _node_files(folder, common_name, issued=True)


def node_certificate_current(ca_file: Path, folder: Path, common_name: str) -> bool:
    """Whether `folder` holds a usable certificate of `common_name` from the CA at `ca_file` (nothing to re-issue)."""
    try:
        ca_cert = _load_cert(ca_file)
    except (OSError, ValueError):
        return False
    return _still_valid(_node_files(folder, common_name), ca_cert)


def _node_files(folder: Path, common_name: str, issued: bool = False) -> NodeCertificate:
    return NodeCertificate(
        folder / NODE_CERT_FILE, folder / NODE_KEY_FILE, folder / NODE_KEYSTORE_FILE, common_name, issued
    )


def _still_valid(files: NodeCertificate, ca_cert: x509.Certificate) -> bool:
    """Whether the files in place are a usable certificate of `files.common_name` from this CA."""
    try:
        certs = x509.load_pem_x509_certificates(files.cert_file.read_bytes())
        key = _load_key(files.key_file)
        keystore = files.keystore_file.read_text()
    except (OSError, ValueError):
        return False
    if key is None or not certs:
        return False
    cert = certs[0]
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return (
        [a.value for a in names] == [files.common_name]
        and cert.public_key() == key.public_key()
        and cert.not_valid_after_utc - _now() > RENEW_BEFORE
        and files.cert_file.read_text() in keystore
    )


def _sans() -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in NODE_HOSTS:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    """The EC key in `path`, or None when the file is missing or holds something else."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _write_public(path: Path, text: str) -> None:
    """Write a certificate (public) atomically: a reader never sees half a file, a crash never leaves one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
