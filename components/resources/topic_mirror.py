"""TopicMirror: blue's selected topics on green, with blue's partitions and configs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kafka

from kafka_migration.planning.cluster_inventory import TopicInfo
from kafka_migration.planning.desired import GreenTopic

TYPE = "kafkamig:index:TopicMirror"


@dataclass(frozen=True)
class TopicMirrorArgs:
    """Green topics of this step and the provider that talks to green."""

    topics: tuple[GreenTopic, ...]
    provider: pulumi_kafka.Provider
    protect: bool
    adopt: dict[str, TopicInfo] = field(default_factory=dict)
    """Green topics that exist but are not managed yet, as green reports them: imported as they are.

    MM2 creates the remote copy of a topic that appears on blue mid-migration within its
    refresh interval, often before the next `pulumi up`; adopting it avoids a failed create.
    """


class TopicMirror(pulumi.ComponentResource):
    """One `kafka.Topic` per green topic. Names depend only on the topic, never on the phase."""

    topic_names: pulumi.Output[list[str]]
    """Green topic names managed by the stack."""

    def __init__(self, name: str, args: TopicMirrorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        self.topics: dict[str, pulumi_kafka.Topic] = {}
        for topic in args.topics:
            existing = args.adopt.get(topic.name)
            # An import must declare exactly what exists; the next update converges it to the plan.
            partitions = existing.partitions if existing else topic.partitions
            replication_factor = existing.replication_factor if existing else topic.replication_factor
            config = existing.configs if existing else topic.config
            self.topics[topic.name] = pulumi_kafka.Topic(
                f"{name}-{topic.name}",
                name=topic.name,
                partitions=partitions,
                replication_factor=replication_factor,
                config=config,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    protect=args.protect,
                    import_=topic.name if existing else None,
                ),
            )
        self.topic_names = pulumi.Output.from_input(sorted(self.topics))
        self.register_outputs({"topicNames": self.topic_names})
