"""The Docker runtime's Kafka image, built from what this machine already has: no registry is involved.

`FROM scratch` with
- a Java runtime made by `jlink` from the machine's JDK (Debian's OpenJDK 17) and the
  shared libraries it links against (`ldd`), at /opt/java;
- Kafka's jars from the toolchain cache (Maven Central, `make toolchain`) at
  `IMAGE_LIBS`, and the Prometheus JMX exporter agent at `IMAGE_JMX_AGENT`;
- Debian's statically linked busybox (`busybox-static`) for `sh` and `wget`;
- a user `appuser` (1000) owning `DATA_DIR`, which the image runs as.

That is the contract `planning.docker_containers` relies on. The build folder is cached
by content (`context_key`: the Dockerfile, the JDK's release, busybox and the jars), so
only the `docker build` itself, a few seconds, runs against each engine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kafka_migration.local_runtime.docker_engine import SETUP_HINT, DockerEngine
from kafka_migration.local_runtime.paths import JMX_AGENT_PREFIX, cache_dir, kafka_libs, pinned_versions
from kafka_migration.planning.docker_containers import (
    DATA_DIR,
    IMAGE_JMX_AGENT,
    IMAGE_LIBS,
    IMAGE_UID,
    KAFKA_IMAGE_REPOSITORY,
)

JAVA_HOME_IN_IMAGE = "/opt/java"
APP_UID = IMAGE_UID
BUSYBOX = Path("/bin/busybox")
BUSYBOX_APPLETS = ("sh", "wget", "cat", "ls", "mkdir", "rm", "sleep", "env", "grep", "id", "ps")
JLINK_MODULES = (
    "java.base",
    "java.compiler",
    "java.desktop",  # java.beans, which Kafka's and Connect's libraries use
    "java.instrument",  # the JMX exporter agent
    "java.logging",
    "java.management",
    "java.management.rmi",
    "java.naming",
    "java.net.http",
    "java.rmi",
    "java.scripting",
    "java.security.jgss",
    "java.security.sasl",
    "java.sql",
    "java.transaction.xa",
    "java.xml",
    "jdk.crypto.ec",
    "jdk.httpserver",  # the JMX exporter's HTTP server
    "jdk.management",
    "jdk.management.agent",
    "jdk.naming.dns",
    "jdk.net",
    "jdk.security.auth",
    "jdk.security.jgss",
    "jdk.unsupported",
    "jdk.zipfs",
)
CONTEXT_LAYOUT = 2
"""Bumped whenever `_make_context` changes what it puts in the folder (part of `context_key`)."""
HOME = Path(DATA_DIR).parent
DOCKERFILE = f"""\
FROM scratch
COPY rootfs/ /
COPY --chown={APP_UID}:{APP_UID} home/ {HOME}/
ENV PATH={JAVA_HOME_IN_IMAGE}/bin:/bin JAVA_HOME={JAVA_HOME_IN_IMAGE}
USER {APP_UID}:{APP_UID}
WORKDIR {HOME}
"""


def image_tag() -> str:
    """`kafkamig/kafka:<Kafka version>`, the Docker runtime's default image (`green.docker.image`)."""
    return f"{KAFKA_IMAGE_REPOSITORY}:{pinned_versions()['KAFKA_VERSION']}"


def java_home() -> Path:
    """The JDK whose `java` is on the PATH (jlink and its jmods come from it)."""
    java = shutil.which("java")
    if java is None:
        raise FileNotFoundError("no `java` on the PATH; the image's Java runtime is made from the machine's JDK")
    home = Path(java).resolve().parent.parent
    if not (home / "bin" / "jlink").exists() or not (home / "jmods").is_dir():
        raise FileNotFoundError(f"the JDK at {home} has no jlink or jmods; install openjdk-17-jdk-headless")
    return home


def _jars() -> list[Path]:
    jars = sorted(kafka_libs().glob("*.jar"))
    if not jars:
        raise FileNotFoundError(f"no Kafka jars in {kafka_libs()}; run `make toolchain` first")
    return jars


def _static_busybox() -> Path:
    """Debian's static busybox (a dynamic one would need its libraries in the image too)."""
    if not BUSYBOX.exists():
        raise FileNotFoundError(f"{BUSYBOX} is missing; {SETUP_HINT} (it installs busybox-static)")
    linked = subprocess.run(["ldd", str(BUSYBOX)], capture_output=True, text=True, check=False)
    if "not a dynamic executable" not in linked.stdout + linked.stderr:
        raise FileNotFoundError(f"{BUSYBOX} is dynamically linked; install Debian's busybox-static ({SETUP_HINT})")
    return BUSYBOX


def context_key() -> str:
    """What the image is made of, hashed: the Dockerfile, jlink's modules, the JDK's release, busybox and the jars."""
    digest = hashlib.sha256()
    digest.update(f"layout {CONTEXT_LAYOUT}\n".encode())
    digest.update(DOCKERFILE.encode())
    digest.update(",".join(JLINK_MODULES).encode())
    digest.update((java_home() / "release").read_bytes())
    digest.update(hashlib.sha256(_static_busybox().read_bytes()).digest())
    for jar in _jars():
        digest.update(f"{jar.name}:{jar.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def image_context() -> Path:
    """The build folder (Dockerfile, rootfs/, home/), made once per `context_key` in the toolchain cache."""
    folder = cache_dir() / f"kafka-image-{context_key()}"
    if (folder / "Dockerfile").exists():
        return folder
    for stale in cache_dir().glob("kafka-image-" + "[0-9a-f]" * 16):
        shutil.rmtree(stale, ignore_errors=True)  # made of other inputs: never used again
    work = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=cache_dir()))
    try:
        _make_context(work)
        os.replace(work, folder)  # atomic: a concurrent builder's folder, if first, is as good as ours
    except OSError:
        if not (folder / "Dockerfile").exists():
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _make_context(work: Path) -> None:
    rootfs = work / "rootfs"
    java = rootfs / JAVA_HOME_IN_IMAGE.lstrip("/")
    java.parent.mkdir(parents=True)
    home = java_home()
    modules = ["--module-path", str(home / "jmods"), "--add-modules", ",".join(JLINK_MODULES)]
    slim = ["--strip-debug", "--no-man-pages", "--no-header-files"]
    jlink = [str(home / "bin" / "jlink"), *modules, *slim, "--output", str(java)]
    subprocess.run(jlink, check=True, capture_output=True)
    for library in _linked_libraries([java / "bin" / "java", *java.rglob("*.so")]):
        if Path(library).is_relative_to(java):
            continue  # the runtime's own libraries (found through its RPATH) are in place already
        target = rootfs / library.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(library), target)
    bin_dir = rootfs / "bin"
    bin_dir.mkdir()
    shutil.copy2(_static_busybox(), bin_dir / "busybox")
    for applet in BUSYBOX_APPLETS:
        (bin_dir / applet).symlink_to("busybox")
    libs, agent = rootfs / IMAGE_LIBS.lstrip("/"), rootfs / IMAGE_JMX_AGENT.lstrip("/")
    libs.mkdir(parents=True)
    agent.parent.mkdir(parents=True)
    for jar in _jars():
        shutil.copy2(jar, agent if jar.name.startswith(JMX_AGENT_PREFIX) else libs / jar.name)
    etc = rootfs / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nappuser:x:{APP_UID}:{APP_UID}::{HOME}:/bin/sh\n")
    (etc / "group").write_text(f"root:x:0:\nappuser:x:{APP_UID}:\n")
    tmp = rootfs / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    (work / "home" / Path(DATA_DIR).name).mkdir(parents=True)
    (work / "Dockerfile").write_text(DOCKERFILE)


def _linked_libraries(binaries: list[Path]) -> list[str]:
    """The shared libraries (and the dynamic loader) `binaries` link against, by their absolute paths."""
    found: set[str] = set()
    for binary in binaries:
        listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            words = line.split()
            if "=>" in words and len(words) > 2 and words[2].startswith("/"):
                found.add(words[2])
            elif words and words[0].startswith("/"):
                found.add(words[0])
    return sorted(found)


def build_kafka_image(engine: DockerEngine, tag: str | None = None) -> str:
    """Build the image into `engine` (the cached folder, then `docker build`); returns its tag."""
    tag = tag or image_tag()
    engine.docker("build", "--quiet", "--network=none", "--tag", tag, str(image_context()), timeout_s=600)
    return tag
