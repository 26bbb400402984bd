"""Clients reading their routing documents from ConfigMaps, through the Kubernetes API.

Where routing is published as ConfigMaps (`routing.kubernetesNamespace`), a client polls
its group's `kafka-routing-<client-group>` (a GET every `routed_client.REFRESH_S`, the same
interval as files) with the kubeconfig context the stack uses, or the pod's own identity.
A read the server does not answer is retried at the next turn; the client keeps its route.
"""

from __future__ import annotations

from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from kafka_migration.operations.configmap_document import ConfigMapSink, core_api
from kafka_migration.planning.kubernetes_objects import routing_config_map_name
from kafka_migration.planning.routing import RoutingDocument
from kafka_migration.rehearsal.routed_client import Route, RouteUnavailable

SERVER_ERROR = 500


class ConfigMapRoutes:
    """Routing documents as ConfigMaps `kafka-routing-<client-group>` of `namespace` (one API client for all)."""

    def __init__(self, namespace: str, context: str | None = None, api: Any = None) -> None:
        self.namespace = namespace
        self.context = context
        self._api = api

    def read(self, client_group: str) -> Route | None:
        if self._api is None:
            self._api = core_api(self.context)
        sink = ConfigMapSink(self.namespace, routing_config_map_name(client_group), self.context, _api=self._api)
        try:
            body = sink.read()
        except ApiException as err:
            if err.status is not None and err.status < SERVER_ERROR:
                raise
            raise RouteUnavailable(str(err)) from err
        except urllib3.exceptions.HTTPError as err:
            raise RouteUnavailable(str(err)) from err
        if body is None:
            return None
        return Route(str(body["revision"]), RoutingDocument.from_json(body))
