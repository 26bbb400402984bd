"""Pulumi components of the Kubernetes runtime: the Strimzi manifests as `pulumi_kubernetes` resources.

Every object of `planning.strimzi_manifests` becomes one child resource named
`<component>-<kind>-<metadata.name>`: the names come from aliases, topic and principal
names only, never from the phase, so a phase step shows `~ update` (a connector's
`state`, Connect's `replicas`, a routing document) and never `+-replace`.

The provider either applies to a cluster (kubeconfig context) or, with
`kubernetes.renderYamlToDirectory`, writes the manifests to a folder for review or GitOps.
In that mode the credentials Secret is not rendered: the provider would write the
passwords in clear text, so the Secret must come from your secret tooling (its name and
keys are logged as a warning).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from kafka_migration.config.clusters import KubernetesRuntimeSpec
from kafka_migration.config.load import secret_at
from kafka_migration.config.model import MigrationConfig
from kafka_migration.planning.desired import MigrationPlan
from kafka_migration.planning.kubernetes_objects import ROUTING_KEY, routing_config_maps
from kafka_migration.planning.strimzi_manifests import StrimziManifests, strimzi_manifests
from kafka_migration.planning.strimzi_names import (
    STRIMZI_API_VERSION,
    Manifest,
    connect_metrics_urls,
    manifest_key,
)

GREEN_TYPE = "kafkamig:index:StrimziGreen"
TOPICS_TYPE = "kafkamig:index:StrimziTopics"
USERS_TYPE = "kafkamig:index:StrimziUsers"
MM2_TYPE = "kafkamig:index:StrimziMirrorMaker2"
ROUTING_TYPE = "kafkamig:index:StrimziRouting"


def kubernetes_provider(
    name: str, spec: KubernetesRuntimeSpec, opts: pulumi.ResourceOptions | None = None
) -> k8s.Provider:
    """The provider of the runtime: renders YAML to a folder when asked, else applies with the kubeconfig context.

    ConfigMaps and Secrets are updated in place: by default the provider replaces them on
    any change, and a routing ConfigMap replaced under the same name is deleted first,
    leaving its clients without a document for a moment.
    """
    return k8s.Provider(
        name,
        render_yaml_to_directory=spec.render_yaml_to_directory,
        context=spec.kubeconfig_context,
        enable_config_map_mutable=True,
        enable_secret_mutable=True,
        opts=opts,
    )


def child_name(prefix: str, manifest: Manifest) -> str:
    """`<component>-<kind>-<metadata.name>`: stable across phases, unique within the component."""
    return f"{prefix}-{manifest['kind'].lower()}-{manifest['metadata']['name']}"


def k8s_resource(name: str, manifest: Manifest, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One Kubernetes object: a Strimzi custom resource, a ConfigMap, a Role, a RoleBinding or a NetworkPolicy."""
    kind, meta = manifest["kind"], manifest["metadata"]
    if manifest["apiVersion"] == STRIMZI_API_VERSION:
        return k8s.apiextensions.CustomResource(
            name, api_version=STRIMZI_API_VERSION, kind=kind, metadata=meta, spec=manifest["spec"], opts=opts
        )
    if kind == "ConfigMap":
        return k8s.core.v1.ConfigMap(name, metadata=meta, data=manifest["data"], opts=opts)
    if kind == "Role":
        return k8s.rbac.v1.Role(name, metadata=meta, rules=manifest["rules"], opts=opts)
    if kind == "RoleBinding":
        return k8s.rbac.v1.RoleBinding(
            name, metadata=meta, role_ref=manifest["roleRef"], subjects=manifest["subjects"], opts=opts
        )
    if kind == "NetworkPolicy":
        return k8s.networking.v1.NetworkPolicy(name, metadata=meta, spec=manifest["spec"], opts=opts)
    raise ValueError(f"no Pulumi resource for {manifest['apiVersion']} {kind}")


@dataclass(frozen=True)
class StrimziObjectsArgs:
    """Manifests of one component and how to apply them."""

    manifests: tuple[Manifest, ...]
    provider: k8s.Provider
    protect: bool = False
    """Stateful objects (the cluster, its nodes, topics) are protected unless the stack allows destroying green."""


def _children(
    component: pulumi.ComponentResource, name: str, args: StrimziObjectsArgs
) -> dict[str, pulumi.CustomResource]:
    """Manifest key (`Kind/namespace/name`) -> its resource, parented to `component`."""
    opts = pulumi.ResourceOptions(parent=component, provider=args.provider, protect=args.protect)
    return {manifest_key(m): k8s_resource(child_name(name, m), m, opts) for m in args.manifests}


class StrimziGreen(pulumi.ComponentResource):
    """Green on Kubernetes: the `Kafka` and its `KafkaNodePool`, reconciled by the Strimzi operator."""

    bootstrap_servers: pulumi.Output[str]
    """Green's listener inside the Kubernetes cluster (`<cluster>-kafka-bootstrap.<namespace>.svc:9092`)."""

    def __init__(
        self, name: str, args: StrimziObjectsArgs, bootstrap: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(GREEN_TYPE, name, {}, opts)
        self.resources = _children(self, name, args)
        kafka = next(r for key, r in self.resources.items() if key.startswith("Kafka/"))
        # Known at preview, yet carries the dependency on the Kafka resource.
        self.bootstrap_servers = kafka.urn.apply(lambda _: bootstrap)
        self.register_outputs({"bootstrapServers": self.bootstrap_servers})


class StrimziTopics(pulumi.ComponentResource):
    """One `KafkaTopic` per green topic; the Topic Operator creates and configures them."""

    topic_names: pulumi.Output[list[str]]
    """Green topic names (`spec.topicName`) managed by the stack."""

    def __init__(self, name: str, args: StrimziObjectsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOPICS_TYPE, name, {}, opts)
        self.resources = _children(self, name, args)
        self.topic_names = pulumi.Output.from_input(sorted(m["spec"]["topicName"] for m in args.manifests))
        self.register_outputs({"topicNames": self.topic_names})


class StrimziUsers(pulumi.ComponentResource):
    """One `KafkaUser` per principal of green's ACLs; the User Operator writes the ACLs (and SCRAM credentials)."""

    user_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: StrimziObjectsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(USERS_TYPE, name, {}, opts)
        self.resources = _children(self, name, args)
        self.user_names = pulumi.Output.from_input(sorted(m["metadata"]["name"] for m in args.manifests))
        self.register_outputs({"userNames": self.user_names})


@dataclass(frozen=True)
class StrimziMirrorMaker2Args:
    """MM2's objects of this step and the passwords its connectors read."""

    manifests: StrimziManifests
    provider: k8s.Provider
    credentials: pulumi.Input[dict[str, str]] | None
    """Secret key -> password (a Pulumi secret); None leaves the Secret to you (render mode)."""


class StrimziMirrorMaker2(pulumi.ComponentResource):
    """MirrorMaker 2 on Strimzi: a `KafkaConnect` and one `KafkaConnector` per connector of each flow.

    A flow switched off is an update of its connectors' `state` to `stopped` (offsets are
    kept), and MM2 stopped scales the Connect workers to zero: no URN changes with the phase.
    The Role, RoleBinding, the NetworkPolicy guarding the REST API and the ConfigMap of JMX
    exporter rules exist before the KafkaConnect (its pods never run unguarded, and the
    operator never sees its `metricsConfig` name a missing ConfigMap) and are deleted after it.
    """

    connect_url: pulumi.Output[str]
    """Connect's REST API inside the Kubernetes cluster."""
    connectors: pulumi.Output[dict[str, str]]
    """KafkaConnector name -> desired state (`running` or `stopped`)."""

    def __init__(self, name: str, args: StrimziMirrorMaker2Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(MM2_TYPE, name, {}, opts)
        m = args.manifests
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.secret: k8s.core.v1.Secret | None = None
        if args.credentials is not None:
            meta: k8s.meta.v1.ObjectMetaArgsDict = {"name": m.names.credentials_secret, "namespace": m.names.namespace}
            self.secret = k8s.core.v1.Secret(
                f"{name}-secret-{m.names.credentials_secret}",
                metadata=meta,
                type="Opaque",
                string_data=pulumi.Output.secret(args.credentials),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
                ),
            )
        before: list[pulumi.Resource] = [self.secret] if self.secret else []
        prerequisites, connect = m.connect[:-1], m.connect[-1]
        before += [k8s_resource(child_name(name, a), a, child) for a in prerequisites]
        self.connect = k8s_resource(
            child_name(name, connect),
            connect,
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=before)),
        )
        after_connect = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.connect]))
        self.resources = {manifest_key(c): k8s_resource(child_name(name, c), c, after_connect) for c in m.connectors}
        self.connect_url = pulumi.Output.from_input(m.names.connect_url)
        self.connectors = pulumi.Output.from_input({c["metadata"]["name"]: c["spec"]["state"] for c in m.connectors})
        self.register_outputs({"connectUrl": self.connect_url, "connectors": self.connectors})


class StrimziRouting(pulumi.ComponentResource):
    """One `ConfigMap kafka-routing-<client-group>` per client group, holding its routing document."""

    revisions: pulumi.Output[dict[str, Any]]
    """ConfigMap name -> the `revision` of the routing document it holds."""

    def __init__(self, name: str, args: StrimziObjectsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ROUTING_TYPE, name, {}, opts)
        self.resources = _children(self, name, args)
        revisions = {m["metadata"]["name"]: json.loads(m["data"][ROUTING_KEY])["revision"] for m in args.manifests}
        self.revisions = pulumi.Output.from_input(revisions)
        self.register_outputs({"revisions": self.revisions})


@dataclass
class KubernetesGreen:
    """What `build_kubernetes_green` made, and what the rest of the migration needs from it."""

    provider: k8s.Provider
    green: StrimziGreen
    topics: StrimziTopics
    users: StrimziUsers
    mm2: StrimziMirrorMaker2
    bootstrap_servers: pulumi.Output[str]
    connect_url: pulumi.Output[str]
    metrics_url: pulumi.Output[str | None]
    """`mm2.metricsUrl`, else the first Connect pod's exporter (the gates and `status` read every pod's)."""

    @property
    def resources(self) -> list[pulumi.Resource]:
        """The components, for `depends_on` of whatever must wait for green and MM2."""
        return [self.green, self.topics, self.users, self.mm2]


def _credentials(cfg: MigrationConfig, manifests: StrimziManifests) -> dict[str, str]:
    out = {}
    for key, path in manifests.credential_keys.items():
        password = secret_at(cfg, path)
        assert password is not None  # credential_keys lists only passwords that are set
        out[key] = password.get_secret_value()
    return out


def build_kubernetes_green(
    name: str,
    cfg: MigrationConfig,
    plan: MigrationPlan,
    parent: pulumi.Resource,
    provider: k8s.Provider | None = None,
) -> KubernetesGreen:
    """Green, its topics and users, and MM2 on Strimzi, as children of `parent` (from `green-provisioned` on).

    Children: `<name>-green` (StrimziGreen), `<name>-topics` (StrimziTopics), `<name>-acls`
    (StrimziUsers), `<name>-mm2` (StrimziMirrorMaker2); with no `provider` given, one named
    `<name>-k8s` is created from green.kubernetes.
    """
    if not plan.green_provisioned:
        raise ValueError(f"green is not provisioned at {plan.step.describe()}; build it from green-provisioned on")
    manifests = strimzi_manifests(cfg, plan)
    spec = cfg.green.kubernetes
    assert spec is not None  # strimzi_manifests checked it
    provider = provider or kubernetes_provider(f"{name}-k8s", spec, pulumi.ResourceOptions(parent=parent))
    protect = not cfg.allow_destroy
    green = StrimziGreen(
        f"{name}-green",
        StrimziObjectsArgs(manifests.kafka, provider, protect),
        manifests.names.bootstrap_servers,
        pulumi.ResourceOptions(parent=parent),
    )
    after_green = pulumi.ResourceOptions(parent=parent, depends_on=[green])
    topics = StrimziTopics(f"{name}-topics", StrimziObjectsArgs(manifests.topics, provider, protect), after_green)
    users = StrimziUsers(f"{name}-acls", StrimziObjectsArgs(manifests.users, provider), after_green)
    credentials: pulumi.Input[dict[str, str]] | None = None
    if manifests.credential_keys and spec.render_yaml_to_directory:
        pulumi.log.warn(
            f"rendering to {spec.render_yaml_to_directory}: the Secret {manifests.names.namespace}/"
            f"{manifests.names.credentials_secret} with keys {sorted(manifests.credential_keys)} is not rendered "
            "(it would hold the passwords in clear text); create it with your secret tooling",
            resource=parent,
        )
    elif manifests.credential_keys:
        credentials = pulumi.Output.secret(_credentials(cfg, manifests))
    mm2 = StrimziMirrorMaker2(
        f"{name}-mm2",
        StrimziMirrorMaker2Args(manifests, provider, credentials),
        pulumi.ResourceOptions(parent=parent, depends_on=[topics, users]),
    )
    return KubernetesGreen(
        provider=provider,
        green=green,
        topics=topics,
        users=users,
        mm2=mm2,
        bootstrap_servers=green.bootstrap_servers,
        connect_url=mm2.connect_url,
        metrics_url=pulumi.Output.from_input(connect_metrics_urls(cfg)[0]),
    )


def build_kubernetes_routing(
    name: str,
    cfg: MigrationConfig,
    plan: MigrationPlan,
    parent: pulumi.Resource,
    provider: k8s.Provider,
    depends_on: list[pulumi.Resource] | None = None,
) -> StrimziRouting:
    """The routing ConfigMaps of every client group as `pulumi_kubernetes` objects (at every step).

    The Migration uses them only when rendering (`renderYamlToDirectory`, where consumer waves
    are refused); applied to a cluster, its routing is `ClientRouting` with `RoutingConfigMaps`
    (the same ConfigMaps, written through the API server with the consumer handoff).
    """
    return StrimziRouting(
        name,
        StrimziObjectsArgs(tuple(routing_config_maps(cfg, plan)), provider),
        pulumi.ResourceOptions(parent=parent, depends_on=depends_on or []),
    )
