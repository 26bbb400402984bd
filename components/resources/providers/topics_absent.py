"""Topics whose existence the migration declares.

Absent ones (MM2's internal topics after `mm2-stopped`), and ones that live only as
long as green's copies (MM2's offset-syncs on blue).
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
from confluent_kafka.admin import AdminClient
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kafka_migration.operations.engine_watch import bound_to_engine


def _present(conf: dict[str, Any], topics: list[str]) -> list[str]:
    existing = AdminClient(conf).list_topics(timeout=15).topics
    return sorted(t for t in topics if t in existing)


def _delete(conf: dict[str, Any], topics: list[str]) -> None:
    present = _present(conf, topics)
    if present:
        admin = AdminClient(conf)
        for future in admin.delete_topics(present, operation_timeout=30).values():
            future.result(timeout=60)
    deadline = time.monotonic() + 60
    while _present(conf, topics):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics still listed after deletion: {_present(conf, topics)}")
        time.sleep(0.5)


@bound_to_engine
class TopicsAbsentProvider(ResourceProvider):
    """Create/update delete whichever of the topics exist; read reports any that came back."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        _delete(props["client_config"], list(props["topics"]))
        return CreateResult(f"{props['cluster']}:absent", {**props, "present": []})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {**props, "present": _present(props["client_config"], list(props["topics"]))})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = sorted(olds.get("topics", [])) != sorted(news.get("topics", [])) or bool(olds.get("present"))
        return DiffResult(changes=changed)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _delete(news["client_config"], list(news["topics"]))
        return UpdateResult({**news, "present": []})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Nothing to undo: deleted topics stay deleted."""


class TopicsAbsent(Resource, module="kafkamig", name="TopicsAbsent"):
    """Declares that `topics` do not exist on a cluster."""

    present: pulumi.Output[list[str]]
    """Topics of the list that exist (empty once applied; non-empty after a refresh means they came back)."""

    def __init__(
        self,
        name: str,
        cluster: str,
        client_config: pulumi.Input[dict[str, Any]],
        topics: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"cluster": cluster, "client_config": client_config, "topics": topics, "present": None}
        super().__init__(TopicsAbsentProvider(), name, props, opts)


@bound_to_engine
class TopicsOfGreenProvider(ResourceProvider):
    """Create/update record the topics; delete deletes whichever of them exist; read reports which exist."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(
            f"{props['cluster']}:of-green",
            {**props, "present": _present(props["client_config"], list(props["topics"]))},
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {**props, "present": _present(props["client_config"], list(props["topics"]))})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=sorted(olds.get("topics", [])) != sorted(news.get("topics", [])))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "present": _present(news["client_config"], list(news["topics"]))})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete(props["client_config"], list(props["topics"]))


class TopicsOfGreen(Resource, module="kafkamig", name="TopicsOfGreen"):
    """Topics on another cluster that describe green's copies, deleted when those copies are.

    MM2 writes its offset-syncs for the A->B flow on blue: they map blue's offsets to
    offsets of green's copies. When a rollback deletes green's topics (or green), those
    syncs describe logs that no longer exist, and a later replication into new copies
    would be translated through them. Deleting this resource (after the flows and
    workers that write the topic) deletes the topic with them.
    """

    present: pulumi.Output[list[str]]
    """Which of the topics exist (MM2 creates them when the flow starts)."""

    def __init__(
        self,
        name: str,
        cluster: str,
        client_config: pulumi.Input[dict[str, Any]],
        topics: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"cluster": cluster, "client_config": client_config, "topics": topics, "present": None}
        super().__init__(TopicsOfGreenProvider(), name, props, opts)
