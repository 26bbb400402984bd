"""Typed stack configuration: the migration described once, validated before anything runs."""

from kafka_migration.config.model import (
    AclMirrorSpec,
    ClientGroup,
    ClientRole,
    ClusterSpec,
    GateSettings,
    LocalRuntimeSpec,
    MigrationConfig,
    Mm2Settings,
    Phase,
    RuntimeKind,
    SecuritySpec,
    Strategy,
    TopicOverride,
    TopicSelection,
)

__all__ = [
    "AclMirrorSpec",
    "ClientGroup",
    "ClientRole",
    "ClusterSpec",
    "GateSettings",
    "LocalRuntimeSpec",
    "MigrationConfig",
    "Mm2Settings",
    "Phase",
    "RuntimeKind",
    "SecuritySpec",
    "Strategy",
    "TopicOverride",
    "TopicSelection",
]
