"""Clients reading their routing documents from ConfigMaps, through the Kubernetes API.

Where routing is published as ConfigMaps (`routing.kubernetesNamespace`), a client polls
its group's `kafka-routing-<client-group>` (a GET every `routed_client.REFRESH_S`, the same
interval as files) with the kubeconfig context the stack uses, or the pod's own identity.
A read the server does not answer is retried at the next turn; the client keeps its route.
"""

from __future__ import annotations

from typing import Any

from kafka_migration.operations.configmap_document import ConfigMapDocuments, DocumentUnavailable
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.routed_client import Route, RouteUnavailable


class ConfigMapRoutes:
    """Routing documents as ConfigMaps `kafka-routing-<client-group>` of `namespace` (one API client for all)."""

    def __init__(self, namespace: str, context: str | None = None, api: Any = None) -> None:
        self.namespace = namespace
        self.context = context
        self._documents = ConfigMapDocuments(namespace, context, _api=api)

    def read(self, client_group: str) -> Route | None:
        try:
            body = self._documents.read(client_group)
        except DocumentUnavailable as err:
            raise RouteUnavailable(str(err)) from err
        if body is None:
            return None
        return Route(str(body["revision"]), RoutingDocument.from_json(body))
