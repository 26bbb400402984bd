"""The one-way migration on secured clusters: SASL_SSL everywhere, ACLs enforced, and no password in sight.

Blue and green both run SASL_SSL (SCRAM-SHA-512 over TLS, each with a CA of its own that the
local runtime generated) and enforce ACLs, with no anonymous access and no super user but
the broker's own certificate. Every client authenticates: the stack as each cluster's admin
identity, MM2 as its own identity, the applications as theirs. Blue's admin and MM2 get
exactly what `planning.grants.blue_grants` lists (the README's table), so the walk passing
is what shows that list is enough; green's MM2 grants are the stack's own, literal, and
gone at `mm2-stopped`.

Every password is set with `pulumi config set --secret` and is looked for, as text, in
`pulumi stack export`, every file under the project, the state backend and blue's folder
(brokers' and the worker's logs included), every process command line seen during the walk,
the Connect REST API's answers, the engine's output and a config error's message.
"""

from __future__ import annotations

import base64
import secrets
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from pulumi import automation as auto

from kafka_migration.config.load import config_from_mapping
from kafka_migration.config.model import MigrationConfig
from kafka_migration.evidence.connect_rest import ConnectClient, basic_authorization
from kafka_migration.local_runtime import kafka
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.process import stop_all_under
from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env
from kafka_migration.local_runtime.stack_harness import MigrationStack
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.planning.grants import blue_grants
from kafka_migration.planning.local_processes import KafkaNode, NodeTls
from kafka_migration.rehearsal.identities import with_secrets
from tests.integration.conftest import connect_rest
from tests.integration.estate import stack_config

pytestmark = pytest.mark.integration

USERS_ON_BLUE = ("blue-admin", "blue-mm2", "orders-service", "billing")
USERS_ON_GREEN = ("green-admin", "green-mm2")
APPS_ON_GREEN = ("orders-service", "billing", "intruder")
PARTITIONS = 3
HISTORY = 40
"""Records per partition produced on blue before the migration."""
COMMITTED = 25
"""Offset billing commits on blue, per partition."""
GATE_WAIT_S = 120
LATE_TOPIC = "orders-late"
"""A topic created on blue mid-migration (after `replicating`), selected by `orders(-late)?`."""
LATE_RECORDS = 5
CLIENTS = [
    {"name": "orders-service", "role": "producer", "wave": 1, "topics": ["orders"], "principal": "User:orders-service"},
    {"name": "billing", "role": "consumer", "wave": 1, "topics": ["orders"], "principal": "User:billing"},
]


class CommandLines(threading.Thread):
    """Every process command line seen while the walk runs (JVMs, the engine, its plugins), sampled."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            for proc in psutil.process_iter(["cmdline"]):
                self.seen.add(" ".join(proc.info["cmdline"] or ()))
            time.sleep(0.2)

    def stop(self) -> set[str]:
        self._done.set()
        self.join()
        return self.seen


def sasl(node_or_bootstrap: KafkaNode | str, ca: Path, user: str, password: str, **extra: Any) -> dict[str, Any]:
    bootstrap = node_or_bootstrap if isinstance(node_or_bootstrap, str) else node_or_bootstrap.bootstrap_servers
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
        "ssl.ca.location": str(ca),
        "log_level": 0,
        **extra,
    }


def produce(conf: dict[str, Any], values: list[tuple[int, str]]) -> None:
    producer = Producer({**conf, "enable.idempotence": True, "message.timeout.ms": 15000})
    errors: list[Any] = []
    for partition, value in values:
        producer.produce("orders", value.encode(), partition=partition, on_delivery=lambda e, _m: errors.append(e))
    producer.flush(30)
    failed = [e for e in errors if e is not None]
    if failed:
        raise KafkaException(failed[0])


def values(conf: dict[str, Any], start: dict[int, int] | None = None, group: str | None = None) -> list[str]:
    """The values of `orders` from `start` (default: the beginning) to the end, assigned (nothing committed)."""
    group = group or f"reader-{secrets.token_hex(4)}"
    consumer = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition("orders", p), timeout=10)[1] for p in range(PARTITIONS)
        }
        positions = {p: (start or {}).get(p, 0) for p in range(PARTITIONS)}
        consumer.assign([TopicPartition("orders", p, positions[p]) for p in range(PARTITIONS)])
        out = []
        while any(positions[p] < ends[p] for p in ends):
            message = consumer.poll(10)
            assert message is not None, f"read up to {positions} of {ends}"
            assert message.error() is None, message.error()
            out.append(message.value().decode())
            positions[message.partition()] = message.offset() + 1
        return out
    finally:
        consumer.close()


def committed(conf: dict[str, Any], group: str) -> dict[int, int]:
    consumer = Consumer({**conf, "group.id": group, "enable.auto.commit": False})
    try:
        parts = consumer.committed([TopicPartition("orders", p) for p in range(PARTITIONS)], timeout=10)
        return {tp.partition: tp.offset for tp in parts}
    finally:
        consumer.close()


def described(conf: dict[str, Any], topic: str, timeout_s: float = 30) -> None:
    """Wait until `topic`'s metadata is this client's: a grant just created reaches the broker's authorizer a
    moment after the admin call returns (a write made before then is refused)."""
    admin = AdminClient(conf)
    deadline = time.monotonic() + timeout_s
    while True:
        error = admin.list_topics(topic, timeout=10).topics[topic].error
        if error is None:
            return
        assert time.monotonic() < deadline, f"{topic}: {error}"
        time.sleep(0.5)


def refused(action: Any) -> str:
    """The error a refused client action raises (authentication or authorization)."""
    with pytest.raises(KafkaException) as err:
        action()
    return str(err.value)


def acls_of(admin: AdminClient, principal: str) -> list[Any]:
    pattern = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY, AclPermissionType.ANY
    )
    return list(admin.describe_acls(pattern).result(timeout=30))


def add_users(admin: AdminClient, passwords: dict[str, str], users: tuple[str, ...]) -> None:
    upserts = [
        UserScramCredentialUpsertion(u, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), passwords[u].encode())
        for u in users
    ]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=30)


def leaks(passwords: dict[str, str], text: str) -> list[str]:
    return sorted(user for user, password in passwords.items() if password in text)


def stack_export(project: Path, tmp_path: Path, stack: str) -> str:
    """What `pulumi stack export` prints (the Automation API's export_stack adds --show-secrets); state in tmp_path."""
    return subprocess.run(
        [str(pulumi_bin() / "pulumi"), "stack", "export", "--stack", stack],
        cwd=project,
        env=pulumi_env(tmp_path / "state"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def no_password_shown(passwords: dict[str, str], command_lines: set[str], engine: list[str], exported: str) -> None:
    """No password on a command line, in the engine's output or in plain text in `pulumi stack export`."""
    assert not [c for c in command_lines if leaks(passwords, c)], "a password on a command line"
    assert leaks(passwords, "\n".join(engine)) == []
    assert "ciphertext" in exported  # the passwords are there, encrypted
    assert leaks(passwords, exported) == [], "a password in plain text in `pulumi stack export`"


def files_with_passwords(roots: list[Path], passwords: dict[str, str], allowed: set[Path]) -> dict[str, list[str]]:
    """Every file under `roots` (logs, properties, state, segments) holding a password, but `allowed`."""
    found = {}
    needles = {u: p.encode() for u, p in passwords.items()}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink() or path in allowed:
                continue
            data = path.read_bytes()
            hits = sorted(u for u, n in needles.items() if n in data)
            if hits:
                found[str(path)] = hits
    return found


def rest_answers(rest: ConnectClient) -> str:
    """What the Connect REST API tells its user: connectors with their configs, tasks and status."""
    assert rest.credentials_file is not None
    auth = {"Authorization": basic_authorization(rest.credentials_file)}
    paths = ["/connectors?expand=info&expand=status"]
    for name in rest.list_connectors():
        quoted = urllib.parse.quote(name, safe="")
        paths += [f"/connectors/{quoted}{tail}" for tail in ("", "/config", "/tasks", "/status")]
    answers = []
    for path in paths:
        with urllib.request.urlopen(urllib.request.Request(rest.url + path, headers=auth), timeout=10) as response:
            answers.append(response.read().decode())
    assert len(answers) > 1, "no connector to ask about"
    return "\n".join(answers)


def rest_status_without(rest: ConnectClient, authorization: str | None) -> int:
    """The HTTP status of GET /connectors with this Authorization header (None: without one)."""
    headers = {"Authorization": authorization} if authorization else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{rest.url}/connectors", headers=headers), timeout=10):
            return 200
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture
def secured_blue(toolchain: None, tmp_path: Path) -> Iterator[tuple[KafkaNode, dict[str, str]]]:
    """Blue, SASL_SSL with ACLs, the orders topic with history and billing's committed offsets."""
    passwords = {u: f"pw-{u}-{secrets.token_hex(10)}" for u in (*USERS_ON_BLUE, *USERS_ON_GREEN, "intruder")}
    broker, controller = free_ports(2)
    folder = tmp_path / "kafka-A"
    node = KafkaNode(
        "A", folder, broker, controller, heap_mb=384, tls=NodeTls(tmp_path / "blue-ca" / "ca.pem", folder / "tls")
    )
    kafka.start(node, kafka.new_cluster_id(), users={u: passwords[u] for u in USERS_ON_BLUE})
    try:
        yield node, passwords
    finally:
        kafka.stop(node)


def test_the_one_way_walk_runs_on_sasl_ssl_with_acls_enforced_and_no_password_shows(
    secured_blue: tuple[KafkaNode, dict[str, str]], project_copy: Path, tmp_path: Path
) -> None:
    blue, passwords = secured_blue
    assert blue.tls is not None
    blue_ca = blue.tls.ca_file
    green_ca = project_copy / ".local-clusters" / "ca" / "ca.pem"

    # The stack's config: blue and green secured, each with an admin identity and MM2's own.
    config = stack_config(blue, tmp_path / "routing", "one-way")
    config.update(topics={"include": ["orders(-late)?"]}, consumerGroups=["billing"], clients=CLIENTS)
    secret_paths = secure_both_sides(config, blue_ca, green_ca, passwords)
    model = config_from_mapping(with_secrets(config, secret_paths))

    on_blue = prepare_blue(blue, passwords, model)
    # Blue really enforces: no PLAINTEXT, no wrong password, no write without a grant.
    assert "AUTHORIZATION_FAILED" in refused(lambda: produce(on_blue["billing"], [(0, "not billing's")]))
    refused(lambda: AdminClient({**on_blue["orders-service"], "sasl.password": "wrong"}).list_topics(timeout=5))

    # blue and green as objects in Pulumi.secured.yaml (leaf by leaf), so that a password can be a secret inside them.
    stack = MigrationStack.create(project_copy, tmp_path / "state", "secured", config, secrets=secret_paths)
    engine_output: list[str] = []
    commands = CommandLines()
    commands.start()
    try:
        full = with_secrets(config, secret_paths)  # the config as the program sees it, passwords decrypted
        _walk(stack, blue, blue_ca, green_ca, full, passwords, engine_output, project_copy, tmp_path)
        no_password_shown(passwords, commands.stop(), engine_output, stack_export(project_copy, tmp_path, "secured"))
        assert leaks(passwords, (project_copy / "Pulumi.secured.yaml").read_text()) == []
        # A mistyped key holding a secret: the error names the key, never the value.
        stack.stack.set_config(
            "green.security.mm2.passwrod", auto.ConfigValue(passwords["green-mm2"], secret=True), path=True
        )
        with pytest.raises(auto.CommandError) as err:
            stack.preview()
        assert "passwrod" in str(err.value) and leaks(passwords, str(err.value)) == []
        stack.stack.remove_config("green.security.mm2.passwrod", path=True)
        roots = [project_copy, tmp_path / "state", blue.data_dir]
        assert files_with_passwords(roots, passwords, set()) == {}
    finally:
        wind_down(stack, commands, project_copy)


def secure_both_sides(
    config: dict[str, Any], blue_ca: Path, green_ca: Path, passwords: dict[str, str]
) -> dict[str, str]:
    """Blue and green SASL_SSL in `config`, each with its CA, an admin identity and MM2's own; their passwords'
    config paths -> values (for `pulumi config set --secret`)."""
    for side, ca in (("blue", blue_ca), ("green", green_ca)):
        config[side]["security"] = {
            "protocol": "SASL_SSL",
            "saslMechanism": "SCRAM-SHA-512",
            "username": f"{side}-admin",
            "caFile": str(ca),
            "mm2": {"username": f"{side}-mm2"},
        }
    return {
        "blue.security.password": passwords["blue-admin"],
        "blue.security.mm2.password": passwords["blue-mm2"],
        "green.security.password": passwords["green-admin"],
        "green.security.mm2.password": passwords["green-mm2"],
    }


def wind_down(stack: MigrationStack, commands: CommandLines, project: Path) -> None:
    """Stop sampling command lines, destroy the stack, and leave no process of it behind whatever happened."""
    if commands.is_alive():
        commands.stop()
    try:
        stack.destroy()
    finally:
        stop_all_under(project / ".local-clusters")


def prepare_blue(blue: KafkaNode, passwords: dict[str, str], model: MigrationConfig) -> dict[str, dict[str, Any]]:
    """Blue's orders topic with history, the applications' ACLs, exactly the grants the README lists for the
    stack, and billing's committed offsets. Returns the client configs of `USERS_ON_BLUE` there."""
    assert blue.tls is not None
    operator = kafka.operator_admin(blue)
    for future in operator.create_topics([NewTopic("orders", PARTITIONS, 1)]).values():
        future.result(timeout=30)
    apps = [
        AclEntry("Topic", "orders", "Literal", "User:orders-service", "*", op, "Allow") for op in ("Write", "Describe")
    ]
    apps += [AclEntry("Topic", "orders", "Literal", "User:billing", "*", op, "Allow") for op in ("Read", "Describe")]
    apps.append(AclEntry("Group", "billing", "Literal", "User:billing", "*", "Read", "Allow"))
    kafka.grant(blue, [*apps, *blue_grants(model, ["orders"])])
    on_blue = {u: sasl(blue, blue.tls.ca_file, u, passwords[u]) for u in USERS_ON_BLUE}
    for user in ("orders-service", "billing"):
        described(on_blue[user], "orders")
    produce(on_blue["orders-service"], history())
    billing = Consumer({**on_blue["billing"], "group.id": "billing", "enable.auto.commit": False})
    billing.commit(offsets=[TopicPartition("orders", p, COMMITTED) for p in range(PARTITIONS)], asynchronous=False)
    billing.close()
    return on_blue


def late_topic_copied_after_the_next_up(
    blue: KafkaNode, config: dict[str, Any], green_admin: dict[str, Any], rest: ConnectClient, up: Callable[[str], None]
) -> None:
    """A topic created on blue mid-migration: MM2's grants on its copy come with the next `pulumi up`.

    Whoever creates it on blue grants it there as the README says (`blue_grants`). Until
    the next `up` green refuses MM2 its copy; MM2's tasks must not be left failed by it,
    and after the `up` every record of the new topic is on green.
    """
    operator = kafka.operator_admin(blue)
    for future in operator.create_topics([NewTopic(LATE_TOPIC, 1, 1)]).values():
        future.result(timeout=30)
    kafka.grant(blue, blue_grants(config_from_mapping(config), [LATE_TOPIC]))
    writer = Producer({**kafka.operator_config(blue), "enable.idempotence": True})
    for n in range(LATE_RECORDS):
        writer.produce(LATE_TOPIC, f"late-{n}".encode())
    assert writer.flush(30) == 0
    time.sleep(12)  # two of MM2's topic refreshes (5 s): it has seen the topic and found no grant on green
    before = task_states(rest)
    up("replicating")  # the same step again: the copy and MM2's literal grants on it
    assert task_states(rest) == dict.fromkeys(before, "RUNNING"), f"tasks before the up: {before}"
    deadline = time.monotonic() + 90
    copied: list[str] = []
    while len(copied) < LATE_RECORDS:
        assert time.monotonic() < deadline, f"{LATE_TOPIC} on green holds {copied}; tasks: {task_states(rest)}"
        copied = read_all(green_admin, LATE_TOPIC)
        time.sleep(2)
    assert sorted(copied) == sorted(f"late-{n}" for n in range(LATE_RECORDS))


def task_states(rest: ConnectClient) -> dict[str, str]:
    """`<connector>/<task>` -> the task's state, for every connector on the worker."""
    states = {}
    for name in rest.list_connectors():
        for task in (rest.status(name) or {}).get("tasks", []):
            states[f"{name}/{task['id']}"] = task["state"]
    return states


def read_all(conf: dict[str, Any], topic: str) -> list[str]:
    """Every value of `topic` (partition 0) on that cluster; [] while it does not exist."""
    consumer = Consumer({**conf, "group.id": f"reader-{secrets.token_hex(4)}", "enable.auto.commit": False})
    try:
        if topic not in consumer.list_topics(timeout=10).topics:
            return []
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        out: list[str] = []
        while len(out) < end:
            message = consumer.poll(10)
            assert message is not None and message.error() is None, message and message.error()
            out.append(message.value().decode())
        return out
    finally:
        consumer.close()


def _walk(
    stack: MigrationStack,
    blue: KafkaNode,
    blue_ca: Path,
    green_ca: Path,
    config: dict[str, Any],
    passwords: dict[str, str],
    engine_output: list[str],
    project: Path,
    tmp_path: Path,
) -> None:
    green = f"127.0.0.1:{config['green']['local']['brokerPort']}"
    on_blue = {u: sasl(blue, blue_ca, u, passwords[u]) for u in USERS_ON_BLUE}
    on_green = {u: sasl(green, green_ca, u, passwords[u]) for u in (*USERS_ON_GREEN, *APPS_ON_GREEN)}

    def up(phase: str, producer_waves: int = 0, consumer_waves: int = 0) -> None:
        stack.goto(phase, producer_waves, consumer_waves)
        stack.up_when_gates_pass(GATE_WAIT_S, on_output=engine_output.append)

    up("blue-only")
    up("green-provisioned")
    assert green_ca.exists() and stat.S_IMODE(green_ca.with_suffix(".key").stat().st_mode) == 0o600
    green_admin = AdminClient(on_green["green-admin"])
    # The applications' identities on green are the platform team's to create; the admin identity may.
    add_users(green_admin, passwords, APPS_ON_GREEN)
    assert {(a.operation.name, a.name) for a in acls_of(green_admin, "User:billing")} >= {("READ", "orders")}
    assert acls_of(green_admin, "User:green-mm2"), "MM2's grants on green"
    assert {a.resource_pattern_type for a in acls_of(green_admin, "User:green-mm2")} == {ResourcePatternType.LITERAL}
    # Green enforces too: no PLAINTEXT, no anonymous, no wrong password.
    refused(lambda: AdminClient({"bootstrap.servers": green, "log_level": 0}).list_topics(timeout=5))
    refused(lambda: AdminClient({**on_green["billing"], "sasl.password": "wrong"}).list_topics(timeout=5))

    up("replicating")
    expected = sorted(v for _, v in history())
    deadline = time.monotonic() + 90
    while sorted(values(on_green["green-admin"])) != expected:
        assert time.monotonic() < deadline, "MM2 did not copy blue's history to green"
        time.sleep(2)
    worker_secrets = next(project.rglob("mm2-secrets.properties"))
    assert stat.S_IMODE(worker_secrets.stat().st_mode) == 0o600
    assert sorted(leaks(passwords, worker_secrets.read_text())) == ["blue-mm2", "green-mm2"]  # MM2's only
    rest = connect_rest(config, project / ".local-clusters")
    assert leaks(passwords, rest_answers(rest)) == []
    # The worker's REST API (which could make a connector read the secrets file) wants its user.
    assert rest_status_without(rest, None) == 401
    assert rest_status_without(rest, "Basic " + base64.b64encode(b"kafkamig:guess").decode()) == 401
    assert files_with_passwords([project, tmp_path / "state", blue.data_dir], passwords, {worker_secrets}) == {}

    late_topic_copied_after_the_next_up(blue, config, on_green["green-admin"], rest, up)

    up("consumers-switched", 0, 1)
    # billing's offsets crossed (identity names, same offsets: MM2 copied into empty topics) and it reads on.
    assert committed(on_green["billing"], "billing") == dict.fromkeys(range(PARTITIONS), COMMITTED)
    after_commit = values(on_green["billing"], dict.fromkeys(range(PARTITIONS), COMMITTED), group="billing")
    assert len(after_commit) == PARTITIONS * (HISTORY - COMMITTED)

    up("producers-switched", 1, 1)
    produce(on_green["orders-service"], [(0, "written on green")])
    # A client without the grant is refused on green, authenticated or not.
    assert "AUTHORIZATION_FAILED" in refused(lambda: produce(on_green["intruder"], [(0, "intruder")]))
    assert "AUTHORIZATION_FAILED" in refused(lambda: produce(on_green["billing"], [(0, "billing writes")]))

    up("verified", 1, 1)
    up("mm2-stopped", 1, 1)
    assert acls_of(green_admin, "User:green-mm2") == [], "MM2's grants outlived MM2"
    assert not worker_secrets.exists(), "the worker's secrets file outlived the worker"
    up("decommissioned", 1, 1)
    # The fence: nobody writes to blue's migrated topics any more.
    refused(lambda: produce(on_blue["orders-service"], [(0, "late write on blue")]))


def history() -> list[tuple[int, str]]:
    """Blue's records before the migration: (partition, value)."""
    return [(p, f"history {p}/{i}") for p in range(PARTITIONS) for i in range(HISTORY)]
