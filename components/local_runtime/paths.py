"""Where the toolchain and the Kafka jars live: a cache outside the work tree.

Setup (`make toolchain`) fills it; clean clones and CI reuse it. The versions come
from `toolchain/versions.env`, the single place they are pinned.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The installed package (`components/` in the repo): the toolchain's build files ship inside it."""


@cache
def pinned_versions() -> dict[str, str]:
    """KEY=VALUE pairs of toolchain/versions.env."""
    versions: dict[str, str] = {}
    for line in (PACKAGE_ROOT / "toolchain" / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key] = value
    return versions


def cache_dir() -> Path:
    """Root of the toolchain cache (`KAFKAMIG_CACHE`, default ~/.cache/kafka-migration)."""
    return Path(os.environ.get("KAFKAMIG_CACHE", Path.home() / ".cache" / "kafka-migration"))


def pulumi_root() -> Path:
    """Folder whose bin/ holds the pulumi CLI, the language host and the kafka plugin."""
    return cache_dir() / f"pulumi-{pinned_versions()['PULUMI_CLI_VERSION']}"


def kafka_libs() -> Path:
    """Folder holding Kafka's jars (brokers, tools, Connect, MirrorMaker 2)."""
    return cache_dir() / f"kafka-{pinned_versions()['KAFKA_VERSION']}" / "libs"


JMX_AGENT_PREFIX = "jmx_prometheus_javaagent"


def kafka_classpath() -> str:
    """Every jar of the Kafka libs folder but the JMX exporter agent (loaded as an agent)."""
    libs = kafka_libs()
    jars = sorted(p for p in libs.glob("*.jar") if not p.name.startswith(JMX_AGENT_PREFIX))
    if not jars:
        raise FileNotFoundError(f"no Kafka jars in {libs}; run `make toolchain` first")
    return os.pathsep.join(str(j) for j in jars)


def jmx_agent_jar() -> Path:
    """The Prometheus JMX exporter agent jar."""
    found = sorted(kafka_libs().glob(f"{JMX_AGENT_PREFIX}-*.jar"))
    if not found:
        raise FileNotFoundError(f"no JMX exporter agent in {kafka_libs()}; run `make toolchain` first")
    return found[-1]
