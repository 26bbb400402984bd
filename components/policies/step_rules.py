"""The rules on the migration's pace: one step per update (no-phase-skip), a day's soak (soak-window-24h).

Every step is previewed and gated on its own, so a stack may move at most one step per
`pulumi up`; a production stack should see a full daily traffic cycle on green before verified.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from kafka_migration.config.model import Strategy
from kafka_migration.planning.phases import Step, place_step, steps
from kafka_migration.policies.inputs import MISSING, UNKNOWN, as_bool, as_int, get, is_any
from kafka_migration.policies.scope import MIGRATION, parse_step, require, with_runbook

SOAK_SECONDS_24H = 24 * 3600


# --- no-phase-skip --------------------------------------------------------------------------------


def _set_step(step: Step) -> str:
    return f"phase {step.phase.value} with producerWaves={step.producer_waves} consumerWaves={step.consumer_waves}"


def validate_no_phase_skip(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """The step may move at most one step forward from the applied one; a new stack starts at green-provisioned."""
    if args.resource_type != MIGRATION:
        return
    props, urn, rule = args.props, args.urn, "the step order (no-phase-skip)"
    strategy_value = require(props, "strategy", rule, urn, report_violation)
    step_value = require(props, "step", rule, urn, report_violation)
    previous_value = get(props, "previousStep")
    if is_any(UNKNOWN, strategy_value, step_value, previous_value) or is_any(MISSING, strategy_value, step_value):
        return
    if not isinstance(strategy_value, str) or strategy_value not in {s.value for s in Strategy}:
        report_violation(
            with_runbook(f"strategy {strategy_value!r} is not a strategy; set strategy: bidirectional or one-way."), urn
        )
        return
    strategy = Strategy(strategy_value)
    step = parse_step(step_value)
    previous = None if previous_value is MISSING else parse_step(previous_value)
    if is_any(UNKNOWN, step, previous):
        return
    if step is None or (previous_value is not MISSING and previous is None):
        report_violation(
            with_runbook(
                "step or previousStep is not a {phase, producerWaves, consumerWaves} of known phases; "
                "set phase, producerWaves and consumerWaves to a step of the strategy."
            ),
            urn,
        )
        return
    producers = as_int(get(props, "producerWavesTotal"))
    consumers = as_int(get(props, "consumerWavesTotal"))
    known = [s for s in (step, previous) if s is not None]
    producers = max(s.producer_waves for s in known) if producers is None else producers
    consumers = max(s.consumer_waves for s in known) if consumers is None else consumers
    order = steps(strategy, producers, consumers)
    if step not in order:
        allowed = "; ".join(_set_step(s) for s in order if s.phase is step.phase) or "none: pick another phase"
        report_violation(
            with_runbook(
                f"{step.describe()} is not a step of the {strategy.value} strategy with {producers} producer and "
                f"{consumers} consumer wave(s); with this phase use: {allowed}."
            ),
            urn,
        )
        return
    target = order.index(step)
    if previous is None:
        if target > 1:
            report_violation(
                with_runbook(
                    f"This stack has not applied any step yet (previousStep is null) but asks for {step.describe()}; "
                    f"start with {_set_step(order[1])} and move one step per `pulumi up`."
                ),
                urn,
            )
        return
    placed = place_step(order, previous)
    if placed is None:
        report_violation(
            with_runbook(
                f"previousStep {previous.describe()} is not a step of the {strategy.value} strategy (was the "
                "strategy changed mid-migration?); set strategy back to the one the stack was applied with."
            ),
            urn,
        )
        return
    current = order.index(placed)
    if target > current + 1:
        nxt = order[current + 1]
        report_violation(
            with_runbook(
                f"{step.describe()} skips {nxt.describe()}: the stack last applied {previous.describe()}, and every "
                f"step is previewed and gated on its own; set {_set_step(nxt)} first, then move one step per "
                "`pulumi up`."
            ),
            urn,
        )


# --- soak-window-24h (advisory) -------------------------------------------------------------------


def validate_soak_window(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A production stack soaks at least 24 h between consumers-switched and verified."""
    if args.resource_type != MIGRATION or as_bool(get(args.props, "production")) is not True:
        return
    soak = as_int(get(args.props, "soakSeconds"))
    if soak is not None and soak < SOAK_SECONDS_24H:
        report_violation(
            with_runbook(
                f"gates.soakSeconds is {soak} on a production stack: green would be verified after less than 24 h, "
                f"before a full daily traffic cycle ran on it; set gates.soakSeconds: {SOAK_SECONDS_24H} (or more)."
            ),
            args.urn,
        )
