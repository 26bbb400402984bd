"""A routing document kept in a Kubernetes ConfigMap, read and written through the API server.

The ConfigMap is the one `planning.kubernetes_objects.routing_config_maps` describes
(`kafka-routing-<client-group>`, the document as JSON under `ROUTING_KEY`, the
`managed-by` and client-group labels). `ConfigMapSink` is the consumer handoff's
`DocumentSink` on it: a write replaces the ConfigMap with the `resourceVersion` it read, so
a concurrent writer makes the server answer 409 and the write is read and tried again
(never a blind overwrite); a missing ConfigMap is created (409 AlreadyExists: another
writer was first, read and retry).

The API client comes from the kubeconfig as kubectl finds it (`KUBECONFIG`, else
`~/.kube/config`) with the context `green.kubernetes.kubeconfigContext` (or the
kubeconfig's current one), and from the pod's service account when running in a pod with
no kubeconfig context given. Only the document's published form is ever written: it
carries cluster, topics and the security protocol, never a password.

`ConfigMapDocuments` reads the documents of many client groups with one API client: what the
rehearsal's clients poll (`rehearsal.configmap_routes`) and what `kafka-migration status` shows.
A server that does not answer (unreachable, timed out, a 5xx) is `DocumentUnavailable`, told
apart from a missing ConfigMap (None); `read_failure` says why in one line without the
server's headers or body.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from kafka_migration.planning.kubernetes_objects import ROUTING_KEY, routing_config_map_name
from kafka_migration.planning.routing import published_form

NOT_FOUND = 404
CONFLICT = 409
SERVER_ERROR = 500
WRITE_ATTEMPTS = 20
REQUEST_TIMEOUT_S = 15.0
IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"


def core_api(context: str | None) -> Any:
    """A CoreV1Api: the kubeconfig (`KUBECONFIG` or the default file) with `context`, or the pod's own identity.

    In a pod (`KUBERNETES_SERVICE_HOST` set) with no context named and no kubeconfig file, the
    service account's token and CA are used, as client-go does.
    """
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    has_file = any(os.path.exists(p) for p in kubeconfig.split(os.pathsep) if p)
    if context is None and not has_file and os.environ.get(IN_CLUSTER_ENV):
        k8s_config.load_incluster_config()
        return k8s_client.CoreV1Api()
    api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
    return k8s_client.CoreV1Api(api)


def document_data(document: dict[str, Any]) -> str:
    """The ConfigMap's `ROUTING_KEY` value: the published form, as `routing_config_maps` writes it."""
    return json.dumps(published_form(document), indent=2, sort_keys=True)


def parse_data(data: dict[str, str] | None) -> dict[str, Any] | None:
    """The document in a ConfigMap's data, or None when there is none (or it is not JSON)."""
    text = (data or {}).get(ROUTING_KEY)
    if text is None:
        return None
    try:
        return dict(json.loads(text))
    except (ValueError, TypeError):
        return None


@dataclass
class ConfigMapSink:
    """The routing document of one client group, in `ConfigMap <namespace>/<name>`."""

    namespace: str
    name: str
    context: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    timeout_s: float = REQUEST_TIMEOUT_S
    """Each request's timeout."""
    _api: Any = field(default=None, repr=False, compare=False)

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = core_api(self.context)
        return self._api

    def _get(self) -> Any | None:
        try:
            return self.api.read_namespaced_config_map(self.name, self.namespace, _request_timeout=self.timeout_s)
        except ApiException as err:
            if err.status == NOT_FOUND:
                return None
            raise

    def read(self) -> dict[str, Any] | None:
        """The document as the clients read it now, or None when the ConfigMap (or its key) is missing."""
        live = self._get()
        return None if live is None else parse_data(live.data)

    def write(self, document: dict[str, Any]) -> None:
        """Publish `document` (its published form), atomically: a concurrent change is read again, never overwritten."""
        data = document_data(document)
        for _ in range(WRITE_ATTEMPTS):
            live = self._get()
            try:
                if live is None:
                    body = {"metadata": {"name": self.name, "namespace": self.namespace, "labels": self.labels}}
                    self.api.create_namespaced_config_map(
                        self.namespace, {**body, "data": {ROUTING_KEY: data}}, _request_timeout=self.timeout_s
                    )
                    return
                labels = {**(live.metadata.labels or {}), **self.labels}
                meta = {"name": self.name, "namespace": self.namespace, "labels": labels}
                meta["resourceVersion"] = live.metadata.resource_version
                if live.metadata.annotations:
                    meta["annotations"] = live.metadata.annotations
                body = {"metadata": meta, "data": {**(live.data or {}), ROUTING_KEY: data}}
                self.api.replace_namespaced_config_map(self.name, self.namespace, body, _request_timeout=self.timeout_s)
                return
            except ApiException as err:
                if err.status != CONFLICT:
                    raise
                time.sleep(0.1)  # someone else wrote in between: read their version and try again
        raise RuntimeError(f"ConfigMap {self.namespace}/{self.name} kept changing under {WRITE_ATTEMPTS} writes")

    def delete(self) -> None:
        """Remove the ConfigMap; a missing one is fine."""
        try:
            self.api.delete_namespaced_config_map(self.name, self.namespace, _request_timeout=self.timeout_s)
        except ApiException as err:
            if err.status != NOT_FOUND:
                raise


class DocumentUnavailable(RuntimeError):
    """The API server did not answer a read (unreachable, timed out, a 5xx): the document is unknown, not missing."""


def read_failure(err: BaseException) -> str:
    """Why a ConfigMap could not be read, in one line: the server's status and reason, never its headers or body.

    The token of the kubeconfig is in no error's text (it is a request header); an
    ApiException's text would carry the response's headers and body, so only its status is kept.
    """
    cause = err.__cause__ if isinstance(err, DocumentUnavailable) and err.__cause__ is not None else err
    if isinstance(cause, ApiException):
        return f"the API server answered {cause.status} {cause.reason or ''}".rstrip()
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


@dataclass
class ConfigMapDocuments:
    """Routing documents of client groups, each in its ConfigMap `kafka-routing-<client-group>` of `namespace`.

    One API client for every read (`core_api` with `context`), made at the first read.
    """

    namespace: str
    context: str | None = None
    timeout_s: float = REQUEST_TIMEOUT_S
    _api: Any = field(default=None, repr=False, compare=False)

    def read(self, client_group: str) -> dict[str, Any] | None:
        """The group's document as its clients read it now; None when its ConfigMap (or the key) is missing.

        Raises DocumentUnavailable when the server did not answer, and ApiException when it
        refused the read (403: the kubeconfig's identity may not get the ConfigMap).
        """
        if self._api is None:
            self._api = core_api(self.context)
        name = routing_config_map_name(client_group)
        sink = ConfigMapSink(self.namespace, name, self.context, timeout_s=self.timeout_s, _api=self._api)
        try:
            return sink.read()
        except ApiException as err:
            if err.status is not None and err.status < SERVER_ERROR:
                raise
            raise DocumentUnavailable(read_failure(err)) from err
        except urllib3.exceptions.HTTPError as err:
            raise DocumentUnavailable(read_failure(err)) from err
