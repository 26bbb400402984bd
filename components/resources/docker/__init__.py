"""The Docker runtime: green as a single-node KRaft container and MM2 as a Connect container.

`containers` describes them as plain data (no Pulumi import); `resources` turns them into
`pulumi_docker` resources under components.
"""

from kafka_migration.planning.docker_containers import DockerGreenSpec, docker_green_spec

__all__ = ["DockerGreenSpec", "docker_green_spec"]
