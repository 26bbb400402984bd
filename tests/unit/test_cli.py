"""`kafka-migration`, the console script: every command's help, and a clear refusal of what it does not know."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kafka_migration.cli import COMMANDS, main, setup_script

ROOT = Path(__file__).resolve().parents[2]

OPTIONS = {
    "status": ["--stack", "--project-dir", "--json", "--out", "--samples", "--interval"],
    "rehearsal": ["--strategy", "--out", "--rate", "--record-bytes", "--soak-seconds", "--faults"],
    "bench": ["--out", "--mm2-records", "--repeats"],
    "setup": ["EXTRA", "kubernetes", "KAFKAMIG_CACHE"],
    "docker-image": ["--host", "--tag"],
}


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_script_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of([], capsys)
    assert out.startswith("usage: kafka-migration ")
    for name in ("status", "rehearsal", "bench", "setup"):
        assert f"    {name}" in out, out
    assert set(COMMANDS) == set(OPTIONS)


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_each_command_names_its_options(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of([command], capsys)
    assert out.startswith(f"usage: kafka-migration {command} "), out
    for option in OPTIONS[command]:
        assert option in out, (option, out)


def test_the_entry_points_show_the_same_options_as_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    """One definition of each command's options: `python -m kafka_migration.<name>` reads the same."""
    from kafka_migration.bench.__main__ import main as bench
    from kafka_migration.rehearsal.__main__ import main as rehearsal
    from kafka_migration.status.__main__ import main as status

    for name, entry in (("status", status), ("rehearsal", rehearsal), ("bench", bench)):
        with pytest.raises(SystemExit) as exit_:
            entry(["--help"])
        assert exit_.value.code == 0
        assert capsys.readouterr().out == help_of([name], capsys)


def test_an_unknown_command_or_option_is_refused_with_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["migrate"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "kafka-migration: error: argument COMMAND: invalid choice: 'migrate'" in err
    assert "'status', 'rehearsal', 'bench', 'setup'" in err

    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exit_:
        main(["setup", "podman"])
    assert exit_.value.code == 2
    assert "unknown extra 'podman' (choose from kubernetes, docker)" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exit_:
        main(["status"])  # --stack is required
    assert exit_.value.code == 2
    assert "kafka-migration status: error: the following arguments are required: --stack" in capsys.readouterr().err


def test_a_command_runs_its_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Past the parser, the command is the subpackage's `main`: its exit code and its errors."""
    assert main(["status", "--stack", "dev", "--project-dir", str(tmp_path / "missing")]) == 2
    assert "kafka-migration status: error: --project-dir" in capsys.readouterr().err


def test_the_cache_option_is_where_a_command_looks_for_the_toolchain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kafka_migration.local_runtime.paths import cache_dir

    monkeypatch.setenv("KAFKAMIG_CACHE", str(tmp_path / "default"))
    assert main(["--cache", str(tmp_path / "mine"), "status", "--stack", "dev", "--project-dir", str(tmp_path)]) == 2
    assert cache_dir() == tmp_path / "mine"
    assert "is not the Pulumi project (no Pulumi.yaml)" in capsys.readouterr().err


def test_setup_runs_the_script_shipped_in_the_package() -> None:
    script = setup_script()
    assert script.is_file()
    assert (script.parent / "versions.env").is_file()
    builds = ("pulumi-cli", "langhost", "bridged-provider", "kubernetes-provider", "etcd", "kube-apiserver")
    for name in [*(f"build-{build}.sh" for build in builds), "install-docker-engine.sh"]:
        assert (script.parent / name).stat().st_mode & 0o111, f"{name} must be executable (setup.sh runs it)"


def test_the_installed_script_answers_help() -> None:
    script = Path(sys.prefix) / "bin" / "kafka-migration"
    assert script.exists(), f"{script} is missing: `make venv` installs the package (pip install --no-deps -e .)"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage: kafka-migration " in result.stdout
    assert all(name in result.stdout for name in COMMANDS)


def test_what_the_makefile_and_ci_run_exists() -> None:
    """Modules are being moved: every `kafka_migration.*` module and script command they name must be there."""
    makefile, ci = (ROOT / "Makefile").read_text(), (ROOT / ".ci" / "run").read_text()
    modules = set(re.findall(r"(?:-m |from )(kafka_migration(?:\.\w+)+)", makefile + ci))
    assert {"kafka_migration.rehearsal.dev_blue", "kafka_migration.local_runtime.process"} <= modules
    assert [m for m in sorted(modules) if importlib.util.find_spec(m) is None] == []
    commands = re.findall(r"^\t\$\(CLI\) ([\w-]+)", makefile, re.MULTILINE)
    assert set(commands) == set(COMMANDS), commands
    assert "toolchain/" not in makefile.replace("components/toolchain/", "")
