"""Servers the tests start that are not JVMs (etcd, kube-apiserver, dockerd): each in a process group of its own.

They take no `-D` mark, so `process.stop_run` knows them by name (`process.SERVICE_BINARIES`)
and by the run id in the environment they inherit (`KAFKAMIG_RUN_ID`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

STOP_TIMEOUT_S = 15.0


def start_service(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start `command` in a session (so a process group) of its own, its output appended to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_group(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to the process's group, SIGKILL after `timeout_s`; reaped either way.

    `proc` is our own child, so its pid cannot have been reused before we reap it.
    """
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def log_tail(log: Path, lines: int = 30) -> str:
    """The last `lines` lines of `log` ('' when it does not exist), for an error message."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
