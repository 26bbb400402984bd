"""Loading the stack's config into a MigrationConfig, with errors a user can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from kafka_migration.config.model import MigrationConfig
from kafka_migration.errors import MigrationError

PROJECT = "kafka-migration"
SECRET_PATHS = (("blue", "security", "password"), ("green", "security", "password"))


class ConfigError(MigrationError, ValueError):
    """The stack config is invalid; the message lists every problem with its field path."""


def format_errors(err: ValidationError, stack: str) -> str:
    """One line per problem: `field.path: message (got value)`, then where to fix it."""
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(stack config)"
        got = e.get("input")
        shown = "" if isinstance(got, dict) or e["type"] == "value_error" else f" (got {got!r})"
        lines.append(f"  {path}: {e['msg'].removeprefix('Value error, ')}{shown}")
    return f"invalid stack config, fix it in Pulumi.{stack}.yaml (under {PROJECT}:):\n" + "\n".join(lines)


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def config_from_mapping(values: Mapping[str, Any], stack: str = "<stack>") -> MigrationConfig:
    """Build the config from `{key: value}` (keys with or without the `kafka-migration:` prefix)."""
    raw = {}
    for key, value in values.items():
        namespace, _, name = key.rpartition(":")
        if namespace and namespace != PROJECT:
            continue
        raw[name] = _parse(value) if isinstance(value, str) else value
    try:
        return MigrationConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_errors(err, stack)) from None


def unprotected_secrets(cfg: MigrationConfig, secret_keys: set[str]) -> list[str]:
    """Config paths holding a password that was not set with `--secret`."""
    found = []
    for side, *_ in SECRET_PATHS:
        cluster = getattr(cfg, side)
        if cluster.security.password is not None and f"{PROJECT}:{side}" not in secret_keys:
            found.append(f"{side}.security.password")
    return found


def load_from_pulumi() -> MigrationConfig:
    """The running stack's config; raises ConfigError before any resource is registered."""
    import pulumi
    from pulumi.runtime.config import get_config_env, get_config_secret_keys_env

    stack = pulumi.get_stack()
    cfg = config_from_mapping(get_config_env(), stack)
    plain = unprotected_secrets(cfg, set(get_config_secret_keys_env()))
    if plain:
        raise ConfigError(
            f"{', '.join(plain)} is stored in plain text in Pulumi.{stack}.yaml; set it with "
            f"`pulumi config set --secret --path {plain[0]} <value>`"
        )
    return cfg
