"""The installable package: its public names, what the wheel ships, and the program every user writes."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

import kafka_migration
from kafka_migration.config.load import config_from_mapping, resolve_config
from kafka_migration.local_runtime.project import PROGRAM, write_project
from kafka_migration.rehearsal.run import dev_stack_config
from tests.unit.builders import config_dict, make_config

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "components"


def test_the_public_api_is_pinned() -> None:
    assert kafka_migration.__all__ == [
        "ConfigError",
        "GateFailed",
        "Migration",
        "MigrationConfig",
        "MigrationError",
        "Phase",
        "PreflightError",
        "RuntimeKind",
        "Strategy",
        "TransitionRefused",
        "__version__",
    ]
    for name in kafka_migration.__all__:
        assert getattr(kafka_migration, name) is not None
    assert (SOURCE / "py.typed").is_file()


def test_the_wheel_lists_every_package_of_the_source_tree() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "kafka_migration" + ".".join(["", *p.parent.relative_to(SOURCE).parts]) for p in SOURCE.rglob("__init__.py")
    }
    assert listed == found


def test_the_wheel_ships_every_data_file_of_the_source_tree() -> None:
    """Every tracked non-Python file under components/ (CRDs and their licence, toolchain, schemas) is package data."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped: set[Path] = set()
    for package, patterns in package_data.items():
        folder = SOURCE.joinpath(*package.split(".")[1:])
        for pattern in patterns:
            shipped |= {p for p in folder.glob(pattern) if p.is_file()}
    tracked = subprocess.run(["git", "ls-files", "components"], cwd=ROOT, capture_output=True, text=True, check=True)
    data = {ROOT / f for f in tracked.stdout.split() if not f.endswith((".py", ".gitignore"))}
    assert data - shipped == set()


def test_the_repo_program_is_the_one_a_user_writes(tmp_path: Path) -> None:
    assert (ROOT / "__main__.py").read_text() == PROGRAM
    project = write_project(tmp_path / "p", name="payments-platform-migration", virtualenv=tmp_path / "venv")
    written = yaml.safe_load((project / "Pulumi.yaml").read_text())
    assert written["name"] == "payments-platform-migration"
    assert written["runtime"]["options"]["virtualenv"] == str(tmp_path / "venv")


def test_the_rehearsal_walks_the_dev_stack_config() -> None:
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert dev_stack_config() == {key.split(":", 1)[1]: value for key, value in raw.items()}


def test_config_is_read_in_the_namespace_of_the_users_project() -> None:
    body = config_dict(phase="replicating")
    values = {f"payments-platform:{key}": value for key, value in body.items()}
    values["kafka-migration:phase"] = "not-a-phase"  # another project's key: not this stack's
    values["aws:region"] = "eu-west-1"
    assert config_from_mapping(values, "prod", "payments-platform").phase.value == "replicating"


def test_config_in_code_is_the_model_or_a_mapping_validated_the_same_way() -> None:
    model = make_config(phase="replicating")
    assert resolve_config(model) is model
    assert resolve_config(config_dict(phase="replicating")) == model
    with pytest.raises(kafka_migration.ConfigError, match=r"phase: .*\(got 'replicatng'\)"):
        resolve_config(config_dict(phase="replicatng"), "dev")
