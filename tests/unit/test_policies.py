"""The policy pack's validators, called directly with props shaped as the engine hands them over.

Props go through `engine_view`: null inputs dropped, numbers as floats, secrets through pulumi-policy's
(patched) deserializer and unknowns behind its unknown-checking proxy, as in a real `pulumi preview`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi_policy.policy as sdk_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

from kafka_migration.config.model import Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import plan_migration
from kafka_migration.planning.mm2 import DEFAULT_POLICY, IDENTITY_POLICY, connector_configs, flow_spec
from kafka_migration.planning.phases import Step
from kafka_migration.policies import (
    flow_rules,
    inputs,
    rules,
    scope,
    secret_marks,
    secret_rules,
    step_rules,
    topic_rules,
)
from kafka_migration.resources.cleanup import FENCE_TYPE
from kafka_migration.resources.migration import TYPE as MIGRATION_TYPE
from kafka_migration.resources.migration import MigrationArgs, summary_props
from kafka_migration.resources.providers.connect_worker import LocalConnectWorker
from kafka_migration.resources.providers.connector import MirrorConnector
from kafka_migration.resources.providers.routing_document import RoutingDocument
from kafka_migration.resources.providers.topics_absent import TopicsAbsent
from tests.unit.builders import make_config

UNKNOWN = UNKNOWN_STRING_VALUE
OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
BLUE = ClusterInventory(
    "blue-id",
    3,
    {
        "orders": TopicInfo("orders", 3, 3, {"min.insync.replicas": "2"}),
        "payments": TopicInfo("payments", 3, 3, {}),
    },
)


@pytest.fixture(autouse=True)
def _fresh_records():
    scope.RECORDED_MIGRATIONS.clear()
    yield
    scope.RECORDED_MIGRATIONS.clear()


# --- What the engine would hand over --------------------------------------------------------------


def secret(value: Any) -> dict[str, Any]:
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def _engine_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _engine_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_engine_json(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def engine_view(props: dict[str, Any]) -> Any:
    """Props as a validator receives them: through pulumi-policy's deserializer and unknown proxy."""
    return unknown_checking_proxy(sdk_policy.deserialize_properties(_engine_json(props)))


class Report:
    """A collecting report_violation; every message must point at the runbook."""

    def __init__(self) -> None:
        self.violations: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        assert scope.RUNBOOK in message, message
        self.violations.append((message, urn))

    @property
    def messages(self) -> list[str]:
        return [m for m, _ in self.violations]

    @property
    def urns(self) -> list[str | None]:
        return [u for _, u in self.violations]


def res(type_: str, props: dict[str, Any], name: str = "r", parent: PolicyResource | None = None) -> PolicyResource:
    qualified = f"{parent.urn.split('::')[2]}${type_}" if parent else type_
    urn = f"urn:pulumi:dev::kafka-migration::{qualified}::{name}"
    return PolicyResource(type_, engine_view(props), urn, name, OPTS, None, parent, [], {})


def check_resource(validate: Callable[..., None], type_: str, props: dict[str, Any]) -> Report:
    report = Report()
    r = res(type_, props)
    validate(ResourceValidationArgs(type_, r.props, r.urn, r.name, OPTS, None), report)
    return report


def check_stack(validate: Callable[..., None], resources: list[PolicyResource]) -> Report:
    report = Report()
    validate(StackValidationArgs(resources), report)
    return report


REPLICATING = Step(Phase.REPLICATING)
GREEN_PROVISIONED = Step(Phase.GREEN_PROVISIONED)


def summary(step: Step = REPLICATING, previous: Step | None = GREEN_PROVISIONED, **config: Any) -> dict[str, Any]:
    """The real Migration summary (components/migration.py summary_props) of a test config at `step`."""
    cfg = make_config(**config)
    plan = plan_migration(cfg, step, BLUE, 3)
    return summary_props(MigrationArgs(cfg, plan, Path("."), previous, BLUE))


def migration(props: dict[str, Any]) -> PolicyResource:
    """A Migration as the stack view shows it when the summary is among its outputs."""
    return res(scope.MIGRATION, props, "migration")


def connector(
    name: str,
    parent: PolicyResource | None,
    policy: str = DEFAULT_POLICY,
    topics: str | None = "orders,payments",
    enabled: Any = True,
    **config: Any,
) -> PolicyResource:
    flow, _, kind = name.rpartition(".")
    source, target = flow.split("->")
    props = {
        "connector_name": name,
        "connect_url": "http://connect:8083",
        "enabled": enabled,
        "config": {
            "connector.class": f"org.apache.kafka.connect.mirror.{kind}",
            "source.cluster.alias": source,
            "target.cluster.alias": target,
            "replication.policy.class": policy,
            "topics": topics,
            "offset-syncs.topic.replication.factor": "3",
            **config,
        },
    }
    return res(scope.MIRROR_CONNECTOR, props, name.replace(">", "").replace(".", "-"), parent)


# --- The pack's wiring ----------------------------------------------------------------------------


def test_type_tokens_are_the_components_own() -> None:
    assert scope.MIGRATION == MIGRATION_TYPE
    assert scope.BLUE_FENCE == FENCE_TYPE
    dynamic = {
        scope.MIRROR_CONNECTOR: MirrorConnector,
        scope.CONNECT_WORKER: LocalConnectWorker,
        scope.ROUTING_DOCUMENT: RoutingDocument,
        scope.TOPICS_ABSENT: TopicsAbsent,
    }
    for token, cls in dynamic.items():
        assert token == f"pulumi-python:{cls._resource_type_name}"


def test_policies_are_kebab_case_with_the_required_levels() -> None:
    levels = {policy.name: policy.enforcement_level for policy in rules.POLICIES}
    assert all(name == name.lower() and " " not in name and "_" not in name for name in levels)
    assert len(levels) == len(rules.POLICIES)
    mandatory = {n for n, level in levels.items() if level is EnforcementLevel.MANDATORY}
    assert mandatory == {
        "no-identity-loop",
        "no-phase-skip",
        "reverse-flow-disabled-promptly",
        "production-replication-factors",
        "no-plaintext-secrets",
        "no-blue-deletion-while-routed",
    }
    assert set(levels) - mandatory == {"reverse-flow-disable-next", "soak-window-24h"}


def test_the_pack_pins_what_the_project_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    root = Path(__file__).resolve().parents[2]
    pack, project = pins(root / "policy" / "requirements.txt"), pins(root / "requirements.txt")
    assert pack and all(project.get(name) == version for name, version in pack.items()), (pack, project)


def test_the_deserializer_keeps_secret_flags_and_plain_values_stay_plain() -> None:
    props = engine_view({"saslPassword": secret("s3cret"), "plain": "x", "nested": secret({"a": ["b"]})})
    assert secret_marks.is_secret(props["saslPassword"]) and props["saslPassword"] == "s3cret"
    assert not secret_marks.is_secret(props["plain"])
    assert secret_marks.is_secret(props["nested"]["a"][0])


def test_reading_inputs_never_raises() -> None:
    props = engine_view({"a": {"b": UNKNOWN}, "n": 3, "u": UNKNOWN_NUMBER_VALUE})
    assert inputs.get(props, "a", "b") is inputs.UNKNOWN
    assert inputs.get(props, "u") is inputs.UNKNOWN
    assert inputs.get(props, "missing", "deeper") is inputs.MISSING
    assert inputs.as_int(inputs.get(props, "n")) == 3
    assert inputs.as_int("2") == 2 and inputs.as_int(True) is None and inputs.as_int(2.5) is None


# --- no-phase-skip --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "previous"),
    [
        (Step(Phase.REPLICATING), Step(Phase.GREEN_PROVISIONED)),
        (Step(Phase.REPLICATING), Step(Phase.REPLICATING)),
        (Step(Phase.GREEN_PROVISIONED), None),
        (Step(Phase.BLUE_ONLY), None),
        (Step(Phase.PRODUCERS_SWITCHED, 2, 0), Step(Phase.PRODUCERS_SWITCHED, 1, 0)),
        (Step(Phase.REPLICATING), Step(Phase.CONSUMERS_SWITCHED, 2, 1)),  # rollbacks may go back further
    ],
)
def test_one_step_forward_a_rollback_or_a_new_stack_at_green_provisioned_pass(step: Step, previous: Step | None):
    assert check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, summary(step, previous)).violations == []


def test_skipping_a_phase_is_refused_with_the_step_to_set_first() -> None:
    report = check_resource(
        step_rules.validate_no_phase_skip,
        scope.MIGRATION,
        summary(Step(Phase.BIDIRECTIONAL), Step(Phase.GREEN_PROVISIONED)),
    )
    [message] = report.messages
    assert "skips replicating" in message
    assert "set phase replicating with producerWaves=0 consumerWaves=0 first" in message


def test_skipping_a_wave_is_refused() -> None:
    props = summary(Step(Phase.CONSUMERS_SWITCHED, 2, 1), Step(Phase.PRODUCERS_SWITCHED, 1, 0))
    [message] = check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, props).messages
    assert "set phase producers-switched with producerWaves=2 consumerWaves=0 first" in message


def test_the_one_way_order_switches_consumers_first() -> None:
    one_way = {"strategy": "one-way"}
    ok = summary(Step(Phase.CONSUMERS_SWITCHED, 0, 1), Step(Phase.REPLICATING), **one_way)
    assert check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, ok).violations == []
    skip = summary(Step(Phase.PRODUCERS_SWITCHED, 1, 2), Step(Phase.CONSUMERS_SWITCHED, 0, 1), **one_way)
    [message] = check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, skip).messages
    assert "consumerWaves=2 first" in message


def test_a_new_stack_past_green_provisioned_is_refused() -> None:
    [message] = check_resource(
        step_rules.validate_no_phase_skip, scope.MIGRATION, summary(Step(Phase.REPLICATING), None)
    ).messages
    assert "previousStep is null" in message and "start with phase green-provisioned" in message


def test_a_step_outside_the_strategy_is_refused() -> None:
    props = summary(Step(Phase.REPLICATING), Step(Phase.GREEN_PROVISIONED), strategy="one-way")
    props["step"] = {"phase": "bidirectional", "producerWaves": 0, "consumerWaves": 0}
    [message] = check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, props).messages
    assert "not a step of the one-way strategy" in message


def test_a_missing_step_fails_closed_and_unknown_values_wait_for_the_update() -> None:
    props = summary()
    del props["step"]
    [message] = check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, props).messages
    assert "`step` is missing" in message
    unknown = summary(Step(Phase.DECOMMISSIONED, 2, 2), None)
    unknown["step"]["phase"] = UNKNOWN
    assert check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, unknown).violations == []
    assert check_resource(step_rules.validate_no_phase_skip, scope.MIRROR_CONNECTOR, {"step": "x"}).violations == []


def test_missing_wave_totals_fall_back_to_the_waves_in_use() -> None:
    props = summary(Step(Phase.PRODUCERS_SWITCHED, 1, 0), Step(Phase.BIDIRECTIONAL))
    del props["producerWavesTotal"], props["consumerWavesTotal"]
    assert check_resource(step_rules.validate_no_phase_skip, scope.MIGRATION, props).violations == []


# --- soak-window-24h ------------------------------------------------------------------------------


def test_soak_window_advises_24h_on_production_only() -> None:
    short = summary(production=True, gates={"soakSeconds": 3600})
    [message] = check_resource(step_rules.validate_soak_window, scope.MIGRATION, short).messages
    assert "gates.soakSeconds is 3600" in message and "gates.soakSeconds: 86400" in message
    assert check_resource(step_rules.validate_soak_window, scope.MIGRATION, summary(production=True)).violations == []
    assert (
        check_resource(step_rules.validate_soak_window, scope.MIGRATION, summary(gates={"soakSeconds": 60})).violations
        == []
    )
    unknown = {**short, "soakSeconds": UNKNOWN_NUMBER_VALUE}
    assert check_resource(step_rules.validate_soak_window, scope.MIGRATION, unknown).violations == []
    missing = {k: v for k, v in short.items() if k != "soakSeconds"}
    assert check_resource(step_rules.validate_soak_window, scope.MIGRATION, missing).violations == []


# --- no-plaintext-secrets -------------------------------------------------------------------------

REFERENCE_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2" password="{}";'


@pytest.mark.parametrize(
    ("password", "secret_input", "violations"),
    [
        ("literal-pw", False, 1),
        ("literal-pw", True, 0),
        (None, False, 0),
        (UNKNOWN, False, 0),
        ("${env:KAFKA_PASSWORD}", False, 0),
    ],
)
def test_kafka_provider_sasl_password_must_be_secret(password: Any, secret_input: bool, violations: int) -> None:
    props = {"bootstrapServers": '["b:9092"]', "saslUsername": "mm2", "saslMechanism": "scram-sha512"}
    props["saslPassword"] = secret(password) if secret_input else password
    report = check_resource(secret_rules.validate_no_plaintext_secrets, scope.KAFKA_PROVIDER, props)
    assert len(report.violations) == violations
    for message in report.messages:
        assert "saslPassword" in message and "--secret" in message and "literal-pw" not in message


@pytest.mark.parametrize(
    ("password", "secret_input", "violations"),
    [
        ("hunter2", False, 1),
        ("hunter2", True, 1),  # Connect stores connector configs in plain text: secretness does not help
        ("${file:/opt/kafka/mm2-secrets.properties:A.password}", False, 0),
        ("${env:BLUE_PASSWORD}", False, 0),
        ("${strimzisecrets:kafka/mm2-secrets:password}", False, 0),
    ],
)
def test_connector_jaas_configs_reference_their_passwords(password: str, secret_input: bool, violations: int) -> None:
    jaas = REFERENCE_JAAS.format(password)
    props = {"connector_name": "A->B.MirrorSourceConnector", "enabled": True}
    props["config"] = {"source.cluster.sasl.jaas.config": secret(jaas) if secret_input else jaas}
    report = check_resource(secret_rules.validate_no_plaintext_secrets, scope.MIRROR_CONNECTOR, props)
    assert len(report.violations) == violations
    for message in report.messages:
        assert 'config["source.cluster.sasl.jaas.config"]' in message and "${file:" in message
        assert "hunter2" not in message


def test_passwords_in_other_inputs_must_be_secret() -> None:
    plain = {"cluster": "A", "topics": ["x"], "client_config": {"sasl.password": "pw", "sasl.username": "u"}}
    [message] = check_resource(secret_rules.validate_no_plaintext_secrets, scope.TOPICS_ABSENT, plain).messages
    assert 'client_config["sasl.password"]' in message
    hidden = {**plain, "client_config": secret({"sasl.password": "pw", "sasl.username": "u"})}
    assert check_resource(secret_rules.validate_no_plaintext_secrets, scope.TOPICS_ABSENT, hidden).violations == []
    jaas = {"conf": {"sasl.jaas.config": REFERENCE_JAAS.format("pw")}}
    assert len(check_resource(secret_rules.validate_no_plaintext_secrets, scope.ROUTING_DOCUMENT, jaas).violations) == 1
    jaas_secret = {"conf": {"sasl.jaas.config": secret(REFERENCE_JAAS.format("pw"))}}
    assert (
        check_resource(secret_rules.validate_no_plaintext_secrets, scope.ROUTING_DOCUMENT, jaas_secret).violations == []
    )
    worker = {"storage_replication_factor": 3, "secrets": secret({"A.password": "pw"}), "running": True}
    assert check_resource(secret_rules.validate_no_plaintext_secrets, scope.CONNECT_WORKER, worker).violations == []
    leaky = {**worker, "secrets": {"A.password": "pw"}}
    assert len(check_resource(secret_rules.validate_no_plaintext_secrets, scope.CONNECT_WORKER, leaky).violations) == 1


@pytest.mark.parametrize(
    ("jaas", "literal"),
    [
        ('x required username="u" password="p";', True),
        ("x required username='u' password='p';", True),
        ("x required username=u password=p;", True),
        ('x required username="u" password="${file:/s.properties:A.password}";', False),
        ('x required username="u" password="";', False),
        ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;", False),
    ],
)
def test_literal_jaas_passwords(jaas: str, literal: bool) -> None:
    assert secret_rules.literal_jaas_password(jaas) is literal


# --- no-identity-loop -----------------------------------------------------------------------------


def test_identity_both_ways_over_shared_topics_loops() -> None:
    a_to_b = connector("A->B.MirrorSourceConnector", None, IDENTITY_POLICY, "orders,payments")
    b_to_a = connector("B->A.MirrorSourceConnector", None, IDENTITY_POLICY, ".*")
    report = check_stack(flow_rules.validate_no_identity_loop, [a_to_b, b_to_a])
    [message] = report.messages
    assert "topic orders" in message and "strategy: one-way" in message
    assert report.urns == [b_to_a.urn]


@pytest.mark.parametrize(
    ("second", "loops"),
    [
        ({"policy": DEFAULT_POLICY}, False),
        ({"enabled": False}, False),
        ({"topics": "audit,metrics"}, False),
        ({"topics": "audit.*"}, True),  # regexes cannot be proven disjoint: counted as overlapping
        ({"topics": None}, True),  # MM2's default `topics` is .*
        ({"enabled": None}, True),  # a connector without `enabled` counts as enabled
        ({"enabled": UNKNOWN_BOOLEAN_VALUE}, False),  # judged when known
        ({"topics": UNKNOWN}, False),
        ({"topics": "orders", "topics.exclude": "orders"}, False),
    ],
)
def test_identity_loop_cases(second: dict[str, Any], loops: bool) -> None:
    first = connector("A->B.MirrorSourceConnector", None, IDENTITY_POLICY, "orders,payments")
    options: dict[str, Any] = {"policy": IDENTITY_POLICY, "topics": "orders", **second}
    other = connector("B->A.MirrorSourceConnector", None, **options)
    assert bool(check_stack(flow_rules.validate_no_identity_loop, [first, other]).violations) is loops


def test_identity_loop_on_the_real_connector_configs() -> None:
    cfg = make_config(strategy="one-way")
    resources = []
    for source, target in ((cfg.blue, cfg.green), (cfg.green, cfg.blue)):
        configs = connector_configs(flow_spec(cfg, source, target, "/s.properties"), 1)
        for name, config in configs.items():
            props = {"connector_name": name, "connect_url": "http://c", "config": config, "enabled": True}
            resources.append(res(scope.MIRROR_CONNECTOR, props, name.replace(">", "")))
    report = check_stack(flow_rules.validate_no_identity_loop, resources)
    assert len(report.violations) == 1  # the two source connectors; checkpoint and heartbeat copy no topics
    assert flow_rules.topics_overlap((["orders"], []), (["payments"], [])) == (False, "")


# --- reverse-flow-disabled-promptly and its advisory ----------------------------------------------


def _flows(mig: PolicyResource, reverse_enabled: bool) -> list[PolicyResource]:
    return [
        connector("A->B.MirrorSourceConnector", mig),
        connector("A->B.MirrorCheckpointConnector", mig),
        connector("B->A.MirrorHeartbeatConnector", mig),  # belongs to A->B: emits into A
        connector("B->A.MirrorSourceConnector", mig, enabled=reverse_enabled),
        connector("B->A.MirrorCheckpointConnector", mig, enabled=reverse_enabled),
        connector("A->B.MirrorHeartbeatConnector", mig, enabled=reverse_enabled),
    ]


REVERSE_DISABLED = Step(Phase.REVERSE_DISABLED, 2, 2)
ALL_CONSUMERS = Step(Phase.CONSUMERS_SWITCHED, 2, 2)


def test_reverse_disabled_with_b_to_a_off_passes() -> None:
    mig = migration(summary(REVERSE_DISABLED, ALL_CONSUMERS))
    assert check_stack(flow_rules.validate_reverse_flow_disabled, [mig, *_flows(mig, False)]).violations == []


def test_b_to_a_still_enabled_after_reverse_disabled_is_refused() -> None:
    props = summary(Step(Phase.VERIFIED, 2, 2), REVERSE_DISABLED)
    props["flows"]["B->A"] = True
    mig = migration(props)
    flows = _flows(mig, True)
    report = check_stack(flow_rules.validate_reverse_flow_disabled, [mig, *flows])
    assert report.urns == [mig.urn, flows[3].urn, flows[4].urn, flows[5].urn]
    assert all("at phase reverse-disabled" in m and "consumers-switched" in m for m in report.messages)


def test_b_to_a_before_reverse_disabled_is_allowed_and_the_advisory_asks_to_disable_it_next() -> None:
    mig = migration(summary(ALL_CONSUMERS, Step(Phase.CONSUMERS_SWITCHED, 2, 1)))
    resources = [mig, *_flows(mig, True)]
    assert check_stack(flow_rules.validate_reverse_flow_disabled, resources).violations == []
    [message] = check_stack(flow_rules.validate_reverse_flow_disable_next, resources).messages
    assert "disable it promptly: next step reverse-disabled" in message
    halfway = migration(summary(Step(Phase.CONSUMERS_SWITCHED, 2, 1), Step(Phase.PRODUCERS_SWITCHED, 2, 0)))
    assert (
        check_stack(flow_rules.validate_reverse_flow_disable_next, [halfway, *_flows(halfway, True)]).violations == []
    )


def test_reverse_flow_missing_alias_fails_closed_and_unknown_status_waits() -> None:
    props = summary(REVERSE_DISABLED, ALL_CONSUMERS)
    del props["greenAlias"]
    mig = migration(props)
    [message] = check_stack(flow_rules.validate_reverse_flow_disabled, [mig, *_flows(mig, False)]).messages
    assert "`greenAlias` is missing" in message
    mig = migration(summary(REVERSE_DISABLED, ALL_CONSUMERS))
    flows = _flows(mig, UNKNOWN_BOOLEAN_VALUE)
    assert check_stack(flow_rules.validate_reverse_flow_disabled, [mig, *flows]).violations == []


def test_stack_rules_read_the_summary_the_resource_policies_recorded() -> None:
    props = summary(Step(Phase.VERIFIED, 2, 2), REVERSE_DISABLED)
    outputs_only = migration({"greenBootstrapServers": "green:9092", "connectUrl": "http://c"})
    stack = [outputs_only, connector("B->A.MirrorSourceConnector", outputs_only)]
    with pytest.raises(_NotApplicableError):
        check_stack(flow_rules.validate_reverse_flow_disabled, stack)
    args = ResourceValidationArgs(scope.MIGRATION, engine_view(props), outputs_only.urn, "migration", OPTS, None)
    scope.record_migration(args, Report())
    assert len(check_stack(flow_rules.validate_reverse_flow_disabled, stack).violations) == 1


# --- production-replication-factors ---------------------------------------------------------------


def _green_topic(name: str, rf: Any, isr: Any, parent: PolicyResource) -> PolicyResource:
    config = {} if isr is None else {"min.insync.replicas": isr}
    props = {"name": name, "partitions": 3, "replicationFactor": rf, "config": config}
    return res(scope.KAFKA_TOPIC, props, f"topics-{name}", parent)


def _production_stack(rf: int = 3, isr: str = "2", **summary_overrides: Any) -> list[PolicyResource]:
    props = {**summary(production=True), **summary_overrides}
    mig = migration(props)
    worker = res(scope.CONNECT_WORKER, {"storage_replication_factor": rf, "running": True}, "connect", mig)
    return [
        mig,
        worker,
        connector("A->B.MirrorSourceConnector", mig, **{"offset-syncs.topic.replication.factor": str(rf)}),
        _green_topic("A.orders", rf, isr, mig),
        _green_topic("orders", rf, isr, mig),
        _green_topic("A.payments", rf, None, mig),  # blue's payments sets no min.insync.replicas
        _green_topic("unrelated", 1, "1", mig),  # not a copy of a blue topic
    ]


def test_production_stack_as_durable_as_blue_passes() -> None:
    assert check_stack(topic_rules.validate_production_replication_factors, _production_stack()).violations == []


def test_low_replication_on_production_is_refused_everywhere() -> None:
    stack = _production_stack(rf=1, isr="1", internalTopicReplicationFactor=1)
    report = check_stack(topic_rules.validate_production_replication_factors, stack)
    mig, worker, source, a_orders, orders = stack[:5]
    assert report.urns.count(mig.urn) == 1
    assert report.urns.count(worker.urn) == 1
    assert report.urns.count(source.urn) == 1
    assert report.urns.count(a_orders.urn) == 2  # replicationFactor and min.insync.replicas
    assert report.urns.count(orders.urn) == 2
    assert len(report.violations) == 8  # and A.payments: its replication factor only
    assert any("topics.overrides.orders.replicationFactor" in m for m in report.messages)
    assert any("mm2.internalTopicReplicationFactor: 3" in m for m in report.messages)


def test_missing_min_isr_on_green_is_refused_when_blue_sets_one() -> None:
    stack = _production_stack(isr=None)  # type: ignore[arg-type]
    messages = check_stack(topic_rules.validate_production_replication_factors, stack).messages
    assert len(messages) == 2 and all("is not set" in m for m in messages)


def test_replication_factors_are_not_judged_off_production_or_when_unknown() -> None:
    off = _production_stack(rf=1, isr="1", production=False)
    assert check_stack(topic_rules.validate_production_replication_factors, off).violations == []
    mig = migration(summary(production=True))
    unknown = [mig, _green_topic("A.orders", UNKNOWN_NUMBER_VALUE, UNKNOWN, mig)]
    assert check_stack(topic_rules.validate_production_replication_factors, unknown).violations == []
    with pytest.raises(_NotApplicableError):
        check_stack(topic_rules.validate_production_replication_factors, unknown[1:])


# --- no-blue-deletion-while-routed ----------------------------------------------------------------


def _fence(mig: PolicyResource, permission: str = "Deny", under_fence: bool = True) -> PolicyResource:
    parent = res(scope.BLUE_FENCE, {}, "migration-blue-fence", mig) if under_fence else mig
    props = {
        "aclResourceName": "orders",
        "aclResourceType": "Topic",
        "aclPrincipal": "User:*",
        "aclHost": "*",
        "aclOperation": "Write",
        "aclPermissionType": permission,
        "resourcePatternTypeFilter": "Literal",
    }
    return res(scope.KAFKA_ACL, props, "fence-orders", parent)


def _absent(mig: PolicyResource, cluster: str, topics: Any) -> PolicyResource:
    return res(scope.TOPICS_ABSENT, {"cluster": cluster, "topics": topics, "client_config": secret({})}, "gone", mig)


ROUTED_TO_BLUE = Step(Phase.PRODUCERS_SWITCHED, 1, 0)
ALL_ON_GREEN = Step(Phase.DECOMMISSIONED, 2, 2)


def test_deleting_or_fencing_blue_while_groups_use_it_is_refused() -> None:
    mig = migration(summary(ROUTED_TO_BLUE, Step(Phase.BIDIRECTIONAL)))
    absent, fence = _absent(mig, "A", ["orders", "heartbeats"]), _fence(mig)
    report = check_stack(topic_rules.validate_no_blue_deletion_while_routed, [mig, absent, fence])
    assert report.urns == [absent.urn, fence.urn]
    assert "delete topics orders from blue (A)" in report.messages[0]
    assert "analytics, billing, payments-writer" in report.messages[0]  # orders-writer moved in wave 1


@pytest.mark.parametrize(
    "extra",
    [
        lambda mig: _absent(mig, "A", ["mm2-offset-syncs.B.internal", "heartbeats", "B.checkpoints.internal"]),
        lambda mig: _absent(mig, "B", ["orders"]),
        lambda mig: _absent(mig, "A", UNKNOWN),
        lambda mig: _fence(mig, permission="Allow"),
        lambda mig: _fence(mig, under_fence=False),
    ],
)
def test_internal_topics_green_topics_and_non_fence_acls_are_fine_while_routed(extra) -> None:
    mig = migration(summary(ROUTED_TO_BLUE, Step(Phase.BIDIRECTIONAL)))
    assert check_stack(topic_rules.validate_no_blue_deletion_while_routed, [mig, extra(mig)]).violations == []


def test_fencing_and_deleting_blue_once_everyone_is_on_green_passes() -> None:
    mig = migration(summary(ALL_ON_GREEN, Step(Phase.MM2_STOPPED, 2, 2)))
    stack = [mig, _absent(mig, "A", ["orders"]), _fence(mig)]
    assert check_stack(topic_rules.validate_no_blue_deletion_while_routed, stack).violations == []


def test_blue_deletion_without_client_routing_fails_closed() -> None:
    props = summary(ALL_ON_GREEN, Step(Phase.MM2_STOPPED, 2, 2))
    del props["clientRouting"]
    mig = migration(props)
    [message] = check_stack(topic_rules.validate_no_blue_deletion_while_routed, [mig, _fence(mig)]).messages
    assert "`clientRouting` is missing" in message
    green_only = [mig, _absent(mig, "B", ["orders"])]
    assert check_stack(topic_rules.validate_no_blue_deletion_while_routed, green_only).violations == []


def test_stack_policies_wrap_the_validators() -> None:
    by_name = {policy.name: policy for policy in rules.POLICIES}
    assert isinstance(by_name["no-blue-deletion-while-routed"], StackValidationPolicy)
    report = Report()
    by_name["no-identity-loop"].validate(StackValidationArgs([]), report)
    assert report.violations == []
