"""Settings of the migration's machinery: MirrorMaker 2, the safety gates' thresholds, routing publication."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kafka_migration.config.base import ConfigModel, one_line
from kafka_migration.config.values import check_http_url

MAX_WORKERS = 16
"""Connect workers in MM2's group at most (`mm2.workers`)."""


class Mm2Settings(ConfigModel):
    """MirrorMaker 2 settings, tuned for a migration rather than MM2's defaults.

    The article's mm2.properties keys map as: `offset.lag.max` -> offsetLagMax,
    `sync.topic.configs.enabled` -> syncTopicConfigsEnabled, `sync.topic.acls.enabled`
    -> syncTopicAclsEnabled, `*.topic.replication.factor` -> internalTopicReplicationFactor.
    """

    offset_lag_max: int = Field(default=0, ge=0)
    """0 writes an offset-sync for every record, so a drained group is handed over exactly.

    MM2's default, 100, lets a handoff re-read up to 100 records per partition.
    """
    internal_topic_replication_factor: int = Field(default=3, ge=1)
    """checkpoints, offset-syncs, heartbeats and Connect's own topics."""
    sync_topic_configs_enabled: bool = True
    sync_topic_acls_enabled: bool = False
    """Off by default: MM2 copies only LITERAL topic ACLs, drops WRITE and turns ALL into READ.

    The ACL mirror creates the application ACLs on green instead.
    """
    emit_checkpoints_interval_seconds: int = Field(default=5, ge=1)
    sync_group_offsets_enabled: bool = False
    """Off: the consumer handoff commits translated offsets itself, verifiably, during `consumers-switched` waves."""
    sync_group_offsets_interval_seconds: int = Field(default=10, ge=1)
    refresh_topics_interval_seconds: int = Field(default=30, ge=1)
    refresh_groups_interval_seconds: int = Field(default=30, ge=1)
    heartbeats_interval_seconds: int = Field(default=1, ge=1)
    tasks_max: int = Field(default=2, ge=1)
    consumer_fetch_max_bytes: int | None = Field(default=None, ge=1024)
    producer_batch_size: int = Field(default=262_144, ge=0)
    """MM2's producer batch (`producer.override.batch.size`, bytes per partition). With `producerLingerMs` it
    more than doubled MM2's copy rate on a 2-core machine against Connect's 16 KiB (`make bench`, B1)."""
    producer_linger_ms: int = Field(default=20, ge=0, le=1000)
    """How long MM2's producer waits to fill a batch (`producer.override.linger.ms`): at most this much latency
    added to each copied record, for fewer, larger requests to green."""
    connect_rest_port: int = Field(default=8083, ge=1024, le=65535)
    """Local runtime: the Connect worker's REST port on 127.0.0.1."""
    connect_metrics_port: int = Field(default=9404, ge=1024, le=65535)
    """Local runtime: the Prometheus JMX exporter port on 127.0.0.1."""
    workers: int | None = Field(default=None, ge=1, le=MAX_WORKERS)
    """Connect workers in MM2's group. Local (and external green): this many JVMs on this machine, default 1,
    worker i on `connectRestPort + i` and `connectMetricsPort + i`; Kubernetes: the KafkaConnect's `replicas`,
    default 2. Connect spreads the connectors' tasks over the workers and moves a dead worker's tasks to the
    others (`make bench`: S1, K1)."""
    connect_url: str | None = None
    """External MM2 (a Connect cluster you run): its REST URL. Default: the local worker."""
    metrics_url: str | None = None
    """External MM2: Prometheus endpoint of the Connect workers."""

    @field_validator("connect_url", "metrics_url")
    @classmethod
    def _http_urls(cls, value: str | None, info: ValidationInfo) -> str | None:
        """http(s) URLs without credentials; the Connect URL is a base URL (no query), the metrics one may have one."""
        if value is None:
            return None
        return check_http_url(value, to_camel(info.field_name or "url"), query=info.field_name == "metrics_url")

    @model_validator(mode="after")
    def _worker_ports(self) -> Mm2Settings:
        """N local workers take N consecutive REST and metrics ports: both ranges fit and stay apart."""
        if self.workers is None:
            return self
        if self.connect_url is not None:
            raise ValueError(
                f"mm2.workers is {self.workers} but mm2.connectUrl points at a Connect cluster you run: "
                "size that cluster yourself and remove mm2.workers"
            )
        rest = range(self.connect_rest_port, self.connect_rest_port + self.workers)
        metrics = range(self.connect_metrics_port, self.connect_metrics_port + self.workers)
        if rest[-1] > 65535 or metrics[-1] > 65535:
            raise ValueError(
                f"mm2.workers {self.workers} needs ports up to {max(rest[-1], metrics[-1])}, above 65535; "
                "lower mm2.connectRestPort / mm2.connectMetricsPort"
            )
        if set(rest) & set(metrics):
            raise ValueError(
                f"mm2.workers {self.workers} takes REST ports {rest[0]}-{rest[-1]} and metrics ports "
                f"{metrics[0]}-{metrics[-1]}, which overlap; move mm2.connectMetricsPort at least {self.workers} "
                "ports away from mm2.connectRestPort"
            )
        return self

    @property
    def local_workers(self) -> int:
        """How many Connect workers the local runtime runs (`workers`, default 1)."""
        return self.workers or 1


class GateSettings(ConfigModel):
    """Thresholds the safety gates compare against."""

    max_lag_records: int = Field(default=1000, ge=0)
    """Per flow, the most records MM2 may still have to copy for a lag gate to pass."""
    max_lag_seconds: float = Field(default=30.0, ge=0)
    data_parity_sample: int = Field(default=20, ge=0)
    """Records compared per partition of every running flow (key, value, headers, timestamp; 0 disables).

    Shared between the partition's oldest, middle and newest copied records; each run is
    compared in order from an offset-sync, so records between syncs are compared too.
    """
    idle_window_seconds: float = Field(default=10.0, gt=0)
    """How long blue must show no produced bytes and no active group before a gate calls it idle."""
    soak_seconds: int = Field(default=24 * 3600, ge=0)
    """Soak window between `consumers-switched` and `verified` (the article's 24 h)."""
    handoff_timeout_seconds: float = Field(default=120.0, gt=0)
    """How long a consumer handoff waits for the group to leave blue and its offsets to be final."""
    read_timeout_seconds: float = Field(default=15.0, gt=0)
    """Bound on every read a gate makes from the clusters during preview/up."""
    producer_flush_seconds: float = Field(default=5.0, ge=0)
    """One-way producer switch: how long paused producers get to flush and stop before blue's end is read."""


class RoutingSettings(ConfigModel):
    """Where routing documents are published."""

    directory: str = ".local-clusters/routing"
    """Local runtime: folder of the `<client-group>.json` documents (relative to the project)."""
    kubernetes_namespace: str | None = None
    """Publish ConfigMaps `kafka-routing-<client-group>` in this namespace instead of files, written through
    the Kubernetes API with the consumer handoff. Default: files. With green on Kubernetes rendered
    (`renderYamlToDirectory`) no handoff runs: consumer waves are refused there."""
    kubeconfig_context: str | None = None
    """The kubeconfig context of the routing ConfigMaps' cluster (the kubeconfig from `KUBECONFIG`, or
    `~/.kube/config`). Default: `green.kubernetes.kubeconfigContext`, else the current context (or, in a
    pod without a kubeconfig, the pod's service account). Lets routing live on Kubernetes whatever green's runtime."""

    _texts = field_validator("directory", "kubernetes_namespace", "kubeconfig_context")(one_line)
