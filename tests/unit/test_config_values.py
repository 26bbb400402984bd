"""Free-text config values that reach properties files, JAAS lines and URLs: validated, one line each."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kafka_migration.config.values import (
    check_bootstrap_servers,
    check_http_url,
    check_principal,
    check_text,
    check_topic_name,
    host_problem,
)
from tests.unit.builders import config_dict, make_config


def errors_of(**overrides: object) -> list[tuple[tuple, str]]:
    from kafka_migration.config.model import MigrationConfig

    with pytest.raises(ValidationError) as exc:
        MigrationConfig.model_validate(config_dict(**overrides))
    return [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in exc.value.errors()]


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("b1:9092", "b1:9092"),
        ("b1.example.com:9092,b2.example.com:9093", "b1.example.com:9092,b2.example.com:9093"),
        ("b1:9092, b2:9092 ,  b3:9092", "b1:9092,b2:9092,b3:9092"),
        (" b1:9092 ", "b1:9092"),
        ("10.0.0.1:9092", "10.0.0.1:9092"),
        ("[::1]:9092,[fe80::1%eth0]:9092", "[::1]:9092,[fe80::1%eth0]:9092"),
        ("kafka_1:9092", "kafka_1:9092"),
        ("B-KAFKA-bootstrap.kafka.svc:1", "B-KAFKA-bootstrap.kafka.svc:1"),
        ("h:65535", "h:65535"),
    ],
)
def test_bootstrap_lists_are_accepted_and_normalized(value: str, normalized: str) -> None:
    assert check_bootstrap_servers(value, "bootstrapServers") == normalized


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("b1", "has no port"),
        (":9092", "has no port"),
        ("b1:", "port '' is not a number"),
        ("b1:0", "port '0' is not a number from 1 to 65535"),
        ("b1:65536", "port '65536'"),
        ("b1:+9092", "port '+9092'"),
        ("b1:9092,", "entry 2 '' is empty"),
        ("b1:9092,,b2:9092", "entry 2 '' is empty"),
        ("b1:9092\nlisteners=PLAINTEXT://evil:1", "control character '\\n' at character 8"),
        ("b1:9092\tb2:9092", "control character '\\t'"),
        ("b1 :9092", "has a space inside"),
        ("SASL_SSL://b1:9092", "has a scheme"),
        ("::1:9092", "IPv6 address without brackets"),
        ("[::g]:9092", "not an IPv6 address"),
        ("[::1:9092", "unmatched bracket"),
        ("300.1.1.1:9092", "not an IPv4 address"),
        ("-bad.example.com:9092", "not a DNS name"),
        ("a..b:9092", "not a DNS name"),
        ("b\u00e9:9092", "not a DNS name"),
    ],
)
def test_bad_bootstrap_lists_are_refused_naming_field_value_and_fix(value: str, problem: str) -> None:
    with pytest.raises(ValueError) as exc:
        check_bootstrap_servers(value, "bootstrapServers")
    message = str(exc.value)
    assert message.startswith(f"bootstrapServers {value!r}")
    assert problem in message
    assert "host:port" in message


def test_credentials_in_a_bootstrap_list_are_refused_and_not_shown() -> None:
    with pytest.raises(ValueError) as exc:
        check_bootstrap_servers("mm2:hunter2@b1:9092", "bootstrapServers")
    assert "hunter2" not in str(exc.value)
    assert "has credentials" in str(exc.value)


def test_the_stack_config_stores_the_normalized_list() -> None:
    cfg = make_config(blue={"alias": "A", "bootstrapServers": "blue-1:9092, blue-2:9092", "brokers": 3})
    assert cfg.blue.resolved_bootstrap_servers == "blue-1:9092,blue-2:9092"
    [(loc, msg)] = errors_of(green={"alias": "B", "bootstrapServers": "green-1:9092\nx=y"})
    assert loc == ("green", "bootstrapServers")
    assert msg.startswith("bootstrapServers 'green-1:9092\\nx=y' has the control character '\\n'")


def test_host_problems() -> None:
    assert host_problem("localhost") is None
    assert host_problem("127.0.0.1") is None
    assert host_problem("[2001:db8::1]") is None
    assert host_problem("01.2.3.4") is not None
    assert host_problem("a" * 64) is not None


@pytest.mark.parametrize(
    "url",
    ["http://connect:8083", "https://b-mm2-connect-api.kafka.svc:8083/base", "http://[::1]:8083", "http://10.0.0.1"],
)
def test_connect_urls_are_accepted(url: str) -> None:
    assert check_http_url(url, "connectUrl") == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://connect:8083", "is not an http or https URL"),
        ("connect:8083", "is not an http or https URL"),
        ("http://bob:pw@connect:8083", "has credentials"),
        ("http://connect:8083/\nx", "control character"),
        ("http://connect:80 83", "has whitespace"),
        ("http://connect:0", "port '0'"),
        ("http://connect:8083/x?y=1", "has a query string"),
        ("http://connect:8083/#x", "has a fragment"),
        ("http://", "the host is empty"),
    ],
)
def test_bad_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError) as exc:
        check_http_url(url, "connectUrl")
    assert problem in str(exc.value)
    assert "pw@" not in str(exc.value)
    assert str(exc.value).startswith("connectUrl ")


def test_the_metrics_url_may_have_a_query() -> None:
    assert check_http_url("http://prom:9404/metrics?name[]=x", "metricsUrl", query=True)
    cfg = make_config(mm2={"connectUrl": "http://connect:8083", "metricsUrl": "http://prom:9404/metrics"})
    assert cfg.mm2.connect_url == "http://connect:8083"
    [(loc, msg)] = errors_of(mm2={"connectUrl": "http://u:p@connect:8083"})
    assert loc == ("mm2", "connectUrl") and "p@" not in msg


@pytest.mark.parametrize("principal", ["User:mm2", "User:*", "User:CN=app,OU=Eng,O=Example", "Group:ops"])
def test_principals_are_accepted(principal: str) -> None:
    assert check_principal(principal, "principal") == principal


@pytest.mark.parametrize(
    "principal", ["mm2", "User:", "User: mm2", "User:a;User:b", "User:a\nsuper.users=User:x", ":x"]
)
def test_bad_principals_are_refused(principal: str) -> None:
    with pytest.raises(ValueError, match="principal"):
        check_principal(principal, "principal")


def test_topic_names() -> None:
    assert check_topic_name("audit.events_v2-x", "topics[0]")
    for bad in ("", ".", "..", "a b", "a/b", "a" * 250, "orders\n"):
        with pytest.raises(ValueError, match="is not a Kafka topic name"):
            check_topic_name(bad, "topics[0]")


def test_control_characters_are_refused_in_every_value_that_reaches_a_file() -> None:
    assert check_text("plain text", "x") == "plain text"
    with pytest.raises(ValueError, match="at character 2"):
        check_text("a\u2028b", "x")
    cases = [
        ({"blue": {"alias": "A", "bootstrapServers": "b:9092", "security": {"caFile": "/ca.pem\nx=y"}}}, "caFile"),
        ({"blue": {"alias": "A", "bootstrapServers": "b:9092", "security": {"username": "mm2\n"}}}, "username"),
        ({"routing": {"directory": "/srv/r\n"}}, "directory"),
        (
            {
                "green": {
                    "alias": "B",
                    "runtime": "local",
                    "local": {"brokerPort": 1100, "controllerPort": 1101, "dataDir": "d\r"},
                }
            },
            "dataDir",
        ),
        ({"acls": {"mm2Principal": "User:mm2\nsuper.users=User:x"}}, "mm2Principal"),
        (
            {"topics": {"include": ["orders"], "overrides": {"orders": {"config": {"retention.ms": "1\nx=y"}}}}},
            "config.",
        ),
    ]
    for overrides, field in cases:
        [(_, msg)] = errors_of(**overrides)
        assert field in msg and "control character" in msg, msg


def test_client_values() -> None:
    client = {"name": "w", "role": "producer", "wave": 1, "topics": ["orders"]}
    [(loc, msg)] = errors_of(clients=[{**client, "topics": ["orders\n"]}])
    assert loc == ("clients", 0, "topics") and "topics[0] 'orders\\n' is not a Kafka topic name" in msg
    [(loc, msg)] = errors_of(clients=[{**client, "principal": "mm2"}])
    assert "principal 'mm2' is not a principal" in msg
    [(loc, msg)] = errors_of(clients=[{**client, "groupId": "g\n"}])
    assert "groupId" in msg and "control character" in msg


def test_an_alias_with_a_dot_is_refused_with_the_reason() -> None:
    [(loc, msg)] = errors_of(blue={"alias": "us.east", "bootstrapServers": "b:9092"})
    assert loc == ("blue", "alias")
    assert "separator of MM2's remote topic names" in msg


def test_a_docker_host_with_a_password_is_refused_without_showing_it() -> None:
    green = {"alias": "B", "runtime": "docker", "docker": {"host": "tcp://bob:hunter2@docker:2376"}}
    [(loc, msg)] = errors_of(green=green)
    assert loc == ("green", "docker", "host")
    assert "hunter2" not in msg and "password" in msg
    ok = {"alias": "B", "runtime": "docker", "docker": {"host": "ssh://bob@docker"}}
    assert make_config(green=ok).green.docker is not None
