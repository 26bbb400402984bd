"""The layer contracts (pyproject.toml [tool.importlinter]) hold for the tree, and catch a wrong-way import.

`lint-imports` runs on a copy of the package with a planted violation (planning importing
a Pulumi resource module, and Pulumi itself): it must fail, naming both contracts and the
import. The copy comes first on PYTHONPATH, so the editable install's finder never sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "components"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
VIOLATION = "kafka_migration.planning.naming -> kafka_migration.resources.stack_state"


def contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def lint_imports(cwd: Path, config: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "1000", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Long contract names may still wrap: compare with whitespace collapsed.
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def _python_sources(folder: str, names: list[str]) -> set[str]:
    """What `copytree` leaves out: everything but folders and Python files (and bytecode caches)."""
    return {n for n in names if n == "__pycache__" or not (n.endswith(".py") or (Path(folder) / n).is_dir())}


def test_the_tree_keeps_every_contract() -> None:
    code, output = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert code == 0, output
    for name in contract_names().values():
        assert f"{' '.join(name.split())} KEPT" in output


def test_a_wrong_way_import_breaks_the_layers_and_the_purity_contracts(tmp_path: Path) -> None:
    package = tmp_path / "kafka_migration"
    shutil.copytree(SOURCE, package, ignore=_python_sources)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    naming = package / "planning" / "naming.py"
    naming.write_text(naming.read_text() + "\nfrom kafka_migration.resources import stack_state\nimport pulumi\n")

    code, output = lint_imports(tmp_path, tmp_path / "pyproject.toml")

    assert code != 0, output
    names = contract_names()
    assert f"{' '.join(names['layers'].split())} BROKEN" in output
    assert f"{' '.join(names['pure-planning'].split())} BROKEN" in output
    assert VIOLATION in output
    assert "kafka_migration.planning.naming -> pulumi" in output
