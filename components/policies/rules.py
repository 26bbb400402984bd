"""The kafka-migration-safety policy pack: its policies, each a rule of the modules beside this one.

- `step_rules`: no-phase-skip, soak-window-24h (advisory);
- `secret_rules`: no-plaintext-secrets;
- `flow_rules`: no-identity-loop, reverse-flow-disabled-promptly, reverse-flow-disable-next (advisory);
- `topic_rules`: production-replication-factors, no-blue-deletion-while-routed.

They read the engine's view through `inputs` (missing and unknown values), `secret_marks` (secret
flags), `scope` (each Migration's recorded summary and resources) and `connectors` (MM2's
connectors); tests/integration/test_policy_pack.py checks that view against the real CLI.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from kafka_migration.policies.flow_rules import (
    validate_no_identity_loop,
    validate_reverse_flow_disable_next,
    validate_reverse_flow_disabled,
)
from kafka_migration.policies.scope import record_migration
from kafka_migration.policies.secret_rules import validate_no_plaintext_secrets
from kafka_migration.policies.step_rules import validate_no_phase_skip, validate_soak_window
from kafka_migration.policies.topic_rules import (
    validate_no_blue_deletion_while_routed,
    validate_production_replication_factors,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

POLICIES = [
    StackValidationPolicy(
        name="no-identity-loop",
        description="MM2 must not replicate the same topics both ways with IdentityReplicationPolicy.",
        validate=validate_no_identity_loop,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-phase-skip",
        description="A stack moves at most one migration step per update, and starts at green-provisioned.",
        validate=[record_migration, validate_no_phase_skip],
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="reverse-flow-disabled-promptly",
        description="From reverse-disabled on, no MM2 flow replicates from green back to blue.",
        validate=validate_reverse_flow_disabled,
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="reverse-flow-disable-next",
        description="Once every consumer wave is on green, the reverse flow should be disabled next.",
        validate=validate_reverse_flow_disable_next,
        enforcement_level=ADVISORY,
    ),
    StackValidationPolicy(
        name="production-replication-factors",
        description="Production: MM2 internal topics on >= 2 replicas, green topics as replicated as blue's.",
        validate=validate_production_replication_factors,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-plaintext-secrets",
        description="SASL passwords and JAAS configs are secrets or config-provider references, never plain inputs.",
        validate=[record_migration, validate_no_plaintext_secrets],
        enforcement_level=MANDATORY,
    ),
    StackValidationPolicy(
        name="no-blue-deletion-while-routed",
        description="Blue's topics are not deleted or fenced while any client group still routes to blue.",
        validate=validate_no_blue_deletion_while_routed,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        name="soak-window-24h",
        description="A production stack soaks at least 24 h before verified.",
        validate=[record_migration, validate_soak_window],
        enforcement_level=ADVISORY,
    ),
]
"""The pack's policies; bandwidth-estimate is left out: the inputs carry no throughput or size data."""
