"""A private Docker engine for the Docker runtime's integration tests: `dockerd` on a socket and data root of its own.

Debian's `docker.io` package provides the engine (`kafka-migration setup docker` installs
it). The machine's own engine, if any, is never used: `running_docker_engine` starts a
`dockerd` that
- listens on a Unix socket in the caller's folder only (no TCP listener);
- keeps images, containers and volumes under its own data root, removed when it stops;
- makes no bridge network and touches no firewall rule (`--bridge=none --iptables=false`):
  containers run with the host's network (`planning.docker_containers`), their listeners
  on 127.0.0.1.

It starts its own containerd (which stops with it). Everything the engine made goes with
its data root: images, containers, volumes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kafka_migration.local_runtime.service_process import log_tail, start_service, stop_group

SETUP_HINT = "run `make setup TOOLCHAIN_EXTRAS=docker` (or `kafka-migration setup docker`), as root"
DOCKER_DEFAULT_NETWORKS = frozenset({"bridge", "host", "none"})
"""Networks every engine lists; `bridge` is listed even with `--bridge=none`, and none of them can be removed."""


class DockerCommandError(RuntimeError):
    """A `docker` command that failed (its arguments and what it printed are kept)."""


@dataclass(frozen=True)
class DockerEngine:
    """An engine reached with the `docker` client."""

    host: str
    """`DOCKER_HOST` of this engine (`unix:///...sock`, `ssh://...`), also `green.docker.host` of a stack on it."""

    def docker(self, *args: str, timeout_s: float = 300) -> str:
        """Run `docker -H <this engine> args`; its standard output, or DockerCommandError with what it printed."""
        command = ["docker", "-H", self.host, *args]
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: Debian's engine has no buildx
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
        if done.returncode != 0:
            raise DockerCommandError(f"`docker {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def names(self, kind: str) -> list[str]:
        """Names of every container (running or not), volume or network (`kind`) the engine holds."""
        listing = {
            "container": ("ps", "--all", "--format", "{{.Names}}"),
            "volume": ("volume", "ls", "--format", "{{.Name}}"),
            "network": ("network", "ls", "--format", "{{.Name}}"),
        }[kind]
        return sorted(line for line in self.docker(*listing).splitlines() if line)

    def leftovers(self) -> dict[str, list[str]]:
        """What a destroyed stack must not leave behind: containers, volumes and networks of ours."""
        networks = [n for n in self.names("network") if n not in DOCKER_DEFAULT_NETWORKS]
        return {"containers": self.names("container"), "volumes": self.names("volume"), "networks": networks}

    def inspect(self, name: str) -> dict:
        """`docker inspect` of one container (or image, volume...)."""
        [found] = json.loads(self.docker("inspect", name))
        return found


def dockerd_binary() -> str:
    """Debian's `dockerd`; FileNotFoundError with the setup command when the engine is not installed."""
    found = shutil.which("dockerd")
    if found is None or shutil.which("docker") is None:
        raise FileNotFoundError(f"the Docker engine (dockerd and the docker client) is not installed; {SETUP_HINT}")
    return found


def dockerd_args(data_root: Path, exec_root: Path, socket: Path) -> list[str]:
    """A daemon of our own: its socket, data and state folders, no bridge network, no firewall rules."""
    return [
        f"--host=unix://{socket}",
        f"--data-root={data_root}",
        f"--exec-root={exec_root}",
        f"--pidfile={exec_root / 'dockerd.pid'}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--storage-driver=overlay2",
    ]


@contextlib.contextmanager
def running_docker_engine(workdir: Path, ready_timeout_s: float = 60) -> Iterator[DockerEngine]:
    """Start a private `dockerd` logging into `workdir`; stopped, and its data root removed, when the body ends.

    The exec root (where the socket and containerd's sockets live) is a short folder under
    the system's temporary folder: a Unix socket path may not exceed 107 bytes.
    """
    dockerd = dockerd_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    exec_root = Path(tempfile.mkdtemp(prefix="kafkamig-dockerd-"))
    data_root = workdir / "data-root"
    socket = exec_root / "docker.sock"
    engine = DockerEngine(f"unix://{socket}")
    log = workdir / "dockerd.log"
    proc = start_service([dockerd, *dockerd_args(data_root, exec_root, socket)], log)
    try:
        _wait_ready(engine, proc, log, ready_timeout_s)
        yield engine
    finally:
        # dockerd stops its containers and its containerd on SIGTERM (within its own 15 s shutdown timeout).
        stop_group(proc, timeout_s=60)
        _unmount_under(data_root)
        _unmount_under(exec_root)
        shutil.rmtree(data_root, ignore_errors=True)
        shutil.rmtree(exec_root, ignore_errors=True)


def _wait_ready(engine: DockerEngine, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Until the engine answers `docker version`; fails early, naming the log, when dockerd exits."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited ({proc.returncode}) while starting; log {log}:\n{log_tail(log)}")
        if Path(engine.host.removeprefix("unix://")).exists():
            try:
                engine.docker("version", "--format", "{{.Server.Version}}", timeout_s=10)
                return
            except (DockerCommandError, subprocess.TimeoutExpired) as exc:
                last = str(exc)
        if time.monotonic() > deadline:
            raise TimeoutError(f"dockerd did not answer in {timeout_s:.0f}s ({last}); log {log}:\n{log_tail(log)}")
        time.sleep(0.5)


def _unmount_under(root: Path) -> None:
    """Lazily unmount whatever is still mounted under `root` (overlays of a daemon that died), deepest first."""
    prefix = f"{root.resolve()}/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
