"""Config errors never show a secret: redaction by location, by key name and by content."""

from __future__ import annotations

import pytest

from kafka_migration.config.load import config_from_mapping, plain_in_stack_file
from kafka_migration.config.redact import (
    redacted,
    scrub,
    secret_content,
    secret_key,
    secret_location,
    shown_value,
    without_userinfo,
)
from kafka_migration.errors import ConfigError
from tests.unit.builders import config_dict

SECRET = "hunter2-Very-Secret"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "saslPassword",
        "user_password",
        "passwd",
        "pwd",
        "secret",
        "clientSecret",
        "token",
        "apiKey",
        "sslKeystoreLocation",
        "credentials",
        "saslJaasConfig",
        "privateKey",
        # misspellings
        "passwrod",
        "pasword",
        "pssword",
        "secert",
        "tokn",
        "credentails",
        "jass",
    ],
)
def test_secret_looking_keys(key: str) -> None:
    assert secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["username", "alias", "bootstrapServers", "protocol", "caFile", "topics", "brokers", "heapMb", "namespace", "role"],
)
def test_ordinary_keys(key: str) -> None:
    assert not secret_key(key)


def test_everything_under_security_but_its_public_settings_is_secret() -> None:
    assert secret_location(("blue", "security", "password"))
    assert secret_location(("blue", "security", "passwrod"))
    assert secret_location(("green", "security", "whatever"))
    assert secret_location(("blue", "security"))  # security given as a plain string
    for public in ("protocol", "saslMechanism", "username", "caFile"):
        assert not secret_location(("blue", "security", public))
    assert not secret_location(("blue", "bootstrapServers"))


def test_values_that_carry_a_secret() -> None:
    assert secret_content('PlainLoginModule required username="mm2" password="x";')
    assert secret_content("password = x")
    assert secret_content("https://bob:pw@connect:8083")
    assert secret_content(["ok", "token=abc"])
    assert secret_content({"nested": {"apiKey": "x"}})
    assert not secret_content("User:mm2")
    assert not secret_content("broker-1:9092")
    assert not secret_content(42)


def test_redacted_values_show_kind_and_size_only() -> None:
    assert redacted("hunter2") == "<redacted, 7 characters>"
    assert redacted("x") == "<redacted, 1 character>"
    assert redacted(1234) == "<redacted int>"
    assert redacted(["a", "b"]) == "<redacted list of 2>"
    assert shown_value(("blue", "security", "password"), SECRET) == f"<redacted, {len(SECRET)} characters>"
    assert shown_value(("blue", "alias"), "A B") == "'A B'"


def test_scrub_removes_assignments_and_url_credentials() -> None:
    assert scrub(f'x required username="mm2" password="{SECRET}";') == 'x required username="mm2" password=<redacted>;'
    assert scrub(f"password={SECRET} next") == "password=<redacted> next"
    assert scrub(f"https://bob:{SECRET}@h:1/x") == "https://<redacted>@h:1/x"
    assert without_userinfo(f"bob:{SECRET}@b1:9092,b2:9092") == "<redacted>@b1:9092,b2:9092"


def _error_of(**overrides: object) -> str:
    values = {k: v for k, v in config_dict(**overrides).items()}
    with pytest.raises(ConfigError) as exc:
        config_from_mapping(values, "prod")
    return str(exc.value)


def test_a_mistyped_password_key_is_not_echoed() -> None:
    blue = {
        "alias": "A",
        "bootstrapServers": "b:9093",
        "security": {
            "protocol": "SASL_SSL",
            "saslMechanism": "PLAIN",
            "username": "mm2",
            "password": "x",
            "passwrod": SECRET,
        },
    }
    message = _error_of(blue=blue)
    assert SECRET not in message
    assert f"blue.security.passwrod: Extra inputs are not permitted (got <redacted, {len(SECRET)} characters>)" in (
        message
    )


def test_a_password_of_the_wrong_type_is_not_echoed() -> None:
    blue = {"alias": "A", "bootstrapServers": "b:9093", "security": {"password": 987654321}}
    message = _error_of(blue=blue)
    assert "987654321" not in message
    assert "blue.security.password: Input should be a valid string (got <redacted int>)" in message


def test_a_multi_line_password_is_refused_without_showing_it() -> None:
    password = f"{SECRET}\nsasl.mechanism=PLAIN"
    blue = {
        "alias": "A",
        "bootstrapServers": "b:9093",
        "security": {"protocol": "SASL_SSL", "saslMechanism": "PLAIN", "username": "mm2", "password": password},
    }
    message = _error_of(blue=blue)
    assert SECRET not in message
    assert "blue.security.password: password has the control character '\\n'; remove it" in message


def test_an_unknown_secret_looking_key_anywhere_is_redacted() -> None:
    message = _error_of(mm2={"apiToken": SECRET})
    assert SECRET not in message
    assert "mm2.apiToken: Extra inputs are not permitted (got <redacted," in message


def test_a_jaas_line_pasted_into_a_plain_field_is_redacted() -> None:
    jaas = f'org.apache.kafka.common.security.plain.PlainLoginModule required username="mm2" password="{SECRET}";'
    message = _error_of(blue={"alias": "A", "bootstrapServers": "b:9093", "security": {"protocol": jaas}})
    assert SECRET not in message
    assert "blue.security.protocol: Input should be" in message


def test_non_secret_values_are_still_shown() -> None:
    message = _error_of(phase="replicatng")
    assert "(got 'replicatng')" in message
    message = _error_of(blue={"alias": "A", "bootstrapServers": "b:9093", "security": {"username": 'm"m2'}})
    assert "username 'm\"m2' has the character '\"'" in message


def test_a_validation_error_printed_as_is_shows_no_input() -> None:
    from pydantic import ValidationError

    from kafka_migration.config.model import MigrationConfig

    blue = {"alias": "A", "bootstrapServers": "b:9093", "security": {"passwrod": SECRET}}
    with pytest.raises(ValidationError) as exc:
        MigrationConfig.model_validate(config_dict(blue=blue))
    assert SECRET not in str(exc.value)


def test_a_plain_password_beside_a_secret_one_is_found_in_the_stack_file() -> None:
    """A secret `mm2.password` makes the whole `green` object secret; the stack file still shows each leaf."""
    stack_file = {
        "config": {
            "proj:green": {"security": {"password": "oops-plain", "mm2": {"password": {"secure": "v1:abc"}}}},
            "proj:blue": {"security": {"password": {"secure": "v1:def"}}},
        }
    }
    assert plain_in_stack_file(stack_file, "proj") == ["green.security.password"]
    assert plain_in_stack_file({"config": {"other:green": {"security": {"password": "x"}}}}, "proj") == []
