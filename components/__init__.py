"""kafka_migration: a live Kafka estate moved from one cluster to another, one phase per `pulumi up`.

A Pulumi program uses it in two lines; the stack config (`phase`, wave counts, clusters)
drives every transition, and `Migration` refuses an unsafe one before anything changes:

    from kafka_migration import Migration

    Migration("migration")

The config comes from the stack of the running project (whatever the project is called),
or is passed in as a `MigrationConfig` or a mapping of the same keys.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from kafka_migration.config.clusters import RuntimeKind
from kafka_migration.config.model import MigrationConfig, Phase, Strategy
from kafka_migration.errors import ConfigError, GateFailed, MigrationError, PreflightError, TransitionRefused

if TYPE_CHECKING:
    from kafka_migration.resources.migration import Migration

try:
    __version__ = version("kafka-migration")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "ConfigError",
    "GateFailed",
    "Migration",
    "MigrationConfig",
    "MigrationError",
    "Phase",
    "PreflightError",
    "RuntimeKind",
    "Strategy",
    "TransitionRefused",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """`Migration` loads Pulumi and the providers' SDKs: only when a program asks for it."""
    if name == "Migration":
        from kafka_migration.resources.migration import Migration

        return Migration
    raise AttributeError(f"module 'kafka_migration' has no attribute {name!r}")
