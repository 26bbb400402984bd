"""The secured rehearsal's identities: who logs in as whom, and what the stack config gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_migration.config.clients import ClientGroup
from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import Strategy
from kafka_migration.rehearsal.data_faults import RetentionWhileMm2Down
from kafka_migration.rehearsal.identities import (
    ADMIN_USER,
    MM2_USER,
    Identities,
    client_settings,
    secured_config,
    with_secrets,
)
from kafka_migration.rehearsal.ledger import Ledger
from kafka_migration.rehearsal.process_faults import ConnectKilled, UpKilled
from kafka_migration.rehearsal.producers import ProducerClient
from kafka_migration.rehearsal.run import RehearsalOptions, dev_stack_config, rehearsal_config
from kafka_migration.rehearsal.secured_estate import SecuredEstate


def rehearsal_stack(tmp_path: Path) -> dict:
    opts = RehearsalOptions(Strategy.ONE_WAY, tmp_path)
    return rehearsal_config(opts, "127.0.0.1:20001", tmp_path / "routing")


def test_every_client_group_and_both_stack_identities_get_a_password_of_their_own(tmp_path: Path) -> None:
    clients = config_from_mapping(dev_stack_config(), "dev").clients
    ids = Identities.generate(tmp_path / "ca.pem", clients)

    assert set(ids.passwords) == {ADMIN_USER, MM2_USER, *(c.principal.removeprefix("User:") for c in clients)}
    assert len(set(ids.passwords.values())) == len(ids.passwords)
    assert all(p not in repr(ids) for p in ids.passwords.values())
    assert set(ids.applications) == set(ids.passwords) - {ADMIN_USER, MM2_USER}


def test_a_client_group_without_a_user_principal_is_refused_naming_it(tmp_path: Path) -> None:
    anonymous = ClientGroup.model_validate({"name": "legacy", "role": "producer", "wave": 1, "topics": ["orders"]})
    with pytest.raises(ValueError, match=r"clients\[legacy\]\.principal is not set.*User:<name>"):
        Identities.generate(tmp_path / "ca.pem", [anonymous])


def test_the_secured_stack_config_validates_with_the_secrets_put_in_place(tmp_path: Path) -> None:
    raw = rehearsal_stack(tmp_path)
    ids = Identities.generate(tmp_path / "ca.pem", config_from_mapping(raw, "r").clients)
    secured = secured_config(raw, ids)

    assert "password" not in str(secured["green"]["security"]), "passwords go in as secrets, not in the objects"
    assert "security" not in raw["blue"], "the input is left as it was"
    secrets = ids.secret_config()
    assert set(secrets) == {
        f"{side}.security.{leaf}" for side in ("blue", "green") for leaf in ("password", "mm2.password")
    }
    cfg = config_from_mapping(with_secrets(secured, secrets), "r")
    assert cfg.green.security.protocol == "SASL_SSL" and cfg.green.security.ca_file == str(tmp_path / "ca.pem")
    assert cfg.blue.security.mm2_password.get_secret_value() == ids.passwords[MM2_USER]
    assert cfg.mm2_principal_on_green == "User:mm2"


def test_a_client_brings_its_own_user_to_each_cluster_and_nothing_elsewhere(tmp_path: Path) -> None:
    cfg = config_from_mapping(rehearsal_stack(tmp_path), "r")
    ids = Identities.generate(tmp_path / "ca.pem", cfg.clients)
    orders = next(c for c in cfg.clients if c.name == "orders-service")
    producer = ProducerClient(
        "orders-service", tmp_path, ["k0"], 1.0, Ledger(), credentials=ids.credentials(orders, ("A", "B"))
    )

    on_green = producer.credentials_on("B")
    assert on_green["sasl.username"] == "orders-service" and on_green["security.protocol"] == "SASL_SSL"
    assert on_green["sasl.password"] == ids.passwords["orders-service"]
    assert on_green["ssl.ca.location"] == str(tmp_path / "ca.pem")
    assert producer.credentials_on("C") == {}
    assert client_settings("127.0.0.1:1") == {"bootstrap.servers": "127.0.0.1:1"}


def test_a_secured_walk_refuses_the_faults_that_read_the_clusters_as_anyone(tmp_path: Path) -> None:
    RehearsalOptions(Strategy.ONE_WAY, tmp_path, faults=(ConnectKilled(), UpKilled()), secure=True)
    with pytest.raises(ValueError, match="retention-while-mm2-down read blue and green without credentials"):
        RehearsalOptions(Strategy.ONE_WAY, tmp_path, faults=(RetentionWhileMm2Down(),), secure=True)


def test_a_stray_writer_logs_in_as_a_producer_of_its_topic(tmp_path: Path) -> None:
    cfg = config_from_mapping(rehearsal_stack(tmp_path), "r")
    estate = SecuredEstate(Identities.generate(tmp_path / "ca.pem", cfg.clients), cfg)

    settings = estate.writer_of("orders", "127.0.0.1:20001")
    assert settings["bootstrap.servers"] == "127.0.0.1:20001" and settings["sasl.username"] == "orders-service"
    with pytest.raises(ValueError, match="no producer group in clients writes billing-notes"):
        estate.writer_of("billing-notes", "127.0.0.1:20001")
