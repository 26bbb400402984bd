"""A plain clone is complete: nothing in the project reads a path outside its own folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"""\.\./shared|parent\s*/\s*["']shared["']|\.\./\.library|/work/shared""")


def tracked_sources() -> list[Path]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / f for f in files if f.endswith((".py", ".sh", ".toml", ".yaml", ".cfg")) or f.endswith("Makefile")]


def test_no_source_reads_a_folder_beside_the_clone() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in tracked_sources()
        if path.exists() and path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_strimzi_crds_the_tests_validate_against_are_in_the_repository() -> None:
    from kafka_migration.resources.kubernetes.crds import STRIMZI_CRDS

    assert STRIMZI_CRDS.is_relative_to(ROOT)
    assert len(sorted(STRIMZI_CRDS.glob("*.yaml"))) == 7
    assert (STRIMZI_CRDS / "LICENSE").exists() and (STRIMZI_CRDS / "README.md").exists()
