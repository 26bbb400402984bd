"""The running stack's config: read through the engine, in the namespace of the user's own project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import get_config_env, get_config_secret_keys_env

from kafka_migration.config.load import config_from_mapping, plain_in_stack_file, unprotected_secrets
from kafka_migration.config.model import MigrationConfig
from kafka_migration.errors import ConfigError


def load_from_pulumi() -> MigrationConfig:
    """The running stack's config, in its own project's namespace; raises ConfigError before anything registers.

    The namespace is `pulumi.Config()`'s: the project's name, whatever it is (`payments-migration:phase`).
    """
    stack, project = pulumi.get_stack(), pulumi.Config().name
    cfg = config_from_mapping(get_config_env(), stack, project)
    plain = unprotected_secrets(cfg, set(get_config_secret_keys_env()), project)
    plain += [p for p in plain_in_stack_file(_stack_file(Path.cwd(), stack), project) if p not in plain]
    if plain:
        raise ConfigError(
            f"{', '.join(plain)} is stored in plain text in Pulumi.{stack}.yaml; set it with "
            f"`pulumi config set --secret --path {plain[0]} <value>`"
        )
    return cfg


def _stack_file(project_dir: Path, stack: str) -> dict[str, Any]:
    """The parsed `Pulumi.<stack>.yaml` (in `stackConfigDir` if Pulumi.yaml sets one); {} if there is none."""
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
        folder = project_dir / str(project.get("stackConfigDir") or ".")
        parsed = yaml.safe_load((folder / f"Pulumi.{stack}.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return parsed if isinstance(parsed, dict) else {}
