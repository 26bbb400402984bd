"""The test API server's launcher, without starting it: missing binaries, the kubeconfig, the flags.

Starting it is `tests/integration/test_kubernetes_apiserver.py`'s fixture.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kafka_migration.local_runtime.kube_apiserver import (
    apiserver_args,
    controller_manager_args,
    etcd_args,
    running_kube_apiserver,
    write_kubeconfig,
)


def test_missing_binaries_fail_with_the_setup_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKAMIG_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError) as missing, running_kube_apiserver(tmp_path / "server"):
        pass
    message = str(missing.value)
    assert "make setup TOOLCHAIN_EXTRAS=kubernetes" in message
    assert all(name in message for name in ("/etcd,", "/kube-apiserver,", "/kube-controller-manager"))
    assert not (tmp_path / "server").exists()  # nothing started, nothing written


def test_the_kubeconfig_names_its_context_and_only_its_owner_reads_the_token(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, "https://127.0.0.1:6443", tmp_path / "ca.crt", "t0ken", "ctx")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = json.loads(path.read_text())
    assert config["current-context"] == "ctx"
    assert config["contexts"][0]["context"]["cluster"] == "ctx"
    assert config["clusters"][0]["cluster"] == {
        "server": "https://127.0.0.1:6443",
        "certificate-authority": str(tmp_path / "ca.crt"),
    }
    assert config["users"][0]["user"] == {"token": "t0ken"}


def test_the_processes_listen_on_loopback_only(tmp_path: Path) -> None:
    args = [*etcd_args(tmp_path, 1, 2), *apiserver_args(tmp_path, 3, 1, tmp_path / "c", tmp_path / "k")]
    urls = [a.split("=", 1)[1] for a in args if a.split("=")[0].endswith(("-urls", "-servers", "-address"))]
    urls += [a.split("=", 2)[2] for a in args if a.startswith("--initial-cluster=")]
    assert urls and all(u.removeprefix("http://").startswith("127.0.0.1") for u in urls), urls
    assert "--secure-port=0" in controller_manager_args(tmp_path / "kubeconfig")  # the garbage collector serves nothing
