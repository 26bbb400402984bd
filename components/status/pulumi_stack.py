"""The stack, read with the project's Pulumi CLI: its config (validated as `pulumi up` does) and its outputs."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import MigrationConfig
from kafka_migration.errors import MigrationError
from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env
from kafka_migration.status.decisions import config_values

CLI_TIMEOUT_S = 120.0


class StackError(MigrationError):
    """The stack cannot be read (no CLI, no such stack, invalid config): nothing to report on."""


@dataclass(frozen=True)
class StackData:
    """The stack's config and its last outputs."""

    config: MigrationConfig
    outputs: dict[str, Any]


def cli_env(project_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`pulumi_env()`, honouring PULUMI_BACKEND_URL from the environment; else the project's `.pulumi-state`."""
    source = dict(os.environ if base is None else base)
    env = pulumi_env(base=source)
    if "PULUMI_BACKEND_URL" not in source:
        env["PULUMI_BACKEND_URL"] = f"file://{(project_dir / '.pulumi-state').resolve()}"
    return env


def run_pulumi(args: Sequence[str], project_dir: Path, env: Mapping[str, str]) -> Any:
    """Run the project's pulumi CLI in `project_dir` and parse its JSON output."""
    binary = pulumi_bin() / "pulumi"
    if not binary.exists():
        raise StackError(f"the project's Pulumi CLI is not built ({binary} is missing); run `make toolchain`")
    command = " ".join(["pulumi", *args])
    try:
        done = subprocess.run(
            [str(binary), *args],
            cwd=project_dir,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise StackError(f"`{command}` could not run: {err}") from None
    if done.returncode != 0:
        # stderr only: stdout of `config --show-secrets` holds the decrypted passwords.
        reason = done.stderr.strip() or f"exit code {done.returncode}"
        raise StackError(f"`{command}` failed: {reason}")
    try:
        return json.loads(done.stdout or "null")
    except ValueError as err:
        raise StackError(f"`{command}` did not print JSON: {err}") from None


def read_stack(stack: str, project_dir: Path, env: Mapping[str, str]) -> StackData:
    """The stack's config (validated as `pulumi up` validates it) and outputs ({} if never updated)."""
    if not (project_dir / "Pulumi.yaml").is_file():
        raise StackError(f"{project_dir} is not the Pulumi project (no Pulumi.yaml); pass --project-dir")
    # The passwords are needed to read the clusters as the stack does; they stay in this process's memory.
    raw = run_pulumi(["config", "--json", "--show-secrets", "--stack", stack], project_dir, env)
    if not isinstance(raw, dict):
        raise StackError(f"`pulumi config --json` printed {type(raw).__name__}, expected an object")
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()).get("name")
    cfg = config_from_mapping(config_values(raw), stack, project)
    outputs = run_pulumi(["stack", "output", "--json", "--stack", stack], project_dir, env)
    return StackData(cfg, outputs if isinstance(outputs, dict) else {})
