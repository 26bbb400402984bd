"""Checks of the free-text values of the stack config that reach properties files, JAAS, URLs and Kafka.

Each check returns the value (normalized where said) or raises ValueError whose message
names the field, shows the value (never a credential: see `redact`) and says how to fix it.
A control character anywhere (a newline above all) is refused in every such value: written
into a `.properties` file or a JAAS line it would start a line of its own, which is how a
config value would inject worker settings.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from kafka_migration.config.redact import without_userinfo

_DNS_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
"""A host name label: letters, digits, '-' inside (RFC 1123), and '_' (Docker and Compose service names)."""
_PORT = re.compile(r"[0-9]{1,5}")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_PRINCIPAL = re.compile(r"[A-Za-z][A-Za-z0-9_]*:[^;\s](?:[^;]*[^;\s])?")
BOOTSTRAP_EXAMPLE = "broker-1.example.com:9092,broker-2.example.com:9092"


def control_character(value: str) -> tuple[int, str] | None:
    """The first control or line-separating character of `value` (1-based position, the character), if any."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return i + 1, ch
    return None


def check_text(value: str, field: str, *, shown: bool = True) -> str:
    """A one-line value: no control characters. `shown=False` leaves the value out of the message."""
    found = control_character(value)
    if found:
        what = f" {without_userinfo(value)!r}" if shown else ""
        where = f" at character {found[0]}" if shown else ""
        raise ValueError(
            f"{field}{what} has the control character {found[1]!r}{where}; remove it "
            "(written into a properties file or a JAAS line it would start a setting of its own)"
        )
    return value


def host_problem(host: str) -> str | None:
    """Why `host` is not a DNS name, an IPv4 address or a bracketed IPv6 address, or None."""
    if host.startswith("[") or host.endswith("]"):
        inner = host.removeprefix("[").removesuffix("]")
        if not (host.startswith("[") and host.endswith("]")):
            return f"host {host!r} has an unmatched bracket; write an IPv6 address as [::1]"
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return f"host {host!r} is not an IPv6 address in brackets"
        return None
    if ":" in host:
        return f"host {host!r} looks like an IPv6 address without brackets; write it as [{host}]"
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"host {host!r} is not an IPv4 address (four numbers 0-255, no leading zeros)"
        return None
    if not host:
        return "the host is empty"
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in host.split(".")):
        return (
            f"host {host!r} is not a DNS name (labels of letters, digits, '-' and '_' separated by single dots, "
            "at most 63 characters each)"
        )
    return None


def port_problem(port: str) -> str | None:
    """Why `port` is not a TCP port 1-65535 in decimal digits, or None."""
    if not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        return f"port {port!r} is not a number from 1 to 65535"
    return None


def _entry_problem(entry: str) -> str | None:
    if not entry:
        return "is empty (two commas in a row, or a comma at an end)"
    if "://" in entry:
        return "has a scheme: bootstrap servers are host:port only (the protocol is security.protocol)"
    if "@" in entry:
        return "has credentials: set them under security (the password as a secret), never in the address"
    if any(ch.isspace() for ch in entry):
        return "has a space inside"
    host, colon, port = entry.rpartition(":")
    if not colon or not host:
        return "has no port: write host:port"
    return host_problem(host) or port_problem(port)


def check_bootstrap_servers(value: str, field: str) -> str:
    """A comma-separated `host:port` list, normalized: spaces around entries dropped, `a:1,b:2`.

    A host is a DNS name, an IPv4 address or an IPv6 address in brackets (`[::1]:9092`); a port
    is 1-65535. Spaces around the commas are tolerated (Kafka's list parsing trims them) and
    dropped; any other whitespace, a control character, an empty entry, a scheme or credentials
    are refused.
    """
    try:
        check_text(value, field)
    except ValueError as err:
        raise ValueError(f"{err}; write a comma-separated list of host:port, as {BOOTSTRAP_EXAMPLE}") from None
    entries = [e.strip(" ") for e in value.split(",")]
    for i, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry)
        if problem:
            shown = without_userinfo(value)
            where = f"entry {i} {without_userinfo(entry)!r} " if len(entries) > 1 else ""
            fix = f"write a comma-separated list of host:port, as {BOOTSTRAP_EXAMPLE}"
            raise ValueError(f"{field} {shown!r}: {where}{problem}; {fix}")
    return ",".join(entries)


def check_http_url(value: str, field: str, *, query: bool = False) -> str:
    """An http(s) URL with a host, an optional port and path: no credentials, whitespace or fragment.

    `query=False` also refuses a query string (a base URL that paths are appended to).
    """
    check_text(value, field)
    shown = without_userinfo(value)
    example = "as http://connect.example.com:8083"

    def refuse(problem: str) -> ValueError:
        return ValueError(f"{field} {shown!r} {problem}; write an http(s) URL {example}")

    if any(ch.isspace() for ch in value):
        raise refuse("has whitespace")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise refuse("is not an http or https URL")
    if "@" in parts.netloc:
        raise refuse("has credentials in it (user:password@); the URL must not carry them")
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    port = parts.netloc[len(host) + 1 :]
    problem = host_problem(host) or (port_problem(port) if port or parts.netloc.endswith(":") else None)
    if problem:
        raise refuse(f"has a bad address: {problem}")
    if parts.fragment or "#" in value:
        raise refuse("has a fragment (#...)")
    if parts.query and not query:
        raise refuse("has a query string (?...): give the base URL")
    return value


def check_principal(value: str, field: str) -> str:
    """A Kafka principal `Type:name` (User:mm2, User:CN=app,OU=x): one line, no ';', no surrounding spaces."""
    check_text(value, field)
    if not _PRINCIPAL.fullmatch(value):
        raise ValueError(
            f"{field} {value!r} is not a principal Type:name without ';' or surrounding spaces; write it as User:mm2"
        )
    return value


def check_jaas_username(value: str, field: str) -> str:
    """A SASL user name, written quoted into a JAAS line: one line, no '"' or backslash."""
    check_text(value, field)
    bad = [ch for ch in ('"', "\\") if ch in value]
    if bad or not value or value != value.strip():
        why = f"the character {bad[0]!r}" if bad else "surrounding spaces or nothing"
        raise ValueError(
            f"{field} {value!r} has {why}, which cannot go into the quoted username of a JAAS line; "
            "use the user name as the cluster knows it"
        )
    return value


def check_topic_name(value: str, field: str) -> str:
    """A Kafka topic name: 1-249 of `[A-Za-z0-9._-]`, not '.' or '..'."""
    if not _TOPIC_NAME.fullmatch(value) or value in (".", ".."):
        shown = without_userinfo(value)
        raise ValueError(
            f"{field} {shown!r} is not a Kafka topic name (1 to 249 of letters, digits, '.', '_', '-'); "
            "write the topic's name as blue has it"
        )
    return value
