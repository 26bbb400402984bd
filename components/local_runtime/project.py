"""A Pulumi project that uses kafka_migration, written where a local run needs one.

The rehearsal, the status command's scratch runs and the integration tests each walk a
stack of their own: a folder with `Pulumi.yaml` and the few lines of program any user
writes (the repo's `__main__.py` is the same program; a unit test keeps them equal).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

PROGRAM = '''"""The Pulumi program: the stack's config in, one step of the migration out."""

from kafka_migration import Migration

Migration("migration")
'''

DEFAULT_PROJECT = "kafka-migration"


def write_project(dest: Path, name: str = DEFAULT_PROJECT, virtualenv: Path | None = None) -> Path:
    """`dest` holding a Pulumi project named `name` whose program runs in `virtualenv` (default: this one)."""
    dest.mkdir(parents=True, exist_ok=True)
    runtime = {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(virtualenv or sys.prefix)}}
    project = {"name": name, "description": "A Kafka migration (kafka_migration)", "runtime": runtime}
    (dest / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    (dest / "__main__.py").write_text(PROGRAM)
    return dest
