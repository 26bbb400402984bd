"""TopicMirror: blue's selected topics on green, with blue's partitions and configs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kafka

from planning.desired import GreenTopic

TYPE = "kafkamig:index:TopicMirror"


@dataclass(frozen=True)
class TopicMirrorArgs:
    """Green topics of this step and the provider that talks to green."""

    topics: tuple[GreenTopic, ...]
    provider: pulumi_kafka.Provider
    protect: bool


class TopicMirror(pulumi.ComponentResource):
    """One `kafka.Topic` per green topic. Names depend only on the topic, never on the phase."""

    topic_names: pulumi.Output[list[str]]
    """Green topic names managed by the stack."""

    def __init__(self, name: str, args: TopicMirrorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, {}, opts)
        self.topics: dict[str, pulumi_kafka.Topic] = {}
        for topic in args.topics:
            self.topics[topic.name] = pulumi_kafka.Topic(
                f"{name}-{topic.name}",
                name=topic.name,
                partitions=topic.partitions,
                replication_factor=topic.replication_factor,
                config=topic.config,
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, protect=args.protect),
            )
        self.topic_names = pulumi.Output.from_input(sorted(self.topics))
        self.register_outputs({"topicNames": self.topic_names})
