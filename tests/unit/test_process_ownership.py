"""The local runtime signals only processes it started: stale pid files and other runs' JVMs are left alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from kafka_migration.local_runtime import process

SLEEPER = "import time; time.sleep(120)"


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def sleeper(spawned: list[subprocess.Popen], *marks: str) -> subprocess.Popen:
    """A long-lived process whose command line carries `marks`, as a JVM's carries its -D flags."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, *marks], start_new_session=True)
    spawned.append(proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and marks and not set(marks) <= set(psutil.Process(proc.pid).cmdline()):
        time.sleep(0.05)
    return proc


def write_pid_file(workdir: Path, pid: int, started: float) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / process.PID_FILE).write_text(json.dumps({"pid": pid, "started": started}))


def test_stale_pid_file_naming_someone_elses_process_is_not_signalled(tmp_path: Path, spawned) -> None:
    stranger = sleeper(spawned)  # not marked with our folder: e.g. a pid reused after a reboot
    workdir = tmp_path / "kafka-A"
    write_pid_file(workdir, stranger.pid, psutil.Process(stranger.pid).create_time())

    assert process.running_pid(workdir) is None
    process.stop(workdir, timeout_s=1)

    assert stranger.poll() is None, "a process we did not start was signalled"
    assert not (workdir / process.PID_FILE).exists()


def test_pid_reused_by_a_later_process_is_not_ours(tmp_path: Path, spawned) -> None:
    workdir = tmp_path / "connect"
    marked = sleeper(spawned, f"{process.HOME_MARK}{workdir.resolve()}")
    started = psutil.Process(marked.pid).create_time()
    write_pid_file(workdir, marked.pid, started - 3600)  # recorded start an hour earlier: another process

    process.stop(workdir, timeout_s=1)

    assert marked.poll() is None


def test_our_own_process_is_stopped(tmp_path: Path, spawned) -> None:
    workdir = tmp_path / "kafka-B"
    ours = sleeper(spawned, f"{process.HOME_MARK}{workdir.resolve()}")
    write_pid_file(workdir, ours.pid, psutil.Process(ours.pid).create_time())

    assert process.running_pid(workdir) == ours.pid
    process.stop(workdir, timeout_s=5)

    assert ours.wait(timeout=5) is not None
    assert process.running_pid(workdir) is None


def test_a_run_stops_its_own_jvms_and_not_a_second_checkouts(spawned) -> None:
    mine = sleeper(spawned, f"{process.RUN_MARK}ci-1", f"{process.HOME_MARK}/tmp/checkout-1/x")
    other = sleeper(spawned, f"{process.RUN_MARK}local", f"{process.HOME_MARK}/home/u/checkout-2/.local-clusters/A")
    prefix_twin = sleeper(spawned, f"{process.RUN_MARK}ci-10", f"{process.HOME_MARK}/tmp/checkout-3/x")
    my_workers = sleeper(spawned, f"{process.RUN_MARK}ci-1-gw1", f"{process.HOME_MARK}/tmp/checkout-1/y")

    stopped = process.stop_run("ci-1", timeout_s=5)

    assert sorted(stopped) == sorted([mine.pid, my_workers.pid])
    assert mine.wait(timeout=5) is not None and my_workers.wait(timeout=5) is not None
    assert other.poll() is None and prefix_twin.poll() is None


def test_a_test_worker_stops_its_own_jvms_and_not_its_siblings(spawned) -> None:
    mine = sleeper(spawned, f"{process.RUN_MARK}ci-1-gw0", f"{process.HOME_MARK}/tmp/checkout-1/x")
    sibling = sleeper(spawned, f"{process.RUN_MARK}ci-1-gw1", f"{process.HOME_MARK}/tmp/checkout-1/y")

    assert process.stop_run("ci-1-gw0", timeout_s=5) == [mine.pid]
    assert sibling.poll() is None


def test_a_run_stops_the_api_server_processes_it_started_known_by_name_and_environment(tmp_path: Path, spawned) -> None:
    def service(name: str, run_id: str) -> subprocess.Popen:
        binary = tmp_path / run_id / name
        binary.parent.mkdir(exist_ok=True)
        shutil.copy("/bin/sleep", binary)
        proc = subprocess.Popen([str(binary), "600"], env={process.RUN_ID_ENV: run_id}, start_new_session=True)
        spawned.append(proc)
        return proc

    mine = service("kube-controller-manager", "ci-1-gw0")
    other_run = service("etcd", "ci-10")
    not_a_service = service("sleep", "ci-1")

    assert process.stop_run("ci-1", timeout_s=5) == [mine.pid]
    assert mine.wait(timeout=5) is not None
    assert other_run.poll() is None and not_a_service.poll() is None
