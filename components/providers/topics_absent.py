"""Topics that must not exist (MM2's internal topics after `mm2-stopped`), as a declarative resource."""

from __future__ import annotations

import time
from typing import Any

import pulumi
from confluent_kafka.admin import AdminClient
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


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
