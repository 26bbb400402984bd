"""Plain Kubernetes objects next to the Strimzi resources: Connect's Secret access, its REST API guard, routing.

Connect's REST API (port 8083) answers only a `NetworkPolicy` of ours,
`<connect>-connect-rest-api` (`connect_network_policy`): the Strimzi Cluster Operator's pods,
the Connect pods themselves, and pods of green's namespace labelled `kafkamig.io/tooling:
"true"` (where `pulumi up`, the gates and `status` run when `mm2.connectUrl` names the
`-connect-api` Service). Strimzi creates its own `<connect>-connect` policy for a KafkaConnect
with connector resources (operator and Connect pods); NetworkPolicies add up, so ours only
admits the tooling on top and keeps the door shut where policy generation is turned off.

MM2's metrics: the ConfigMap `<connect>-metrics` (`connect_metrics_config_map`) holds the JMX
exporter rules the KafkaConnect's `metricsConfig` references. It lives exactly as long as the
KafkaConnect (from `green-provisioned` on, while MM2 runs and while Connect is scaled to zero):
the Strimzi operator fails a KafkaConnect whose metrics ConfigMap is missing, even without pods.

Routing: one `ConfigMap kafka-routing-<client-group>` per client group (`routing_config_maps`).
"""

from __future__ import annotations

import json
from typing import Any

from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.local_processes import JMX_EXPORTER_CONFIG
from kafka_migration.planning.strimzi_names import (
    CONNECT_REST_PORT,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    METRICS_CONFIG_KEY,
    METRICS_PORT,
    STRIMZI_KIND_LABEL,
    Manifest,
    object_metadata,
    strimzi_names,
)

CLIENT_GROUP_LABEL = "kafkamig.io/client-group"
TOOLING_LABEL = "kafkamig.io/tooling"
"""On the pods (in green's namespace) that run this migration's tooling: `pulumi up`, gates, `status`.

With `TOOLING_LABEL: "true"` a pod may call Connect's REST API (`connect_network_policy`).
"""

ROUTING_KEY = "routing.json"
ROUTING_PREFIX = "kafka-routing-"


def connect_secret_access(cfg: MigrationConfig) -> list[Manifest]:
    """Role and RoleBinding letting the Connect pods read the credentials and cluster CA Secrets, and only those."""
    names = strimzi_names(cfg)
    role = f"{names.connect}-secrets-reader"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": object_metadata(role, names.namespace),
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
            "metadata": object_metadata(role, names.namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [
                {"kind": "ServiceAccount", "name": names.connect_service_account, "namespace": names.namespace}
            ],
        },
    ]


def connect_metrics_config_map(cfg: MigrationConfig) -> Manifest:
    """The ConfigMap `<connect>-metrics` in green's namespace: the JMX exporter rules under `METRICS_CONFIG_KEY`."""
    names = strimzi_names(cfg)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_metadata(names.connect_metrics_config_map, names.namespace),
        "data": {METRICS_CONFIG_KEY: JMX_EXPORTER_CONFIG},
    }


def connect_network_policy(cfg: MigrationConfig) -> Manifest:
    """The `NetworkPolicy` guarding Connect's REST API: port 8083 of the Connect pods, from three peers only.

    - the Strimzi Cluster Operator (`strimzi.io/kind: cluster-operator`) in any namespace, as
      Strimzi's own policy admits it when it does not know the operator's namespace: it
      manages the KafkaConnectors through this API;
    - the Connect pods themselves: a worker forwards connector requests to the group's leader;
    - pods of green's namespace labelled `TOOLING_LABEL: "true"`: this migration's tooling.

    The metrics port (`METRICS_PORT`, the JMX exporter) is open to every peer, as Strimzi's own
    policy opens it once metrics are configured: the gates, `status` and a Prometheus scrape it,
    also where Strimzi's policy generation is turned off. It selects only the Connect pods and
    only restricts ingress; no other port of theirs is opened (JMX is not configured).
    """
    names = strimzi_names(cfg)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_metadata(f"{names.connect}-connect-rest-api", names.namespace),
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
                },
                {"ports": [{"protocol": "TCP", "port": METRICS_PORT}]},
            ],
        },
    }


def routing_config_map_name(group: str) -> str:
    """`kafka-routing-<client-group>` (lower case, `_` as `-`): what the group's clients read."""
    return ROUTING_PREFIX + group.lower().replace("_", "-")


def routing_config_map_metadata(cfg: MigrationConfig, group: str) -> dict[str, Any]:
    """`metadata` of the routing ConfigMap of `group`: `kafka-routing-<client-group>` in the routing namespace."""
    namespace = cfg.routing.kubernetes_namespace or strimzi_names(cfg).routing_namespace
    name = routing_config_map_name(group)
    if not DNS_SUBDOMAIN.match(name):
        raise ValueError(f"client group {group!r} gives the invalid ConfigMap name {name!r}; rename the group")
    labels = {CLIENT_GROUP_LABEL: group} if len(group) <= 63 else {}
    if not DNS_LABEL.match(namespace):
        raise ValueError(
            f"routing.kubernetesNamespace is {namespace!r}, not a Kubernetes namespace name (a-z, 0-9, '-')"
        )
    return object_metadata(name, namespace, labels)


def routing_config_maps(cfg: MigrationConfig, plan: MigrationPlan) -> list[Manifest]:
    """One `ConfigMap kafka-routing-<client-group>` per client group, `routing.json` holding its document."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": routing_config_map_metadata(cfg, group),
            "data": {ROUTING_KEY: json.dumps(document.to_json(), indent=2, sort_keys=True)},
        }
        for group, document in sorted(plan.routing.items())
    ]
