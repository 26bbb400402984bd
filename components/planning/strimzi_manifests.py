"""Strimzi custom resources (`kafka.strimzi.io/v1`) of a green cluster on Kubernetes, as plain dicts.

Pure functions of the config and the step's plan, with no Pulumi import: the same dicts
are validated against the operator's CRD schemas in the unit tests, turned into Pulumi
resources by `resources.kubernetes.resources`, and rendered to YAML for reviews.

What a step becomes:
- green: one `Kafka` (KRaft, `authorization: simple`, topic and user operators) and one
  `KafkaNodePool` of combined broker+controller nodes on persistent volumes;
- topics and ACLs: one `KafkaTopic` per green topic and one `KafkaUser` per principal;
- MirrorMaker 2: one `KafkaConnect` (connector resources enabled) and one `KafkaConnector`
  per MM2 connector of both flows, `running` or `stopped` as the plan says, so the set of
  resources (and their URNs) never changes with the phase; the Connect workers scale to
  zero while MM2 does not run;
- routing: one `ConfigMap kafka-routing-<client-group>` per client group.

Passwords never appear in a manifest. Connectors read them through Strimzi's Kubernetes
secret config provider (`${strimzisecrets:<namespace>/<secret>:<key>}`) from one Secret
whose keys are `<alias>.password`; the Pulumi layer fills it from the stack's secrets.
(No `FileConfigProvider` of ours runs there, so no `allowed.paths` of ours either: Strimzi
appends its own `strimzifile`/`strimzidir` providers, which it uses itself, and sets them up.)

Connect's REST API (port 8083) answers only a `NetworkPolicy` of ours,
`<connect>-connect-rest-api` (`connect_network_policy`): the Strimzi Cluster Operator's pods,
the Connect pods themselves, and pods of green's namespace labelled `kafkamig.io/tooling:
"true"` (where `pulumi up`, the gates and `status` run when `mm2.connectUrl` names the
`-connect-api` Service). Strimzi creates its own `<connect>-connect` policy for a KafkaConnect
with connector resources (operator and Connect pods); NetworkPolicies add up, so ours only
admits the tooling on top and keeps the door shut where policy generation is turned off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafka_migration.config.model import ClusterSpec, KubernetesRuntimeSpec, MigrationConfig, RuntimeKind, Strategy
from kafka_migration.planning.cluster_inventory import AclEntry
from kafka_migration.planning.desired import CONNECT_WORKER_NAME, MigrationPlan
from kafka_migration.planning.java_text import jaas_escaped
from kafka_migration.planning.local_processes import CONNECT_CLIENT_OVERRIDE_POLICY
from kafka_migration.planning.mm2 import (
    BYTES,
    Endpoint,
    FlowSpec,
    connector_configs,
    endpoint,
    flow_spec,
    remote_topic_replication_factor,
    sasl_jaas_config,
)
from kafka_migration.planning.naming import connect_storage_topics

Manifest = dict[str, Any]

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
CLUSTER_LABEL = "strimzi.io/cluster"
USE_CONNECTOR_RESOURCES = "strimzi.io/use-connector-resources"
FLOW_LABEL = "kafkamig.io/flow"
"""On every KafkaConnector: the flow it belongs to (`A-to-B`), for `kubectl get -l`."""
ROLE_LABEL = "kafkamig.io/role"
"""On every KafkaTopic: `mirror` (MM2 writes it) or `local` (producers on green write it)."""
CLIENT_GROUP_LABEL = "kafkamig.io/client-group"
TOOLING_LABEL = "kafkamig.io/tooling"
"""On the pods (in green's namespace) that run this migration's tooling: `pulumi up`, gates, `status`.

With `TOOLING_LABEL: "true"` a pod may call Connect's REST API (`connect_network_policy`).
"""
MANAGED_BY = {"app.kubernetes.io/managed-by": "kafka-migration"}
STRIMZI_KIND_LABEL = "strimzi.io/kind"
STRIMZI_NAME_LABEL = "strimzi.io/name"

CLIENT_PORT = 9092
"""Port of the clients' listener; `ClusterSpec.resolved_bootstrap_servers` assumes it."""
CONNECT_REST_PORT = 8083
CONNECT_REPLICAS = 2
"""Connect workers while MM2 runs: two, so that a pod restart does not pause replication."""
CONFIG_PROVIDER = "strimzisecrets"
CONFIG_PROVIDER_CLASS = "io.strimzi.kafka.KubernetesSecretConfigProvider"
ROUTING_KEY = "routing.json"
ROUTING_PREFIX = "kafka-routing-"

DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_CLUSTER_NAME = 30
"""Strimzi derives pod, service and secret names from the cluster name; keep it short."""

ACL_RESOURCE_TYPES = {"Topic": "topic", "Group": "group", "Cluster": "cluster", "TransactionalID": "transactionalId"}
ACL_PATTERN_TYPES = {"Literal": "literal", "Prefixed": "prefix"}
ACL_OPERATIONS = frozenset(
    (
        "Read",
        "Write",
        "Create",
        "Delete",
        "Alter",
        "Describe",
        "ClusterAction",
        "AlterConfigs",
        "DescribeConfigs",
        "IdempotentWrite",
        "All",
    )
)
"""The operations a KafkaUser's simple authorization accepts (its CRD's enum)."""


@dataclass(frozen=True)
class StrimziNames:
    """Every Kubernetes name the green cluster uses, derived from the green alias only."""

    namespace: str
    cluster: str
    """The `Kafka` resource: green's alias in lower case (bootstrap Service `<cluster>-kafka-bootstrap`)."""
    node_pool: str
    connect: str
    """The `KafkaConnect` running MM2 (its pods run as the service account `<connect>-connect`)."""
    credentials_secret: str
    """Secret with the SASL passwords (`<alias>.password`), read by the connectors and the User Operator."""
    routing_namespace: str
    """Where the routing ConfigMaps live: `routing.kubernetesNamespace`, default green's namespace."""

    @property
    def bootstrap_servers(self) -> str:
        """Green's clients' listener, as seen from inside the Kubernetes cluster."""
        return f"{self.cluster}-kafka-bootstrap.{self.namespace}.svc:{CLIENT_PORT}"

    @property
    def connect_service_account(self) -> str:
        return f"{self.connect}-connect"

    @property
    def connect_pod_labels(self) -> dict[str, str]:
        """The labels Strimzi gives the Connect pods (its `strimziSelectorLabels`: cluster, name, kind)."""
        return {
            CLUSTER_LABEL: self.connect,
            STRIMZI_NAME_LABEL: f"{self.connect}-connect",
            STRIMZI_KIND_LABEL: "KafkaConnect",
        }

    @property
    def connect_url(self) -> str:
        """The Connect REST API (Strimzi's `<connect>-connect-api` Service)."""
        return f"http://{self.connect}-connect-api.{self.namespace}.svc:{CONNECT_REST_PORT}"

    @property
    def cluster_ca_secret(self) -> str:
        """Strimzi's Secret with the cluster CA certificate clients of a TLS listener trust."""
        return f"{self.cluster}-cluster-ca-cert"

    def secret_reference(self, key: str) -> str:
        """A config-provider placeholder the Connect workers resolve from the credentials Secret."""
        return f"${{{CONFIG_PROVIDER}:{self.namespace}/{self.credentials_secret}:{key}}}"


@dataclass(frozen=True)
class StrimziManifests:
    """The Kubernetes objects of one step, grouped by the component that owns them."""

    names: StrimziNames
    kafka: tuple[Manifest, ...]
    """The `Kafka` and its `KafkaNodePool` (empty before `green-provisioned`)."""
    topics: tuple[Manifest, ...]
    users: tuple[Manifest, ...]
    connect: tuple[Manifest, ...]
    """The `Role` and `RoleBinding` that let Connect read the credentials Secret, the `NetworkPolicy` guarding its
    REST API, then the `KafkaConnect` (always last)."""
    connectors: tuple[Manifest, ...]
    routing: tuple[Manifest, ...]
    credential_keys: dict[str, str]
    """Key of the credentials Secret -> alias of the cluster whose password it holds."""

    def all(self) -> list[Manifest]:
        """Every object, in dependency order."""
        return [*self.kafka, *self.topics, *self.users, *self.connect, *self.connectors, *self.routing]


def manifest_key(manifest: Manifest) -> str:
    """`Kind/namespace/name`: what identifies an object in a Kubernetes cluster."""
    meta = manifest["metadata"]
    return f"{manifest['kind']}/{meta['namespace']}/{meta['name']}"


def kubernetes_spec(cluster: ClusterSpec) -> KubernetesRuntimeSpec:
    """The cluster's `kubernetes:` block; raises with the fix when it is missing."""
    if cluster.runtime is not RuntimeKind.KUBERNETES or cluster.kubernetes is None:
        raise ValueError(
            f"cluster {cluster.alias} has runtime {cluster.runtime.value} and "
            f"{'a' if cluster.kubernetes else 'no'} kubernetes block; the Strimzi runtime needs "
            "runtime: kubernetes and a `kubernetes:` block (write `kubernetes: {}` for the defaults)"
        )
    return cluster.kubernetes


def strimzi_names(cfg: MigrationConfig) -> StrimziNames:
    """Names of green's objects. Raises when green's alias cannot name Kubernetes objects."""
    spec = kubernetes_spec(cfg.green)
    cluster = cfg.green.alias.lower()
    if not DNS_LABEL.match(cluster) or len(cluster) > MAX_CLUSTER_NAME:
        raise ValueError(
            f"green.alias {cfg.green.alias!r} cannot name a Strimzi cluster: in lower case it must be a DNS label "
            f"(a-z, 0-9, '-', at most {MAX_CLUSTER_NAME} characters); choose an alias such as 'B' or 'green'"
        )
    _require_dns_label(spec.namespace, "green.kubernetes.namespace")
    routing_ns = cfg.routing.kubernetes_namespace or spec.namespace
    _require_dns_label(routing_ns, "routing.kubernetesNamespace")
    connect = f"{cluster}-mm2"
    return StrimziNames(
        namespace=spec.namespace,
        cluster=cluster,
        node_pool=f"{cluster}-dual-role",
        connect=connect,
        credentials_secret=f"{connect}-credentials",
        routing_namespace=routing_ns,
    )


def _require_dns_label(value: str, field: str) -> None:
    if not DNS_LABEL.match(value):
        raise ValueError(f"{field} is {value!r}, not a Kubernetes namespace name (a-z, 0-9, '-'); fix {field}")


def _metadata(
    name: str, namespace: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **(labels or {})}}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _custom_resource(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> Manifest:
    return {"apiVersion": STRIMZI_API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def hashed_name(value: str) -> str:
    """A DNS-subdomain name for `value`: itself when valid, else lower-cased, cleaned and suffixed with a hash.

    The hash keeps names distinct that clean up alike (`A.orders` and `a.orders`).
    """
    if DNS_SUBDOMAIN.match(value):
        return value
    labels = (label.strip("-") for label in re.sub(r"[^a-z0-9.-]+", "-", value.lower()).split("."))
    cleaned = ".".join(label for label in labels if label)[:200].strip("-.") or "x"
    return f"{cleaned}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


def _password_key(cluster: ClusterSpec) -> str:
    return f"{cluster.alias}.password"


def credential_keys(cfg: MigrationConfig) -> dict[str, str]:
    """Key of the credentials Secret -> alias, for every cluster MM2 authenticates to with a password."""
    return {_password_key(c): c.alias for c in (cfg.blue, cfg.green) if c.security.password is not None}


def _check_security(cfg: MigrationConfig) -> None:
    sec = cfg.green.security
    if sec.sasl_mechanism not in (None, "SCRAM-SHA-512"):
        raise ValueError(
            f"green.security.saslMechanism is {sec.sasl_mechanism}; Strimzi's SASL listener and KafkaUsers use "
            "SCRAM-SHA-512 only: set green.security.saslMechanism: SCRAM-SHA-512"
        )
    if sec.ca_file:
        raise ValueError(
            "green.security.caFile is set, but on Kubernetes Strimzi's cluster CA signs green's certificates "
            "and MM2 trusts it from its Secret; remove green.security.caFile"
        )
    if cfg.blue.security.ca_file:
        raise ValueError(
            f"blue.security.caFile {cfg.blue.security.ca_file!r} is a file on this machine, which the MirrorMaker 2 "
            "pods cannot read; remove it (blue's certificates must then chain to the pods' default trust store)"
        )
    for name, cluster in (("blue", cfg.blue), ("green", cfg.green)):
        password = cluster.security.password
        if password is not None and jaas_escaped(password.get_secret_value()) != password.get_secret_value():
            # The Secret holds the raw password (the User Operator sets green's SCRAM password from
            # it) and Strimzi's provider substitutes it verbatim inside MM2's quoted JAAS option.
            raise ValueError(
                f"{name}.security.password contains a backslash, a double quote or a line break, which Strimzi's "
                "secret provider would put unescaped inside MM2's sasl.jaas.config; on Kubernetes choose a password "
                "without them (and set it with `pulumi config set --secret`)"
            )


def _sasl(cluster: ClusterSpec) -> bool:
    return cluster.security.sasl_mechanism is not None


def _tls(cluster: ClusterSpec) -> bool:
    return cluster.security.protocol in ("SSL", "SASL_SSL")


def _replication(replicas: int) -> tuple[int, int]:
    """Replication factor and min ISR of the cluster's internal topics for `replicas` nodes."""
    rf = min(3, replicas)
    return rf, 2 if rf >= 3 else 1


def kafka(cfg: MigrationConfig) -> Manifest:
    """Green's `Kafka`: KRaft, one listener as green.security says, simple authorization, entity operators.

    With a SASL listener the migration's own user (green.security.username) is a super user:
    the consumer handoff commits offsets for every group, and the handoff must never be the
    thing an ACL forgets. Without authentication every client is User:ANONYMOUS, which is then
    the super user: the ACLs of the KafkaUsers apply as soon as the listener authenticates.
    """
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    if cfg.green.brokers > spec.replicas:
        raise ValueError(
            f"green.brokers is {cfg.green.brokers} but green.kubernetes.replicas is {spec.replicas}: topics would ask "
            "for more replicas than there are brokers; set green.brokers to at most green.kubernetes.replicas"
        )
    sec = cfg.green.security
    listener: dict[str, Any] = {"name": "plain", "port": CLIENT_PORT, "type": "internal", "tls": _tls(cfg.green)}
    if _sasl(cfg.green):
        listener["name"] = "scram"
        listener["authentication"] = {"type": "scram-sha-512"}
    elif _tls(cfg.green):
        listener["name"] = "tls"
    super_user = f"User:{sec.username}" if _sasl(cfg.green) else "User:ANONYMOUS"
    rf, min_isr = _replication(spec.replicas)
    body = {
        "kafka": {
            "version": spec.kafka_version,
            "listeners": [listener],
            "authorization": {"type": "simple", "superUsers": [super_user]},
            "config": {
                "auto.create.topics.enable": False,
                "default.replication.factor": rf,
                "min.insync.replicas": min_isr,
                "offsets.topic.replication.factor": rf,
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": min_isr,
            },
        },
        "entityOperator": {"topicOperator": {}, "userOperator": {}},
    }
    return _custom_resource("Kafka", _metadata(names.cluster, names.namespace), body)


def node_pool(cfg: MigrationConfig) -> Manifest:
    """Green's nodes: `replicas` combined broker+controller nodes, one persistent volume each.

    The volume also holds the KRaft metadata log (`kraftMetadata: shared`); the claims are
    deleted with the cluster only when the stack allows destroying green (allowDestroy).
    """
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    volume: dict[str, Any] = {
        "id": 0,
        "type": "persistent-claim",
        "size": f"{spec.storage_gi}Gi",
        "deleteClaim": cfg.allow_destroy,
        "kraftMetadata": "shared",
    }
    if spec.storage_class:
        volume["class"] = spec.storage_class
    body = {
        "replicas": spec.replicas,
        "roles": ["controller", "broker"],
        "storage": {"type": "jbod", "volumes": [volume]},
    }
    return _custom_resource(
        "KafkaNodePool", _metadata(names.node_pool, names.namespace, {CLUSTER_LABEL: names.cluster}), body
    )


def kafka_topics(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `KafkaTopic` per green topic; `spec.topicName` carries the real name (`A.orders`)."""
    names = strimzi_names(cfg)
    return [
        _custom_resource(
            "KafkaTopic",
            _metadata(hashed_name(t.name), names.namespace, {CLUSTER_LABEL: names.cluster, ROLE_LABEL: t.role}),
            {
                "topicName": t.name,
                "partitions": t.partitions,
                "replicas": t.replication_factor,
                "config": dict(sorted(t.config.items())),
            },
        )
        for t in sorted(plan.topics, key=lambda t: t.name)
    ]


def user_name(principal: str) -> str:
    """The KafkaUser name of a principal (`User:orders-service` -> `orders-service`)."""
    kind, _, name = principal.partition(":")
    if kind != "User" or not DNS_SUBDOMAIN.match(name):
        raise ValueError(
            f"principal {principal!r} cannot be a Strimzi KafkaUser, whose name is the user name and must be "
            "a lower-case DNS name (a-z, 0-9, '-', '.'); add it to acls.excludePrincipals and grant its ACLs "
            "on green yourself, or rename the user"
        )
    return name


def _acl_rule(acl: AclEntry, operations: list[str]) -> dict[str, Any]:
    if acl.resource_type not in ACL_RESOURCE_TYPES or acl.pattern_type not in ACL_PATTERN_TYPES:
        raise ValueError(
            f"ACL {acl.key()} has a {acl.resource_type}/{acl.pattern_type} resource, which a KafkaUser cannot hold; "
            f"add {acl.principal} to acls.excludePrincipals and grant it on green yourself"
        )
    resource: dict[str, Any] = {"type": ACL_RESOURCE_TYPES[acl.resource_type]}
    if acl.resource_type != "Cluster":
        resource["name"] = acl.resource_name
        resource["patternType"] = ACL_PATTERN_TYPES[acl.pattern_type]
    return {"type": acl.permission.lower(), "resource": resource, "host": acl.host, "operations": operations}


def _user_acls(acls: Iterable[AclEntry]) -> list[dict[str, Any]]:
    """ACL entries grouped by resource, host and permission, their operations merged (as KafkaUser lists them)."""
    grouped: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    first: dict[tuple[str, str, str, str, str], AclEntry] = {}
    for acl in sorted(acls):
        if acl.operation not in ACL_OPERATIONS:
            raise ValueError(
                f"ACL {acl.key()} grants {acl.operation}, which a KafkaUser cannot hold; "
                f"add {acl.principal} to acls.excludePrincipals and grant it on green yourself"
            )
        key = (acl.resource_type, acl.pattern_type, acl.resource_name, acl.host, acl.permission)
        grouped[key].append(acl.operation)
        first.setdefault(key, acl)
    return [_acl_rule(first[k], sorted(set(ops))) for k, ops in sorted(grouped.items())]


def kafka_users(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `KafkaUser` per principal of green's ACLs, plus the migration's own SCRAM user.

    With a SASL listener every user authenticates with SCRAM-SHA-512: the migration's own
    user (green.security.username, also MM2's) with the stack's password from the
    credentials Secret, every other user with a password the User Operator generates into
    the Secret `<user>` (which the applications read when they move to green).
    """
    names = strimzi_names(cfg)
    by_user: dict[str, list[AclEntry]] = defaultdict(list)
    for acl in plan.acls:
        by_user[user_name(acl.principal)].append(acl)
    own = cfg.green.security.username if _sasl(cfg.green) else None
    if own is not None:
        by_user.setdefault(user_name(f"User:{own}"), [])
    users = []
    for user, acls in sorted(by_user.items()):
        body: dict[str, Any] = {}
        if own is not None:
            body["authentication"] = {"type": "scram-sha-512"}
            if user == own:
                ref = {"name": names.credentials_secret, "key": _password_key(cfg.green)}
                body["authentication"]["password"] = {"valueFrom": {"secretKeyRef": ref}}
        if acls:
            body["authorization"] = {"type": "simple", "acls": _user_acls(acls)}
        users.append(
            _custom_resource("KafkaUser", _metadata(user, names.namespace, {CLUSTER_LABEL: names.cluster}), body)
        )
    return users


def _mm2_endpoints(cfg: MigrationConfig, names: StrimziNames, flow: FlowSpec) -> FlowSpec:
    """The flow as MM2 sees it from its pods: green at its Service, passwords as secret-provider placeholders."""

    def on_kubernetes(cluster: ClusterSpec) -> Endpoint:
        ep = endpoint(cluster, secrets_file="")
        props = dict(ep.client_properties)
        if cluster.security.sasl_mechanism:
            props["sasl.jaas.config"] = sasl_jaas_config(cluster, names.secret_reference(_password_key(cluster)))
        bootstrap = ep.bootstrap_servers
        if cluster.alias == cfg.green.alias:
            bootstrap = names.bootstrap_servers
            if _tls(cluster):
                props["ssl.truststore.type"] = "PEM"
                props["ssl.truststore.certificates"] = (
                    f"${{{CONFIG_PROVIDER}:{names.namespace}/{names.cluster_ca_secret}:ca.crt}}"
                )
        return dataclasses.replace(ep, bootstrap_servers=bootstrap, client_properties=props)

    clusters = {c.alias: c for c in (cfg.blue, cfg.green)}
    return dataclasses.replace(
        flow, source=on_kubernetes(clusters[flow.source.alias]), target=on_kubernetes(clusters[flow.target.alias])
    )


def connector_resource_name(connector: str) -> str:
    """A Kubernetes name for an MM2 connector: `A->B.MirrorSourceConnector` -> `a-to-b.mirror-source-connector`.

    Strimzi names the connector on the Connect cluster after its KafkaConnector, and
    Kubernetes names are lower case without `>`, so the connectors are named this way there.
    """
    flow, _, kind = connector.rpartition(".")
    source, _, target = flow.partition("->")
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()
    name = f"{source}-to-{target}".lower().replace("_", "-") + f".{kebab}"
    if not DNS_SUBDOMAIN.match(name):
        raise ValueError(f"connector {connector!r} gives the invalid Kubernetes name {name!r}; use simpler aliases")
    return name


def kafka_connectors(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """The connectors of A->B (and B->A under the bidirectional strategy), each `running` iff its flow is active."""
    names = strimzi_names(cfg)
    active = {(f.source, f.target) for f in plan.flows}
    pairs = [(cfg.blue, cfg.green)]
    if cfg.strategy is Strategy.BIDIRECTIONAL:
        pairs.append((cfg.green, cfg.blue))
    out = []
    for source, target in pairs:
        flow = _mm2_endpoints(cfg, names, flow_spec(cfg, source, target, secrets_file=""))
        state = "running" if (source.alias, target.alias) in active else "stopped"
        labels = {CLUSTER_LABEL: names.connect, FLOW_LABEL: f"{source.alias}-to-{target.alias}"}
        for connector, config in connector_configs(flow, remote_topic_replication_factor(cfg)).items():
            body = dict(config)
            # Strimzi refuses these two in `config`: they are fields of the KafkaConnector.
            connector_class = body.pop("connector.class")
            tasks_max = int(body.pop("tasks.max"))
            spec = {
                "class": connector_class,
                "tasksMax": tasks_max,
                "autoRestart": {"enabled": True},
                "state": state,
                "config": body,
            }
            meta = _metadata(connector_resource_name(connector), names.namespace, labels)
            out.append(_custom_resource("KafkaConnector", meta, spec))
    return out


def kafka_connect(cfg: MigrationConfig, plan: MigrationPlan) -> Manifest:
    """The Connect cluster running MM2's connectors: on green, scaled to zero whenever MM2 does not run."""
    names, spec = strimzi_names(cfg), kubernetes_spec(cfg.green)
    configs, offsets, status = connect_storage_topics(CONNECT_WORKER_NAME)
    rf = str(min(cfg.mm2.internal_topic_replication_factor, cfg.green.brokers))
    body: dict[str, Any] = {
        "version": spec.kafka_version,
        "replicas": CONNECT_REPLICAS if plan.mm2_running else 0,
        "bootstrapServers": names.bootstrap_servers,
        "groupId": f"mm2-{CONNECT_WORKER_NAME}",
        "configStorageTopic": configs,
        "offsetStorageTopic": offsets,
        "statusStorageTopic": status,
        "config": {
            "config.storage.replication.factor": rf,
            "offset.storage.replication.factor": rf,
            "status.storage.replication.factor": rf,
            "offset.storage.partitions": "5",
            "status.storage.partitions": "1",
            "key.converter": BYTES,
            "value.converter": BYTES,
            "header.converter": BYTES,
            "offset.flush.interval.ms": "1000",
            # Each connector writes to its own target cluster: `All` is the narrowest policy
            # that admits producer.override.bootstrap.servers (CONNECT_CLIENT_OVERRIDE_POLICY).
            "connector.client.config.override.policy": CONNECT_CLIENT_OVERRIDE_POLICY,
            # Connectors reference passwords as ${strimzisecrets:...}; the REST API never shows them.
            "config.providers": CONFIG_PROVIDER,
            f"config.providers.{CONFIG_PROVIDER}.class": CONFIG_PROVIDER_CLASS,
        },
    }
    sec = cfg.green.security
    if _sasl(cfg.green):
        body["authentication"] = {
            "type": "scram-sha-512",
            "username": sec.username,
            "passwordSecret": {"secretName": names.credentials_secret, "password": _password_key(cfg.green)},
        }
    if _tls(cfg.green):
        body["tls"] = {"trustedCertificates": [{"secretName": names.cluster_ca_secret, "pattern": "*.crt"}]}
    meta = _metadata(names.connect, names.namespace, annotations={USE_CONNECTOR_RESOURCES: "true"})
    return _custom_resource("KafkaConnect", meta, body)


def connect_secret_access(cfg: MigrationConfig) -> list[Manifest]:
    """Role and RoleBinding letting the Connect pods read the credentials and cluster CA Secrets, and only those."""
    names = strimzi_names(cfg)
    role = f"{names.connect}-secrets-reader"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _metadata(role, names.namespace),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [names.credentials_secret, names.cluster_ca_secret],
                    "verbs": ["get"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _metadata(role, names.namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [
                {"kind": "ServiceAccount", "name": names.connect_service_account, "namespace": names.namespace}
            ],
        },
    ]


def connect_network_policy(cfg: MigrationConfig) -> Manifest:
    """The `NetworkPolicy` guarding Connect's REST API: port 8083 of the Connect pods, from three peers only.

    - the Strimzi Cluster Operator (`strimzi.io/kind: cluster-operator`) in any namespace, as
      Strimzi's own policy admits it when it does not know the operator's namespace: it
      manages the KafkaConnectors through this API;
    - the Connect pods themselves: a worker forwards connector requests to the group's leader;
    - pods of green's namespace labelled `TOOLING_LABEL: "true"`: this migration's tooling.

    It selects only the Connect pods and only restricts ingress (nothing else of theirs
    listens: no metrics or JMX port is configured).
    """
    names = strimzi_names(cfg)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(f"{names.connect}-connect-rest-api", names.namespace),
        "spec": {
            "podSelector": {"matchLabels": names.connect_pod_labels},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "ports": [{"protocol": "TCP", "port": CONNECT_REST_PORT}],
                    "from": [
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": {STRIMZI_KIND_LABEL: "cluster-operator"}},
                        },
                        {"podSelector": {"matchLabels": names.connect_pod_labels}},
                        {"podSelector": {"matchLabels": {TOOLING_LABEL: "true"}}},
                    ],
                }
            ],
        },
    }


def routing_config_maps(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `ConfigMap kafka-routing-<client-group>` per client group, `routing.json` holding its document."""
    names = strimzi_names(cfg)
    out = []
    for group, document in sorted(plan.routing.items()):
        name = ROUTING_PREFIX + group.lower().replace("_", "-")
        if not DNS_SUBDOMAIN.match(name):
            raise ValueError(f"client group {group!r} gives the invalid ConfigMap name {name!r}; rename the group")
        labels = {CLIENT_GROUP_LABEL: group} if len(group) <= 63 else {}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _metadata(name, names.routing_namespace, labels),
                "data": {ROUTING_KEY: json.dumps(document.to_json(), indent=2, sort_keys=True)},
            }
        )
    return out


def strimzi_manifests(cfg: MigrationConfig, plan: MigrationPlan) -> StrimziManifests:
    """Every object of the step. Raises ValueError (naming the config field to fix) on what Strimzi cannot express."""
    _check_security(cfg)
    names = strimzi_names(cfg)
    green = plan.green_provisioned
    manifests = StrimziManifests(
        names=names,
        kafka=(kafka(cfg), node_pool(cfg)) if green else (),
        topics=tuple(kafka_topics(cfg, plan)) if green else (),
        users=tuple(kafka_users(cfg, plan)) if green else (),
        connect=(*connect_secret_access(cfg), connect_network_policy(cfg), kafka_connect(cfg, plan)) if green else (),
        connectors=tuple(kafka_connectors(cfg, plan)) if green else (),
        routing=tuple(routing_config_maps(cfg, plan)),
        credential_keys=credential_keys(cfg),
    )
    keys = [manifest_key(m) for m in manifests.all()]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"two objects would share the names {duplicates}; make the aliases or names distinct")
    return manifests
