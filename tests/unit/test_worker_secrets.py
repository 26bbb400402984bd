"""The local Connect worker: REST on loopback, its file provider confined to the secrets folder, the secrets file 0600
from its first byte and gone when the worker stops for good. No JVM runs: the process layer is replaced."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kafka_migration.evidence.connect_rest import basic_authorization
from kafka_migration.local_runtime import connect, process
from kafka_migration.local_runtime.private_files import remove_private, write_private
from kafka_migration.planning.local_processes import (
    ConnectWorker,
    group_member,
    local_worker,
    local_workers,
    mm2_endpoints,
    worker_config,
    worker_properties,
)
from kafka_migration.resources.providers import connect_worker as provider_module
from kafka_migration.resources.providers.connect_worker import LocalConnectWorkerProvider, config_digest
from tests.unit.builders import make_config
from tests.unit.java_readers import load_properties

PASSWORD = 'blue "pw" \\ 1'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- The worker's configuration ---------------------------------------------------------------------------------


def test_the_rest_api_listens_on_loopback_only(tmp_path: Path) -> None:
    worker = local_worker(make_config(), "127.0.0.1:19092", tmp_path)
    props = load_properties(worker_properties(worker))
    assert props["listeners"] == f"http://127.0.0.1:{worker.rest_port}"
    assert props["rest.advertised.host.name"] == "127.0.0.1"
    assert worker.url == f"http://127.0.0.1:{worker.rest_port}"
    assert not any(
        v.startswith(("http://0.0.0.0", "https://0.0.0.0", "http://:", "http://[::]")) for v in props.values()
    )


def test_the_file_provider_may_read_the_secrets_folder_only(tmp_path: Path) -> None:
    worker = local_worker(make_config(), "127.0.0.1:19092", tmp_path)
    props = worker_config(worker)
    assert props["config.providers"] == "file"
    assert props["config.providers.file.class"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    allowed = props["config.providers.file.param.allowed.paths"]
    assert allowed == worker.secrets_dir.as_posix() == worker.secrets_file.parent.as_posix()
    assert Path(allowed).is_absolute() and Path(allowed) != worker.data_dir
    assert "," not in allowed
    # The override policy: the narrowest one that admits producer.override.bootstrap.servers (planning.mm2).
    assert props["connector.client.config.override.policy"] == "All"


def test_a_folder_with_a_comma_cannot_be_an_allowed_path(tmp_path: Path) -> None:
    worker = ConnectWorker("mm2", tmp_path / "a,b", "127.0.0.1:19092", 18083, 19404)
    with pytest.raises(ValueError, match="contains ',', which would split"):
        worker_config(worker)


# --- Private files ----------------------------------------------------------------------------------------------


def test_a_private_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "s.properties"
    write_private(path, "a=1\n")
    assert path.read_text() == "a=1\n"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["s.properties"]  # no temporary file left


def test_a_pre_existing_0644_file_is_replaced_by_a_0600_one(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "s.properties"
    path.parent.mkdir(mode=0o755)
    path.write_text("old=1\n")
    path.chmod(0o644)
    before = path.stat().st_ino
    write_private(path, "new=2\n")
    assert (path.read_text(), mode(path)) == ("new=2\n", 0o600)
    assert path.stat().st_ino != before  # a new file, renamed over the old one: never the old inode rewritten
    assert mode(path.parent) == 0o700


def test_a_restrictive_umask_still_gives_0600(tmp_path: Path) -> None:
    previous = os.umask(0o277)
    try:
        write_private(tmp_path / "secrets" / "s", "x")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "secrets" / "s") == 0o600


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_changed_target(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "s"
    write_private(path, "kept")
    with pytest.raises(UnicodeEncodeError):
        write_private(path, "\ud800")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text() == "kept"
    assert [p.name for p in path.parent.iterdir()] == ["s"]


def test_removing_a_private_file_takes_its_leftover_temporary_files_too(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "s"
    write_private(path, "x")
    (path.parent / ".s.0123456789abcdef.tmp").write_text("half-written")
    remove_private(path)
    remove_private(path)  # missing is fine
    assert list(path.parent.iterdir()) == []


# --- The worker writes and removes its secrets file -------------------------------------------------------------


@pytest.fixture
def no_jvm(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The process layer replaced: a worker 'runs' from start until stop, and nothing is spawned."""
    state: dict[str, Any] = {"running": set(), "started": 0}

    def start_java(workdir: Path, *args: Any, **kwargs: Any) -> int:
        state["running"].add(workdir.resolve())
        state["started"] += 1
        return 4242

    monkeypatch.setattr(process, "start_java", start_java)
    monkeypatch.setattr(process, "running_pid", lambda d: 4242 if Path(d).resolve() in state["running"] else None)
    monkeypatch.setattr(process, "stop", lambda d, timeout_s=0: state["running"].discard(Path(d).resolve()))
    monkeypatch.setattr(connect, "wait_ready", lambda worker, timeout_s: None)
    monkeypatch.setattr(connect, "jmx_agent_jar", lambda: Path("/nonexistent/jmx.jar"))
    monkeypatch.setattr(connect, "is_healthy", lambda w: process.running_pid(w.data_dir) is not None)
    yield state


def worker_at(tmp_path: Path, **secrets: str) -> ConnectWorker:
    return ConnectWorker("mm2", tmp_path / "connect-mm2", "127.0.0.1:19092", 18083, 19404, secrets=dict(secrets))


def test_start_writes_the_secrets_file_0600_before_the_jvm_and_retire_removes_it(
    tmp_path: Path, no_jvm: dict[str, Any]
) -> None:
    worker = worker_at(tmp_path, **{"A.password": PASSWORD})
    legacy = worker.data_dir / "mm2-secrets.properties"  # where earlier versions kept it
    legacy.parent.mkdir(parents=True)
    legacy.write_text("A.password=old\n")
    legacy.chmod(0o644)
    connect.start(worker)
    assert no_jvm["started"] == 1
    assert mode(worker.secrets_file) == 0o600 and mode(worker.secrets_dir) == 0o700
    assert load_properties(worker.secrets_file.read_text()) == {"A.password": 'blue \\"pw\\" \\\\ 1'}  # JAAS-escaped
    assert not legacy.exists()
    config = load_properties((worker.data_dir / "connect-distributed.properties").read_text())
    assert config["config.providers.file.param.allowed.paths"] == worker.secrets_dir.as_posix()
    connect.retire(worker)
    assert process.running_pid(worker.data_dir) is None
    assert not worker.secrets_file.exists()
    assert (worker.data_dir / "connect-distributed.properties").exists()  # the rest of the folder stays


def provider_props(worker: ConnectWorker, running: bool) -> dict[str, Any]:
    return {
        "name": worker.name,
        "data_dir": worker.data_dir.as_posix(),
        "bootstrap_servers": worker.bootstrap_servers,
        "rest_port": worker.rest_port,
        "metrics_port": worker.metrics_port,
        "storage_replication_factor": worker.storage_replication_factor,
        "heap_mb": worker.heap_mb,
        "secrets": dict(worker.secrets),
        "config_digest": config_digest(worker),
        "running": running,
    }


def test_mm2_stopped_stops_the_worker_and_removes_its_secrets_file(tmp_path: Path, no_jvm: dict[str, Any]) -> None:
    worker = worker_at(tmp_path, **{"A.password": PASSWORD})
    provider = LocalConnectWorkerProvider()
    running = provider_props(worker, running=True)
    provider.create(running)
    assert worker.secrets_file.exists() and mode(worker.secrets_file) == 0o600
    stopped = provider_props(worker, running=False)
    assert provider.diff(worker.data_dir.as_posix(), running, stopped).changes
    provider.update(worker.data_dir.as_posix(), running, stopped)
    assert process.running_pid(worker.data_dir) is None
    assert not worker.secrets_file.exists()
    assert worker.data_dir.exists()  # offsets and config live in green's topics; the folder stays for a restart


def test_deleting_the_worker_removes_its_secrets_file_and_folder(
    tmp_path: Path, no_jvm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = worker_at(tmp_path, **{"A.password": PASSWORD})
    provider = LocalConnectWorkerProvider()
    props = provider_props(worker, running=True)
    provider.create(props)
    removed: list[Path] = []

    def remove(path: Path) -> None:
        removed.append(path)
        remove_private(path)

    monkeypatch.setattr(connect, "remove_private", remove)
    provider.delete(worker.data_dir.as_posix(), props)
    assert worker.secrets_file in removed  # explicitly, not only as part of the folder
    assert not worker.secrets_file.exists() and not worker.data_dir.exists()


def test_a_change_of_what_the_worker_properties_hold_restarts_a_running_worker(
    tmp_path: Path, no_jvm: dict[str, Any]
) -> None:
    """A stack whose worker predates `allowed.paths` has no digest: the next update restarts it with the new file."""
    worker = worker_at(tmp_path)
    provider = LocalConnectWorkerProvider()
    news = provider_props(worker, running=True)
    provider.create(news)
    olds = {k: v for k, v in news.items() if k != "config_digest"}
    diff = provider.diff(worker.data_dir.as_posix(), olds, news)
    assert diff.changes and not diff.replaces
    provider.update(worker.data_dir.as_posix(), olds, news)
    assert no_jvm["started"] == 2
    assert provider.diff(worker.data_dir.as_posix(), news, news).changes is False
    assert provider_module.config_digest(worker) == news["config_digest"]


# --- The REST API wants a user ------------------------------------------------------------------------------


def test_the_rest_api_needs_the_workers_own_user_whose_password_stays_out_of_the_file_providers_reach(
    tmp_path: Path, no_jvm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[list[str]] = []
    real_start = process.start_java

    def start_java(workdir: Path, main: str, args: list[str], heap_mb: int, jvm: list[str], lean: bool) -> int:
        captured.append(jvm)
        return real_start(workdir, main, args, heap_mb, jvm, lean)

    monkeypatch.setattr(process, "start_java", start_java)
    worker = worker_at(tmp_path)
    connect.start(worker)
    config = load_properties((worker.data_dir / "connect-distributed.properties").read_text())
    assert config["rest.extension.classes"].endswith("BasicAuthSecurityRestExtension")
    assert f"-Djava.security.auth.login.config={worker.rest_jaas_file}" in captured[0]
    assert mode(worker.rest_credentials_file) == 0o600 and mode(worker.rest_credentials_file.parent) == 0o700
    user, password = next(iter(load_properties(worker.rest_credentials_file.read_text()).items()))
    assert user == "kafkamig" and len(password) == 48
    assert worker.rest_credentials_file.as_posix() in worker.rest_jaas_file.read_text()
    # Not where a connector's ${file:...} may read (allowed.paths is the secrets folder only).
    assert not worker.rest_credentials_file.is_relative_to(worker.secrets_dir)
    assert connect.rest_client(worker).credentials_file == worker.rest_credentials_file
    assert (
        basic_authorization(worker.rest_credentials_file)
        == "Basic " + base64.b64encode(f"kafkamig:{password}".encode()).decode()
    )
    connect.start(worker)  # a restart keeps the password: running clients keep working
    assert load_properties(worker.rest_credentials_file.read_text())["kafkamig"] == password
    connect.retire(worker)
    assert not worker.rest_credentials_file.exists() and not worker.rest_jaas_file.exists()


def test_a_group_member_has_its_own_folder_and_ports_and_shares_the_first_workers_rest_credentials(
    tmp_path: Path, no_jvm: dict[str, Any]
) -> None:
    first = worker_at(tmp_path)
    second = group_member(first, 1)
    assert (second.name, second.bootstrap_servers) == (first.name, first.bootstrap_servers)  # one Connect group
    assert second.data_dir == tmp_path / "connect-mm2-2" and second.secrets_dir != first.secrets_dir
    assert (second.rest_port, second.metrics_port) == (first.rest_port + 1, first.metrics_port + 1)
    assert second.rest_credentials_file == first.rest_credentials_file and not second.owns_rest_credentials
    with pytest.raises(RuntimeError, match="start the worker that owns them first"):
        connect.start(second)
    connect.start(first)
    connect.start(second)
    password = load_properties(first.rest_credentials_file.read_text())["kafkamig"]
    assert first.rest_credentials_file.as_posix() in second.rest_jaas_file.read_text()
    connect.retire(second)  # a member leaving keeps the group's credentials
    assert load_properties(first.rest_credentials_file.read_text())["kafkamig"] == password
    assert not second.rest_jaas_file.exists()
    connect.retire(first)
    assert not first.rest_credentials_file.exists()


def test_a_group_member_index_starts_at_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        group_member(worker_at(tmp_path), 0)


def test_mm2_workers_is_one_group_read_through_every_workers_metrics(tmp_path: Path) -> None:
    cfg = make_config(mm2={"workers": 3})
    workers = local_workers(cfg, "127.0.0.1:29092", tmp_path)
    first = workers[0].data_dir.name
    assert [w.data_dir.name for w in workers] == [first, f"{first}-2", f"{first}-3"]
    assert len({w.name for w in workers}) == 1 and [w.owns_rest_credentials for w in workers] == [True, False, False]
    endpoints = mm2_endpoints(cfg, tmp_path)
    assert endpoints.connect_url == workers[0].url
    assert endpoints.metrics_urls == tuple(w.metrics_url for w in workers)
    mine = make_config(mm2={"workers": 3, "metricsUrl": "http://prometheus.internal/federate"})
    assert mm2_endpoints(mine, tmp_path).metrics_urls == ("http://prometheus.internal/federate",)
