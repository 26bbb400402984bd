"""Names, labels and metadata shared by the Strimzi and Kubernetes objects of a green cluster on Kubernetes.

Every name derives from green's alias and the config's namespaces only, never from the
phase (`StrimziNames`); `object_metadata` and `custom_resource` give every object the
same `managed-by` label and Strimzi API version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from kafka_migration.config.clusters import ClusterSpec, KubernetesRuntimeSpec, RuntimeKind
from kafka_migration.config.model import MigrationConfig

Manifest = dict[str, Any]

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
CLUSTER_LABEL = "strimzi.io/cluster"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kafka-migration"}
STRIMZI_KIND_LABEL = "strimzi.io/kind"
STRIMZI_NAME_LABEL = "strimzi.io/name"

CLIENT_PORT = 9092
"""Port of the clients' listener; `ClusterSpec.resolved_bootstrap_servers` assumes it."""
CONNECT_REST_PORT = 8083
METRICS_PORT = 9404
"""Where Strimzi's pods serve the Prometheus JMX exporter (container port `tcp-prometheus`) once their
resource has a `metricsConfig`; no Service of Strimzi's exposes it."""
METRICS_CONFIG_KEY = "metrics-config.yml"
"""Key of the metrics ConfigMap holding the exporter's rules (the key Strimzi's examples use)."""
CONNECT_REPLICAS = 2
"""Connect workers while MM2 runs unless `mm2.workers` says: two, so that a pod restart does not pause replication."""
CONFIG_PROVIDER = "strimzisecrets"

DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_CLUSTER_NAME = 30
"""Strimzi derives pod, service and secret names from the cluster name; keep it short."""


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
    def connect_metrics_config_map(self) -> str:
        """The ConfigMap holding the JMX exporter rules the KafkaConnect's `metricsConfig` references."""
        return f"{self.connect}-metrics"

    def worker_metrics_url(self, index: int) -> str:
        """The exporter of Connect pod `index`, by its DNS name under Strimzi's headless Service.

        Strimzi names the pods `<connect>-connect-<index>` (0, 1, ...) and gives each that
        hostname with the headless Service `<connect>-connect` as its subdomain, so every
        worker is reachable on its own: a Service in front of them all would answer each
        scrape from one pod, and each worker exports only the tasks it runs.
        """
        pod = f"{self.connect}-connect-{index}"
        return f"http://{pod}.{self.connect}-connect.{self.namespace}.svc:{METRICS_PORT}/metrics"

    @property
    def cluster_ca_secret(self) -> str:
        """Strimzi's Secret with the cluster CA certificate clients of a TLS listener trust."""
        return f"{self.cluster}-cluster-ca-cert"

    def secret_reference(self, key: str) -> str:
        """A config-provider placeholder the Connect workers resolve from the credentials Secret."""
        return f"${{{CONFIG_PROVIDER}:{self.namespace}/{self.credentials_secret}:{key}}}"


def connect_replicas(cfg: MigrationConfig) -> int:
    """The KafkaConnect's `replicas` while MM2 runs: `mm2.workers`, default `CONNECT_REPLICAS`."""
    return cfg.mm2.workers or CONNECT_REPLICAS


def connect_metrics_urls(cfg: MigrationConfig) -> tuple[str, ...]:
    """Where the gates and `status` read MM2's metrics on Kubernetes: `mm2.metricsUrl`, else every worker's exporter.

    The default reaches each Connect pod by its DNS name (`StrimziNames.worker_metrics_url`),
    from inside the Kubernetes cluster only, as `mm2.connectUrl`'s `-connect-api` Service.
    """
    if cfg.mm2.metrics_url:
        return (cfg.mm2.metrics_url,)
    names = strimzi_names(cfg)
    return tuple(names.worker_metrics_url(i) for i in range(connect_replicas(cfg)))


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


def object_metadata(
    name: str, namespace: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """An object's `metadata`: name, namespace, the `managed-by` label plus `labels`, and any annotations."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **(labels or {})}}
    if annotations:
        meta["annotations"] = annotations
    return meta


def custom_resource(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> Manifest:
    """A Strimzi custom resource (`STRIMZI_API_VERSION`) of `kind`."""
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


def password_key(cluster: ClusterSpec) -> str:
    """Key of the credentials Secret that holds MM2's password on the cluster: `<alias>.password`."""
    return f"{cluster.alias}.password"


def admin_password_key(cluster: ClusterSpec) -> str:
    """Key holding green's admin password when MM2 has an identity of its own there: `<alias>.admin-password`."""
    return f"{cluster.alias}.admin-password" if cluster.security.mm2 is not None else password_key(cluster)


def credential_keys(cfg: MigrationConfig) -> dict[str, str]:
    """Key of the credentials Secret -> the config path of the password it holds (`config.load.secret_at`).

    MM2's password on each cluster it authenticates to, and green's admin password (the
    migration's own KafkaUser) when it is not MM2's.
    """
    keys = {}
    for side, cluster in (("blue", cfg.blue), ("green", cfg.green)):
        if cluster.security.mm2_password is not None:
            keys[password_key(cluster)] = f"{side}.security.{'mm2.' if cluster.security.mm2 else ''}password"
    if cfg.green.security.mm2 is not None and cfg.green.security.password is not None:
        keys[admin_password_key(cfg.green)] = "green.security.password"
    return keys
