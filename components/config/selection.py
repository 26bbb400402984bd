"""What migrates: blue's topics (MM2's include/exclude, per-topic overrides) and its ACLs."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from kafka_migration.config.base import ConfigModel
from kafka_migration.config.patterns import any_full_match, check_patterns
from kafka_migration.config.values import check_principal, check_text, check_topic_name

DEFAULT_TOPIC_EXCLUDES = (
    r"__.*",
    r".*[-.]internal",
    r"heartbeats",
    r".*\.heartbeats",
    r"mm2-.*",
    r"_schemas",
    r"connect-.*",
)
"""Never migrated: Kafka's and MM2's internal topics."""


class TopicOverride(ConfigModel):
    """Explicit settings for one topic on green (default: partitions and configs read from blue)."""

    partitions: int | None = Field(default=None, ge=1)
    replication_factor: int | None = Field(default=None, ge=1)
    config: dict[str, str] = Field(default={})

    @field_validator("config")
    @classmethod
    def _one_line_configs(cls, config: dict[str, str]) -> dict[str, str]:
        for key, value in config.items():
            check_text(key, "config key")
            check_text(value, f"config.{key}")
        return config


class TopicSelection(ConfigModel):
    """Which of blue's topics migrate: MM2's include/exclude regexes (the subset of `patterns.py`), plus overrides."""

    include: list[str] = Field(default=[".*"])
    exclude: list[str] = Field(default=list(DEFAULT_TOPIC_EXCLUDES))
    overrides: dict[str, TopicOverride] = Field(default={})
    replication_factor: int | None = Field(default=None, ge=1)
    """Replication factor of topics on green. Default: blue's, capped by green's broker count."""

    @field_validator("include", "exclude")
    @classmethod
    def _mm2_patterns(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        """Patterns in the subset Java (MM2) and Python read alike (`patterns.py`)."""
        return check_patterns(patterns, f"topics.{info.field_name}")

    @field_validator("overrides")
    @classmethod
    def _override_topic_names(cls, overrides: dict[str, TopicOverride]) -> dict[str, TopicOverride]:
        for name in overrides:
            check_topic_name(name, "topics.overrides key")
        return overrides

    def selects(self, topic: str) -> bool:
        """Whether blue's topic migrates: MM2's topic filter (whole-name matches, `patterns.compiled`)."""
        return any_full_match(self.include, topic) and not any_full_match(self.exclude, topic)


class AclMirrorSpec(ConfigModel):
    """ACLs on green: blue's ACLs for the selected topics and groups, plus MM2's own."""

    enabled: bool = True
    mm2_principal: str = "User:mm2"
    """Principal MirrorMaker 2 authenticates as on both clusters."""
    exclude_principals: list[str] = Field(default=["User:ANONYMOUS"])
    """ACLs of these principals are not mirrored (the local runtime's own access grants)."""

    @field_validator("mm2_principal")
    @classmethod
    def _principal(cls, value: str) -> str:
        return check_principal(value, "mm2Principal")

    @field_validator("exclude_principals")
    @classmethod
    def _principals(cls, values: list[str]) -> list[str]:
        for i, value in enumerate(values):
            check_principal(value, f"excludePrincipals[{i}]")
        return values
