"""The Docker runtime: the containers' specs (pure), then the Pulumi components with mocks at every step."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import plan_migration
from kafka_migration.planning.docker_containers import (
    CONNECT_MAIN,
    DATA_DIR,
    IMAGE_JMX_AGENT,
    docker_green_spec,
    stable_cluster_id,
)
from kafka_migration.planning.local_processes import secrets_properties
from kafka_migration.planning.phases import Step, config_steps
from tests.unit.builders import make_config
from tests.unit.java_readers import load_properties

BLUE_PASSWORD = "blue-pw-0d3a"
BLUE = ClusterInventory("blue-id", 1, {"orders": TopicInfo("orders", 3, 1), "payments": TopicInfo("payments", 1, 1)})


def docker_config(strategy: str = "bidirectional", blue_sasl: bool = True, **green: Any) -> MigrationConfig:
    blue: dict[str, Any] = {"alias": "A", "runtime": "external", "bootstrapServers": "127.0.0.1:19092"}
    if blue_sasl:
        blue["security"] = {
            "protocol": "SASL_PLAINTEXT",
            "saslMechanism": "SCRAM-SHA-512",
            "username": "mm2",
            "password": BLUE_PASSWORD,
        }
    return make_config(
        strategy=strategy,
        blue=blue,
        green={"alias": "B", "runtime": "docker", "docker": {"brokerPort": 29092}, **green},
        mm2={"internalTopicReplicationFactor": 1, "connectRestPort": 28083},
    )


def plan_at(cfg: MigrationConfig, step: Step):
    return plan_migration(cfg, step, BLUE, cfg.green.brokers)


# --- The containers, as data ---------------------------------------------------------------------------------


def server_properties(spec) -> dict[str, str]:
    return load_properties(spec.broker.uploads["/etc/kafkamig/broker/server.properties"])


def test_broker_is_one_kraft_node_in_combined_mode_with_its_data_on_the_volume() -> None:
    spec = docker_green_spec(docker_config(), plan_at(docker_config(), Step(Phase.GREEN_PROVISIONED)))
    broker = spec.broker
    props = server_properties(spec)
    assert broker.name == "kafkamig-b-broker"
    assert broker.image == "kafkamig/kafka:4.1.2"
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == DATA_DIR
    assert props["auto.create.topics.enable"] == "false"
    assert props["super.users"] == "User:ANONYMOUS"
    shell, flag, script = broker.command
    assert (shell, flag) == ("/bin/sh", "-c")
    # Formatted once with the stack's own cluster id (a formatted volume is kept), then the broker replaces the shell.
    formatting, start = script.split(" && ")
    cluster_id = stable_cluster_id("kafkamig-b")
    assert f"kafka.tools.StorageTool format --ignore-formatted -t {cluster_id} -c" in formatting
    assert start.startswith("exec java ") and start.endswith("kafka.Kafka /etc/kafkamig/broker/server.properties")
    assert broker.volumes == {"kafkamig-b-data": DATA_DIR}
    assert broker.healthcheck[-2:] == ("--bootstrap-server", "127.0.0.1:29092")
    assert spec.bootstrap_servers == "127.0.0.1:29092"


def test_connect_worker_runs_mm2_on_the_host_network_only_while_mm2_runs() -> None:
    cfg = docker_config()
    running = {s.describe(): docker_green_spec(cfg, plan_at(cfg, s)).connect is not None for s in config_steps(cfg)[1:]}
    assert running == {s.describe(): plan_at(cfg, s).mm2_running for s in config_steps(cfg)[1:]}
    assert list(running.values()) == [False] + [True] * 8 + [False] * 2
    spec = docker_green_spec(cfg, plan_at(cfg, Step(Phase.REPLICATING)))
    assert spec.connect is not None
    script = spec.connect.command[2]
    assert f"-javaagent:{IMAGE_JMX_AGENT}=127.0.0.1:9404:/var/lib/kafka-connect/jmx-exporter.yaml" in script
    assert script.endswith(f"{CONNECT_MAIN} /var/lib/kafka-connect/connect-distributed.properties")
    text = spec.connect.uploads["/var/lib/kafka-connect/connect-distributed.properties"]
    props = load_properties(text)
    assert props["bootstrap.servers"] == "127.0.0.1:29092"
    assert props["listeners"] == "http://127.0.0.1:28083"
    assert props["config.providers"] == "file"
    assert props["config.storage.topic"] == "mm2-configs.migration.internal"
    assert BLUE_PASSWORD not in "".join(spec.connect.uploads.values())
    assert spec.connect_url == "http://127.0.0.1:28083"
    assert spec.metrics_url == "http://127.0.0.1:9404/metrics"
    assert spec.secrets_file == "/var/lib/kafka-connect/secrets/mm2-secrets.properties"
    assert spec.secret_keys == {"A.password": "A"}


def test_the_worker_reads_files_of_its_secrets_folder_only_and_allows_the_overrides_mm2_needs() -> None:
    cfg = docker_config()
    spec = docker_green_spec(cfg, plan_at(cfg, Step(Phase.REPLICATING)))
    assert spec.connect is not None
    props = load_properties(spec.connect.uploads["/var/lib/kafka-connect/connect-distributed.properties"])
    assert props["config.providers.file.class"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    assert props["config.providers.file.param.allowed.paths"] == "/var/lib/kafka-connect/secrets"
    assert spec.secrets_file.rpartition("/")[0] == props["config.providers.file.param.allowed.paths"]
    assert props["connector.client.config.override.policy"] == "All"


@pytest.mark.parametrize(
    "green",
    [
        {},
        {"docker": {"host": "tcp://docker-1.example:2376", "brokerPort": 29092}, "bootstrapServers": "127.0.0.1:29092"},
        {"docker": {"host": "ssh://ops@docker-1", "brokerPort": 29092}, "bootstrapServers": "docker-1.example:29092"},
    ],
)
def test_nothing_listens_beyond_the_docker_hosts_loopback(green: dict[str, Any]) -> None:
    """Green is PLAINTEXT with ANONYMOUS a super user: on a local or a remote engine it listens on loopback only."""
    cfg = docker_config(**green)
    spec = docker_green_spec(cfg, plan_at(cfg, Step(Phase.REPLICATING)))
    props = server_properties(spec)
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:9093"
    assert props["super.users"] == "User:ANONYMOUS"
    assert spec.connect is not None
    worker = load_properties(spec.connect.uploads["/var/lib/kafka-connect/connect-distributed.properties"])
    assert (worker["listeners"], worker["rest.advertised.host.name"]) == ("http://127.0.0.1:28083", "127.0.0.1")
    assert "=127.0.0.1:9404:" in spec.connect.command[2]  # the metrics exporter
    assert spec.connect_url == "http://127.0.0.1:28083"
    if green:
        assert props["advertised.listeners"] == f"PLAINTEXT://{green['bootstrapServers']}"


@pytest.mark.parametrize(
    ("green", "message"),
    [
        (
            {"docker": {"host": "ssh://ops@docker-1"}},
            r"runs green on its own loopback only .*set green\.bootstrapServers.*ssh -L 9092:127\.0\.0\.1:9092",
        ),
        ({"brokers": 3}, "runs one broker, got green.brokers=3; set brokers: 1"),
        (
            {"security": {"protocol": "SASL_PLAINTEXT", "saslMechanism": "PLAIN", "username": "u", "password": "p"}},
            "set green.security.protocol: PLAINTEXT, or use runtime kubernetes",
        ),
        ({"docker": None, "bootstrapServers": "127.0.0.1:29092"}, r"write `docker: \{\}` for the defaults"),
    ],
)
def test_what_the_docker_runtime_cannot_run_is_refused_with_the_fix(green: dict[str, Any], message: str) -> None:
    cfg = docker_config(**green)
    with pytest.raises(ValueError, match=message):
        docker_green_spec(cfg, plan_at(cfg, Step(Phase.GREEN_PROVISIONED)))


# --- The Pulumi components (mocks) ---------------------------------------------------------------------------


class DockerMocks(pulumi.runtime.Mocks):
    """Resources echo their inputs (plus the image id a RemoteImage reports)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{args.inputs['name']}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def register_docker(cfg: MigrationConfig, step: Step) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """`parentType$type::name` -> inputs of every resource at `step`, and the runtime's outputs."""
    from kafka_migration.resources.docker.resources import build_docker_green

    monitor = pulumi.runtime.mocks.MockMonitor(DockerMocks())
    pulumi.runtime.set_mocks(
        DockerMocks(), project="kafka-migration", stack="rehearsal", preview=False, monitor=monitor
    )
    outputs: dict[str, Any] = {}

    class Root(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("kafkamig:index:Migration", "migration", {}, None)
            runtime = build_docker_green("migration", cfg, plan_at(cfg, step), self)
            worker = runtime.mm2.worker
            self.outputs = pulumi.Output.all(
                bootstrap=runtime.bootstrap_servers,
                connect_url=runtime.connect_url,
                secrets_file=runtime.secrets_file,
                uploads_secret=worker.uploads.is_secret() if worker else None,
            )
            self.register_outputs({})

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return Root().outputs.apply(outputs.update)

    program()
    return {urn.split("::", 2)[2]: r.state for urn, r in monitor.resources.items()}, outputs


STABLE = {
    "kafkamig:index:Migration$pulumi:providers:docker::migration-docker",
    "kafkamig:index:Migration$kafkamig:index:DockerGreen::migration-green",
    "kafkamig:index:Migration$kafkamig:index:DockerMirrorMaker2::migration-mm2",
    "kafkamig:index:DockerGreen$docker:index/remoteImage:RemoteImage::migration-green-image",
    "kafkamig:index:DockerGreen$docker:index/volume:Volume::migration-green-data",
    "kafkamig:index:DockerGreen$docker:index/container:Container::migration-green-broker",
}
WORKER = "kafkamig:index:DockerMirrorMaker2$docker:index/container:Container::migration-mm2-connect"


def test_green_keeps_its_urns_at_every_step_and_the_worker_exists_while_mm2_runs() -> None:
    cfg = docker_config()
    broker_inputs = []
    for step in config_steps(cfg)[1:]:
        registered, _ = register_docker(cfg, step)
        urns = set(registered) - {"pulumi:pulumi:Stack$kafkamig:index:Migration::migration"}
        expected = STABLE | ({WORKER} if plan_at(cfg, step).mm2_running else set())
        assert urns == expected, step.describe()
        broker_inputs.append(
            registered["kafkamig:index:DockerGreen$docker:index/container:Container::migration-green-broker"]
        )
    assert all(b == broker_inputs[0] for b in broker_inputs)


def test_broker_container_gets_the_image_volume_and_the_hosts_network() -> None:
    registered, outputs = register_docker(docker_config(), Step(Phase.GREEN_PROVISIONED))
    broker = registered["kafkamig:index:DockerGreen$docker:index/container:Container::migration-green-broker"]
    assert broker["name"] == "kafkamig-rehearsal-b-broker"
    assert broker["image"] == "sha256:kafkamig/kafka:4.1.2"
    assert broker["networkMode"] == "host"
    assert "ports" not in broker and "networksAdvanced" not in broker
    assert broker["volumes"] == [{"volumeName": "kafkamig-rehearsal-b-data", "containerPath": DATA_DIR}]
    uploads = {u["file"]: u["content"] for u in broker["uploads"]}
    assert load_properties(uploads["/etc/kafkamig/broker/server.properties"])["process.roles"] == "broker,controller"
    assert broker["command"][:2] == ["/bin/sh", "-c"]
    assert broker["wait"] is True
    assert registered["kafkamig:index:DockerGreen$docker:index/volume:Volume::migration-green-data"]["name"] == (
        "kafkamig-rehearsal-b-data"
    )
    assert outputs["bootstrap"] == "127.0.0.1:29092"
    assert outputs["uploads_secret"] is None


def test_worker_reads_blues_password_from_a_secret_upload() -> None:
    registered, outputs = register_docker(docker_config(), Step(Phase.BIDIRECTIONAL))
    worker = registered[WORKER]
    assert worker["networkMode"] == "host"
    assert worker["command"][2].endswith(f"{CONNECT_MAIN} /var/lib/kafka-connect/connect-distributed.properties")
    # One secret upload makes the whole `uploads` input a secret (the config files hold no password anyway).
    assert worker["uploads"][rpc._special_sig_key] == rpc._special_secret_sig
    *configs, secrets = worker["uploads"]["value"]
    assert all(BLUE_PASSWORD not in config["content"] for config in configs)
    assert secrets["file"] == outputs["secrets_file"] == "/var/lib/kafka-connect/secrets/mm2-secrets.properties"
    assert secrets["content"] == secrets_properties({"A.password": BLUE_PASSWORD})
    assert load_properties(secrets["content"]) == {"A.password": BLUE_PASSWORD}
    assert outputs["uploads_secret"] is True
    assert outputs["connect_url"] == "http://127.0.0.1:28083"


def test_green_cannot_be_built_before_green_provisioned() -> None:
    from kafka_migration.resources.docker.resources import build_docker_green

    cfg = docker_config()
    with pytest.raises(ValueError, match="green is not provisioned at blue-only"):
        build_docker_green("migration", cfg, plan_at(cfg, Step(Phase.BLUE_ONLY)), None)  # type: ignore[arg-type]
