"""Typed stack configuration: the migration described once, validated before anything runs."""

from kafka_migration.config.clients import ClientGroup, ClientRole
from kafka_migration.config.clusters import ClusterSpec, LocalRuntimeSpec, RuntimeKind, SecuritySpec
from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.config.selection import AclMirrorSpec, TopicOverride, TopicSelection
from kafka_migration.config.settings import GateSettings, Mm2Settings

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
