"""The Docker runtime secured, on a real engine: a SASL_SSL green in a container, MM2 in another, no password in sight.

Blue is a secure local cluster (SASL_SSL, its own CA, ACLs enforced, the README's grants for
the stack's identities). Green is `runtime: docker` with `security.protocol: SASL_SSL`: the
broker container runs CLIENT SASL_SSL/SCRAM-SHA-512, INTERNAL and CONTROLLER SSL with client
certificates, the node's certificate its only super user, made (with the CA) on this
machine; the stack sets green's SCRAM users over INTERNAL. The Connect container reaches
both clusters over SASL_SSL as MM2's identities and wants a user on its REST API.

One one-way walk through every step (`pulumi up` each): blue's records cross, billing's
committed offsets are handed over and it reads on from there with nothing lost, a client
without ACLs is refused on green, an unauthenticated REST call gets 401, the secret uploads
are the worker's user's and 0600. Every password set with `pulumi config set --secret` is
looked for in `pulumi stack export`, every file under the project, the state and blue's
folder, `docker inspect` and `docker logs` of each container, the Connect REST API's
answers and every process command line seen during the walk.
"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import Strategy
from kafka_migration.local_runtime import kafka
from kafka_migration.local_runtime.docker_engine import DockerEngine
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.phases import Step, steps
from kafka_migration.rehearsal.identities import with_secrets
from tests.integration.conftest import connect_rest
from tests.integration.estate import stack_config
from tests.integration.test_docker_engine import containers_at, docker_engine  # noqa: F401 - the module's engine
from tests.integration.test_secured_walk import (
    CLIENTS,
    COMMITTED,
    HISTORY,
    PARTITIONS,
    CommandLines,
    add_users,
    committed,
    files_with_passwords,
    history,
    leaks,
    no_password_shown,
    prepare_blue,
    produce,
    refused,
    rest_answers,
    rest_status_without,
    sasl,
    secure_both_sides,
    secured_blue,  # noqa: F401 - blue, SASL_SSL with ACLs
    stack_export,
    values,
    wind_down,
)

pytestmark = pytest.mark.integration

GATE_WAIT_S = 120
APPS_ON_GREEN = ("orders-service", "billing", "intruder")
SECRET_FILE_MODE = "-rw-r-----"
"""Secret uploads: root's, readable by group 0, which the containers' process has (`SECRET_READERS`)."""


def secured_config(
    blue: kafka.KafkaNode, passwords: dict[str, str], engine: DockerEngine, project: Path, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stack's config (green SASL_SSL on the engine, blue the secure local cluster) and its secrets."""
    assert blue.tls is not None
    config = stack_config(blue, tmp_path / "routing", "one-way")
    broker, controller, internal = free_ports(3)
    config["green"] = {
        "alias": "B",
        "runtime": "docker",
        "docker": {"host": engine.host, "brokerPort": broker, "controllerPort": controller, "internalPort": internal},
    }
    config.update(topics={"include": ["orders"]}, consumerGroups=["billing"], clients=CLIENTS)
    green_ca = project / ".local-clusters" / "ca" / "ca.pem"
    return config, secure_both_sides(config, blue.tls.ca_file, green_ca, passwords)


def plain_write_error(conf: dict[str, Any]) -> str:
    """The delivery error of one record written to orders without idempotence (which asks a cluster grant first)."""
    producer = Producer({**conf, "enable.idempotence": False, "message.timeout.ms": 15000})
    errors: list[Any] = []
    producer.produce("orders", b"no grant", partition=0, on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(30)
    assert errors and errors[0] is not None, "a write without a grant was accepted"
    return str(errors[0])


def diagnosis(engine: DockerEngine) -> str:
    """Each container's health-check log and the tail of its output (a failed `up` shows why)."""
    out = []
    for name in engine.names("container"):
        health = engine.docker("inspect", "--format", "{{json .State.Health}}", name)
        logs = subprocess.run(
            ["docker", "-H", engine.host, "logs", "--tail", "40", name], capture_output=True, text=True
        )
        out.append(f"--- {name}: health {health}\n{logs.stdout}{logs.stderr}")
    return "\n".join(out)


def container_views(engine: DockerEngine, names: list[str]) -> dict[str, str]:
    """`docker inspect` and `docker logs` of each container, as text."""
    views = {}
    for name in names:
        views[f"inspect {name}"] = engine.docker("inspect", name)
        logs = subprocess.run(
            ["docker", "-H", engine.host, "logs", name], capture_output=True, text=True, timeout=60, check=True
        )
        views[f"logs {name}"] = logs.stdout + logs.stderr
    return views


def test_a_sasl_ssl_green_on_docker_migrates_one_way_with_acls_enforced_and_no_password_shows(
    docker_engine: DockerEngine,  # noqa: F811
    secured_blue: tuple[kafka.KafkaNode, dict[str, str]],  # noqa: F811
    project_copy: Path,
    tmp_path: Path,
) -> None:
    engine = docker_engine
    blue, passwords = secured_blue
    config, secret_paths = secured_config(blue, passwords, engine, project_copy, tmp_path)
    full = with_secrets(config, secret_paths)  # the config as the program sees it, passwords decrypted
    prepare_blue(blue, passwords, config_from_mapping(full))
    green_ca = Path(config["green"]["security"]["caFile"])
    green = f"127.0.0.1:{config['green']['docker']['brokerPort']}"
    on_green = {u: sasl(green, green_ca, u, passwords[u]) for u in ("green-admin", "green-mm2", *APPS_ON_GREEN)}

    stack = MigrationStack.create(project_copy, tmp_path / "state", "dsecured", config, secrets=secret_paths)
    prefix = f"kafkamig-{stack.stack.name}-b"
    order = steps(Strategy.ONE_WAY, 1, 1)
    engine_output: list[str] = []
    views: dict[str, str] = {}
    commands = CommandLines()
    commands.start()
    started = time.monotonic()

    def up(step: Step) -> None:
        stack.goto(step.phase.value, step.producer_waves, step.consumer_waves)
        try:
            stack.up_when_gates_pass(GATE_WAIT_S, on_output=engine_output.append)
        except Exception:
            print(diagnosis(engine))
            raise
        assert stack.outputs()["step"] == step.as_output()
        containers_at(engine, step, prefix)

    try:
        up(order[0])
        up(order[1])  # green-provisioned: the broker container, its certificate and SCRAM users
        assert green_ca.exists()
        green_admin = AdminClient(on_green["green-admin"])
        add_users(green_admin, passwords, APPS_ON_GREEN)  # the applications' identities: the platform team's
        # Green enforces: nobody anonymous, no wrong password.
        refused(lambda: AdminClient({"bootstrap.servers": green, "log_level": 0}).list_topics(timeout=5))
        refused(lambda: AdminClient({**on_green["billing"], "sasl.password": "wrong"}).list_topics(timeout=5))

        up(order[2])  # replicating: the Connect container, MM2 over SASL_SSL on both sides
        expected = sorted(v for _, v in history())
        deadline = time.monotonic() + 120
        while sorted(values(on_green["green-admin"])) != expected:
            assert time.monotonic() < deadline, "MM2 did not copy blue's history to green"
            time.sleep(2)
        rest = connect_rest(full, project_copy / ".local-clusters")
        assert rest.credentials_file is not None and rest.credentials_file.is_file()
        assert rest_status_without(rest, None) == 401
        assert rest_status_without(rest, "Basic " + base64.b64encode(b"kafkamig:guess").decode()) == 401
        assert leaks(passwords, rest_answers(rest)) == []
        # The secret uploads: root's, 0640 (`ls -ln` inside the container); the worker reads them through group 0.
        listing = engine.docker(
            "exec",
            f"{prefix}-connect",
            "ls",
            "-ln",
            "/var/lib/kafka-connect/secrets/mm2-secrets.properties",
            "/var/lib/kafka-connect/rest-auth/rest-credentials.properties",
        )
        assert [line.split()[:4] for line in listing.splitlines()] == [[SECRET_FILE_MODE, "1", "0", "0"]] * 2
        broker_listing = engine.docker("exec", f"{prefix}-broker", "ls", "-ln", "/etc/kafkamig/broker/tls")
        assert any(SECRET_FILE_MODE in line and "node-keystore.pem" in line for line in broker_listing.splitlines())

        up(order[3])  # consumers-switched: billing's offsets handed over
        assert committed(on_green["billing"], "billing") == dict.fromkeys(range(PARTITIONS), COMMITTED)
        after_commit = values(on_green["billing"], dict.fromkeys(range(PARTITIONS), COMMITTED), group="billing")
        assert len(after_commit) == PARTITIONS * (HISTORY - COMMITTED)  # nothing lost, nothing read twice

        up(order[4])  # producers-switched
        produce(on_green["orders-service"], [(0, "written on green")])
        # A client without the grant is refused on green, authenticated or not.
        assert "AUTHORIZATION_FAILED" in refused(lambda: produce(on_green["intruder"], [(0, "intruder")]))
        assert "TOPIC_AUTHORIZATION_FAILED" in plain_write_error(on_green["intruder"])
        assert "AUTHORIZATION_FAILED" in refused(lambda: produce(on_green["billing"], [(0, "billing writes")]))

        up(order[5])  # verified: the last step with the Connect container
        views.update(container_views(engine, [f"{prefix}-broker", f"{prefix}-connect"]))
        for step in order[6:]:
            up(step)
        assert not rest.credentials_file.exists(), "the REST credentials outlived the worker"
        views.update(container_views(engine, [f"{prefix}-broker"]))
        walk_s = time.monotonic() - started

        no_password_shown(passwords, commands.stop(), engine_output, stack_export(project_copy, tmp_path, "dsecured"))
        assert {name: leaks(passwords, text) for name, text in views.items() if leaks(passwords, text)} == {}
        roots = [project_copy, tmp_path / "state", blue.data_dir]
        assert files_with_passwords(roots, passwords, set()) == {}
        print(f"[docker secured walk] {len(order)} steps in {walk_s:.0f}s")
    finally:
        wind_down(stack, commands, project_copy)
    assert engine.leftovers() == {"containers": [], "volumes": [], "networks": []}
