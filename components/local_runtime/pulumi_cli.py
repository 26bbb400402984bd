"""The environment in which the project runs the Pulumi CLI it built.

The CLI must never reach for the network: no update check, no plugin download. It
finds the language host and the kafka plugin on PATH (bin/ of the toolchain cache),
and keeps state in a local file backend unless the user chose another backend.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from kafka_migration.local_runtime.paths import cache_dir, pulumi_root

DEFAULT_PASSPHRASE = "local-rehearsal-only"  # noqa: S105 - a documented default for local stacks
"""Passphrase of the local dev stacks' secrets provider. Production stacks set their own."""


def pulumi_bin() -> Path:
    """Folder of the built pulumi CLI, language host and helper scripts."""
    return pulumi_root() / "bin"


def pulumi_env(backend_dir: Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running `pulumi`: offline, local plugins first, file backend by default."""
    env = dict(os.environ if base is None else base)
    venv_bin = Path(sys.prefix) / "bin"
    env["PATH"] = os.pathsep.join([str(pulumi_bin()), str(venv_bin), env.get("PATH", "")])
    env.setdefault("PULUMI_HOME", str(cache_dir() / "pulumi-home"))
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env["PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"] = "false"
    # The dynamic-provider launcher runs python from this virtualenv: the one kafka_migration runs in.
    env.setdefault("PULUMI_RUNTIME_VIRTUALENV", sys.prefix)
    if backend_dir is not None:
        backend_dir.mkdir(parents=True, exist_ok=True)
        env["PULUMI_BACKEND_URL"] = f"file://{backend_dir}"
    else:
        env.setdefault("PULUMI_BACKEND_URL", f"file://{Path.cwd() / '.pulumi-state'}")
    if "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        env.setdefault("PULUMI_CONFIG_PASSPHRASE", DEFAULT_PASSPHRASE)
    return env


def require_toolchain() -> None:
    """Fail with the fix when the toolchain has not been built."""
    from kafka_migration.local_runtime.paths import pinned_versions

    plugin = f"plugins/resource-kafka-v{pinned_versions()['KAFKA_PLUGIN_VERSION']}/pulumi-resource-kafka"
    required = [pulumi_bin() / n for n in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")]
    required.append(Path(pulumi_env()["PULUMI_HOME"]) / plugin)
    missing = [str(p) for p in required if not p.exists()]
    if missing or shutil.which("java") is None:
        raise FileNotFoundError(
            f"toolchain incomplete (missing: {', '.join(missing) or 'java'}); run `kafka-migration setup`"
        )


def require_plugin(name: str, version: str, extra: str) -> None:
    """A provider plugin only some runtimes need (`name` at `version`, which setup's `extra` builds), or the fix."""
    plugin = Path(pulumi_env()["PULUMI_HOME"]) / "plugins" / f"resource-{name}-v{version}" / f"pulumi-resource-{name}"
    if not plugin.exists():
        raise FileNotFoundError(f"{plugin} is missing; run `make setup TOOLCHAIN_EXTRAS={extra}`")
