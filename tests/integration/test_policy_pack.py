"""The policy pack through the real CLI: `pulumi preview --policy-pack policy` on inline programs.

The programs register the real components (the `Migration` with its summary, MirrorConnector,
TopicsAbsent, BlueFence, kafka providers) from the real planning code, so the rules are checked
against the property names and shapes the engine actually shows a policy pack. The stacks are
only previewed: no cluster, worker or file is touched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pulumi_kafka
import pytest
from pulumi import automation as auto

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.evidence.clients import client_config
from kafka_migration.local_runtime.paths import pulumi_root
from kafka_migration.local_runtime.pulumi_cli import pulumi_env
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import Flow, MigrationPlan, fence_acls, plan_migration
from kafka_migration.planning.mm2 import connector_configs, flow_spec
from kafka_migration.planning.phases import Step
from kafka_migration.resources.cleanup import BlueFence, BlueFenceArgs
from kafka_migration.resources.kafka_provider import kafka_provider
from kafka_migration.resources.migration import Migration, MigrationArgs
from kafka_migration.resources.providers.connector import MirrorConnector
from kafka_migration.resources.providers.topics_absent import TopicsAbsent
from tests.unit.builders import make_config

pytestmark = pytest.mark.integration

POLICY_PACK = Path(__file__).resolve().parents[2] / "policy"
RUNBOOK = "README.md#rolling-back-and-refused-gates"
PASSWORD = "pw-123"
SECRETS_FILE = "/opt/kafka/external-configuration/mm2-secrets/mm2-secrets.properties"
RULE = re.compile(r"\[(mandatory|advisory)\]\s+([a-z0-9-]+)")
BLUE = ClusterInventory(
    "blue-id",
    3,
    {
        "orders": TopicInfo("orders", 3, 3, {"min.insync.replicas": "2"}),
        "payments": TopicInfo("payments", 3, 3, {"min.insync.replicas": "2"}),
    },
)
SASL = {"protocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512", "username": "mig", "password": PASSWORD}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What `pulumi preview --policy-pack` said."""

    passed: bool
    output: str
    mandatory: set[str]
    advisory: set[str]


Preview = Callable[[str, Callable[[], None]], Outcome]


@pytest.fixture(scope="module")
def preview(toolchain: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    """Previews an inline program as its own stack (file backend in a temp folder) with the policy pack."""
    root = tmp_path_factory.mktemp("policy-pack")
    env = pulumi_env(root / "state")
    options = auto.LocalWorkspaceOptions(
        pulumi_command=auto.PulumiCommand(root=str(pulumi_root())), env_vars=env, work_dir=str(root)
    )

    def run(name: str, program: Callable[[], None]) -> Outcome:
        stack = auto.create_or_select_stack(name, "policy-pack-check", program, opts=options)
        try:
            result = stack.preview(policy_packs=[str(POLICY_PACK)], color="never")
            passed, output = True, result.stdout + result.stderr
        except auto.CommandError as err:
            passed, output = False, str(err)
        # Inputs unknown at preview (e.g. a local worker's URL) must not keep a rule from running.
        assert "can't run policy" not in output, output
        rules = RULE.findall(output)
        return Outcome(
            passed,
            output,
            {r for level, r in rules if level == "mandatory"},
            {r for level, r in rules if level == "advisory"},
        )

    yield run


def config(tmp_routing: Path, **overrides: object) -> MigrationConfig:
    """A production migration between two external SASL clusters, MM2 on an external Connect cluster."""
    values: dict[str, object] = {
        "production": True,
        "blue": {
            "alias": "A",
            "runtime": "external",
            "bootstrapServers": "blue-1:9092",
            "brokers": 3,
            "security": SASL,
        },
        "green": {
            "alias": "B",
            "runtime": "external",
            "bootstrapServers": "green-1:9092",
            "brokers": 3,
            "security": SASL,
        },
        "mm2": {"connectUrl": "http://connect:8083"},
        "routing": {"directory": str(tmp_routing)},
    }
    return make_config(**{**values, **overrides})


def migration_program(
    cfg: MigrationConfig,
    step: Step,
    previous: Step | None,
    data_root: Path,
    edit_plan: Callable[[MigrationPlan], MigrationPlan] = lambda plan: plan,
    extra: Callable[[Migration], None] = lambda migration: None,
) -> Callable[[], None]:
    """The real Migration at `step` (plan from the real planning code), plus `extra` resources under it."""

    def program() -> None:
        plan = edit_plan(plan_migration(cfg, step, BLUE, cfg.green.brokers))
        migration = Migration._from_plan("migration", MigrationArgs(cfg, plan, data_root, previous, BLUE))
        extra(migration)

    return program


def assert_refused_by(outcome: Outcome, rule: str) -> None:
    assert not outcome.passed, outcome.output
    assert outcome.mandatory == {rule}, outcome.output
    assert RUNBOOK in outcome.output


CONSUMERS_DONE = Step(Phase.CONSUMERS_SWITCHED, 2, 2)


def test_a_compliant_stack_passes_with_the_advisory_to_disable_b_to_a_next(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing")
    outcome = preview("clean", migration_program(cfg, CONSUMERS_DONE, Step(Phase.CONSUMERS_SWITCHED, 2, 1), tmp_path))
    assert outcome.passed, outcome.output
    assert outcome.mandatory == set(), outcome.output
    assert outcome.advisory == {"reverse-flow-disable-next"}, outcome.output
    assert "next step reverse-disabled" in outcome.output


def test_identity_replication_both_ways_is_refused(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing", strategy="one-way")
    name = "B->A.MirrorSourceConnector"
    back = connector_configs(flow_spec(cfg, cfg.green, cfg.blue, SECRETS_FILE), 3)[name]

    def extra(migration: Migration) -> None:
        MirrorConnector(
            "manual-b-to-a",
            connect_url="http://connect:8083",
            connector_name=name,
            config=back,
            enabled=True,
            opts=pulumi.ResourceOptions(parent=migration),
        )

    program = migration_program(cfg, Step(Phase.REPLICATING), Step(Phase.GREEN_PROVISIONED), tmp_path, extra=extra)
    outcome = preview("identity-loop", program)
    assert_refused_by(outcome, "no-identity-loop")
    assert "strategy: one-way" in outcome.output


def test_skipping_a_phase_is_refused(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing")
    program = migration_program(cfg, Step(Phase.BIDIRECTIONAL), Step(Phase.GREEN_PROVISIONED), tmp_path)
    outcome = preview("phase-skip", program)
    assert_refused_by(outcome, "no-phase-skip")
    assert "set phase replicating with producerWaves=0 consumerWaves=0 first" in outcome.output


def test_b_to_a_still_enabled_at_reverse_disabled_is_refused(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing")

    def keep_reverse(plan: MigrationPlan) -> MigrationPlan:
        return dataclasses.replace(plan, flows=(*plan.flows, Flow("B", "A")))

    step = Step(Phase.REVERSE_DISABLED, 2, 2)
    outcome = preview("reverse-flow", migration_program(cfg, step, CONSUMERS_DONE, tmp_path, edit_plan=keep_reverse))
    assert_refused_by(outcome, "reverse-flow-disabled-promptly")
    assert "B->A.MirrorSourceConnector" in outcome.output


def test_production_replication_below_blue_is_refused(preview: Preview, tmp_path: Path) -> None:
    local_green = {"alias": "B", "runtime": "local", "local": {"brokerPort": 29092, "controllerPort": 29093}}
    cfg = config(tmp_path / "routing", green=local_green, mm2={}, gates={"soakSeconds": 3600})
    program = migration_program(cfg, Step(Phase.REPLICATING), Step(Phase.GREEN_PROVISIONED), tmp_path)
    outcome = preview("production-rf", program)
    assert_refused_by(outcome, "production-replication-factors")
    assert "Green topic A.orders has replicationFactor 1" in outcome.output
    assert "Connect worker's storage topics" in outcome.output
    assert "soak-window-24h" in outcome.advisory


def test_plaintext_passwords_are_refused(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing")
    name = "A->B.MirrorSourceConnector"
    forward = connector_configs(flow_spec(cfg, cfg.blue, cfg.green, SECRETS_FILE), 3)[name]
    literal = re.sub(r'password="[^"]*"', f'password="{PASSWORD}"', forward["source.cluster.sasl.jaas.config"])

    def extra(migration: Migration) -> None:
        child = pulumi.ResourceOptions(parent=migration)
        pulumi_kafka.Provider(
            "plain-password",
            bootstrap_servers=["blue-1:9092"],
            sasl_mechanism="scram-sha512",
            sasl_username="mig",
            sasl_password=PASSWORD,
            tls_enabled=True,
            opts=child,
        )
        config = {**forward, "source.cluster.sasl.jaas.config": literal}
        MirrorConnector(
            "literal-jaas", connect_url="http://c:8083", connector_name=name, config=config, enabled=False, opts=child
        )

    program = migration_program(cfg, Step(Phase.REPLICATING), Step(Phase.GREEN_PROVISIONED), tmp_path, extra=extra)
    outcome = preview("plaintext-secrets", program)
    assert_refused_by(outcome, "no-plaintext-secrets")
    assert "saslPassword" in outcome.output and "source.cluster.sasl.jaas.config" in outcome.output
    assert PASSWORD not in outcome.output


def test_deleting_and_fencing_blue_while_groups_use_it_is_refused(preview: Preview, tmp_path: Path) -> None:
    cfg = config(tmp_path / "routing")

    def extra(migration: Migration) -> None:
        child = pulumi.ResourceOptions(parent=migration)
        TopicsAbsent(
            "blue-orders-gone",
            cluster="A",
            client_config=pulumi.Output.secret(client_config(cfg.blue)),
            topics=["orders", "heartbeats"],
            opts=pulumi.ResourceOptions(parent=migration, additional_secret_outputs=["client_config"]),
        )
        provider = kafka_provider("blue-kafka", cfg.blue, cfg.blue.resolved_bootstrap_servers, child)
        BlueFence("early-fence", BlueFenceArgs(tuple(fence_acls(cfg, BLUE)), provider), child)

    step, previous = Step(Phase.PRODUCERS_SWITCHED, 1, 0), Step(Phase.BIDIRECTIONAL)
    outcome = preview("blue-deletion", migration_program(cfg, step, previous, tmp_path, extra=extra))
    assert_refused_by(outcome, "no-blue-deletion-while-routed")
    assert "would delete topics orders from blue (A)" in outcome.output
    assert "BlueFence ACL" in outcome.output
