"""The Docker runtime: the containers' specs (pure), then the Pulumi components with mocks at every step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from kafka_migration.config.model import MigrationConfig, Phase
from kafka_migration.planning.cluster_inventory import ClusterInventory, TopicInfo
from kafka_migration.planning.desired import plan_migration
from kafka_migration.planning.docker_containers import (
    BROKER_TLS_DIR,
    CONNECT_MAIN,
    DATA_DIR,
    IMAGE_JMX_AGENT,
    MM2_SECRETS,
    NODE_KEYSTORE,
    REST_CREDENTIALS,
    SECRET_NAMES,
    DockerGreenTls,
    docker_green_spec,
    stable_cluster_id,
)
from kafka_migration.planning.local_processes import REST_AUTH_EXTENSION, mm2_endpoints, secrets_properties
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
            r"runs green on its own loopback only; set green\.bootstrapServers.*ssh -L 9092:127\.0\.0\.1:9092",
        ),
        ({"brokers": 3}, "runs one broker, got green.brokers=3; set brokers: 1"),
        ({"docker": None, "bootstrapServers": "127.0.0.1:29092"}, r"write `docker: \{\}` for the defaults"),
    ],
)
def test_what_the_docker_runtime_cannot_run_is_refused_with_the_fix(green: dict[str, Any], message: str) -> None:
    cfg = docker_config(**green)
    with pytest.raises(ValueError, match=message):
        docker_green_spec(cfg, plan_at(cfg, Step(Phase.GREEN_PROVISIONED)))


# --- The Pulumi components (mocks) ---------------------------------------------------------------------------


REST_PASSWORD_OUTPUT = "rest-password-made-by-the-provider"
CA_PEM = "-----BEGIN CERTIFICATE-----\nCA\n"
KEYSTORE_PEM = "-----BEGIN PRIVATE KEY-----\nKEY\n"
DYNAMIC_OUTPUTS = {
    "pulumi-python:dynamic/kafkamig:NodeCertificate": {
        "ca_pem": CA_PEM,
        "keystore_pem": KEYSTORE_PEM,
        "chain_sha256": "c0",
    },
    "pulumi-python:dynamic/kafkamig:RestCredentials": {"password": REST_PASSWORD_OUTPUT},
}


class DockerMocks(pulumi.runtime.Mocks):
    """Resources echo their inputs (plus the image id a RemoteImage reports and what dynamic providers make)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{args.inputs['name']}"
        state.update(DYNAMIC_OUTPUTS.get(args.typ, {}))
        if args.typ == "pulumi-python:dynamic/kafkamig:ScramUsers":
            state["present"] = sorted(args.inputs["users"])
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def register_docker(cfg: MigrationConfig, step: Step) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """`parentType$type::name` -> inputs of every resource at `step`, and the runtime's outputs."""
    from kafka_migration.resources.docker.resources import build_docker_green, build_docker_mm2

    monitor = pulumi.runtime.mocks.MockMonitor(DockerMocks())
    pulumi.runtime.set_mocks(
        DockerMocks(), project="kafka-migration", stack="rehearsal", preview=False, monitor=monitor
    )
    outputs: dict[str, Any] = {}

    class Root(pulumi.ComponentResource):
        def __init__(self) -> None:
            super().__init__("kafkamig:index:Migration", "migration", {}, None)
            runtime = build_docker_green("migration", cfg, plan_at(cfg, step), self)
            mm2 = build_docker_mm2("migration", cfg, runtime, self)
            worker = mm2.worker
            self.outputs = pulumi.Output.all(
                bootstrap=runtime.bootstrap_servers,
                connect_url=mm2.connect_url,
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
REST_CREDENTIALS_URN = (
    "kafkamig:index:DockerMirrorMaker2$pulumi-python:dynamic/kafkamig:RestCredentials::migration-mm2-rest-credentials"
)
SECURE_GREEN = {
    "kafkamig:index:DockerGreen$pulumi-python:dynamic/kafkamig:NodeCertificate::migration-green-certificate",
    "kafkamig:index:DockerGreen$pulumi-python:dynamic/kafkamig:ScramUsers::migration-green-scram-users",
}


def test_green_keeps_its_urns_at_every_step_and_the_worker_exists_while_mm2_runs() -> None:
    cfg = docker_config()
    broker_inputs = []
    for step in config_steps(cfg)[1:]:
        registered, _ = register_docker(cfg, step)
        urns = set(registered) - {"pulumi:pulumi:Stack$kafkamig:index:Migration::migration"}
        expected = STABLE | ({WORKER, REST_CREDENTIALS_URN} if plan_at(cfg, step).mm2_running else set())
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
    assert "groupAdds" not in broker  # a PLAINTEXT broker has no secret to read


def test_worker_reads_blues_password_from_a_secret_upload() -> None:
    registered, outputs = register_docker(docker_config(), Step(Phase.BIDIRECTIONAL))
    worker = registered[WORKER]
    assert worker["networkMode"] == "host"
    assert worker["command"][2].endswith(f"{CONNECT_MAIN} /var/lib/kafka-connect/connect-distributed.properties")
    # One secret upload makes the whole `uploads` input a secret (the config files hold no password anyway).
    assert worker["uploads"][rpc._special_sig_key] == rpc._special_secret_sig
    *configs, secrets, rest = worker["uploads"]["value"]
    assert all(BLUE_PASSWORD not in config["content"] for config in configs)
    assert all("owner" not in config for config in configs)
    assert secrets["file"] == outputs["secrets_file"] == "/var/lib/kafka-connect/secrets/mm2-secrets.properties"
    assert secrets["content"] == secrets_properties({"A.password": BLUE_PASSWORD})
    assert load_properties(secrets["content"]) == {"A.password": BLUE_PASSWORD}
    # Root's, readable by group 0 besides, which the worker's process (the image's user) has as a supplementary group.
    for upload in (secrets, rest):
        assert upload["permissions"] == "0640" and "owner" not in upload and "group" not in upload
    assert worker["groupAdds"] == ["0"]
    assert rest["file"] == "/var/lib/kafka-connect/rest-auth/rest-credentials.properties"
    assert rest["content"] == f"kafkamig={REST_PASSWORD_OUTPUT}\n"  # what the basic-auth login module reads
    assert outputs["uploads_secret"] is True
    assert outputs["connect_url"] == "http://127.0.0.1:28083"


def test_green_cannot_be_built_before_green_provisioned() -> None:
    from kafka_migration.resources.docker.resources import build_docker_green

    cfg = docker_config()
    with pytest.raises(ValueError, match="green is not provisioned at blue-only"):
        build_docker_green("migration", cfg, plan_at(cfg, Step(Phase.BLUE_ONLY)), None)  # type: ignore[arg-type]


# --- A SASL_SSL green --------------------------------------------------------------------------------------------

GREEN_ADMIN_PASSWORD = "green-admin-pw-7f1e"
GREEN_MM2_PASSWORD = "green-mm2-pw-c4b2"
PASSWORDS = (BLUE_PASSWORD, GREEN_ADMIN_PASSWORD, GREEN_MM2_PASSWORD)
GREEN_CA = "/srv/project/.local-clusters/ca/ca.pem"
BLUE_CA = "/srv/blue-ca/ca.pem"
NODE = "User:CN=kafkamig-node-B"


def secure_config(blue_ca: str = BLUE_CA, **docker: Any) -> MigrationConfig:
    """Blue SASL_SSL with its own CA, green a SASL_SSL Docker cluster with an admin identity and MM2's own."""
    blue = {
        "alias": "A",
        "runtime": "external",
        "bootstrapServers": "127.0.0.1:19092",
        "security": {
            "protocol": "SASL_SSL",
            "saslMechanism": "SCRAM-SHA-512",
            "username": "blue-mm2",
            "password": BLUE_PASSWORD,
            "caFile": blue_ca,
        },
    }
    green = {
        "alias": "B",
        "runtime": "docker",
        "docker": {"brokerPort": 29092, "controllerPort": 29093, "internalPort": 29094, **docker},
        "security": {
            "protocol": "SASL_SSL",
            "saslMechanism": "SCRAM-SHA-512",
            "username": "green-admin",
            "password": GREEN_ADMIN_PASSWORD,
            "caFile": GREEN_CA,
            "mm2": {"username": "green-mm2", "password": GREEN_MM2_PASSWORD},
        },
    }
    return make_config(
        strategy="one-way", blue=blue, green=green, mm2={"internalTopicReplicationFactor": 1, "connectRestPort": 28083}
    )


def test_a_sasl_ssl_broker_runs_the_local_runtimes_secure_listeners_with_no_anonymous_super_user(tmp_path) -> None:
    cfg = secure_config()
    spec = docker_green_spec(cfg, plan_at(cfg, Step(Phase.GREEN_PROVISIONED)), data_root=tmp_path)
    props = server_properties(spec)
    assert props["listeners"] == ("CLIENT://127.0.0.1:29092,INTERNAL://127.0.0.1:29094,CONTROLLER://127.0.0.1:29093")
    assert props["advertised.listeners"] == "CLIENT://127.0.0.1:29092,INTERNAL://127.0.0.1:29094"
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL"
    assert props["inter.broker.listener.name"] == "INTERNAL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.internal.ssl.client.auth"] == "required"
    assert props["listener.name.controller.ssl.client.auth"] == "required"
    # The node's certificate is the only super user; nobody is let in where no ACL says so.
    assert props["super.users"] == NODE
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert "ANONYMOUS" not in "".join(spec.broker.uploads.values())
    assert props["ssl.keystore.location"] == f"{BROKER_TLS_DIR}/node-keystore.pem"
    assert props["ssl.truststore.location"] == f"{BROKER_TLS_DIR}/ca.pem"
    assert props["log.dirs"] == DATA_DIR
    # The CA goes in as a public file, the keystore (the node's key) as a secret upload.
    assert spec.broker.host_files == {f"{BROKER_TLS_DIR}/ca.pem": GREEN_CA}
    assert spec.broker.secret_uploads == {f"{BROKER_TLS_DIR}/node-keystore.pem": NODE_KEYSTORE}
    # Docker's health check asks INTERNAL as the node itself: a certificate, no password.
    assert spec.broker.healthcheck[-4:] == (
        "--bootstrap-server",
        "127.0.0.1:29094",
        "--command-config",
        "/etc/kafkamig/broker/operator.properties",
    )
    operator = load_properties(spec.broker.uploads["/etc/kafkamig/broker/operator.properties"])
    assert operator == {
        "security.protocol": "SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": f"{BROKER_TLS_DIR}/node-keystore.pem",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{BROKER_TLS_DIR}/ca.pem",
    }
    assert spec.tls == DockerGreenTls(
        ca_file=GREEN_CA,
        folder=(tmp_path / "B" / "tls").as_posix(),
        common_name="kafkamig-node-B",
        internal_bootstrap="127.0.0.1:29094",
    )


def test_the_secured_worker_reaches_green_as_mm2_over_sasl_ssl_and_its_rest_api_wants_a_user(tmp_path) -> None:
    cfg = secure_config()
    spec = docker_green_spec(cfg, plan_at(cfg, Step(Phase.REPLICATING)), data_root=tmp_path)
    assert spec.connect is not None
    props = load_properties(spec.connect.uploads["/var/lib/kafka-connect/connect-distributed.properties"])
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[f"{prefix}security.protocol"] == "SASL_SSL"
        assert props[f"{prefix}sasl.mechanism"] == "SCRAM-SHA-512"
        assert props[f"{prefix}ssl.truststore.location"] == GREEN_CA
        jaas = props[f"{prefix}sasl.jaas.config"]
        assert 'username="green-mm2"' in jaas
        assert "${file:/var/lib/kafka-connect/secrets/mm2-secrets.properties:B.password}" in jaas
    assert props["rest.extension.classes"] == REST_AUTH_EXTENSION
    assert props["listeners"] == "http://127.0.0.1:28083"
    # Every CA file a client is given, at the path it has on this machine.
    assert spec.connect.host_files == {BLUE_CA: BLUE_CA, GREEN_CA: GREEN_CA}
    jaas_file = "/var/lib/kafka-connect/rest-auth/rest-jaas.conf"
    assert "rest-credentials.properties" in spec.connect.uploads[jaas_file]
    assert f"-Djava.security.auth.login.config={jaas_file}" in spec.connect.command[2]
    assert spec.connect.secret_uploads == {
        "/var/lib/kafka-connect/secrets/mm2-secrets.properties": MM2_SECRETS,
        "/var/lib/kafka-connect/rest-auth/rest-credentials.properties": REST_CREDENTIALS,
    }
    # Outside what connectors may read through `${file:...}`.
    assert not spec.connect.secret_uploads.keys() - {spec.secrets_file} <= {
        props["config.providers.file.param.allowed.paths"]
    }
    # Healthy when the REST API refuses a caller without a user and the worker has joined its group.
    check = spec.connect.healthcheck[-1]
    assert "grep -q ' 401 '" in check and "completed_rebalances" in check
    assert "connect-worker-rebalance-metrics" in spec.connect.uploads["/var/lib/kafka-connect/jmx-exporter.yaml"]
    assert spec.secret_keys == {"A.password": "A", "B.password": "B"}
    # This machine's copy of the REST credentials: where the stack, the gates and `status` read them.
    assert (
        spec.rest_credentials_file == (tmp_path / "connect-migration/rest-auth/rest-credentials.properties").as_posix()
    )
    assert mm2_endpoints(cfg, tmp_path).rest_credentials_file == Path(spec.rest_credentials_file)


@pytest.mark.parametrize("secured", [False, True], ids=["plaintext", "sasl_ssl"])
def test_no_password_in_any_plain_upload_command_env_or_health_check(secured: bool, tmp_path) -> None:
    cfg = secure_config() if secured else docker_config()
    for step in config_steps(cfg)[1:]:
        spec = docker_green_spec(cfg, plan_at(cfg, step), data_root=tmp_path)
        for container in (spec.broker, spec.connect):
            if container is None:
                continue
            seen = "\n".join(
                [*container.uploads, *container.uploads.values(), *container.command, *container.healthcheck]
                + [f"{k}={v}" for k, v in container.env.items()]
                + [*container.host_files, *container.host_files.values()]
            )
            assert [p for p in PASSWORDS if p in seen] == [], (step.describe(), container.name)
            assert set(container.secret_uploads.values()) <= set(SECRET_NAMES)


def test_the_broker_container_gets_its_keystore_as_a_0600_secret_upload_and_the_stack_sets_its_users(tmp_path) -> None:
    blue_ca = tmp_path / "blue-ca.pem"
    blue_ca.write_text("blue's CA\n")
    registered, outputs = register_docker(secure_config(blue_ca.as_posix()), Step(Phase.REPLICATING))
    assert set(registered) >= SECURE_GREEN
    broker = registered["kafkamig:index:DockerGreen$docker:index/container:Container::migration-green-broker"]
    assert broker["uploads"][rpc._special_sig_key] == rpc._special_secret_sig
    uploads = {u["file"]: u for u in broker["uploads"]["value"]}
    keystore = uploads[f"{BROKER_TLS_DIR}/node-keystore.pem"]
    assert keystore["content"] == KEYSTORE_PEM
    assert keystore["permissions"] == "0640" and broker["groupAdds"] == ["0"]
    assert uploads[f"{BROKER_TLS_DIR}/ca.pem"]["content"] == CA_PEM
    assert all(p not in str(broker) for p in PASSWORDS)
    users = registered[
        "kafkamig:index:DockerGreen$pulumi-python:dynamic/kafkamig:ScramUsers::migration-green-scram-users"
    ]
    assert users["users"][rpc._special_sig_key] == rpc._special_secret_sig
    assert users["users"]["value"] == {"green-admin": GREEN_ADMIN_PASSWORD, "green-mm2": GREEN_MM2_PASSWORD}
    assert (users["admin_user"], users["bootstrap"]) == ("green-admin", "127.0.0.1:29094")
    certificate = registered[
        "kafkamig:index:DockerGreen$pulumi-python:dynamic/kafkamig:NodeCertificate::migration-green-certificate"
    ]
    assert (certificate["ca_file"], certificate["common_name"]) == (GREEN_CA, "kafkamig-node-B")
    # The worker trusts green's CA as the certificate resource read it (made on the way), blue's as read now.
    worker = {u["file"]: u for u in registered[WORKER]["uploads"]["value"]}
    assert worker[GREEN_CA]["content"] == CA_PEM
    assert worker[blue_ca.as_posix()]["content"] == "blue's CA\n"
    assert outputs["bootstrap"] == "127.0.0.1:29092"


@pytest.mark.parametrize(
    ("green", "message"),
    [
        (
            {"security": {"protocol": "SASL_PLAINTEXT", "saslMechanism": "PLAIN", "username": "u", "password": "p"}},
            "the docker runtime runs PLAINTEXT or SASL_SSL clusters; set security.protocol: SASL_SSL",
        ),
        (
            {"security": {"protocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-512", "username": "u", "password": "p"}},
            "a docker SASL_SSL cluster needs security.caFile",
        ),
        ({"docker": {"internalPort": 9092}}, "internalPort and brokerPort are both 9092"),
        ({"docker": {"controllerPort": 9094}}, "internalPort and controllerPort are both 9094"),
    ],
)
def test_what_a_docker_green_cannot_be_is_refused_by_the_config(green: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        docker_config(**green)


def test_a_sasl_ssl_green_is_reached_at_the_names_its_certificate_holds() -> None:
    cfg = secure_config(host="ssh://ops@docker-1")
    cfg = cfg.model_copy(update={"green": cfg.green.model_copy(update={"bootstrap_servers": "docker-1.example:29092"})})
    with pytest.raises(ValueError, match=re.escape("certificate names 127.0.0.1 and localhost only")):
        docker_green_spec(cfg, plan_at(cfg, Step(Phase.GREEN_PROVISIONED)))
