"""Detached JVM processes tracked by a pid file, and signalled only when still ours.

A process belongs to a folder: its pid file, its log and its data live there, so a
later `pulumi refresh` (a new Python process) can find it again and tell whether it
still runs. The pid file records the pid and the process's start time; before any
signal we confirm with psutil that the pid still names that process (same start time,
command line marked with this folder), so a stale pid file (after a reboot, or a
recycled pid) never makes us signal someone else's process.

Every JVM also carries `-Dkafkamig.run=<KAFKAMIG_RUN_ID>` (`local` when unset): a run
(CI, a test session) stops what it started by that mark and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from kafka_migration.local_runtime.paths import kafka_classpath
from kafka_migration.planning.java_text import properties_text
from kafka_migration.planning.local_processes import LEAN_JVM

PID_FILE = "process.pid"
LOG_FILE = "process.log"
RUN_ID_ENV = "KAFKAMIG_RUN_ID"
HOME_MARK = "-Dkafkamig.home="
RUN_MARK = "-Dkafkamig.run="


def current_run_id() -> str:
    """The id marking the processes this run starts (`KAFKAMIG_RUN_ID`, default `local`)."""
    return os.environ.get(RUN_ID_ENV) or "local"


def log4j_properties(workdir: Path) -> str:
    """Log4j2's config (read with `java.util.Properties`): INFO and up into `<workdir>/server.log`."""
    return properties_text(
        {
            "rootLogger.level": "INFO",
            "rootLogger.appenderRef.file.ref": "file",
            "appender.file.type": "File",
            "appender.file.name": "file",
            "appender.file.fileName": str(workdir / "server.log"),
            "appender.file.layout.type": "PatternLayout",
            "appender.file.layout.pattern": "[%d] %p %m (%c)%n",
        }
    )


def start_java(
    workdir: Path,
    main_class: str,
    args: Sequence[str],
    heap_mb: int,
    jvm_options: Sequence[str] = (),
    lean: bool = True,
) -> int:
    """Start `java main_class args` detached, with its output in workdir/process.log.

    The process runs in `workdir`, so every path in `args` must be absolute. `lean` (the
    default) trades peak speed for start-up time and memory (`LEAN_JVM`); False leaves the
    JVM's own choices (C2 compiler, G1 on a server-class machine), as `make bench` measures.
    """
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log4j = workdir / "log4j2.properties"
    log4j.write_text(log4j_properties(workdir))
    command = [
        "java",
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        *(LEAN_JVM if lean else ()),
        "-Djava.awt.headless=true",
        f"{HOME_MARK}{workdir}",  # the folder that owns the process (checked before any signal)
        f"{RUN_MARK}{current_run_id()}",  # the run that started it (what .ci/run stops)
        f"-Dlog4j2.configurationFile={log4j}",
        *jvm_options,
        "-cp",
        kafka_classpath(),
        main_class,
        *args,
    ]
    with open(workdir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait_for_exec(proc, f"{HOME_MARK}{workdir}")
    record = {"pid": proc.pid, "started": psutil.Process(proc.pid).create_time()}
    (workdir / PID_FILE).write_text(json.dumps(record))
    return proc.pid


def _wait_for_exec(proc: subprocess.Popen[bytes], mark: str, timeout_s: float = 30) -> None:
    """Until the child has exec'd java (its command line carries `mark`) or exited.

    Between fork and exec the child still shows its parent's command line, and an
    ownership check in that window would take a starting JVM for someone else's process.
    """
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            if mark in psutil.Process(proc.pid).cmdline():
                return
        time.sleep(0.01)


def run_java(
    main_class: str, args: Sequence[str], timeout_s: float = 120, heap_mb: int = 256, lean: bool = True
) -> str:
    """Run a short-lived Kafka tool and return its output; raise with the output on failure.

    It carries this run's mark, so a run's cleanup stops it if its caller dies first.
    """
    jit = ("-XX:TieredStopAtLevel=1",) if lean else ()
    result = subprocess.run(
        ["java", f"-Xmx{heap_mb}m", *jit, f"{RUN_MARK}{current_run_id()}", "-cp", kafka_classpath(), main_class, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{main_class} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def running_pid(workdir: Path) -> int | None:
    """The pid of the process that workdir's pid file names, if it still runs and is still ours.

    Ours means: the pid's start time equals the one recorded at start and its command line
    carries this folder's mark. Anything else (no file, a dead pid, a zombie, a pid reused
    by another process) is None, and the folder's process counts as not running.
    """
    try:
        record = json.loads((workdir / PID_FILE).read_text())
        pid, started = int(record["pid"]), float(record["started"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - started) > 0.05 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if f"{HOME_MARK}{workdir.resolve()}" not in proc.cmdline():
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return pid


def stop(workdir: Path, timeout_s: float = 30) -> None:
    """Stop the process of workdir (SIGTERM, then SIGKILL after timeout_s) if it runs and is ours."""
    pid = running_pid(workdir)
    if pid is not None:
        # start_java made the JVM a session (and group) leader: its group is its own.
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while running_pid(workdir) == pid and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if running_pid(workdir) == pid:
            _signal_group(pid, signal.SIGKILL)
            while running_pid(workdir) == pid:
                _reap(pid)
                time.sleep(0.1)
        _reap(pid)
    (workdir / PID_FILE).unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


SERVICE_BINARIES = frozenset(
    {"etcd", "kube-apiserver", "kube-controller-manager", "dockerd", "containerd", "containerd-shim-runc-v2"}
)
"""Processes other than JVMs the tests start (the Kubernetes API server's, the private Docker engine's): they take
no `-D` mark, so they are known by their name and the run id in their environment (`KAFKAMIG_RUN_ID`, inherited
from the run). dockerd stops its containers when it is terminated."""


def stop_run(run_id: str, timeout_s: float = 30) -> list[int]:
    """Stop every JVM (and API server process) marked with `run_id` or a sub-run of it, `<run_id>-<suffix>`.

    The safety net of one run: other runs' processes are left alone.
    """
    ours = [proc for proc in psutil.process_iter(["cmdline", "name"]) if _of_run(proc, run_id)]
    for proc in ours:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(ours, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=10)
    return [p.pid for p in ours]


def _of_run(proc: psutil.Process, run_id: str) -> bool:
    """Whether `proc` was started by run `run_id` or one of its sub-runs."""
    mark = f"{RUN_MARK}{run_id}"
    try:
        if any(arg == mark or arg.startswith(f"{mark}-") for arg in proc.info["cmdline"] or []):
            return True
        if proc.info["name"] not in SERVICE_BINARIES:
            return False
        started_by = proc.environ().get(RUN_ID_ENV, "")
    except psutil.Error:
        return False
    return started_by == run_id or started_by.startswith(f"{run_id}-")


def log_tail(workdir: Path, lines: int = 40) -> str:
    """Last lines of the process's logs, for error messages."""
    out = []
    for name in (LOG_FILE, "server.log"):
        path = workdir / name
        if path.exists():
            out.append(f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
    return "\n".join(out)


def stop_all_under(root: Path) -> list[Path]:
    """Stop every process started in a folder below `root` (a safety net for teardowns)."""
    stopped = []
    for pid_file in sorted(root.rglob(PID_FILE)) if root.exists() else []:
        stop(pid_file.parent)
        stopped.append(pid_file.parent)
    return stopped
