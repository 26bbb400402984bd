"""The rules of the kafka-migration-safety policy pack: validator functions and the policy objects.

What the engine shows a policy pack (checked against the real CLI in tests/integration/test_policy_pack.py):

- A resource policy sees a resource's *inputs*; a stack policy sees every resource's *outputs*. A
  component's outputs are what it passed to `register_outputs`, so the stack view of
  `kafkamig:index:Migration` does not hold the summary it was registered with (`summary_props`).
  The resource policies therefore record each Migration's inputs as the engine analyzes it
  (`record_migration`), and the stack policies read the summary from there. The engine analyzes
  a component before any of its children can register, and runs the stack policies after every
  resource has been analyzed, in the same policy-pack process.
- Null inputs are dropped (`previousStep: null` arrives as a missing key); numbers arrive as floats.
- Values unknown during a preview raise `UnknownValueError` when read; the rules skip what they
  cannot know yet and judge it again when `pulumi up` runs them with the values known.
- pulumi-policy unwraps secrets before a validator sees them; `install_secret_marks` keeps the
  engine's secret flag on strings as `SecretText`, so `no-plaintext-secrets` can tell a secret
  from a plain input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi_policy.policy as sdk_policy
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from kafka_migration.config.model import DEFAULT_TOPIC_EXCLUDES, Phase, Strategy
from kafka_migration.planning.naming import ConnectorKind
from kafka_migration.planning.phases import Step, place_step, steps

RUNBOOK = "README.md#rolling-back-and-refused-gates"

MIGRATION = "kafkamig:index:Migration"
BLUE_FENCE = "kafkamig:index:BlueFence"
MIRROR_CONNECTOR = "pulumi-python:dynamic/kafkamig:MirrorConnector"
CONNECT_WORKER = "pulumi-python:dynamic/kafkamig:LocalConnectWorker"
ROUTING_DOCUMENT = "pulumi-python:dynamic/kafkamig:RoutingDocument"
TOPICS_ABSENT = "pulumi-python:dynamic/kafkamig:TopicsAbsent"
KAFKA_TOPIC = "kafka:index/topic:Topic"
KAFKA_ACL = "kafka:index/acl:Acl"
KAFKA_PROVIDER = "pulumi:providers:kafka"

MIN_PRODUCTION_REPLICATION_FACTOR = 2
SOAK_SECONDS_24H = 24 * 3600
MIN_ISR = "min.insync.replicas"
MM2_DEFAULT_TOPICS = ".*"
MM2_DEFAULT_TOPICS_EXCLUDE = r".*[\-\.]internal, .*\.replica, __.*"


def _fix(text: str) -> str:
    """A violation message: what is wrong and how to fix it, then the runbook section."""
    return f"{text} Runbook: {RUNBOOK}"


# --- Secrets: keep the engine's secret flag visible to the validators -----------------------------


class SecretText(str):
    """A string input the engine marked secret (pulumi-policy alone would hand it over as a plain str)."""

    __slots__ = ()


def is_secret(value: object) -> bool:
    """Whether the engine treats `value` as a secret."""
    return isinstance(value, SecretText)


def _mark_secret(value: Any) -> Any:
    if isinstance(value, str):
        return SecretText(value)
    if isinstance(value, list):
        return [_mark_secret(v) for v in value]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _mark_secret(value.get("value"))
        if SPECIAL_SIG_KEY in value:
            return value  # an asset or archive
        return {k: _mark_secret(v) for k, v in value.items()}
    return value


def mark_secrets(value: Any) -> Any:
    """Replace the engine's secret envelopes in raw properties by their values, strings as `SecretText`."""
    if isinstance(value, list):
        return [mark_secrets(v) for v in value]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _mark_secret(value.get("value"))
        if SPECIAL_SIG_KEY in value:
            return value
        return {k: mark_secrets(v) for k, v in value.items()}
    return value


_UNMARKED_DESERIALIZE = sdk_policy.deserialize_properties


def _deserialize_keeping_secret_marks(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    return _UNMARKED_DESERIALIZE(props if proxy_secrets else mark_secrets(props), proxy_secrets)


def install_secret_marks() -> None:
    """Make pulumi-policy (1.21) keep secret flags: its Analyze/AnalyzeStack unwrap secrets otherwise.

    Raises:
        RuntimeError: pulumi-policy no longer deserializes through `pulumi_policy.policy.deserialize_properties`;
            without secret flags `no-plaintext-secrets` cannot work, so the pack refuses to start.
    """
    if not callable(getattr(sdk_policy, "deserialize_properties", None)):
        raise RuntimeError(
            "pulumi_policy.policy.deserialize_properties is gone: this pack needs pulumi-policy==1.21.0 "
            "(policy/requirements.txt) to see which inputs are secret"
        )
    sdk_policy.deserialize_properties = _deserialize_keeping_secret_marks


install_secret_marks()


# --- Reading inputs that may be missing or unknown during a preview -------------------------------


class _Absent:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Absent("MISSING")
"""The key is not there (the engine drops null inputs, so null reads as missing)."""
UNKNOWN: Any = _Absent("UNKNOWN")
"""The value is computed and not known yet (preview)."""

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def get(value: Any, *path: str | int) -> Any:
    """The value at `path`, or MISSING / UNKNOWN (never raises)."""
    for key in path:
        if value is MISSING or value is UNKNOWN:
            return value
        try:
            value = value[key]
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return MISSING
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def keys(value: Any) -> list[str]:
    """The keys of a mapping input (empty for anything else)."""
    return [str(k) for k in value] if isinstance(value, Mapping) else []


def items(value: Any) -> Iterator[tuple[str, Any]]:
    """Key and value of a mapping input; unknown values come as UNKNOWN."""
    for key in keys(value):
        yield key, get(value, key)


def _is_any(sentinel: Any, *values: Any) -> bool:
    return any(v is sentinel for v in values)


def as_int(value: Any) -> int | None:
    """An integer input (numbers arrive as floats, Kafka configs as strings); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def as_bool(value: Any) -> bool | None:
    """A boolean input (or "true"/"false"); None if it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _path_text(path: Sequence[str | int]) -> str:
    text = ""
    for i, key in enumerate(path):
        if isinstance(key, int):
            text += f"[{key}]"
        elif i == 0:
            text += key
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            text += f".{key}"
        else:
            text += f'["{key}"]'
    return text


def string_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every known string inside an input, with its path."""
    if isinstance(value, str):
        if value not in _UNKNOWN_SENTINELS:
            yield path, value
    elif isinstance(value, Mapping):
        for key, child in items(value):
            yield from string_leaves(child, (*path, key))
    elif isinstance(value, Sequence):
        for i in range(len(value)):
            yield from string_leaves(get(value, i), (*path, i))


# --- The Migration's summary and the resources it owns --------------------------------------------

RECORDED_MIGRATIONS: dict[str, Mapping[str, Any]] = {}
"""URN -> inputs of each Migration the engine analyzed in this process (what `summary_props` recorded)."""


def record_migration(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Remember a Migration's inputs for the stack policies (first validation of every resource policy)."""
    if args.resource_type == MIGRATION:
        RECORDED_MIGRATIONS[args.urn] = args.props


@dataclass
class MigrationScope:
    """A Migration's summary and the resources that belong to it."""

    migration: PolicyResource
    summary: Mapping[str, Any]
    members: list[PolicyResource] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[PolicyResource]:
        return [r for r in self.members if r.resource_type == resource_type]


def _ancestor(resource: PolicyResource, resource_type: str) -> PolicyResource | None:
    parent = resource.parent
    while parent is not None:
        if parent.resource_type == resource_type:
            return parent
        parent = parent.parent
    return None


def _summary(migration: PolicyResource) -> Mapping[str, Any] | None:
    if get(migration.props, "step") is not MISSING:
        return migration.props  # the summary is also among the component's outputs
    return RECORDED_MIGRATIONS.get(migration.urn)


def migration_scopes(resources: Sequence[PolicyResource]) -> list[MigrationScope]:
    """Each Migration with a known summary and its descendants (all resources when it is the only one)."""
    migrations = [r for r in resources if r.resource_type == MIGRATION]
    scopes: dict[str, MigrationScope] = {}
    for m in migrations:
        summary = _summary(m)
        if summary is not None:
            scopes[m.urn] = MigrationScope(m, summary)
    for r in resources:
        owner = _ancestor(r, MIGRATION) or (migrations[0] if len(migrations) == 1 else None)
        if owner is not None and owner.urn in scopes and r is not owner:
            scopes[owner.urn].members.append(r)
    return list(scopes.values())


def _no_summary(args: StackValidationArgs) -> None:
    args.not_applicable(
        f"no {MIGRATION} with its recorded summary in this stack (run with the migration program; "
        "with --target, include the Migration)"
    )


def _require(summary: Mapping[str, Any], key: str, rule: str, urn: str, report: ReportViolation) -> Any:
    """A summary value the rule cannot do without; reports a violation (fail closed) when it is missing."""
    value = get(summary, key)
    if value is MISSING:
        report(
            _fix(
                f"The Migration input `{key}` is missing, so {rule} cannot be checked. The Migration component "
                "records it (components/migration.py summary_props): deploy the program and this policy pack "
                "from the same revision."
            ),
            urn,
        )
    return value


# --- Phases and steps ------------------------------------------------------------------------------

_GLOBAL_PHASE_ORDER = list(Phase)


def _at_or_after(phase: Phase, reference: Phase) -> bool:
    """Whether `phase` comes at or after `reference` in the migration (both strategies keep this order)."""
    return _GLOBAL_PHASE_ORDER.index(phase) >= _GLOBAL_PHASE_ORDER.index(reference)


def parse_step(value: Any) -> Step | None:
    """A `{phase, producerWaves, consumerWaves}` input as a Step; UNKNOWN if part of it is; None if it is not one."""
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, Mapping):
        return None
    phase = get(value, "phase")
    producer = get(value, "producerWaves")
    consumer = get(value, "consumerWaves")
    if _is_any(UNKNOWN, phase, producer, consumer):
        return UNKNOWN
    if not isinstance(phase, str):
        return None
    if phase not in {p.value for p in Phase}:
        return None
    p = 0 if producer is MISSING else as_int(producer)
    c = 0 if consumer is MISSING else as_int(consumer)
    if p is None or c is None:
        return None
    return Step(Phase(phase), p, c)


def _set_step(step: Step) -> str:
    return f"phase {step.phase.value} with producerWaves={step.producer_waves} consumerWaves={step.consumer_waves}"


# --- no-phase-skip ---------------------------------------------------------------------------------


def validate_no_phase_skip(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """The step may move at most one step forward from the applied one; a new stack starts at green-provisioned."""
    if args.resource_type != MIGRATION:
        return
    props, urn, rule = args.props, args.urn, "the step order (no-phase-skip)"
    strategy_value = _require(props, "strategy", rule, urn, report_violation)
    step_value = _require(props, "step", rule, urn, report_violation)
    previous_value = get(props, "previousStep")
    if _is_any(UNKNOWN, strategy_value, step_value, previous_value) or _is_any(MISSING, strategy_value, step_value):
        return
    if not isinstance(strategy_value, str) or strategy_value not in {s.value for s in Strategy}:
        report_violation(
            _fix(f"strategy {strategy_value!r} is not a strategy; set strategy: bidirectional or one-way."), urn
        )
        return
    strategy = Strategy(strategy_value)
    step = parse_step(step_value)
    previous = None if previous_value is MISSING else parse_step(previous_value)
    if _is_any(UNKNOWN, step, previous):
        return
    if step is None or (previous_value is not MISSING and previous is None):
        report_violation(
            _fix(
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
            _fix(
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
                _fix(
                    f"This stack has not applied any step yet (previousStep is null) but asks for {step.describe()}; "
                    f"start with {_set_step(order[1])} and move one step per `pulumi up`."
                ),
                urn,
            )
        return
    placed = place_step(order, previous)
    if placed is None:
        report_violation(
            _fix(
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
            _fix(
                f"{step.describe()} skips {nxt.describe()}: the stack last applied {previous.describe()}, and every "
                f"step is previewed and gated on its own; set {_set_step(nxt)} first, then move one step per "
                "`pulumi up`."
            ),
            urn,
        )


# --- soak-window-24h (advisory) --------------------------------------------------------------------


def validate_soak_window(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A production stack soaks at least 24 h between consumers-switched and verified."""
    if args.resource_type != MIGRATION or as_bool(get(args.props, "production")) is not True:
        return
    soak = as_int(get(args.props, "soakSeconds"))
    if soak is not None and soak < SOAK_SECONDS_24H:
        report_violation(
            _fix(
                f"gates.soakSeconds is {soak} on a production stack: green would be verified after less than 24 h, "
                f"before a full daily traffic cycle ran on it; set gates.soakSeconds: {SOAK_SECONDS_24H} (or more)."
            ),
            args.urn,
        )


# --- no-plaintext-secrets --------------------------------------------------------------------------

_JAAS_KEY = re.compile(r"(?i)sasl[._]?jaas[._]?config$")
_PASSWORD_KEY = re.compile(r"(?i)(?:^|[._-]|sasl)password$")
_JAAS_PASSWORD = re.compile(r"""(?i)\bpassword\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""")
_CONFIG_REFERENCE = re.compile(r"\$\{[A-Za-z0-9_.-]+:[^}]*\}")


def _is_reference(value: str) -> bool:
    """A Kafka config-provider reference (`${file:path:key}`, `${env:NAME}`, `${strimzisecrets:ns/secret:key}`)."""
    return _CONFIG_REFERENCE.fullmatch(value.strip()) is not None


def literal_jaas_password(jaas: str) -> bool:
    """Whether a JAAS config carries a password literally (not as a config-provider reference)."""
    for match in _JAAS_PASSWORD.finditer(jaas):
        value = next(g for g in match.groups() if g is not None)
        if value and not _is_reference(value):
            return True
    return False


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No SASL password or JAAS password as a plain input; none at all in a connector's config."""
    connector = args.resource_type == MIRROR_CONNECTOR
    for path, value in string_leaves(args.props):
        key = str(path[-1]) if path else ""
        in_connector_config = connector and path[:1] == ("config",)
        where = f"{args.resource_type} input `{_path_text(path)}`"
        if _JAAS_KEY.search(key) and literal_jaas_password(value):
            if in_connector_config:
                report_violation(
                    _fix(
                        f"{where} has a literal password: Kafka Connect stores connector configs in plain text (its "
                        "config topic, its REST API). Reference it through a config provider instead, "
                        'password="${file:<secrets file>:<alias>.password}" (or ${env:...}, ${strimzisecrets:...}), '
                        "as planning/mm2.py endpoint() does, and keep the value in <cluster>.security.password "
                        "(`pulumi config set --secret --path <cluster>.security.password`)."
                    ),
                    args.urn,
                )
            elif not is_secret(value):
                report_violation(
                    _fix(
                        f"{where} has a literal password and is not a secret, so the state and every diff show it. "
                        "Pass it as pulumi.Output.secret(...) or reference it (${file:...}, ${env:...}); keep the "
                        "value in <cluster>.security.password (`pulumi config set --secret --path "
                        "<cluster>.security.password`)."
                    ),
                    args.urn,
                )
        elif _PASSWORD_KEY.search(key) and value and not _is_reference(value):
            if in_connector_config:
                report_violation(
                    _fix(
                        f"{where} is a literal password in a connector config, which Kafka Connect stores in plain "
                        "text; reference it (${file:<secrets file>:<key>}, ${env:...}, ${strimzisecrets:...})."
                    ),
                    args.urn,
                )
            elif not is_secret(value):
                report_violation(
                    _fix(
                        f"{where} is a password in a plain (non-secret) input, stored unencrypted in the state; set it "
                        "with `pulumi config set --secret --path <cluster>.security.password` and pass it as "
                        "pulumi.Output.secret(...) (components/kafka_provider.py does)."
                    ),
                    args.urn,
                )


# --- MirrorMaker 2 connectors ----------------------------------------------------------------------

_KINDS = {k.value for k in ConnectorKind}


@dataclass(frozen=True)
class Connector:
    """What the rules need to know of a MirrorConnector."""

    resource: PolicyResource
    name: str
    kind: str | None
    flow: tuple[str, str] | None
    """(source, target) of the flow the connector belongs to (a heartbeat connector `Y->X` belongs to X->Y)."""
    enabled: bool | None
    """None when unknown; a connector without `enabled` counts as enabled."""
    config: Any


def parse_connector(resource: PolicyResource) -> Connector:
    """A MirrorConnector's name, kind, flow and status, from its name or, failing that, its config."""
    props = resource.props
    name = get(props, "connector_name")
    name = name if isinstance(name, str) else ""
    config = get(props, "config")
    prefix, _, suffix = name.rpartition(".")
    kind = suffix if suffix in _KINDS else None
    if kind is None:
        cls = get(config, "connector.class")
        kind = cls.rpartition(".")[2] if isinstance(cls, str) and cls.rpartition(".")[2] in _KINDS else None
    source, target = get(config, "source.cluster.alias"), get(config, "target.cluster.alias")
    if not (isinstance(source, str) and isinstance(target, str)) and "->" in prefix:
        source, target = prefix.split("->", 1)
    flow = None
    if isinstance(source, str) and isinstance(target, str):
        flow = (target, source) if kind == ConnectorKind.HEARTBEAT.value else (source, target)
    enabled_value = get(props, "enabled")
    enabled = True if enabled_value is MISSING else as_bool(enabled_value)
    return Connector(resource, name or resource.name, kind, flow, enabled, config)


def connectors(resources: Sequence[PolicyResource]) -> list[Connector]:
    """The MirrorConnectors among `resources`."""
    return [parse_connector(r) for r in resources if r.resource_type == MIRROR_CONNECTOR]


# --- no-identity-loop ------------------------------------------------------------------------------

_NAME_LIKE = re.compile(r"[A-Za-z0-9._-]+")


def _patterns(value: Any, default: str) -> list[str] | None:
    if value is MISSING:
        value = default
    if not isinstance(value, str):
        return None
    return [p.strip() for p in value.split(",") if p.strip()]


def _selects(include: list[str], exclude: list[str], topic: str) -> bool:
    def matches(patterns: list[str]) -> bool:
        for p in patterns:
            try:
                if re.fullmatch(p, topic):
                    return True
            except re.error:
                if p == topic:
                    return True
        return False

    return matches(include) and not matches(exclude)


def topics_overlap(a: tuple[list[str], list[str]], b: tuple[list[str], list[str]]) -> tuple[bool, str]:
    """Whether two (include, exclude) topic selections may share a topic, and the evidence.

    A topic named in one selection and selected by the other proves an overlap. Selections
    made only of plain names and no such topic are disjoint; any other pair of regexes may
    overlap, and counts as overlapping (MM2's selections cannot be compared exactly).
    """
    candidates = [p for p in (*a[0], *b[0]) if _NAME_LIKE.fullmatch(p)]
    for topic in dict.fromkeys(candidates):
        if _selects(*a, topic) and _selects(*b, topic):
            return True, f"topic {topic}"
    if not a[0] or not b[0]:
        return False, ""
    if all(_NAME_LIKE.fullmatch(p) for p in (*a[0], *b[0])):
        return False, ""
    return True, f"topic patterns {','.join(a[0])} and {','.join(b[0])} may overlap"


def _selection(c: Connector) -> tuple[list[str], list[str]] | None:
    include = _patterns(get(c.config, "topics"), MM2_DEFAULT_TOPICS)
    exclude = _patterns(get(c.config, "topics.exclude"), MM2_DEFAULT_TOPICS_EXCLUDE)
    return None if include is None or exclude is None else (include, exclude)


def _identity_source(c: Connector) -> bool:
    if c.kind != ConnectorKind.SOURCE.value or c.enabled is not True or c.flow is None:
        return False
    policy = get(c.config, "replication.policy.class")
    return isinstance(policy, str) and policy.endswith("IdentityReplicationPolicy")


def validate_no_identity_loop(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Enabled source connectors in both directions with identity names over shared topics loop forever."""
    sources = [c for c in connectors(args.resources) if _identity_source(c)]
    for i, x in enumerate(sources):
        for y in sources[i + 1 :]:
            if x.flow is None or y.flow is None or x.flow != (y.flow[1], y.flow[0]):
                continue
            selections = [_selection(c) for c in (x, y)]
            if selections[0] is None or selections[1] is None:
                continue  # topics unknown until the update
            overlap, evidence = topics_overlap(*selections)
            if overlap:
                report_violation(
                    _fix(
                        f"{x.name} and {y.name} are both enabled with IdentityReplicationPolicy over the same topics "
                        f"({evidence}): identity names cannot tell a replicated record from a local one, so records "
                        "would loop: copied back and forth between the clusters forever. Replicate one way only "
                        "(strategy: one-way: blue->green keeping topic names), or use strategy: bidirectional, whose "
                        "DefaultReplicationPolicy prefixes remote topics with the source alias (orders -> "
                        "<blue alias>.orders) and so stops cycles."
                    ),
                    y.resource.urn,
                )


# --- reverse-flow-disabled-promptly (and its advisory) ---------------------------------------------


@dataclass(frozen=True)
class _FlowView:
    step: Step
    blue: str
    green: str
    reverse_in_flows: bool
    running_reverse: list[Connector]


def _flow_view(scope: MigrationScope, rule: str, report: ReportViolation) -> _FlowView | None:
    urn = scope.migration.urn
    step_value = _require(scope.summary, "step", rule, urn, report)
    blue = _require(scope.summary, "blueAlias", rule, urn, report)
    green = _require(scope.summary, "greenAlias", rule, urn, report)
    step = parse_step(step_value)
    if not isinstance(step, Step) or not isinstance(blue, str) or not isinstance(green, str):
        return None
    flows = get(scope.summary, "flows")
    reverse_in_flows = as_bool(get(flows, f"{green}->{blue}")) is True
    running = [
        c
        for c in connectors(scope.members)
        if c.enabled is True and c.flow is not None and c.flow[0] == green and c.kind is not None
    ]
    return _FlowView(step, blue, green, reverse_in_flows, running)


def validate_reverse_flow_disabled(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """From reverse-disabled on, nothing replicates from green back to blue."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        _no_summary(args)
    for scope in scopes:
        view = _flow_view(scope, "reverse-flow-disabled-promptly", report_violation)
        if view is None or not _at_or_after(view.step.phase, Phase.REVERSE_DISABLED):
            continue
        reverse = f"{view.green}->{view.blue}"
        fix = (
            f"From reverse-disabled on, every client group reads green and nothing may flow back: {reverse} would "
            "keep copying green's new records to blue. The migration program switches the flow off at phase "
            "reverse-disabled, so an enabled one comes from a changed plan or a hand-made connector: remove it, or "
            "re-run `pulumi up` with the unmodified program at phase reverse-disabled; if clients still need blue, "
            "roll back to phase consumers-switched instead."
        )
        if view.reverse_in_flows:
            report_violation(
                _fix(f"The Migration still enables {reverse} at {view.step.describe()}. {fix}"), scope.migration.urn
            )
        for c in view.running_reverse:
            report_violation(
                _fix(f"Connector {c.name} (flow {reverse}) is enabled at {view.step.describe()}. {fix}"), c.resource.urn
            )


def validate_reverse_flow_disable_next(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Advisory: once every consumer wave is on green, the next step should switch B->A off."""
    for scope in migration_scopes(args.resources):
        view = _flow_view(scope, "reverse-flow-disable-next", lambda *_: None)
        if view is None or view.step.phase is not Phase.CONSUMERS_SWITCHED:
            continue
        total = as_int(get(scope.summary, "consumerWavesTotal"))
        if total is None or view.step.consumer_waves < total:
            continue
        if view.reverse_in_flows or view.running_reverse:
            reverse = f"{view.green}->{view.blue}"
            report_violation(
                _fix(
                    f"Every consumer wave is switched (consumerWaves={view.step.consumer_waves} of {total}) and "
                    f"{reverse} still runs, copying green's new records back to blue; disable it promptly: next "
                    "step reverse-disabled (set phase: reverse-disabled)."
                ),
                scope.migration.urn,
            )


# --- production-replication-factors ----------------------------------------------------------------


def _blue_topic(name: str, blue_topics: Any, blue_alias: Any) -> str | None:
    """The blue topic a green topic copies: `orders` and `A.orders` both come from blue's `orders`."""
    if name in keys(blue_topics):
        return name
    if isinstance(blue_alias, str) and name.startswith(f"{blue_alias}."):
        base = name[len(blue_alias) + 1 :]
        if base in keys(blue_topics):
            return base
    return None


def _check_topic(topic: PolicyResource, summary: Mapping[str, Any], report: ReportViolation) -> None:
    name = get(topic.props, "name")
    if not isinstance(name, str):
        return
    blue_name = _blue_topic(name, get(summary, "blueTopics"), get(summary, "blueAlias"))
    if blue_name is None:
        return
    blue = get(summary, "blueTopics", blue_name)
    blue_rf = as_int(get(blue, "replicationFactor"))
    green_rf = as_int(get(topic.props, "replicationFactor"))
    if blue_rf is not None and green_rf is not None and green_rf < blue_rf:
        report(
            _fix(
                f"Green topic {name} has replicationFactor {green_rf}, lower than blue's {blue_name} "
                f"({blue_rf}): green would lose data that blue survives. Give green at least {blue_rf} brokers "
                f"(green.brokers caps the factor) and set topics.replicationFactor (or "
                f"topics.overrides.{blue_name}.replicationFactor) to at least {blue_rf}."
            ),
            topic.urn,
        )
    blue_isr = as_int(get(blue, "minInsyncReplicas"))
    green_isr_value = get(topic.props, "config", MIN_ISR)
    if blue_isr is None or green_isr_value is UNKNOWN or get(topic.props, "config") is UNKNOWN:
        return
    green_isr = as_int(green_isr_value)
    if green_isr is None or green_isr < blue_isr:
        shown = "is not set (the broker default applies)" if green_isr is None else f"is {green_isr}"
        report(
            _fix(
                f"Green topic {name}: {MIN_ISR} {shown}, lower than blue's {blue_name} ({blue_isr}), so green "
                f"acknowledges writes with fewer copies. Set topics.overrides.{blue_name}.config."
                f'"{MIN_ISR}": "{blue_isr}" (it is capped by the replication factor, so raise that too).'
            ),
            topic.urn,
        )


def _low(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number < MIN_PRODUCTION_REPLICATION_FACTOR else None


def validate_production_replication_factors(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """A production stack keeps MM2's internal topics on >= 2 brokers and green's topics as durable as blue's."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        _no_summary(args)
    minimum = MIN_PRODUCTION_REPLICATION_FACTOR
    fix_internal = (
        f"set mm2.internalTopicReplicationFactor: 3 (at least {minimum}) and run green with at least that many "
        "brokers (green.brokers)."
    )
    for scope in scopes:
        if as_bool(get(scope.summary, "production")) is not True:
            continue
        low = _low(get(scope.summary, "internalTopicReplicationFactor"))
        if low is not None:
            report_violation(
                _fix(
                    f"mm2.internalTopicReplicationFactor is {low} on a production stack: MM2's checkpoints, "
                    f"offset-syncs and heartbeats would live on a single broker; {fix_internal}"
                ),
                scope.migration.urn,
            )
        for c in connectors(scope.members):
            for key, value in items(c.config):
                low = _low(value) if key.endswith(".topic.replication.factor") else None
                if low is not None:
                    report_violation(
                        _fix(f'Connector {c.name}: config["{key}"] is {low} on a production stack; {fix_internal}'),
                        c.resource.urn,
                    )
        for worker in scope.of_type(CONNECT_WORKER):
            low = _low(get(worker.props, "storage_replication_factor"))
            if low is not None:
                report_violation(
                    _fix(
                        f"The Connect worker's storage topics (configs, offsets, status) have replication factor "
                        f"{low} on a production stack (mm2.internalTopicReplicationFactor capped by green.brokers); "
                        f"{fix_internal}"
                    ),
                    worker.urn,
                )
        for topic in scope.of_type(KAFKA_TOPIC):
            _check_topic(topic, scope.summary, report_violation)


# --- no-blue-deletion-while-routed -----------------------------------------------------------------


def is_internal_topic(topic: str) -> bool:
    """Kafka's, Connect's and MM2's own topics (never migrated; MM2's are removed at mm2-stopped)."""
    return any(re.fullmatch(p, topic) for p in DEFAULT_TOPIC_EXCLUDES)


def _under_blue_fence(resource: PolicyResource) -> bool:
    return _ancestor(resource, BLUE_FENCE) is not None or f"{BLUE_FENCE}$" in resource.urn


def _blue_fence_acl(resource: PolicyResource) -> bool:
    permission, operation = get(resource.props, "aclPermissionType"), get(resource.props, "aclOperation")
    return (
        isinstance(permission, str)
        and isinstance(operation, str)
        and permission.lower() == "deny"
        and operation.lower() in ("write", "all")
        and _under_blue_fence(resource)
    )


def validate_no_blue_deletion_while_routed(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Blue's topics are neither deleted nor fenced while a client group still routes to blue."""
    scopes = migration_scopes(args.resources)
    if not scopes:
        _no_summary(args)
    rule = "no-blue-deletion-while-routed"
    for scope in scopes:
        known_blue = get(scope.summary, "blueAlias")
        deletions = []
        for r in scope.of_type(TOPICS_ABSENT):
            cluster, topics = get(r.props, "cluster"), get(r.props, "topics")
            if isinstance(topics, str) or not isinstance(topics, Sequence) or cluster is UNKNOWN:
                continue
            if isinstance(known_blue, str) and cluster != known_blue:
                continue
            names = [t for i in range(len(topics)) if isinstance(t := get(topics, i), str)]
            application = sorted(t for t in names if not is_internal_topic(t))
            if application:
                deletions.append((r, application))
        fences = [r for r in scope.of_type(KAFKA_ACL) if _blue_fence_acl(r)]
        if not deletions and not fences:
            continue
        blue = _require(scope.summary, "blueAlias", rule, scope.migration.urn, report_violation)
        routing = _require(scope.summary, "clientRouting", rule, scope.migration.urn, report_violation)
        if not isinstance(blue, str) or not isinstance(routing, Mapping):
            continue
        on_blue = sorted(g for g, entry in items(routing) if get(entry, "cluster") == blue)
        if not on_blue:
            continue
        groups = ", ".join(on_blue)
        fix = (
            "Move every client group to green first (producerWaves and consumerWaves up to their last wave); blue is "
            "fenced only at phase decommissioned, and only MM2's internal topics (mm2-*, *.internal, heartbeats) are "
            "deleted before."
        )
        for r, application in deletions:
            report_violation(
                _fix(
                    f"{r.name} would delete topics {', '.join(application)} from blue ({blue}) while client "
                    f"groups {groups} still route to blue. {fix}"
                ),
                r.urn,
            )
        for acl in fences:
            topic = get(acl.props, "aclResourceName")
            report_violation(
                _fix(
                    f"BlueFence ACL {acl.name} denies writes to {topic if isinstance(topic, str) else 'a topic'} on "
                    f"blue ({blue}) while client groups {groups} still route to blue, whose writes would fail. {fix}"
                ),
                acl.urn,
            )


# --- The policies ----------------------------------------------------------------------------------

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
