"""The running stack's config: read through the engine, in the namespace of the user's own project."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import get_config_env, get_config_secret_keys_env

from kafka_migration.config.load import config_from_mapping, unprotected_secrets
from kafka_migration.config.model import MigrationConfig
from kafka_migration.errors import ConfigError


def load_from_pulumi() -> MigrationConfig:
    """The running stack's config, in its own project's namespace; raises ConfigError before anything registers.

    The namespace is `pulumi.Config()`'s: the project's name, whatever it is (`payments-migration:phase`).
    """
    stack, project = pulumi.get_stack(), pulumi.Config().name
    cfg = config_from_mapping(get_config_env(), stack, project)
    plain = unprotected_secrets(cfg, set(get_config_secret_keys_env()), project)
    if plain:
        raise ConfigError(
            f"{', '.join(plain)} is stored in plain text in Pulumi.{stack}.yaml; set it with "
            f"`pulumi config set --secret --path {plain[0]} <value>`"
        )
    return cfg
