"""Detached JVM processes tracked by a pid file.

A process belongs to a folder: its pid file, its log and its data live there, so a
later `pulumi refresh` (a new Python process) can find it again and tell whether it
still runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from local_runtime.paths import kafka_classpath

PID_FILE = "process.pid"
LOG_FILE = "process.log"


def start_java(
    workdir: Path,
    main_class: str,
    args: Sequence[str],
    heap_mb: int,
    jvm_options: Sequence[str] = (),
) -> int:
    """Start `java main_class args` detached, with its output in workdir/process.log.

    The process runs in `workdir`, so every path in `args` must be absolute.
    """
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log4j = workdir / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level=INFO\nrootLogger.appenderRef.file.ref=file\n"
        "appender.file.type=File\nappender.file.name=file\n"
        f"appender.file.fileName={workdir / 'server.log'}\n"
        "appender.file.layout.type=PatternLayout\n"
        "appender.file.layout.pattern=[%d] %p %m (%c)%n\n"
    )
    command = [
        "java",
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dkafkamig.home={workdir}",  # marks our processes, for the safety net in .ci/run
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
    (workdir / PID_FILE).write_text(str(proc.pid))
    return proc.pid


def run_java(main_class: str, args: Sequence[str], timeout_s: float = 120) -> str:
    """Run a short-lived Kafka tool and return its output; raise with the output on failure."""
    result = subprocess.run(
        ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", kafka_classpath(), main_class, *args],
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


def recorded_pid(workdir: Path) -> int | None:
    """The pid written when the process in workdir was started, if any."""
    try:
        return int((workdir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_running(pid: int | None) -> bool:
    """Whether pid is a live process (zombies count as dead)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state letter follows the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def stop(workdir: Path, timeout_s: float = 30) -> None:
    """Stop the process of workdir (SIGTERM, then SIGKILL after timeout_s), if it runs."""
    pid = recorded_pid(workdir)
    if is_running(pid):
        assert pid is not None
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while is_running(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if is_running(pid):
            _signal_group(pid, signal.SIGKILL)
            while is_running(pid):
                _reap(pid)
                time.sleep(0.1)
    (workdir / PID_FILE).unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


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
