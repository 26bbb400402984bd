"""Loading the stack's config into a MigrationConfig, with errors a user can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr, ValidationError

from kafka_migration.config.model import MigrationConfig
from kafka_migration.config.redact import scrub_message, shown_value
from kafka_migration.errors import ConfigError

SECRET_PATHS = tuple(
    (side, *path) for side in ("blue", "green") for path in (("security", "password"), ("security", "mm2", "password"))
)
"""Every config path that holds a password."""


def format_errors(err: ValidationError, stack: str, project: str | None = None) -> str:
    """One line per problem: `field.path: message (got value)`, then where to fix it.

    A value that is or may be a secret (under `security`, under a key that looks secret, or
    carrying `password=`...) is shown redacted, with its length only (`redact.py`).
    """
    lines = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc) or "(stack config)"
        got = e.get("input")
        shown = "" if isinstance(got, dict) or e["type"] == "value_error" else f" (got {shown_value(loc, got)})"
        message = scrub_message(e["msg"].removeprefix("Value error, "), loc, got)
        lines.append(f"  {path}: {message}{shown}")
    where = f" (under {project}:)" if project else ""
    return f"invalid stack config, fix it in Pulumi.{stack}.yaml{where}:\n" + "\n".join(lines)


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def config_from_mapping(
    values: Mapping[str, Any], stack: str = "<stack>", project: str | None = None
) -> MigrationConfig:
    """Build the config from `{key: value}`.

    Keys are bare (`phase`) or namespaced (`<project>:phase`); with `project` given, keys of
    other namespaces (`aws:region`, another package's) are left out, as Pulumi keeps them apart.
    """
    raw = {}
    for key, value in values.items():
        namespace, _, name = key.rpartition(":")
        if namespace and project is not None and namespace != project:
            continue
        raw[name] = _parse(value) if isinstance(value, str) else value
    try:
        return MigrationConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_errors(err, stack, project)) from None


def resolve_config(config: MigrationConfig | Mapping[str, Any], stack: str = "<stack>") -> MigrationConfig:
    """A config given in code: the model as is, or a mapping of its keys (validated like stack config)."""
    if isinstance(config, MigrationConfig):
        return config
    return config_from_mapping(config, stack)


def secret_at(cfg: MigrationConfig, path: str) -> SecretStr | None:
    """The password at a dotted config path of `SECRET_PATHS` (`green.security.mm2.password`), if set."""
    value: object = cfg
    for name in path.split("."):
        value = getattr(value, name, None)
    return value if isinstance(value, SecretStr) else None


def plain_in_stack_file(stack_file: Mapping[str, Any], project: str) -> list[str]:
    """Password paths stored as plain text in a parsed `Pulumi.<stack>.yaml` (a secret one is `{secure: ...}`).

    The engine tells the program which top-level keys are secret, not which leaves: once
    `blue.security.mm2.password` is secret the whole `blue` object is, and a plain
    `blue.security.password` beside it would pass unseen. The stack's file shows each leaf.
    """
    config = stack_file.get("config") or {}
    found = []
    for side, *path in SECRET_PATHS:
        node: Any = config.get(f"{project}:{side}")
        for name in path:
            node = node.get(name) if isinstance(node, Mapping) else None
        if node is not None and not (isinstance(node, Mapping) and "secure" in node):
            found.append(".".join((side, *path)))
    return found


def unprotected_secrets(cfg: MigrationConfig, secret_keys: set[str], project: str) -> list[str]:
    """Config paths holding a password that was not set with `--secret`."""
    paths = [".".join(p) for p in SECRET_PATHS]
    return [p for p in paths if secret_at(cfg, p) is not None and f"{project}:{p.split('.')[0]}" not in secret_keys]
