"""`kafka-migration docker-image [--host URL] [--tag TAG]`: build the Docker runtime's Kafka image into an engine.

No registry is needed: the image is made from this machine's JDK (jlink), Debian's static
busybox and the Kafka jars setup fetched (`local_runtime.kafka_image`). Its default tag is
`green.docker.image`'s default, so a stack on that engine finds it without pulling.
Exit code 0 when built, 2 when something it needs is missing or the engine refused.
"""

from __future__ import annotations

import argparse
import sys

from kafka_migration.local_runtime.docker_engine import DockerCommandError, DockerEngine
from kafka_migration.local_runtime.kafka_image import build_kafka_image, image_tag

PROG = "kafka-migration docker-image"
DESCRIPTION = (
    "Build the Docker runtime's Kafka image (Kafka's jars, a Java runtime made by jlink, busybox) into a Docker "
    "engine, from this machine's files: no registry is used."
)
FAILED = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options, added to `p`."""
    p.add_argument(
        "--host",
        default="unix:///var/run/docker.sock",
        help="the engine, as green.docker.host names it (default: the local engine's socket)",
    )
    p.add_argument("--tag", default=None, help=f"the image's tag (default: {image_tag()}, green.docker.image's)")


def main(argv: list[str] | None = None) -> int:
    """Build the image; 0 when built, 2 (and why, on stderr) when not."""
    p = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        tag = build_kafka_image(DockerEngine(args.host), args.tag)
    except (FileNotFoundError, DockerCommandError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return FAILED
    print(f"built {tag} into {args.host}")
    return 0
