"""Pulumi.prod.yaml is a valid production stack: its secrets decrypt, and bad input fails `pulumi preview` early."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kafka_migration.config.load import config_from_mapping
from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env

pytestmark = pytest.mark.integration
PASSPHRASE = "example-only-change-me"


@pytest.fixture
def prod(toolchain, project_copy: Path, tmp_path: Path):
    shutil.copy(Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml", project_copy / "Pulumi.prod.yaml")
    env = {**pulumi_env(tmp_path / "state"), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}

    def pulumi(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(pulumi_bin() / "pulumi"), *args, "--stack", "prod"],
            cwd=project_copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    subprocess.run(
        [str(pulumi_bin() / "pulumi"), "stack", "init", "prod"],
        cwd=project_copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return pulumi


def test_secrets_are_encrypted_and_the_config_validates(prod) -> None:
    text = (Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml").read_text()
    assert "example-password" not in text and text.count("secure: v1:") == 4
    values = json.loads(prod("config", "--json", "--show-secrets").stdout)
    raw = {k: v.get("objectValue", v.get("value")) for k, v in values.items()}
    cfg = config_from_mapping(raw, "prod")
    assert cfg.production and cfg.green.runtime.value == "kubernetes"
    assert cfg.blue.security.password.get_secret_value() == "blue-example-password"
    assert cfg.green.security.mm2 is not None and cfg.green.security.mm2.username == "mm2"
    assert cfg.green.security.mm2.password.get_secret_value() == "green-mm2-example-password"
    assert cfg.mm2_principal_on_green == "User:mm2"
    assert values["kafka-migration:blue"]["secret"] is True


def test_preview_gets_past_config_validation_to_the_blue_reachable_gate(prod) -> None:
    result = prod("preview", check=False)
    assert result.returncode != 0
    assert "gate blue-reachable failed: cannot read blue (A)" in result.stdout


def test_bad_values_fail_preview_naming_field_value_and_fix(prod) -> None:
    prod("config", "set", "--path", "green.kubernetes.replicas", "0")
    prod("config", "set", "--path", "mm2.offsetLagMaxx", "5")
    result = prod("preview", check=False)
    assert result.returncode != 0
    assert "invalid stack config, fix it in Pulumi.prod.yaml" in result.stdout
    assert "green.kubernetes.replicas: Input should be greater than or equal to 1 (got 0)" in result.stdout
    assert "mm2.offsetLagMaxx: Extra inputs are not permitted" in result.stdout


def test_a_password_in_plain_text_is_refused(prod) -> None:
    prod("config", "set", "--path", "green.security.password", "oops-plain")
    result = prod("preview", check=False)
    assert result.returncode != 0
    assert "green.security.password is stored in plain text" in result.stdout
    assert "oops-plain" not in result.stdout
