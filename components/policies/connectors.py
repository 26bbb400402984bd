"""MirrorMaker 2 connectors as the rules read them: kind, flow and status of each MirrorConnector.

The flow rules and the replication rule both judge connectors; they read them here, from the
connector's name or, failing that, its config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource

from kafka_migration.planning.naming import ConnectorKind
from kafka_migration.policies.inputs import MISSING, as_bool, get
from kafka_migration.policies.scope import MIRROR_CONNECTOR

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
