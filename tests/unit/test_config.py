from __future__ import annotations

import pytest
from pydantic import ValidationError

from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from tests.unit.builders import config_dict, make_config


def errors_of(**overrides) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as exc:
        MigrationConfig.model_validate(config_dict(**overrides))
    return [(e["loc"], e["msg"]) for e in exc.value.errors()]


def test_a_valid_stack_loads_with_its_own_names() -> None:
    cfg = make_config(phase="producers-switched", producerWaves=1)
    assert cfg.phase is Phase.PRODUCERS_SWITCHED
    assert cfg.producer_waves == 1
    assert cfg.strategy is Strategy.BIDIRECTIONAL
    assert cfg.green.resolved_bootstrap_servers == "127.0.0.1:29092"
    assert cfg.mm2.offset_lag_max == 0


def test_unknown_key_is_refused_with_its_path() -> None:
    assert errors_of(mm2={"offsetLagMaxx": 5}) == [(("mm2", "offsetLagMaxx"), "Extra inputs are not permitted")]


def test_bad_phase_names_the_choices() -> None:
    [(loc, msg)] = errors_of(phase="producer-switched")
    assert loc == ("phase",)
    assert "'producers-switched'" in msg and "'blue-only'" in msg


def test_same_alias_on_both_sides_is_refused() -> None:
    [(loc, msg)] = errors_of(green={"alias": "A", "runtime": "external", "bootstrapServers": "g:9092"})
    assert loc == ()
    assert "blue.alias and green.alias are both 'A'" in msg


def test_alias_must_match_strimzis_pattern() -> None:
    [(loc, msg)] = errors_of(blue={"alias": "blue cluster", "bootstrapServers": "b:9092"})
    assert loc == ("blue", "alias")
    assert "should match pattern" in msg


def test_external_cluster_needs_bootstrap_servers() -> None:
    [(loc, msg)] = errors_of(blue={"alias": "A"})
    assert loc == ("blue",)
    assert "runtime external needs bootstrapServers" in msg


def test_sasl_needs_username_and_password() -> None:
    [(loc, msg)] = errors_of(
        blue={
            "alias": "A",
            "bootstrapServers": "b:9093",
            "security": {"protocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512"},
        }
    )
    assert loc == ("blue", "security")
    assert "needs username, password" in msg


def test_waves_must_be_numbered_without_gaps() -> None:
    clients = [
        {"name": "w", "role": "producer", "wave": 1, "topics": ["orders"]},
        {"name": "x", "role": "producer", "wave": 3, "topics": ["orders"]},
    ]
    [(_, msg)] = errors_of(clients=clients)
    assert "producer waves are [1, 3]" in msg


def test_more_waves_than_defined_is_refused_naming_the_field() -> None:
    [(_, msg)] = errors_of(phase="producers-switched", producerWaves=3)
    assert "producerWaves is 3 but the clients define 2 producer wave(s)" in msg


def test_clients_cannot_use_topics_that_do_not_migrate() -> None:
    clients = [{"name": "w", "role": "producer", "wave": 1, "topics": ["secret-stuff"]}]
    [(_, msg)] = errors_of(clients=clients)
    assert "clients[w].topics uses ['secret-stuff']" in msg


def test_one_way_has_no_bidirectional_phase() -> None:
    [(_, msg)] = errors_of(strategy="one-way", phase="bidirectional")
    assert "does not exist in the one-way strategy" in msg


def test_invalid_topic_regex_is_refused() -> None:
    [(loc, msg)] = errors_of(topics={"include": ["orders("]})
    assert loc == ("topics", "include")
    assert "topics.include[0] pattern 'orders(' uses an unclosed group '(' at character 7" in msg


def test_topic_selection_uses_full_match_and_excludes_internals() -> None:
    cfg = make_config(topics={"include": ["orders", "payments", "audit.*"]})
    assert cfg.topics.selects("orders")
    assert cfg.topics.selects("audit.log")
    assert not cfg.topics.selects("orders-v2")
    assert not make_config(topics={}).topics.selects("__consumer_offsets")
    assert not make_config(topics={}).topics.selects("mm2-offset-syncs.B.internal")


def test_mm2s_producer_batches_for_throughput_and_the_stack_can_change_it() -> None:
    from kafka_migration.planning.mm2 import connector_configs, flow_spec

    def source_config(**mm2: object) -> dict[str, str]:
        cfg = make_config(mm2=mm2)
        configs = connector_configs(flow_spec(cfg, cfg.blue, cfg.green, "/s.properties"), 1)
        return next(c for name, c in configs.items() if "MirrorSource" in c["connector.class"])

    default = source_config()
    assert (default["producer.override.batch.size"], default["producer.override.linger.ms"]) == ("262144", "20")
    tuned = source_config(producerBatchSize=65536, producerLingerMs=5)
    assert (tuned["producer.override.batch.size"], tuned["producer.override.linger.ms"]) == ("65536", "5")
    assert errors_of(mm2={"producerLingerMs": 5000}) == [
        (("mm2", "producerLingerMs"), "Input should be less than or equal to 1000")
    ]


def test_mm2_workers_take_consecutive_ports_that_must_fit_and_stay_apart() -> None:
    assert make_config().mm2.local_workers == 1 and make_config(mm2={"workers": 3}).mm2.local_workers == 3
    with pytest.raises(ValidationError, match=r"mm2.workers 3 takes REST ports 9402-9404 .* overlap"):
        make_config(mm2={"workers": 3, "connectRestPort": 9402})
    with pytest.raises(ValidationError, match="above 65535"):
        make_config(mm2={"workers": 2, "connectMetricsPort": 65535})
    with pytest.raises(ValidationError, match="less than or equal to 16"):
        make_config(mm2={"workers": 17})


def test_mm2_workers_is_refused_where_this_stack_does_not_run_the_workers() -> None:
    with pytest.raises(ValidationError, match=r"mm2\.connectUrl points at a Connect cluster you run"):
        make_config(mm2={"workers": 2, "connectUrl": "http://connect.internal:8083"})
    docker = {"alias": "B", "runtime": "docker", "docker": {"brokerPort": 29092}}
    with pytest.raises(ValidationError, match=r"docker runs one Connect container; set mm2\.workers to 1"):
        make_config(green=docker, mm2={"workers": 2})
