"""Builder-style fixtures: a valid migration config, changed field by field in each test."""

from __future__ import annotations

from typing import Any

from kafka_migration.config.model import MigrationConfig


def config_dict(**overrides: Any) -> dict[str, Any]:
    """A complete, valid stack config in the stack's own (camelCase) vocabulary."""
    base: dict[str, Any] = {
        "phase": "blue-only",
        "strategy": "bidirectional",
        "blue": {"alias": "A", "runtime": "external", "bootstrapServers": "blue-1:9092,blue-2:9092", "brokers": 3},
        "green": {"alias": "B", "runtime": "local", "local": {"brokerPort": 29092, "controllerPort": 29093}},
        "topics": {"include": ["orders", "payments", "audit.*"]},
        "clients": [
            {"name": "orders-writer", "role": "producer", "wave": 1, "topics": ["orders"]},
            {"name": "payments-writer", "role": "producer", "wave": 2, "topics": ["payments"]},
            {"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders", "payments"]},
            {"name": "analytics", "role": "consumer", "wave": 2, "topics": ["orders"]},
        ],
    }
    base.update(overrides)
    return base


def make_config(**overrides: Any) -> MigrationConfig:
    return MigrationConfig.model_validate(config_dict(**overrides))
